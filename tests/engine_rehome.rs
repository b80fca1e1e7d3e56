//! Re-homing (issue #10): a queued handoff whose session was abandoned or
//! ended without it is delivered in a new session of the same
//! agent/venture/repo/track, exactly once, never into someone's live session.
//!
//! Each test queues an end while the engine is marked offline (its
//! background tasks stopped, so the test decides when delivery happens),
//! lets another agent's `/sod` abandon the session after the 45-minute
//! window on the emulator's clock, and then syncs against the real emulator.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::engine::{Clock, Event, WaitReason, REHOME_META_KEY};
use crane_context::model::{EndSession, StartSession};
use crane_context::{Client, EndOutcome};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

fn sod(repo: &str) -> StartSession {
    StartSession::new("cc-rehome", "vc", repo)
        .track(7)
        .include_docs(false)
}

/// A queued end of a session that another agent's `/sod` then abandoned.
struct Stranded {
    engine: Engine,
    session_id: String,
    local_id: String,
    hash: String,
    /// The session whose `/sod` abandoned ours (still active).
    newcomer: String,
    raw: Client,
}

async fn stranded(url: &str, repo: &str, dir: Arc<tempfile::TempDir>) -> Stranded {
    let engine = engine_at(url, dir, Clock::system()).await;
    let s = engine.crane.start_session(sod(repo)).await.unwrap();
    let session_id = s.session_id().to_owned();
    drop(s); // no more heartbeats
    engine.crane.shutdown(); // the test drives delivery with sync
    engine.go_offline("test: queue only");
    let req = EndSession::new(&session_id, "the work", &json!({"done": [1, 2], "é": 0.5})).unwrap();
    let hash = req.payload.hash().unwrap().to_owned();
    let local_id = match engine.crane.end_session(req).await.unwrap() {
        EndOutcome::Queued { local_id } => local_id,
        other => panic!("expected queued, got {other:?}"),
    };
    advance_clock(url, 46 * 60).await;
    let raw = client(url);
    let fresh = raw.start_session(&sod(repo)).await.unwrap();
    assert_ne!(
        fresh.session_id, session_id,
        "the stale session is abandoned"
    );
    Stranded {
        engine,
        session_id,
        local_id,
        hash,
        newcomer: fresh.session_id,
        raw,
    }
}

async fn end_raw(raw: &Client, session_id: &str) {
    raw.end_session(&EndSession::new(session_id, "newcomer's own work", &json!({})).unwrap())
        .await
        .unwrap();
}

/// Every handoff on the server carrying `hash`.
async fn handoffs_with(url: &str, hash: &str) -> Vec<Value> {
    state(url).await["handoffs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h["payload_hash"] == hash)
        .collect()
}

/// The sessions whose meta carries the re-home marker, as (id, status, marker).
async fn rehome_sessions(url: &str) -> Vec<(String, String, Value)> {
    state(url).await["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| {
            let meta: Value = serde_json::from_str(s["meta_json"].as_str()?).ok()?;
            let marker = meta.get(REHOME_META_KEY)?.clone();
            Some((
                s["id"].as_str()?.to_owned(),
                s["status"].as_str()?.to_owned(),
                marker,
            ))
        })
        .collect()
}

