//! Queue and cache behaviour of the engine beyond single faults: draining at
//! start-up, flushing before a new session, offline reads from the cache,
//! caps, and clear errors for a bad queue file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::engine::{Clock, Crane, CraneConfig, Event};
use crane_context::model::{EndSession, SessionTuple, SodStatus, StartSession, Update};
use crane_context::store::QueueLimits;
use crane_context::{EndOutcome, Error, UpdateOutcome};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

fn sod(repo: &str) -> StartSession {
    StartSession::new("cc-queue", "vc", repo)
        .track(7)
        .include_docs(false)
}

both_generations!(a_new_engine_drains_what_a_previous_one_left);
async fn a_new_engine_drains_what_a_previous_one_left(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let first = engine_at(&url, dir.clone(), Clock::system()).await;
    let s = first
        .crane
        .client()
        .start_session(&sod("o/restart"))
        .await
        .unwrap();
    first.go_offline("test: pretend the network is down");
    let out = first
        .crane
        .end_session(EndSession::new(&s.session_id, "left behind", &json!({"r": 1})).unwrap())
        .await
        .unwrap();
    assert!(matches!(out, EndOutcome::Queued { .. }));
    first.crane.shutdown();
    drop(first);

    let mut second = engine_at(&url, dir, Clock::system()).await;
    second.events.wait_for_delivery(WAIT).await;
    assert_eq!(handoffs_for(&url, &s.session_id).await.len(), 1);
}

both_generations!(starting_a_session_flushes_the_queued_end_of_the_previous_one_first);
async fn starting_a_session_flushes_the_queued_end_of_the_previous_one_first(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let old = e.crane.start_session(sod("o/flush")).await.unwrap();
    e.go_offline("test: offline");
    assert!(matches!(
        old.end_with("queued end", &json!({"f": 1})).await.unwrap(),
        EndOutcome::Queued { .. }
    ));
    e.crane.client().connectivity().mark_online();
    // Without the flush, /sod would resume the old session and the queued
    // end would later end the new one.
    let new = e.crane.start_session(sod("o/flush")).await.unwrap();
    assert_eq!(new.start_response().unwrap().status, SodStatus::Created);
    assert_ne!(new.session_id(), old.session_id());
    assert_eq!(handoffs_for(&url, old.session_id()).await.len(), 1);
    assert_eq!(e.crane.queue_counts().await.unwrap().pending, 0);
}

both_generations!(a_queued_end_of_an_uncached_session_is_flushed_before_a_new_start);
/// A session this store never cached (started by another tool) and ended
/// offline by id is queued without its tuple; a later `/sod` still delivers
/// that end first, so the new start cannot resume the session it ends.
async fn a_queued_end_of_an_uncached_session_is_flushed_before_a_new_start(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    // The plain client caches nothing: the engine's store never sees it.
    let other = e
        .crane
        .client()
        .start_session(&sod("o/elsewhere"))
        .await
        .unwrap();
    e.go_offline("test: offline");
    let out = e
        .crane
        .end_session(EndSession::new(&other.session_id, "ended by id", &json!({"x": 1})).unwrap())
        .await
        .unwrap();
    assert!(matches!(out, EndOutcome::Queued { .. }));
    e.crane.shutdown(); // only the start's own flush may deliver it
    e.crane.client().connectivity().mark_online();
    let new = e.crane.start_session(sod("o/elsewhere")).await.unwrap();
    assert_eq!(new.start_response().unwrap().status, SodStatus::Created);
    assert_ne!(new.session_id(), other.session_id);
    assert_eq!(handoffs_for(&url, &other.session_id).await.len(), 1);
    assert_eq!(e.crane.queue_counts().await.unwrap().pending, 0);
}

both_generations!(an_update_by_session_id_is_queued_with_the_cached_tuple);
/// `Crane::update` by session id takes the session's tuple from the cache
/// (inside the enqueue's own transaction): a session the engine started is
/// queued with its tuple, one it never cached with the unknown tuple.
async fn an_update_by_session_id_is_queued_with_the_cached_tuple(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let mine = e.crane.start_session(sod("o/update-by-id")).await.unwrap();
    let other = e
        .crane
        .client()
        .start_session(&sod("o/elsewhere"))
        .await
        .unwrap();
    e.crane.shutdown(); // nothing delivers the queued updates
    e.go_offline("test: offline");
    for sid in [mine.session_id(), other.session_id.as_str()] {
        let out = e
            .crane
            .update(Update::new(sid).branch("wip"))
            .await
            .unwrap();
        assert!(matches!(out, UpdateOutcome::Queued { .. }), "{out:?}");
    }
    let items = e.crane.store().list(None).unwrap();
    let tuple_of = |sid: &str| {
        items
            .iter()
            .find(|i| i.session_id == sid)
            .map(|i| i.tuple.clone())
            .unwrap()
    };
    assert_eq!(tuple_of(mine.session_id()), mine.session().tuple());
    assert!(!mine.session().tuple().repo.is_empty());
    let unknown = SessionTuple {
        agent: String::new(),
        venture: String::new(),
        repo: String::new(),
        track: None,
    };
    assert_eq!(tuple_of(&other.session_id), unknown);
}

