//! Item 9 — the engine path a user takes (`Crane` / `SessionHandle`) vs bare
//! reqwest, and for the writes that must be durable vs bare reqwest plus one
//! SQLite commit at the same durability (WAL, `synchronous=FULL`).
//!
//! Same set-up as item 1 (emulator on its own thread and runtime, client on a
//! current-thread runtime, one kept-alive connection per side, ABBA order),
//! with the engine's store and the bare side's raw SQLite file in one
//! directory on the work disk. The bare durable side does what the engine
//! promises, by hand: commit the request body (one fsync), then send it.
//! Both ratios are reported for update and end: vs bare reqwest alone and
//! vs bare reqwest + the commit (the target).

use std::time::{Duration, Instant};

use crane_context::engine::{Crane, CraneConfig, EndOutcome, UpdateOutcome};
use crane_context::model::{EndSession, StartSession, Update};
use crane_context::store::QueueLimits;
use crane_context::{ClientConfig, RelayKey};
use serde_json::{json, Value};

use crate::calls::{bare_post, EodBody, HeartbeatBody, UpdateBody, BRANCH, SHA};
use crate::common::{self, Lat, KEY};
use crate::enqueue::{raw_commit, raw_conn};

pub struct Plan {
    pub warmup: usize,
    pub heartbeat: usize,
    pub update: usize,
    pub end: usize,
    pub read: usize,
}

pub fn run(plan: Plan) -> Value {
    let (url, stop, thread) = crate::calls::emulator_thread();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let result = rt.block_on(measure(&url, &plan));
    let _ = stop.send(());
    let _ = thread.join();
    result
}

fn ratio_json(name: &str, sdk: &[Duration], bare: &[Duration], target: f64, vs: &str) -> Value {
    let (s, b) = (Lat::of(sdk), Lat::of(bare));
    let r50 = s.p50_us / b.p50_us;
    let r99 = s.p99_us / b.p99_us;
    eprintln!(
        "  {name:<22} engine p50 {:>7.1}us p99 {:>7.1}us | {vs} p50 {:>7.1}us p99 {:>7.1}us | ratio p50 {r50:.3} p99 {r99:.3}",
        s.p50_us, s.p99_us, b.p50_us, b.p99_us
    );
    json!({
        "op": name, "vs": vs, "engine": s.json(), "bare": b.json(),
        "ratio_p50": common::round3(r50), "ratio_p99": common::round3(r99),
        "target_p50": target, "met": r50 <= target,
    })
}

/// ABBA order over three sides: 0 = engine, 1 = bare, 2 = bare + commit.
fn order3(i: usize) -> [usize; 3] {
    match i % 3 {
        0 => [0, 1, 2],
        1 => [2, 0, 1],
        _ => [1, 2, 0],
    }
}