async fn session_status(url: &str, id: &str) -> String {
    state(url).await["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .find(|s| s["id"] == id)
        .and_then(|s| s["status"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Checks the handoff is stored exactly once, in the one re-home session,
/// which is ended and whose meta names the original; returns that session.
async fn assert_rehomed_once(url: &str, st: &Stranded) -> String {
    let stored = handoffs_with(url, &st.hash).await;
    assert_eq!(stored.len(), 1, "exactly one handoff: {stored:?}");
    assert_eq!(stored[0]["summary"], "the work");
    let homes = rehome_sessions(url).await;
    assert_eq!(homes.len(), 1, "one re-home session: {homes:?}");
    let (to, status, marker) = &homes[0];
    assert_eq!(stored[0]["session_id"], to.as_str());
    assert_eq!(status, "ended");
    assert_eq!(marker["from_session_id"], st.session_id.as_str());
    assert_eq!(marker["local_id"], st.local_id.as_str());
    assert!(handoffs_for(url, &st.session_id).await.is_empty());
    assert_ne!(to, &st.session_id);
    assert_ne!(to, &st.newcomer);
    to.clone()
}

both_generations!(a_handoff_whose_session_was_abandoned_is_rehomed_exactly_once_with_an_event);
async fn a_handoff_whose_session_was_abandoned_is_rehomed_exactly_once_with_an_event(
    protocol: Protocol,
) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let mut st = stranded(&url, "o/rehome", Arc::new(tempfile::tempdir().unwrap())).await;
    // The newcomer finishes: the tuple is free.
    end_raw(&st.raw, &st.newcomer).await;

    let report = st.engine.crane.sync().await.unwrap();
    assert_eq!(
        (report.delivered, report.dead, report.pending),
        (1, 0, 0),
        "{report:?}"
    );
    let to = assert_rehomed_once(&url, &st).await;
    let ev = st
        .engine
        .events
        .wait_for(WAIT, |e| matches!(e, Event::HandoffRehomed { .. }))
        .await;
    let handoff_id = stored_id(&url, &st.hash).await;
    assert_eq!(
        ev,
        Event::HandoffRehomed {
            local_id: st.local_id.clone(),
            from_session_id: st.session_id.clone(),
            to_session_id: to.clone(),
            handoff_id,
        }
    );
    let delivered = st.engine.events.wait_for_delivery(WAIT).await;
    assert!(
        matches!(&delivered, Event::HandoffDelivered { session_id, .. } if *session_id == to),
        "{delivered:?}"
    );
    let counts = st.engine.crane.queue_counts().await.unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0));
}

async fn stored_id(url: &str, hash: &str) -> String {
    handoffs_with(url, hash).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

both_generations!(a_rehome_waits_for_a_live_session_of_the_tuple_and_never_ends_it);
async fn a_rehome_waits_for_a_live_session_of_the_tuple_and_never_ends_it(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let st = stranded(&url, "o/busy", Arc::new(tempfile::tempdir().unwrap())).await;

    // The newcomer is still working: the handoff waits, and says why.
    let report = st.engine.crane.sync().await.unwrap();
    assert_eq!((report.delivered, report.dead, report.pending), (0, 0, 1));
    let why = st.engine.crane.why_queued(&st.local_id).await.unwrap();
    assert_eq!(
        why,
        Some(WaitReason::RehomeWaits {
            session_id: st.newcomer.clone()
        })
    );
    assert!(why.unwrap().to_string().contains(&format!(
        "re-home waits: session {} is active for this agent/venture/repo/track",
        st.newcomer
    )));
    // Also when an engine's clock thinks the newcomer is stale and asks
    // `/sod`, which resumes the newcomer's session: it is not ended. (A
    // second engine on the same store, its wall clock two hours ahead.)
    let skewed = Clock::system();
    skewed.jump(Duration::from_secs(2 * 3600));
    let skewed_engine = engine_at(&url, st.engine.dir.clone(), skewed).await;
    skewed_engine.crane.shutdown();
    let report = skewed_engine.crane.sync().await.unwrap();
    assert_eq!((report.delivered, report.dead, report.pending), (0, 0, 1));
    assert_eq!(
        skewed_engine.crane.why_queued(&st.local_id).await.unwrap(),
        Some(WaitReason::RehomeWaits {
            session_id: st.newcomer.clone()
        })
    );
    assert_eq!(session_status(&url, &st.newcomer).await, "active");
    assert!(handoffs_for(&url, &st.newcomer).await.is_empty());
    assert!(handoffs_with(&url, &st.hash).await.is_empty());
    assert!(rehome_sessions(&url).await.is_empty());

    // Once the newcomer has ended, the next attempt re-homes it (in a fresh
    // session: not the newcomer's, although its `/sod` was answered with it).
    end_raw(&st.raw, &st.newcomer).await;
    let report = skewed_engine.crane.sync().await.unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0), "{report:?}");
    assert_rehomed_once(&url, &st).await;
    assert_eq!(handoffs_for(&url, &st.newcomer).await.len(), 1);
}

both_generations!(a_crash_between_the_rehome_sod_and_eod_delivers_exactly_once);
async fn a_crash_between_the_rehome_sod_and_eod_delivers_exactly_once(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let st = stranded(&url, "o/crash", dir.clone()).await;
    end_raw(&st.raw, &st.newcomer).await;

    // The re-home `/sod` is processed but its answer lost.
    fault(
        &url,
        json!({"route": start_route(protocol), "mode": "drop_after", "count": 1}),
    )
    .await;
    let report = st.engine.crane.sync().await.unwrap();
    assert_eq!((report.delivered, report.pending), (0, 1), "{report:?}");
    // The original `/eod` passes (409: not active), then the re-home `/eod`
    // is stored but its answer lost, and the process dies.
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "delay", "delay_ms": 0, "count": 1}),
    )
    .await;
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "drop_after", "count": 1}),
    )
    .await;
    let report = st.engine.crane.sync().await.unwrap();
    assert_eq!((report.delivered, report.pending), (0, 1), "{report:?}");
    assert_eq!(handoffs_with(&url, &st.hash).await.len(), 1, "stored once");
    let Stranded { engine, hash, .. } = st;
    engine.crane.shutdown();
    drop(engine);

    // Past the server's idempotency hour: replays are forgotten, so only
    // the stored target keeps the next process from a second session.
    advance_clock(&url, 2 * 3600).await;
    let mut again = engine_at(&url, dir, Clock::system()).await;
    let report = again.crane.sync().await.unwrap();
    assert_eq!((report.pending, report.dead), (0, 0), "{report:?}");
    again.events.wait_for_delivery(WAIT).await;
    let stored = handoffs_with(&url, &hash).await;
    assert_eq!(stored.len(), 1, "exactly one handoff: {stored:?}");
    let homes = rehome_sessions(&url).await;
    assert_eq!(homes.len(), 1, "one re-home session: {homes:?}");
    assert_eq!(stored[0]["session_id"], homes[0].0.as_str());
    assert_eq!(homes[0].1, "ended");
}
