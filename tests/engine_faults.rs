//! The reliability engine under injected faults, against the real emulator.
//!
//! Each test names the failure it injects through the emulator's control API
//! and asserts the two properties that matter: the handoff is delivered, and
//! the server holds it exactly once with the hash computed locally.

mod common;

use std::time::Duration;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::engine::Event;
use crane_context::model::{EndSession, StartSession, Update};
use crane_context::store::ItemState;
use crane_context::{EndOutcome, Error, UpdateOutcome};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn sod(repo: &str) -> StartSession {
    StartSession::new("cc-faults", "vc", repo)
        .track(1)
        .include_docs(false)
}

async fn end_once_with_fault(protocol: Protocol, fault_body: serde_json::Value) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sod("o/fault")).await.unwrap();
    fault(&url, fault_body).await;
    let req = EndSession::new(s.session_id(), "faulty", &json!({"k": "v"})).unwrap();
    let hash = req.payload.hash().unwrap().to_owned();
    match s.end(req).await.unwrap() {
        EndOutcome::Delivered(r) => assert_eq!(r.handoff.payload_hash, hash),
        other => panic!("expected delivery, got {other:?}"),
    }
    let stored = handoffs_for(&url, s.session_id()).await;
    assert_eq!(stored.len(), 1, "exactly one handoff");
    assert_eq!(stored[0]["payload_hash"], hash.as_str());
    let counts = e.crane.queue_counts().await.unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0));
}

both_generations!(drop_before_is_retried);
async fn drop_before_is_retried(protocol: Protocol) {
    end_once_with_fault(
        protocol,
        json!({"route": end_route(protocol), "mode": "drop_before", "count": 2}),
    )
    .await;
}

both_generations!(drop_after_lost_response_is_replayed_not_duplicated);
async fn drop_after_lost_response_is_replayed_not_duplicated(protocol: Protocol) {
    end_once_with_fault(
        protocol,
        json!({"route": end_route(protocol), "mode": "drop_after", "count": 1}),
    )
    .await;
}

both_generations!(an_unreadable_200_is_confirmed_by_reading_not_dead_lettered);
/// Issue #10 F: a 200 whose body is cut short is not a dead letter (the
/// server stored the handoff): the engine confirms by reading it back.
async fn an_unreadable_200_is_confirmed_by_reading_not_dead_lettered(protocol: Protocol) {
    end_once_with_fault(
        protocol,
        json!({"route": end_route(protocol), "mode": "truncate_after", "count": 1}),
    )
    .await;
}

both_generations!(server_error_burst_is_retried);
async fn server_error_burst_is_retried(protocol: Protocol) {
    end_once_with_fault(
        protocol,
        json!({"route": end_route(protocol), "mode": "status", "status": 503, "count": 3}),
    )
    .await;
}

both_generations!(rate_limit_with_retry_after_is_honoured);
async fn rate_limit_with_retry_after_is_honoured(protocol: Protocol) {
    end_once_with_fault(
        protocol,
        json!({"route": end_route(protocol), "mode": "status", "status": 429, "retry_after": 1, "count": 1}),
    )
    .await;
}

both_generations!(timeout_then_replay);
async fn timeout_then_replay(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let mut e = engine(&url).await;
    let s = e.crane.start_session(sod("o/slow")).await.unwrap();
    // Longer than the test client's 3 s request timeout.
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "delay", "delay_ms": 3_500, "count": 1}),
    )
    .await;
    let req = EndSession::new(s.session_id(), "slow", &json!({"t": 1})).unwrap();
    let outcome = s.end(req).await.unwrap();
    let delivered = match outcome {
        EndOutcome::Delivered(_) => true,
        EndOutcome::Queued { .. } => {
            // The timeout marked the server unreachable; the probe brings it back.
            let ev = e.events.wait_for_delivery(WAIT).await;
            matches!(ev, Event::HandoffDelivered { .. })
        }
    };
    assert!(delivered);
    assert_eq!(handoffs_for(&url, s.session_id()).await.len(), 1);
}