async fn measure(url: &str, plan: &Plan) -> Value {
    let dir = common::disk_scratch("engine");
    let client = ClientConfig::new(url, RelayKey::new(KEY).expect("key")).expect("config");
    let mut config = CraneConfig::new(client).store_path(dir.join("crane.db"));
    config.queue_limits = QueueLimits {
        max_items: 1_000_000,
        max_bytes: u64::MAX / 2,
    };
    let crane = Crane::open(config).await.expect("open crane");
    let mut raw = raw_conn(&dir.join("raw.db"));
    let http = common::bare_client();
    let payload = common::payload_of(1024);
    let (hb_url, up_url, eod_url) = (
        format!("{url}/heartbeat"),
        format!("{url}/update"),
        format!("{url}/eod"),
    );

    let mut start = StartSession::new("bench-engine", "vc", "bench/engine");
    start.include_docs = false;
    let handle = crane.start_session(start).await.expect("start session");
    let ids = common::start_sessions(url, "engine", 2 + 3 * (plan.end + plan.warmup), 8).await;
    let bare_sid = ids[0].clone();
    let mut end_ids = ids[2..].iter().cloned();
    let mut out = Vec::new();

    // heartbeat: SessionHandle::heartbeat_now vs bare reqwest
    let (mut e, mut b) = (Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.heartbeat {
        let sides = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in sides {
            let t = Instant::now();
            if side == 0 {
                handle.heartbeat_now().await.expect("engine heartbeat");
            } else {
                let body = HeartbeatBody {
                    session_id: &bare_sid,
                };
                bare_post(&http, &hb_url, &body, false).await;
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                [&mut e, &mut b][side].push(d);
            }
        }
    }
    out.push(ratio_json("heartbeat", &e, &b, 1.10, "bare reqwest"));

    // update: SessionHandle::update (queued durably, sent, settled)
    let (mut e, mut b, mut bc) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.update {
        for side in order3(i) {
            let body = UpdateBody {
                session_id: &bare_sid,
                branch: BRANCH,
                commit_sha: SHA,
                schema_version: "1.0",
            };
            let t = Instant::now();
            match side {
                0 => {
                    let req = Update::new(handle.session_id())
                        .branch(BRANCH)
                        .commit_sha(SHA);
                    let r = handle.update(req).await.expect("engine update");
                    assert!(matches!(r, UpdateOutcome::Applied(_)), "update not applied");
                }
                1 => {
                    bare_post(&http, &up_url, &body, true).await;
                }
                _ => {
                    raw_commit(&mut raw, &serde_json::to_string(&body).expect("body"));
                    bare_post(&http, &up_url, &body, true).await;
                }
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                [&mut e, &mut b, &mut bc][side].push(d);
            }
        }
    }
    out.push(ratio_json(
        "update",
        &e,
        &bc,
        1.10,
        "bare reqwest + 1 durable commit",
    ));
    out.push(ratio_json(
        "update (vs reqwest alone)",
        &e,
        &b,
        f64::INFINITY,
        "bare reqwest",
    ));

    // end: Crane::end_session (each call ends a fresh session)
    let (mut e, mut b, mut bc) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.end {
        for side in order3(i) {
            let sid = end_ids.next().expect("enough sessions");
            let body = EodBody {
                session_id: &sid,
                summary: "bench handoff",
                payload: &payload,
                schema_version: "1.0",
            };
            let t = Instant::now();
            match side {
                0 => {
                    let req =
                        EndSession::new(sid.as_str(), "bench handoff", &payload).expect("request");
                    let r = crane.end_session(req).await.expect("engine end");
                    assert!(matches!(r, EndOutcome::Delivered(_)), "end not delivered");
                }
                1 => {
                    bare_post(&http, &eod_url, &body, true).await;
                }
                _ => {
                    raw_commit(&mut raw, &serde_json::to_string(&body).expect("body"));
                    bare_post(&http, &eod_url, &body, true).await;
                }
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                [&mut e, &mut b, &mut bc][side].push(d);
            }
        }
    }
    out.push(ratio_json(
        "end",
        &e,
        &bc,
        1.10,
        "bare reqwest + 1 durable commit",
    ));
    out.push(ratio_json(
        "end (vs reqwest alone)",
        &e,
        &b,
        f64::INFINITY,
        "bare reqwest",
    ));

    // a read: Crane::last_handoff (the newest handoff of a repo) vs the same GET
    let read_url = format!("{url}/handoffs?venture=vc&repo=bench%2Fengine-0&limit=1");
    let (mut e, mut b) = (Vec::new(), Vec::new());
    for i in 0..plan.warmup + plan.read {
        let sides = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in sides {
            let t = Instant::now();
            if side == 0 {
                crane
                    .last_handoff("vc", "bench/engine-0", None)
                    .await
                    .expect("engine read");
            } else {
                let r = http
                    .get(&read_url)
                    .header("X-Relay-Key", KEY)
                    .send()
                    .await
                    .expect("bare read");
                assert!(r.status().is_success(), "bare read: {}", r.status());
                let v: Value =
                    serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
                assert!(v["handoffs"].is_array(), "bare read body");
            }
            let d = t.elapsed();
            if i >= plan.warmup {
                [&mut e, &mut b][side].push(d);
            }
        }
    }
    out.push(ratio_json(
        "read (last_handoff)",
        &e,
        &b,
        1.10,
        "bare reqwest",
    ));

    let _ = crane.close().await;
    drop(crane);
    let _ = std::fs::remove_dir_all(&dir);
    json!({
        "item": 9,
        "name": "engine path",
        "setup": "in-process emulator on its own thread; engine on a current-thread runtime; store and raw SQLite file (WAL, synchronous=FULL) in one directory on the work disk; one kept-alive connection per side; sides interleaved (ABBA / rotating)",
        "payload_bytes": common::canonical_len(&payload),
        "ops": out,
        "loadavg": common::loadavg(),
    })
}
