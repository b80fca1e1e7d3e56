//! Item 12 — what a call made from a host thread costs the chosen stack
//! itself, before any SDK code: the floor under the Python (and Swift)
//! blocking calls of item 10.
//!
//! The same `POST /heartbeat` on a kept-alive connection, three ways, from
//! this one (host) thread, rotated call by call against one emulator on a
//! thread of its own:
//!
//! - **reqwest, multi-thread runtime**: `Runtime::block_on` from this thread
//!   on a two-worker runtime — how the bindings' blocking calls run
//!   (`src/ffi/runtime.rs`). hyper's connection task and the socket's
//!   readiness live on the workers, so each call hands over to a worker and
//!   back.
//! - **reqwest, current-thread runtime**: the same client code on a runtime
//!   this thread drives itself (what item 1's bare side does): no handover.
//! - **ureq**: a blocking client doing the whole exchange on the calling
//!   thread, as Python's `http.client` does.
//!
//! `multi-thread ÷ ureq` is the least any binding built on reqwest and one
//! shared runtime pays over a caller-thread client in the same language.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::calls::{bare_post, HeartbeatBody};
use crate::common::{self, Lat, KEY};

pub fn run(quick: bool) -> Value {
    let (warmup, n) = if quick { (100, 500) } else { (300, 3000) };
    let (url, stop, thread) = crate::calls::emulator_thread();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("multi-thread runtime");
    let sid = current
        .block_on(common::start_sessions(&url, "hostcall", 1, 1))
        .pop()
        .expect("a session");
    let hb_url = format!("{url}/heartbeat");
    let body = HeartbeatBody { session_id: &sid };
    let text = serde_json::to_string(&body).expect("body");
    // One client per runtime: a pooled connection's task lives on the
    // runtime that opened it.
    let (http_current, http_multi) = (common::bare_client(), common::bare_client());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    let mut lat: [Vec<Duration>; 3] = Default::default();
    for i in 0..warmup + n {
        let order = match i % 3 {
            0 => [0, 1, 2],
            1 => [2, 0, 1],
            _ => [1, 2, 0],
        };
        for side in order {
            let t = Instant::now();
            match side {
                0 => {
                    multi.block_on(bare_post(&http_multi, &hb_url, &body, false));
                }
                1 => {
                    current.block_on(bare_post(&http_current, &hb_url, &body, false));
                }
                _ => {
                    let mut resp = agent
                        .post(&hb_url)
                        .header("X-Relay-Key", KEY)
                        .header("Content-Type", "application/json")
                        .send(text.as_bytes())
                        .expect("ureq send");
                    assert!(resp.status().is_success(), "ureq: {}", resp.status());
                    let answer = resp.body_mut().read_to_string().expect("ureq body");
                    let _: Value = serde_json::from_str(&answer).expect("ureq json");
                }
            }
            let d = t.elapsed();
            if i >= warmup {
                lat[side].push(d);
            }
        }
    }
    let _ = stop.send(());
    let _ = thread.join();

    let [m, c, u] = [Lat::of(&lat[0]), Lat::of(&lat[1]), Lat::of(&lat[2])];
    let ratio = |a: &Lat, b: &Lat| json!({"p50": common::round3(a.p50_us / b.p50_us), "p99": common::round3(a.p99_us / b.p99_us)});
    eprintln!(
        "  heartbeat p50/p99 us: reqwest multi-thread {:.0}/{:.0}, current-thread {:.0}/{:.0}, ureq {:.0}/{:.0}",
        m.p50_us, m.p99_us, c.p50_us, c.p99_us, u.p50_us, u.p99_us
    );
    json!({
        "item": 12,
        "call": "heartbeat",
        "sides": {
            "reqwest multi-thread (host thread, block_on)": m.json(),
            "reqwest current-thread": c.json(),
            "ureq (caller thread)": u.json(),
        },
        "ratios": {
            "multi_thread_vs_ureq": ratio(&m, &u),
            "current_thread_vs_ureq": ratio(&c, &u),
            "multi_thread_vs_current_thread": ratio(&m, &c),
        },
    })
}