both_generations!(offline_reads_come_from_the_cache_marked_stale);
async fn offline_reads_come_from_the_cache_marked_stale(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    if protocol == Protocol::V2 {
        // A v2 server serves the documents it was given.
        control(
            &url,
            reqwest::Method::POST,
            "docs",
            Some(json!({"scope": "vc", "doc_name": "guide.md", "content": "# Guide\n"})),
        )
        .await;
    }
    let s = e
        .crane
        .start_session(sod("o/cache").include_docs(true))
        .await
        .unwrap();
    s.end_with("cached", &json!({"c": 1})).await.unwrap();
    let live = e
        .crane
        .last_handoff("vc", "o/cache", Some(7))
        .await
        .unwrap();
    assert!(!live.stale);
    let id = live.value.as_ref().unwrap().id.clone();
    emu.shutdown().await;
    let cached = e
        .crane
        .last_handoff("vc", "o/cache", Some(7))
        .await
        .unwrap();
    assert!(cached.stale);
    assert!(cached.age.is_some());
    assert_eq!(cached.value.unwrap().id, id);
    let docs = e
        .crane
        .cached_docs()
        .await
        .unwrap()
        .expect("docs cached by /sod");
    assert!(!docs.value.is_empty());
    // Nothing cached for another repo: the connectivity error is returned.
    assert!(e
        .crane
        .last_handoff("vc", "o/never", Some(7))
        .await
        .unwrap_err()
        .is_connectivity());
}