both_generations!(truncated_replay_is_success);
async fn truncated_replay_is_success(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sod("o/trunc")).await.unwrap();
    // A 70 KB payload makes the stored /eod answer larger than 64 KiB, so the
    // replay after the lost response is the truncated 409.
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "drop_after", "count": 1}),
    )
    .await;
    let payload = json!({"blob": "y".repeat(70_000)});
    let req = EndSession::new(s.session_id(), "big", &payload).unwrap();
    let hash = req.payload.hash().unwrap().to_owned();
    match s.end(req).await.unwrap() {
        EndOutcome::Delivered(r) => assert_eq!(r.handoff.payload_hash, hash),
        other => panic!("{other:?}"),
    }
    assert_eq!(handoffs_for(&url, s.session_id()).await.len(), 1);
}

both_generations!(offline_end_is_queued_then_delivered_exactly_once_when_server_returns);
async fn offline_end_is_queued_then_delivered_exactly_once_when_server_returns(protocol: Protocol) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let emu = emulator_speaking(Some(db.clone()), None, protocol).await;
    let (url, addr) = (emu.url(), emu.addr());
    let mut e = engine(&url).await;
    let s = e.crane.start_session(sod("o/offline")).await.unwrap();
    emu.shutdown().await;

    // Offline: the update and the end are queued, in order, and the calls return at once.
    let up = s
        .update(Update::new(s.session_id()).branch("wip"))
        .await
        .unwrap();
    assert!(matches!(up, UpdateOutcome::Queued { .. }), "{up:?}");
    let req = EndSession::new(s.session_id(), "offline handoff", &json!({"n": 1})).unwrap();
    let hash = req.payload.hash().unwrap().to_owned();
    let local_id = match s.end(req).await.unwrap() {
        EndOutcome::Queued { local_id } => local_id,
        other => panic!("{other:?}"),
    };
    let items = e.crane.queue_items(Some(ItemState::Pending)).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].local_id, local_id);
    assert_eq!(items[1].payload_hash.as_deref(), Some(hash.as_str()));

    // The server comes back on the same address; the probe notices, the drain delivers.
    let emu = emulator_speaking(Some(db), Some(addr), protocol).await;
    let ev = e.events.wait_for_delivery(WAIT).await;
    match ev {
        Event::HandoffDelivered {
            local_id: l,
            payload_hash,
            ..
        } => {
            assert_eq!(l, local_id);
            assert_eq!(payload_hash, hash);
        }
        other => panic!("{other:?}"),
    }
    let stored = handoffs_for(&emu.url(), s.session_id()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(e.crane.queue_counts().await.unwrap().pending, 0);
    let active = state(&emu.url()).await;
    let sess = active["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == s.session_id())
        .cloned()
        .unwrap();
    assert_eq!(sess["status"], "ended");
}

both_generations!(idempotency_window_passed_is_confirmed_by_hash);
async fn idempotency_window_passed_is_confirmed_by_hash(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let mut e = engine(&url).await;
    let s = e.crane.start_session(sod("o/window")).await.unwrap();
    // Every attempt is processed but its answer lost: the end stays queued.
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "drop_after", "count": 20}),
    )
    .await;
    let req = EndSession::new(s.session_id(), "late", &json!({"w": 1})).unwrap();
    let hash = req.payload.hash().unwrap().to_owned();
    assert!(matches!(
        s.end(req).await.unwrap(),
        EndOutcome::Queued { .. }
    ));
    // Two hours later the key is forgotten; the retry meets the ended session.
    control(&url, reqwest::Method::DELETE, "faults", None).await;
    advance_clock(&url, 2 * 3600).await;
    // The explicit sync or the background drain (whichever holds the item)
    // delivers it: confirmed by hash, not re-sent as a second handoff.
    e.crane.sync().await.unwrap();
    e.events.wait_for_delivery(Duration::from_secs(20)).await;
    let stored = handoffs_for(&url, s.session_id()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["payload_hash"], hash.as_str());
}

