//! Item 1 — per-call overhead: `Client::heartbeat` / `update` / `end_session`
//! against the same HTTP request made with a bare `reqwest::Client` on a
//! kept-alive connection.
//!
//! The emulator runs in this process but on its own thread and its own
//! single-threaded runtime; the client side runs on another single-threaded
//! runtime, so client and server never share a scheduler. Both sides talk to
//! the same emulator over loopback; calls alternate SDK/bare in ABBA order,
//! so drift in the emulator (its tables grow) or in the machine's load hits
//! both sides alike.

use std::time::{Duration, Instant};

use crane_context::emulator::{Emulator, EmulatorConfig};
use crane_context::model::{EndSession, Update};
use crane_context::Client;
use serde::Serialize;
use serde_json::{json, Value};

use crate::common::{self, Lat, KEY};

/// Runs the emulator on a thread of its own until `stop` fires; returns its URL.
pub fn emulator_thread() -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("emulator".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("emulator runtime");
            rt.block_on(async move {
                let emu = Emulator::start(EmulatorConfig::default())
                    .await
                    .expect("emulator");
                url_tx.send(emu.url()).expect("send url");
                let _ = stop_rx.await;
                emu.shutdown().await;
            });
        })
        .expect("spawn emulator thread");
    let url = url_rx.recv().expect("emulator url");
    (url, stop_tx, thread)
}

#[derive(Serialize)]
pub struct HeartbeatBody<'a> {
    pub session_id: &'a str,
}

#[derive(Serialize)]
pub struct UpdateBody<'a> {
    pub session_id: &'a str,
    pub branch: &'a str,
    pub commit_sha: &'a str,
    pub schema_version: &'a str,
}

#[derive(Serialize)]
pub struct EodBody<'a> {
    pub session_id: &'a str,
    pub summary: &'a str,
    pub payload: &'a Value,
    pub schema_version: &'a str,
}

/// One bare POST: JSON body, relay key, optional idempotency key; the answer
/// is checked for success and parsed, as any hand-written client would.
pub async fn bare_post<B: Serialize>(
    http: &reqwest::Client,
    url: &str,
    body: &B,
    idempotent: bool,
) -> Value {
    let mut req = http.post(url).header("X-Relay-Key", KEY).json(body);
    if idempotent {
        req = req.header("Idempotency-Key", ulid::Ulid::new().to_string());
    }
    let resp = req.send().await.expect("bare send");
    assert!(
        resp.status().is_success(),
        "bare call failed: {}",
        resp.status()
    );
    let bytes = resp.bytes().await.expect("bare body");
    serde_json::from_slice(&bytes).expect("bare json")
}

pub const BRANCH: &str = "feature/bench";
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

pub struct Plan {
    pub warmup: usize,
    pub heartbeat: usize,
    pub update: usize,
    pub end: usize,
}

pub fn run(plan: Plan) -> Value {
    let (url, stop, thread) = emulator_thread();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let result = rt.block_on(measure(&url, &plan));
    let _ = stop.send(());
    let _ = thread.join();
    result
}

fn pair_json(name: &str, sdk: &[Duration], bare: &[Duration]) -> Value {
    let (s, b) = (Lat::of(sdk), Lat::of(bare));
    let r50 = s.p50_us / b.p50_us;
    let r99 = s.p99_us / b.p99_us;
    eprintln!(
        "  {name:<12} sdk p50 {:>7.1}us p99 {:>7.1}us | bare p50 {:>7.1}us p99 {:>7.1}us | ratio p50 {r50:.3} p99 {r99:.3}",
        s.p50_us, s.p99_us, b.p50_us, b.p99_us
    );
    json!({
        "op": name,
        "sdk": s.json(),
        "bare": b.json(),
        "ratio_p50": common::round3(r50),
        "ratio_p99": common::round3(r99),
        "target_p50": 1.10,
        "target_p99": 1.25,
        "met": r50 <= 1.10 && r99 <= 1.25,
    })
}