both_generations!(a_full_queue_refuses_new_work_and_evicts_nothing);
async fn a_full_queue_refuses_new_work_and_evicts_nothing(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = CraneConfig::new(client_config(&url)).store_path(dir.path().join("q.db"));
    cfg.queue_limits = QueueLimits {
        max_items: 2,
        max_bytes: 1 << 20,
    };
    let crane = Crane::open(cfg).await.unwrap();
    crane.client().connectivity().mark_offline("test");
    for i in 0..2 {
        let out = crane
            .end_session(EndSession::new(format!("sess_{i}"), "x", &json!({"i": i})).unwrap())
            .await;
        assert!(matches!(out, Ok(EndOutcome::Queued { .. })), "{out:?}");
    }
    let out = crane
        .end_session(EndSession::new("sess_2", "x", &json!({})).unwrap())
        .await;
    match out {
        Err(Error::QueueFull { message }) => assert!(message.contains('2'), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(crane.queue_counts().await.unwrap().pending, 2);
}

#[tokio::test]
async fn a_corrupt_queue_file_is_a_clear_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crane.db");
    std::fs::write(
        &path,
        b"this is not a sqlite database, it is someone's notes",
    )
    .unwrap();
    let cfg = CraneConfig::new(client_config("http://127.0.0.1:9")).store_path(&path);
    match Crane::open(cfg).await {
        Err(Error::Store { message }) => {
            assert!(message.contains(&path.display().to_string()), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"this is not a sqlite database, it is someone's notes"
    );
}

both_generations!(handoff_events_arrive_in_order);
async fn handoff_events_arrive_in_order(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let mut e = engine(&emu.url()).await;
    let s = e.crane.start_session(sod("o/events")).await.unwrap();
    e.go_offline("test");
    let EndOutcome::Queued { local_id } = s.end_with("ev", &json!({})).await.unwrap() else {
        panic!()
    };
    let queued = e
        .events
        .wait_for(WAIT, |e| matches!(e, Event::HandoffQueued { .. }))
        .await;
    assert!(matches!(queued, Event::HandoffQueued { local_id: ref l, .. } if *l == local_id));
    e.crane.sync().await.unwrap();
    let delivered = e.events.wait_for_delivery(WAIT).await;
    assert!(matches!(delivered, Event::HandoffDelivered { local_id: ref l, .. } if *l == local_id));
}

both_generations!(an_idle_engine_picks_up_items_queued_by_another_process);
async fn an_idle_engine_picks_up_items_queued_by_another_process(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut idle = engine_at(&url, dir.clone(), Clock::system()).await;
    let writer = engine_at(&url, dir, Clock::system()).await;
    let s = writer
        .crane
        .client()
        .start_session(&sod("o/other"))
        .await
        .unwrap();
    writer.crane.shutdown(); // the writing process exits without draining
    writer.go_offline("test: queue only");
    let out = writer
        .crane
        .end_session(EndSession::new(&s.session_id, "from elsewhere", &json!({})).unwrap())
        .await
        .unwrap();
    assert!(matches!(out, EndOutcome::Queued { .. }));
    // Nobody wakes `idle`: it finds the item on its periodic look.
    idle.events.wait_for_delivery(WAIT).await;
    assert_eq!(handoffs_for(&url, &s.session_id).await.len(), 1);
}

both_generations!(close_waits_for_the_delivery_in_flight);
async fn close_waits_for_the_delivery_in_flight(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e
        .crane
        .client()
        .start_session(&sod("o/close"))
        .await
        .unwrap();
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "delay", "delay_ms": 400, "count": 1}),
    )
    .await;
    let crane = e.crane.clone();
    let sid = s.session_id.clone();
    let call = tokio::spawn(async move {
        crane
            .end_session(EndSession::new(&sid, "in flight", &json!({})).unwrap())
            .await
    });
    // Wait until the item is on disk and leased (the request is in flight).
    tokio::time::timeout(WAIT, async {
        while e.crane.queue_counts().await.unwrap().leased == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the end was persisted and leased");
    e.crane.close().await.unwrap();
    assert_eq!(
        e.crane.queue_counts().await.unwrap().pending,
        0,
        "settled before close returned"
    );
    assert!(matches!(call.await.unwrap(), Ok(EndOutcome::Delivered(_))));
    assert_eq!(handoffs_for(&url, &s.session_id).await.len(), 1);
}

/// Starts a session, queues its end offline, has the server answer the
/// end's next attempt with the fault `fails`, and stops the engine's
/// background tasks, so that only the test's explicit syncs touch the item.
/// Returns the session's id.
async fn queue_an_end_that_will_meet(e: &Engine, url: &str, repo: &str, fails: Value) -> String {
    let s = e.crane.client().start_session(&sod(repo)).await.unwrap();
    e.go_offline("test: queue only");
    let out = e
        .crane
        .end_session(EndSession::new(&s.session_id, "queued", &json!({})).unwrap())
        .await
        .unwrap();
    assert!(matches!(out, EndOutcome::Queued { .. }));
    fault(url, fails).await;
    e.crane.shutdown();
    s.session_id
}

/// A queued item retried after a 429 or a 503 waits at least the server's
/// `Retry-After`, not just its own (shorter) backoff.
async fn a_queued_item_waits_at_least_the_servers_retry_after(
    protocol: Protocol,
    status: u16,
    says: &str,
) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let fails = json!({"route": end_route(protocol), "mode": "status", "status": status, "retry_after": 30, "count": 1});
    queue_an_end_that_will_meet(&e, &url, "o/later", fails).await;
    let before = jiff::Timestamp::now().as_millisecond();
    let report = e.crane.sync().await.unwrap();
    assert_eq!(report.retrying, 1, "{report:?}");
    let item = &e.crane.queue_items(None).await.unwrap()[0];
    assert!(
        item.next_attempt_at_ms - before >= 29_000,
        "retried after {} ms",
        item.next_attempt_at_ms - before
    );
    assert!(item.last_error.as_deref().unwrap_or("").contains(says));
}

both_generations!(a_queued_item_waits_at_least_the_retry_after_of_a_429);
async fn a_queued_item_waits_at_least_the_retry_after_of_a_429(protocol: Protocol) {
    a_queued_item_waits_at_least_the_servers_retry_after(protocol, 429, "rate limited").await;
}

both_generations!(a_queued_item_waits_at_least_the_retry_after_of_a_503);
async fn a_queued_item_waits_at_least_the_retry_after_of_a_503(protocol: Protocol) {
    a_queued_item_waits_at_least_the_servers_retry_after(
        protocol,
        503,
        "server error (HTTP 503) (retry after 30s)",
    )
    .await;
}

both_generations!(a_sync_tries_each_item_once_even_when_its_backoff_runs_out_during_the_call);
/// CI caught `sync` reporting `delivered: 1, retrying: 1` for one item: the
/// jitter drew a backoff shorter than the call, and a later pass of the same
/// call sent the item again. With no backoff at all (a base of zero) that
/// happened every time; now each call tries an item once, and `retrying`
/// means the item is still queued.
async fn a_sync_tries_each_item_once_even_when_its_backoff_runs_out_during_the_call(
    protocol: Protocol,
) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let e = engine_with(&url, dir, Clock::system(), |mut c| {
        c.queue_retry_base = Duration::ZERO;
        c
    })
    .await;
    let fails = json!({"route": end_route(protocol), "mode": "status", "status": 503, "count": 1});
    let session_id = queue_an_end_that_will_meet(&e, &url, "o/once", fails).await;
    let report = e.crane.sync().await.unwrap();
    assert_eq!(
        (report.delivered, report.retrying, report.pending),
        (0, 1, 1),
        "{report:?}"
    );
    assert!(handoffs_for(&url, &session_id).await.is_empty());
    let item = &e.crane.queue_items(None).await.unwrap()[0];
    assert_eq!(item.attempts, 1);
    // The next call tries it again, and it goes through.
    let report = e.crane.sync().await.unwrap();
    assert_eq!(
        (report.delivered, report.retrying, report.pending),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(handoffs_for(&url, &session_id).await.len(), 1);
}

both_generations!(a_different_end_of_an_ended_session_is_a_conflict_naming_the_stored_handoff);
/// Issue #10 B: a second, different end of an ended session must not be
/// "delivered" because both payloads hash alike (`{}`): the whole handoff is
/// compared, and the conflict names the stored one.
async fn a_different_end_of_an_ended_session_is_a_conflict_naming_the_stored_handoff(
    protocol: Protocol,
) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let first = engine(&url).await;
    let s = first.crane.start_session(sod("o/conflict")).await.unwrap();
    let sid = s.session_id().to_owned();
    let EndOutcome::Delivered(stored) = s.end_with("first", &json!({})).await.unwrap() else {
        panic!("the first end is delivered");
    };
    // Another process whose cache never saw the session ends it differently:
    // the server says "not active" and only reading the handoff can tell.
    let other = engine(&url).await;
    let err = other
        .crane
        .end_session(EndSession::new(&sid, "second", &json!({})).unwrap())
        .await
        .unwrap_err();
    match &err {
        Error::HandoffConflict {
            stored: Some(h), ..
        } => {
            assert_eq!(
                Some(h.handoff_id.as_str()),
                Some(stored.handoff_id.as_str())
            );
            assert_eq!(h.summary, "first");
        }
        e => panic!("expected a conflict, got {e:?}"),
    }
    let dead = other
        .crane
        .queue_items(Some(crane_context::store::ItemState::Dead))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1, "the conflicting item is kept, dead");
    let why = dead[0].last_error.as_deref().unwrap_or("");
    assert!(
        why.contains(&stored.handoff_id) && why.contains("first"),
        "{why}"
    );
    assert_eq!(handoffs_for(&url, &sid).await.len(), 1);
}

