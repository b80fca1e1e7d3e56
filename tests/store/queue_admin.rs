//! Reading and managing the queue: dead items, retry, drop, export, caps, tuple queries.

use crane_context::store::{ItemKind, ItemState, QueueLimits, Store, StoreError};

use super::*;

#[test]
fn dead_items_are_listed_exported_retried_and_dropped() {
    let (_dir, _path, store) = temp_store();
    let dead = store
        .enqueue(item("s1", ItemKind::End, "k-000000000000000000001"), T0)
        .unwrap();
    let live = store
        .enqueue(item("s2", ItemKind::End, "k-000000000000000000002"), T0)
        .unwrap();
    store.lease_ready("w", LEASE, T0, 1).unwrap();
    assert!(
        !store.dead_letter(&dead, "other", "x", None).unwrap(),
        "only the holder"
    );
    assert!(store
        .dead_letter(&dead, "w", "409 Session is not active", Some("corr_2"))
        .unwrap());

    let listed = store.list(Some(ItemState::Dead)).unwrap();
    assert_eq!(ids(&listed), vec![dead.clone()]);
    assert_eq!(
        listed[0].last_error.as_deref(),
        Some("409 Session is not active")
    );
    assert_eq!(
        ids(&store.list(Some(ItemState::Pending)).unwrap()),
        vec![live.clone()]
    );
    assert_eq!(
        ids(&store.list(None).unwrap()),
        vec![dead.clone(), live.clone()]
    );
    let exported = serde_json::to_value(store.export(Some(ItemState::Dead)).unwrap()).unwrap();
    assert_eq!(exported[0]["state"], "dead");
    assert_eq!(exported[0]["kind"], "end");
    assert_eq!(exported[0]["idempotency_key"], "k-000000000000000000001");
    let counts = store.counts().unwrap();
    assert_eq!((counts.pending, counts.dead), (1, 1));
    assert_eq!(store.stats().unwrap().dead_total, 1);

    assert!(store.retry_dead(&dead, T0 + 100).unwrap());
    let retried = store.get(&dead).unwrap().unwrap();
    assert_eq!(
        (retried.state, retried.attempts, retried.next_attempt_at_ms),
        (ItemState::Pending, 0, T0 + 100)
    );
    assert!(
        !store.retry_dead(&dead, T0 + 100).unwrap(),
        "already pending"
    );

    store.drop_item(&dead).unwrap();
    assert!(
        matches!(store.drop_item(&dead), Err(StoreError::NotFound { local_id }) if local_id == dead)
    );
    assert!(matches!(
        store.retry_dead(&dead, T0),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(ids(&store.list(None).unwrap()), vec![live]);
}

#[test]
fn a_full_queue_refuses_by_items_and_by_bytes_and_evicts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let by_items = Store::open(
        &dir.path().join("a.db"),
        QueueLimits {
            max_items: 2,
            max_bytes: 1 << 20,
        },
    )
    .unwrap();
    by_items
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    by_items
        .enqueue(item("s2", ItemKind::Update, "k-000000000000000000002"), T0)
        .unwrap();
    let err = by_items
        .enqueue(item("s3", ItemKind::Update, "k-000000000000000000003"), T0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::QueueFull {
                items: 2,
                max_items: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("a.db"));
    assert_eq!(by_items.list(None).unwrap().len(), 2);
    // A key already queued is still answered when full: nothing new is stored.
    assert!(by_items
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .is_ok());

    let one = item("s1", ItemKind::Update, "k-000000000000000000001");
    let size = one.body_json.len() as u64;
    let by_bytes = Store::open(
        &dir.path().join("b.db"),
        QueueLimits {
            max_items: 100,
            max_bytes: size * 2 - 1,
        },
    )
    .unwrap();
    by_bytes.enqueue(one, T0).unwrap();
    let err = by_bytes
        .enqueue(item("s2", ItemKind::Update, "k-000000000000000000002"), T0)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::QueueFull { items: 1, bytes, .. } if bytes == size),
        "{err:?}"
    );
    assert_eq!(by_bytes.counts().unwrap().bytes, size);
}

#[test]
fn pending_for_tuple_treats_a_missing_track_as_any_track() {
    let (_dir, _path, store) = temp_store();
    let mut on_track_2 = item("s2", ItemKind::End, "k-000000000000000000002");
    on_track_2.tuple.track = Some(2);
    let mut no_track = item("s3", ItemKind::End, "k-000000000000000000003");
    no_track.tuple.track = None;
    let mut other_repo = item("s4", ItemKind::End, "k-000000000000000000004");
    other_repo.tuple.repo = "owner/other".into();
    let a = store
        .enqueue(item("s1", ItemKind::End, "k-000000000000000000001"), T0)
        .unwrap();
    let b = store.enqueue(on_track_2, T0).unwrap();
    let c = store.enqueue(no_track, T0).unwrap();
    store.enqueue(other_repo, T0).unwrap();

    assert_eq!(
        ids(&store.pending_for_tuple(&tuple(None)).unwrap()),
        vec![a.clone(), b, c]
    );
    assert_eq!(
        ids(&store.pending_for_tuple(&tuple(Some(1))).unwrap()),
        vec![a.clone()]
    );
    assert_eq!(ids(&store.pending_for_session("s1").unwrap()), vec![a]);
}