async fn measure(url: &str, plan: &Plan) -> Value {
    let sdk = Client::new(url, KEY).expect("sdk client");
    let http = common::bare_client();
    let ids = common::start_sessions(url, "calls", 2 + 2 * (plan.end + plan.warmup), 8).await;
    let (sdk_sid, bare_sid) = (ids[0].clone(), ids[1].clone());
    let mut end_ids = ids[2..].iter().cloned();
    let payload = common::payload_of(1024);
    let hb_url = format!("{url}/heartbeat");
    let up_url = format!("{url}/update");
    let eod_url = format!("{url}/eod");

    // Each closure-free block below times one call on each side per round,
    // alternating which side goes first (ABBA).
    let mut out = Vec::new();

    // heartbeat
    let (mut s_lat, mut b_lat) = (Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.heartbeat {
        for side in order(i) {
            let t = Instant::now();
            if side {
                sdk.heartbeat(&sdk_sid).await.expect("sdk heartbeat");
            } else {
                bare_post(
                    &http,
                    &hb_url,
                    &HeartbeatBody {
                        session_id: &bare_sid,
                    },
                    false,
                )
                .await;
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                if side {
                    s_lat.push(d)
                } else {
                    b_lat.push(d)
                }
            }
        }
    }
    out.push(pair_json("heartbeat", &s_lat, &b_lat));

    // update
    let (mut s_lat, mut b_lat) = (Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.update {
        for side in order(i) {
            let t = Instant::now();
            if side {
                let req = Update::new(sdk_sid.as_str()).branch(BRANCH).commit_sha(SHA);
                sdk.update(&req).await.expect("sdk update");
            } else {
                let body = UpdateBody {
                    session_id: &bare_sid,
                    branch: BRANCH,
                    commit_sha: SHA,
                    schema_version: "1.0",
                };
                bare_post(&http, &up_url, &body, true).await;
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                if side {
                    s_lat.push(d)
                } else {
                    b_lat.push(d)
                }
            }
        }
    }
    out.push(pair_json("update", &s_lat, &b_lat));

    // end_session (each call ends a fresh session; building the request,
    // including the SDK's canonical hash of the payload, is inside the timing)
    let (mut s_lat, mut b_lat) = (Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.end {
        for side in order(i) {
            let sid = end_ids.next().expect("enough sessions");
            let t = Instant::now();
            if side {
                let req =
                    EndSession::new(sid.as_str(), "bench handoff", &payload).expect("end request");
                sdk.end_session(&req).await.expect("sdk end");
            } else {
                let body = EodBody {
                    session_id: &sid,
                    summary: "bench handoff",
                    payload: &payload,
                    schema_version: "1.0",
                };
                bare_post(&http, &eod_url, &body, true).await;
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                if side {
                    s_lat.push(d)
                } else {
                    b_lat.push(d)
                }
            }
        }
    }
    out.push(pair_json("end_session", &s_lat, &b_lat));

    json!({
        "item": 1,
        "name": "per-call overhead",
        "setup": "in-process emulator on its own thread and current-thread runtime; client on another current-thread runtime; loopback; one kept-alive connection per side; SDK and bare calls alternate ABBA",
        "payload_bytes": common::canonical_len(&payload),
        "ops": out,
        "loadavg": common::loadavg(),
    })
}

/// ABBA: `true` = SDK.
fn order(i: usize) -> [bool; 2] {
    if i.is_multiple_of(2) {
        [true, false]
    } else {
        [false, true]
    }
}

/// Diagnostic: the CPU cost of the pieces of an `end_session` call outside
/// the network, SDK vs bare (used to explain the per-call ratio).
pub fn probe() -> Value {
    let (url, stop, thread) = emulator_thread();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let payload = common::payload_of(1024);
    let sample = rt.block_on(async {
        let ids = common::start_sessions(&url, "probe", 1, 1).await;
        let http = common::bare_client();
        let body = EodBody {
            session_id: &ids[0],
            summary: "bench handoff",
            payload: &payload,
            schema_version: "1.0",
        };
        let resp = http
            .post(format!("{url}/eod"))
            .header("X-Relay-Key", KEY)
            .header("Idempotency-Key", ulid::Ulid::new().to_string())
            .json(&body)
            .send()
            .await
            .expect("eod");
        resp.bytes().await.expect("body")
    });
    let _ = stop.send(());
    let _ = thread.join();
    let n = 20_000;
    let time = |name: &str, f: &mut dyn FnMut()| {
        for _ in 0..1000 {
            f();
        }
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        eprintln!("  {name:<40} {us:>8.2} us");
        json!({"step": name, "us": common::round2(us)})
    };
    let req = EndSession::new("sess_x", "bench handoff", &payload).expect("req");
    let steps = vec![
        time("sdk: EndSession::new (JCS + SHA-256)", &mut || {
            std::hint::black_box(
                EndSession::new("sess_x", "bench handoff", &payload).expect("req"),
            );
        }),
        time("sdk: serde_json::to_vec(&EndSession)", &mut || {
            std::hint::black_box(serde_json::to_vec(&req).expect("ser"));
        }),
        time("bare: serde_json::to_vec(&body)", &mut || {
            let body = EodBody {
                session_id: "sess_x",
                summary: "bench handoff",
                payload: &payload,
                schema_version: "1.0",
            };
            std::hint::black_box(serde_json::to_vec(&body).expect("ser"));
        }),
        time("sdk: decode EndSessionResponse", &mut || {
            std::hint::black_box(
                serde_json::from_slice::<crane_context::model::EndSessionResponse>(&sample)
                    .expect("de"),
            );
        }),
        time("bare: from_slice::<Value>", &mut || {
            std::hint::black_box(serde_json::from_slice::<Value>(&sample).expect("de"));
        }),
        time("sdk: IdempotencyKey::generate", &mut || {
            std::hint::black_box(crane_context::IdempotencyKey::generate());
        }),
    ];
    json!({"response_bytes": sample.len(), "steps": steps})
}