both_generations!(an_end_the_cache_knows_ended_is_decided_before_anything_is_queued);
/// A second end for a session the local cache knows ended is decided before
/// anything is queued or sent: a different handoff is refused, the same one
/// is reported as the delivered handoff it is.
async fn an_end_the_cache_knows_ended_is_decided_before_anything_is_queued(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sod("o/known")).await.unwrap();
    let sid = s.session_id().to_owned();
    let EndOutcome::Delivered(stored) = s.end_with("first", &json!({"a": 1})).await.unwrap() else {
        panic!("the first end is delivered");
    };
    // Offline, so that nothing could be sent even if the engine tried.
    e.go_offline("test: nothing may be sent");
    let err = e
        .crane
        .end_session(EndSession::new(&sid, "second", &json!({"a": 1})).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::HandoffConflict { stored: Some(h), .. } if h.handoff_id == stored.handoff_id),
        "{err:?}"
    );
    let again = e
        .crane
        .end_session(EndSession::new(&sid, "first", &json!({"a": 1})).unwrap())
        .await
        .unwrap();
    assert!(
        matches!(&again, EndOutcome::Delivered(r) if r.handoff_id == stored.handoff_id),
        "{again:?}"
    );
    assert!(e.crane.queue_items(None).await.unwrap().is_empty());
    assert_eq!(handoffs_for(&url, &sid).await.len(), 1);
}