// With re-homing off (issue #10: the setting), a handoff whose session was
// abandoned is dead with that reason, and blocks nothing else.
both_generations!(abandoned_session_with_rehoming_off_dead_letters_the_handoff_with_the_reason);
async fn abandoned_session_with_rehoming_off_dead_letters_the_handoff_with_the_reason(
    protocol: Protocol,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let emu = emulator_speaking(Some(db.clone()), None, protocol).await;
    let (url, addr) = (emu.url(), emu.addr());
    let store_dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let e = engine_with(
        &url,
        store_dir,
        crane_context::engine::Clock::system(),
        |c| c.rehome_abandoned(false),
    )
    .await;
    let lost = e.crane.start_session(sod("o/abandon")).await.unwrap();
    let other = e.crane.start_session(sod("o/fine")).await.unwrap();
    emu.shutdown().await;
    assert!(matches!(
        lost.end_with("stale", &json!({"a": 1})).await.unwrap(),
        EndOutcome::Queued { .. }
    ));
    assert!(matches!(
        other.end_with("fine", &json!({"b": 2})).await.unwrap(),
        EndOutcome::Queued { .. }
    ));
    e.crane.shutdown(); // stop the background drain: this test drives sync itself

    let emu = emulator_speaking(Some(db), Some(addr), protocol).await;
    advance_clock(&url, 46 * 60).await;
    // Another process starts the same slot: the stale session is abandoned.
    let raw = client(&url);
    let fresh = raw.start_session(&sod("o/abandon")).await.unwrap();
    assert_ne!(fresh.session_id, lost.session_id());

    let report = e.crane.sync().await.unwrap();
    assert_eq!((report.delivered, report.dead), (1, 1), "{report:?}");
    let dead = e.crane.queue_items(Some(ItemState::Dead)).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].session_id, lost.session_id());
    let reason = dead[0].last_error.as_deref().unwrap_or("");
    assert!(
        reason.contains(&format!("session {} was abandoned", lost.session_id()))
            && reason.contains("re-homing is off"),
        "{reason}"
    );
    // Nothing was started or stored for it.
    assert_eq!(state(&emu.url()).await["sessions_count"], 3);
    assert!(handoffs_for(&emu.url(), lost.session_id()).await.is_empty());
    assert_eq!(handoffs_for(&emu.url(), other.session_id()).await.len(), 1);
    // Retry and drop work on dead items.
    e.crane.retry_dead(&dead[0].local_id).await.unwrap();
    assert_eq!(e.crane.queue_counts().await.unwrap().pending, 1);
    e.crane.drop_item(&dead[0].local_id).await.unwrap();
    assert_eq!(e.crane.queue_counts().await.unwrap().pending, 0);
}

both_generations!(two_engines_sharing_one_queue_deliver_each_item_once);
async fn two_engines_sharing_one_queue_deliver_each_item_once(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let a = engine_at(&url, dir.clone(), crane_context::engine::Clock::system()).await;
    let b = engine_at(&url, dir.clone(), crane_context::engine::Clock::system()).await;
    let mut sessions = Vec::new();
    for i in 0..12 {
        let s = a
            .crane
            .client()
            .start_session(&sod("o/shared").track(100 + i))
            .await
            .unwrap();
        sessions.push(s.session_id);
    }
    // Queue every end without sending (the server is marked unreachable).
    a.go_offline("test: queue only");
    for sid in &sessions {
        let out = a
            .crane
            .end_session(EndSession::new(sid, "shared", &json!({"s": sid})).unwrap())
            .await
            .unwrap();
        assert!(matches!(out, EndOutcome::Queued { .. }));
    }
    let (ra, rb) = tokio::join!(a.crane.sync(), b.crane.sync());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // Each sync reports the whole queue after it: nothing left, and at most
    // the 12 items delivered (whichever engine sent them).
    assert_eq!((ra.pending, rb.pending), (0, 0), "{ra:?} {rb:?}");
    assert!(ra.delivered <= 12 && rb.delivered <= 12, "{ra:?} {rb:?}");
    assert!(ra.delivered + rb.delivered >= 12, "{ra:?} {rb:?}");
    for sid in &sessions {
        assert_eq!(handoffs_for(&url, sid).await.len(), 1, "{sid}");
    }
    assert_eq!(a.crane.queue_counts().await.unwrap().pending, 0);
}

both_generations!(permanent_error_on_direct_end_is_returned_and_kept_as_dead_item);
async fn permanent_error_on_direct_end_is_returned_and_kept_as_dead_item(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let out = e
        .crane
        .end_session(EndSession::new("sess_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "x", &json!({})).unwrap())
        .await;
    assert!(matches!(out, Err(Error::NotFound { .. })), "{out:?}");
    let dead = e.crane.queue_items(Some(ItemState::Dead)).await.unwrap();
    assert_eq!(dead.len(), 1, "kept, not lost");
}
