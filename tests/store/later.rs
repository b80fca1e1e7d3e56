//! Writes recorded for later (`Store::complete_later`,
//! `Store::put_last_handoff_later`): applied before the store's next
//! transaction, whatever it is, kept when that transaction fails, applied on
//! drop — and, until then, invisible to another process, which sees the item
//! still leased.

use crane_context::store::{CachedHandoff, Completion, ItemKind, QueueLimits, Store};

use super::*;

fn completion(local_id: &str) -> Completion {
    Completion {
        local_id: local_id.into(),
        last_handoff: Some(CachedHandoff {
            venture: "vc".into(),
            repo: "owner/repo".into(),
            track: Some(1),
            handoff_json: "{\"id\":\"ho_1\"}".into(),
        }),
        ended_session: None,
    }
}

/// Queues an end leased to `holder`, as a direct delivery does.
fn leased_end(store: &Store, session: &str, key: &str, holder: &str) -> String {
    let e = store
        .enqueue_leased(item(session, ItemKind::End, key), holder, LEASE, T0)
        .unwrap();
    assert!(e.leased);
    e.local_id
}

#[test]
fn a_recorded_completion_is_applied_before_the_next_read_and_only_then_seen_elsewhere() {
    let (_dir, path, store) = temp_store();
    let other = Store::open(&path, QueueLimits::default()).unwrap();
    let id = leased_end(&store, "s1", "k-later-000000000000001", "w1");

    store.complete_later("w1", completion(&id), T0);
    assert!(store.has_later());
    // Another process still sees the item, leased to its (live) holder.
    let seen = other.get(&id).unwrap().expect("still queued for others");
    assert_eq!(seen.lease_holder.as_deref(), Some("w1"));

    // Any call through the recording store sees it completed.
    assert_eq!(store.get(&id).unwrap(), None);
    assert!(!store.has_later());
    assert_eq!(store.stats().unwrap().delivered_total, 1);
    let cached = store
        .get_last_handoff("vc", "owner/repo", Some(1))
        .unwrap()
        .expect("the completion's cache update was applied");
    assert_eq!(cached.value, "{\"id\":\"ho_1\"}");
    assert_eq!(other.get(&id).unwrap(), None);
    assert_eq!(other.counts().unwrap(), Default::default());
}

#[test]
fn the_next_enqueue_commits_the_previous_completion_and_the_session_is_free_again() {
    let (_dir, _path, store) = temp_store();
    let first = leased_end(&store, "s1", "k-later-000000000000002", "w1");
    store.complete_later("w1", completion(&first), T0);
    // Same session: were the first item still pending, the second would
    // wait behind it instead of being leased.
    let second = store
        .enqueue_leased(
            item("s1", ItemKind::Update, "k-later-000000000000003"),
            "w1",
            LEASE,
            T0,
        )
        .unwrap();
    assert!(
        second.leased,
        "the completed item no longer holds its session"
    );
    assert!(!store.has_later());
    assert_eq!(ids(&store.list(None).unwrap()), vec![second.local_id]);
}

#[test]
fn a_failed_write_keeps_the_recorded_completion_for_the_next_transaction() {
    let (_dir, _path, store) = temp_store();
    let id = leased_end(&store, "s1", "k-later-000000000000004", "w1");
    store.complete_later("w1", completion(&id), T0);
    // Fails inside its transaction (unknown id): everything it did is rolled
    // back, the recorded completion included, which must not be lost.
    assert!(store.retry_dead("no-such-item", T0).is_err());
    assert!(store.has_later(), "kept for the next transaction");
    assert_eq!(store.counts().unwrap(), Default::default());
    assert_eq!(store.stats().unwrap().delivered_total, 1);
}

#[test]
fn a_recorded_completion_of_an_item_another_holder_took_does_nothing() {
    let (_dir, _path, store) = temp_store();
    let id = leased_end(&store, "s1", "k-later-000000000000005", "w1");
    store.complete_later("w2", completion(&id), T0);
    let still = store
        .get(&id)
        .unwrap()
        .expect("not completed by a non-holder");
    assert_eq!(still.lease_holder.as_deref(), Some("w1"));
    assert_eq!(store.stats().unwrap().delivered_total, 0);
}

#[test]
fn dropping_the_store_applies_what_is_recorded() {
    let (_dir, path, store) = temp_store();
    let id = leased_end(&store, "s1", "k-later-000000000000006", "w1");
    store.complete_later("w1", completion(&id), T0);
    store.put_last_handoff_later(
        CachedHandoff {
            venture: "vc".into(),
            repo: "other/repo".into(),
            track: None,
            handoff_json: "{\"id\":\"ho_2\"}".into(),
        },
        T0,
    );
    drop(store);
    let reopened = Store::open(&path, QueueLimits::default()).unwrap();
    assert_eq!(reopened.get(&id).unwrap(), None);
    assert_eq!(reopened.stats().unwrap().delivered_total, 1);
    let cached = reopened
        .get_last_handoff("vc", "other/repo", None)
        .unwrap()
        .expect("applied on drop");
    assert_eq!(cached.value, "{\"id\":\"ho_2\"}");
}