both_generations!(a_second_different_end_of_a_session_with_a_queued_end_is_refused_at_once);
/// Issue #10 C: two writers end one session differently. The second used to
/// hear "queued … delivered exactly once" and then die as a conflict; it is
/// refused at once, and the same end again is the same queued operation.
async fn a_second_different_end_of_a_session_with_a_queued_end_is_refused_at_once(
    protocol: Protocol,
) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let a = engine_at(&url, dir.clone(), Clock::system()).await;
    let b = engine_at(&url, dir, Clock::system()).await;
    let s = a.crane.client().start_session(&sod("o/two")).await.unwrap();
    for e in [&a, &b] {
        e.go_offline("test: the end stays queued");
    }
    let end = |summary: &str| EndSession::new(&s.session_id, summary, &json!({"w": 1})).unwrap();
    let EndOutcome::Queued { local_id } = a.crane.end_session(end("writer a")).await.unwrap()
    else {
        panic!("queued while offline");
    };
    let err = b.crane.end_session(end("writer b")).await.unwrap_err();
    assert!(
        matches!(&err, Error::HandoffConflict { .. })
            && err.to_string().contains(&local_id)
            && err.to_string().contains("writer a"),
        "{err:?}"
    );
    let same = b.crane.end_session(end("writer a")).await.unwrap();
    assert_eq!(same, EndOutcome::Queued { local_id });
    assert_eq!(b.crane.queue_items(None).await.unwrap().len(), 1);
}

both_generations!(a_queued_end_changed_in_the_store_is_dead_as_corrupted_never_sent);
/// Issue #10 E: a queued handoff whose stored payload no longer matches the
/// hash recorded when it was queued is never sent: it dies as corrupted.
async fn a_queued_end_changed_in_the_store_is_dead_as_corrupted_never_sent(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let mut e = engine(&url).await;
    let s = e
        .crane
        .client()
        .start_session(&sod("o/corrupt"))
        .await
        .unwrap();
    e.go_offline("test: queue it");
    let out = e
        .crane
        .end_session(EndSession::new(&s.session_id, "kept", &json!({"r": 1})).unwrap())
        .await
        .unwrap();
    let EndOutcome::Queued { local_id } = out else {
        panic!("queued while offline: {out:?}");
    };
    // The disk (or a person with sqlite3) changes the stored payload.
    let db = rusqlite::Connection::open(e.crane.store().path()).unwrap();
    let changed = db
        .execute(
            "UPDATE queue SET body_json = replace(body_json, '\"r\":1', '\"r\":2') WHERE local_id = ?1",
            [&local_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    e.crane.client().connectivity().mark_online();
    e.crane.wake();
    e.events
        .wait_for(WAIT, |ev| matches!(ev, Event::ItemDeadLettered { .. }))
        .await;
    let item = e
        .crane
        .queue_items(None)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.local_id == local_id)
        .expect("the item is kept");
    assert_eq!(item.state, crane_context::store::ItemState::Dead);
    let why = item.last_error.unwrap_or_default();
    assert!(why.contains("corrupted in the local store"), "{why}");
    assert!(handoffs_for(&url, &s.session_id).await.is_empty());
}

both_generations!(a_queued_update_of_a_session_that_ended_meanwhile_is_dropped_not_dead);
async fn a_queued_update_of_a_session_that_ended_meanwhile_is_dropped_not_dead(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let mut e = engine(&url).await;
    let s = e
        .crane
        .client()
        .start_session(&sod("o/obsolete-update"))
        .await
        .unwrap();
    e.go_offline("test: queue the update");
    let out = e
        .crane
        .update(crane_context::model::Update::new(&s.session_id).branch("feat/late"))
        .await
        .unwrap();
    assert!(
        matches!(out, crane_context::UpdateOutcome::Queued { .. }),
        "{out:?}"
    );
    // Meanwhile another client ends the session on the server.
    client(&url)
        .end_session(&EndSession::new(&s.session_id, "ended elsewhere", &json!({})).unwrap())
        .await
        .unwrap();
    let report = e.crane.sync().await.unwrap();
    assert_eq!(
        (
            report.dropped,
            report.dead,
            report.delivered,
            report.pending
        ),
        (1, 0, 0, 0),
        "{report:?}"
    );
    let dropped = e
        .events
        .wait_for(WAIT, |ev| matches!(ev, Event::UpdateDropped { .. }))
        .await;
    assert!(
        matches!(&dropped, Event::UpdateDropped { session_id, .. } if *session_id == s.session_id),
        "{dropped:?}"
    );
    let counts = e.crane.queue_counts().await.unwrap();
    assert_eq!(
        (counts.pending, counts.dead),
        (0, 0),
        "nothing dead-lettered"
    );
}
