//! The direct path's deferred sync (`store/wal_sync.rs`): an update or end
//! sent at once is committed without waiting for the disk and the WAL is
//! synced while the request is in flight. Whatever the outcome, the caller
//! hears nothing before that sync: above all, never "queued" of an item
//! that is not on stable storage. Offline, the enqueue is durable by itself
//! and no separate sync is made.
//!
//! The store counts its syncs ([`Store::wal_syncs`]); each test checks the
//! count the outcome requires, so a path that answers without syncing fails.
//!
//! [`Store::wal_syncs`]: crane_context::store::Store::wal_syncs

mod common;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::model::{EndSession, StartSession, Update};
use crane_context::{EndOutcome, UpdateOutcome};
use serde_json::json;

fn sod(repo: &str) -> StartSession {
    StartSession::new("cc-durable", "vc", repo)
        .track(3)
        .include_docs(false)
}

both_generations!(a_delivered_end_was_synced_and_is_stored_once);
async fn a_delivered_end_was_synced_and_is_stored_once(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sod("o/synced-end")).await.unwrap();
    assert_eq!(e.crane.store().wal_syncs(), 0);
    let req = EndSession::new(s.session_id(), "done", &json!({"k": 1})).unwrap();
    let out = s.end(req).await.unwrap();
    assert!(matches!(out, EndOutcome::Delivered(_)), "{out:?}");
    assert_eq!(e.crane.store().wal_syncs(), 1);
    assert_eq!(handoffs_for(&url, s.session_id()).await.len(), 1);
    let counts = e.crane.queue_counts().await.unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0));
}

both_generations!(an_end_the_server_cannot_take_is_queued_only_once_synced);
async fn an_end_the_server_cannot_take_is_queued_only_once_synced(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sod("o/queued-end")).await.unwrap();
    e.crane.shutdown(); // the drain must not deliver it behind our back
    fault(
        &url,
        json!({"route": end_route(protocol), "mode": "status", "status": 503, "count": 1000}),
    )
    .await;
    let req = EndSession::new(s.session_id(), "later", &json!({"k": 2})).unwrap();
    let out = s.end(req).await.unwrap();
    let EndOutcome::Queued { local_id } = out else {
        panic!("expected queued, got {out:?}")
    };
    assert_eq!(e.crane.store().wal_syncs(), 1);
    let items = e.crane.store().list(None).unwrap();
    assert!(items.iter().any(|i| i.local_id == local_id), "{items:?}");
}

both_generations!(an_update_behind_a_queued_one_is_synced_before_it_is_reported_queued);
async fn an_update_behind_a_queued_one_is_synced_before_it_is_reported_queued(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sod("o/behind")).await.unwrap();
    e.crane.shutdown(); // nothing delivers the queued updates
    e.go_offline("test: offline");
    let first = s.update(Update::new(s.session_id()).branch("a")).await;
    assert!(
        matches!(first, Ok(UpdateOutcome::Queued { .. })),
        "{first:?}"
    );
    // Offline, the enqueue's own commit is durable: no separate sync.
    assert_eq!(e.crane.store().wal_syncs(), 0);
    e.crane.client().connectivity().mark_online();
    // Online, but the session's earlier update is still queued: this one
    // waits its turn, and is reported queued only after the sync.
    let second = s.update(Update::new(s.session_id()).branch("b")).await;
    assert!(
        matches!(second, Ok(UpdateOutcome::Queued { .. })),
        "{second:?}"
    );
    assert_eq!(e.crane.store().wal_syncs(), 1);
    assert_eq!(e.crane.store().list(None).unwrap().len(), 2);
}
