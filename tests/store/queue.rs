//! The delivery lifecycle: enqueue, lease, complete, release, dead-letter;
//! per-session ordering, lease exclusivity between processes, scheduling.

use crane_context::store::{ItemKind, Liveness, Owner, QueueLimits, Store, StoreError};

use super::*;

#[test]
fn enqueue_lease_complete_round_trip() {
    let (_dir, _path, store) = temp_store();
    let id = store
        .enqueue(item("s1", ItemKind::End, "key-000000000000000000001"), T0)
        .unwrap();

    let leased = store.lease_ready("w1", LEASE, T0, 10).unwrap();
    assert_eq!(ids(&leased), vec![id.clone()]);
    assert_eq!(leased[0].lease_holder.as_deref(), Some("w1"));
    assert_eq!(leased[0].lease_until_ms, Some(T0 + LEASE));
    assert_eq!(leased[0].idempotency_key, "key-000000000000000000001");
    assert!(store.lease_ready("w2", LEASE, T0, 10).unwrap().is_empty());
    assert_eq!(store.counts().unwrap().leased, 1);

    assert!(
        !store.complete(&id, "w2").unwrap(),
        "a non-holder cannot complete"
    );
    assert!(store.complete(&id, "w1").unwrap());
    assert!(
        !store.complete(&id, "w1").unwrap(),
        "completing twice is a no-op"
    );
    assert_eq!(store.get(&id).unwrap(), None);
    assert_eq!(store.counts().unwrap(), Default::default());
    assert_eq!(store.stats().unwrap().delivered_total, 1);
}

#[test]
fn the_same_idempotency_key_is_stored_once() {
    let (_dir, _path, store) = temp_store();
    let first = store
        .enqueue(item("s1", ItemKind::Update, "same-key-0000000000000"), T0)
        .unwrap();
    let again = store
        .enqueue(
            item("s1", ItemKind::Update, "same-key-0000000000000"),
            T0 + 5,
        )
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(store.list(None).unwrap().len(), 1);
}

#[test]
fn an_end_waits_for_the_update_queued_before_it() {
    let (_dir, _path, store) = temp_store();
    let update = store
        .enqueue(item("s1", ItemKind::Update, "k-update-00000000000001"), T0)
        .unwrap();
    let end = store
        .enqueue(item("s1", ItemKind::End, "k-end-0000000000000001"), T0)
        .unwrap();

    assert_eq!(
        ids(&store.lease_ready("w", LEASE, T0, 10).unwrap()),
        vec![update.clone()]
    );
    // A failed, rescheduled update still blocks the end, even once the end is due.
    store
        .release(&update, "w", T0 + 60_000, "503", None)
        .unwrap();
    assert!(store
        .lease_ready("w", LEASE, T0 + 1_000, 10)
        .unwrap()
        .is_empty());
    assert_eq!(store.next_due_at_ms().unwrap(), Some(T0 + 60_000));

    let leased = store.lease_ready("w", LEASE, T0 + 60_000, 10).unwrap();
    assert_eq!(ids(&leased), vec![update.clone()]);
    store.complete(&update, "w").unwrap();
    assert_eq!(
        ids(&store.lease_ready("w", LEASE, T0 + 60_000, 10).unwrap()),
        vec![end]
    );
}

/// What `sync` leases after its first pass: only what was due when it
/// began. An item released since (due again now) is left, and the due check
/// agrees; the next head of a settled item, due before, is leased.
#[test]
fn leasing_due_by_a_time_leaves_items_rescheduled_after_it() {
    let (_dir, _path, store) = temp_store();
    let retried = store
        .enqueue(item("s1", ItemKind::End, "k-end-0000000000000001"), T0)
        .unwrap();
    let update = store
        .enqueue(item("s2", ItemKind::Update, "k-update-00000000000002"), T0)
        .unwrap();
    let end = store
        .enqueue(item("s2", ItemKind::End, "k-end-0000000000000002"), T0)
        .unwrap();
    assert_eq!(
        ids(&store.lease_due_by("w", LEASE, T0, T0, 10).unwrap()),
        vec![retried.clone(), update.clone()]
    );
    store.release(&retried, "w", T0 + 1, "503", None).unwrap();
    store.complete(&update, "w").unwrap();
    let later = T0 + 5_000;
    assert_eq!(store.leased_and_due(later, T0).unwrap(), (false, true));
    assert_eq!(
        ids(&store.lease_due_by("w", LEASE, later, T0, 10).unwrap()),
        vec![end.clone()]
    );
    store.complete(&end, "w").unwrap();
    assert_eq!(store.leased_and_due(later, T0).unwrap(), (false, false));
    assert!(store
        .lease_due_by("w", LEASE, later, T0, 10)
        .unwrap()
        .is_empty());
    // Due by now, it is leased as usual.
    assert_eq!(store.leased_and_due(later, later).unwrap(), (false, true));
    assert_eq!(
        ids(&store.lease_ready("w", LEASE, later, 10).unwrap()),
        vec![retried]
    );
}

#[test]
fn a_dead_update_does_not_block_the_end() {
    let (_dir, _path, store) = temp_store();
    let update = store
        .enqueue(item("s1", ItemKind::Update, "k-update-00000000000001"), T0)
        .unwrap();
    let end = store
        .enqueue(item("s1", ItemKind::End, "k-end-0000000000000001"), T0)
        .unwrap();
    store.lease_ready("w", LEASE, T0, 10).unwrap();
    assert!(store
        .dead_letter(&update, "w", "400 validation_failed", Some("corr_1"))
        .unwrap());
    assert_eq!(
        ids(&store.lease_ready("w", LEASE, T0, 10).unwrap()),
        vec![end]
    );
}

#[test]
fn different_sessions_are_leased_independently() {
    let (_dir, _path, store) = temp_store();
    let a = store
        .enqueue(item("s1", ItemKind::Update, "k-a-000000000000000001"), T0)
        .unwrap();
    let b = store
        .enqueue(item("s2", ItemKind::Update, "k-b-000000000000000001"), T0)
        .unwrap();
    store
        .enqueue(item("s1", ItemKind::End, "k-a-000000000000000002"), T0)
        .unwrap();
    assert_eq!(
        ids(&store.lease_ready("w1", LEASE, T0, 1).unwrap()),
        vec![a]
    );
    // s1's head is in flight; s2 is not held up by it.
    assert_eq!(
        ids(&store.lease_ready("w2", LEASE, T0, 10).unwrap()),
        vec![b]
    );
}

#[test]
fn a_lease_is_exclusive_across_two_stores_on_one_file_until_it_expires() {
    let (_dir, path, first) = temp_store();
    let second = Store::open(&path, QueueLimits::default()).unwrap();
    let id = first
        .enqueue(item("s1", ItemKind::End, "k-000000000000000000001"), T0)
        .unwrap();

    assert_eq!(
        ids(&first.lease_ready("proc-a", LEASE, T0, 10).unwrap()),
        vec![id.clone()]
    );
    assert!(second
        .lease_ready("proc-b", LEASE, T0 + LEASE - 1, 10)
        .unwrap()
        .is_empty());

    // proc-a "crashed": its lease expires and proc-b takes the item over.
    let taken = second.lease_ready("proc-b", LEASE, T0 + LEASE, 10).unwrap();
    assert_eq!(ids(&taken), vec![id.clone()]);
    assert_eq!(taken[0].idempotency_key, "k-000000000000000000001");
    assert!(
        !first.complete(&id, "proc-a").unwrap(),
        "the lost lease must not act"
    );
    assert!(second.complete(&id, "proc-b").unwrap());
}

#[test]
fn a_dead_holders_lease_is_free_at_once_and_a_live_ones_stands() {
    let (_dir, path, first) = temp_store();
    let second = Store::open(&path, QueueLimits::default()).unwrap();
    let a = Owner::claim(&path);
    let b = Owner::claim(&path);
    let id = first
        .enqueue(item("s1", ItemKind::End, "k-000000000000000000001"), T0)
        .unwrap();
    let forever = i64::MAX / 4;
    assert_eq!(
        ids(&first.lease_ready(a.id(), forever, T0, 10).unwrap()),
        vec![id.clone()]
    );
    assert_eq!(second.holder_liveness(a.id()), Liveness::Alive);
    assert!(
        second
            .lease_ready(b.id(), LEASE, T0, 10)
            .unwrap()
            .is_empty(),
        "a live holder's lease stands"
    );
    assert_eq!(second.free_dead_leases(b.id(), T0).unwrap(), 0);

    // a's process dies (its lock is released with it): no time passes.
    drop(a);
    let taken = second.lease_ready(b.id(), LEASE, T0, 10).unwrap();
    assert_eq!(ids(&taken), vec![id.clone()]);
    assert_eq!(taken[0].lease_holder.as_deref(), Some(b.id()));
    assert!(second.complete(&id, b.id()).unwrap());
    assert_eq!(second.sweep_dead_owners().unwrap(), 0);
}

#[test]
fn a_dead_owner_without_leases_leaves_no_lock_file_behind() {
    let (_dir, path, store) = temp_store();
    let gone = Owner::claim(&path);
    let gone_file = gone.lock_path().unwrap().to_path_buf();
    let alive = Owner::claim(&path);
    drop(gone);
    assert!(gone_file.exists());
    assert_eq!(store.sweep_dead_owners().unwrap(), 1);
    assert!(!gone_file.exists());
    assert!(alive.lock_path().unwrap().exists());
}

/// Issue #10 E: a row whose body is not valid UTF-8 made every read of the
/// queue fail. It is quarantined: listed with its raw bytes, dead when it
/// would be leased, and the other items go on.
#[test]
fn an_undecodable_item_is_quarantined_and_blocks_nothing() {
    let (_dir, path, store) = temp_store();
    let bad = store
        .enqueue(item("s1", ItemKind::End, "k-000000000000000000001"), T0)
        .unwrap();
    let good = store
        .enqueue(item("s2", ItemKind::End, "k-000000000000000000002"), T0)
        .unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE queue SET body_json = CAST(x'7b22ff22' AS TEXT) WHERE local_id = ?1",
        [&bad],
    )
    .unwrap();
    drop(db);

    let listed = store.list(None).unwrap();
    assert_eq!(listed.len(), 2);
    let shown = listed.iter().find(|i| i.local_id == bad).unwrap();
    assert_eq!(
        shown.raw_body.as_deref(),
        Some(&[0x7b, 0x22, 0xff, 0x22][..])
    );

    let leased = store.lease_ready("w1", LEASE, T0, 10).unwrap();
    assert_eq!(ids(&leased), vec![good.clone()]);
    let dead = store.get(&bad).unwrap().unwrap();
    assert_eq!(dead.state, crane_context::store::ItemState::Dead);
    assert!(dead.last_error.unwrap().contains("quarantined"));
    assert!(dead.raw_body.is_some(), "the raw bytes are kept");
    assert!(store.complete(&good, "w1").unwrap());
    assert_eq!(store.counts().unwrap().dead, 1);
}

#[test]
fn concurrent_leasers_on_two_stores_take_each_item_exactly_once() {
    let (_dir, path, store) = temp_store();
    for n in 0..40 {
        store
            .enqueue(
                item(&format!("s{n}"), ItemKind::Update, &format!("key-{n:020}")),
                T0,
            )
            .unwrap();
    }
    let other = Store::open(&path, QueueLimits::default()).unwrap();
    let workers: Vec<_> = [store.clone(), store, other.clone(), other]
        .into_iter()
        .enumerate()
        .map(|(w, s)| {
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                loop {
                    let got = s.lease_ready(&format!("w{w}"), LEASE, T0, 3).unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(ids(&got));
                }
            })
        })
        .collect();
    let mut all: Vec<String> = workers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (40, 40));
}

#[test]
fn release_reschedules_and_records_the_failure() {
    let (_dir, _path, store) = temp_store();
    let id = store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    store.lease_ready("w", LEASE, T0, 10).unwrap();
    assert!(!store.release(&id, "other", T0 + 9_000, "x", None).unwrap());
    assert!(store
        .release(&id, "w", T0 + 10_000, "HTTP 503", Some("corr_9"))
        .unwrap());

    let got = store.get(&id).unwrap().unwrap();
    assert_eq!(got.attempts, 1);
    assert_eq!(got.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(got.last_correlation_id.as_deref(), Some("corr_9"));
    assert_eq!(
        (got.lease_holder, got.next_attempt_at_ms),
        (None, T0 + 10_000)
    );
    assert!(store
        .lease_ready("w", LEASE, T0 + 9_999, 10)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .lease_ready("w", LEASE, T0 + 10_000, 10)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn make_all_due_brings_rescheduled_items_forward_but_keeps_leases() {
    let (_dir, _path, store) = temp_store();
    let later = store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    let held = store
        .enqueue(item("s2", ItemKind::Update, "k-000000000000000000002"), T0)
        .unwrap();
    store.lease_ready("w", LEASE, T0, 10).unwrap();
    store
        .release(&later, "w", T0 + 3_600_000, "503", None)
        .unwrap();

    assert_eq!(store.make_all_due(T0 + 1).unwrap(), 1);
    assert_eq!(
        ids(&store.lease_ready("x", LEASE, T0 + 1, 10).unwrap()),
        vec![later]
    );
    assert_eq!(
        store.get(&held).unwrap().unwrap().lease_holder.as_deref(),
        Some("w")
    );
}

#[test]
fn next_due_follows_session_heads_and_lease_expiry() {
    let (_dir, _path, store) = temp_store();
    assert_eq!(store.next_due_at_ms().unwrap(), None);
    let head = store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    store
        .enqueue(item("s1", ItemKind::End, "k-000000000000000000002"), T0)
        .unwrap();
    store.lease_ready("w", LEASE, T0, 1).unwrap();
    // The end is due at T0 but blocked behind the leased head: no spurious wake-up.
    assert_eq!(store.next_due_at_ms().unwrap(), Some(T0 + LEASE));
    store
        .release(&head, "w", T0 + 5_000, "timeout", None)
        .unwrap();
    assert_eq!(store.next_due_at_ms().unwrap(), Some(T0 + 5_000));
}

#[test]
fn enqueue_leased_leases_only_the_head_of_a_session() {
    let (_dir, _path, store) = temp_store();
    let first = store
        .enqueue_leased(
            item("s1", ItemKind::Update, "k-000000000000000000001"),
            "cli",
            LEASE,
            T0,
        )
        .unwrap();
    assert!(first.leased);
    assert!(
        store
            .lease_ready("drain", LEASE, T0, 10)
            .unwrap()
            .is_empty(),
        "the drain must not take it"
    );

    let second = store
        .enqueue_leased(
            item("s1", ItemKind::End, "k-000000000000000000002"),
            "cli",
            LEASE,
            T0,
        )
        .unwrap();
    assert!(
        !second.leased,
        "an end must not overtake the pending update"
    );
    assert_eq!(
        store.get(&second.local_id).unwrap().unwrap().lease_holder,
        None
    );

    // Re-enqueuing a held key does not steal the lease from its holder.
    let again = store
        .enqueue_leased(
            item("s1", ItemKind::Update, "k-000000000000000000001"),
            "other",
            LEASE,
            T0,
        )
        .unwrap();
    assert_eq!((again.local_id, again.leased), (first.local_id, false));
}

/// Concurrent enqueues share commits (group commit): every one is stored
/// exactly once and durably, each caller gets its own result, and when the
/// queue fills up only the requests over the limit fail.
#[test]
fn concurrent_enqueues_each_get_their_own_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crane.db");
    let limits = QueueLimits {
        max_items: 150,
        max_bytes: u64::MAX,
    };
    let store = Store::open(&path, limits).unwrap();
    let results: Vec<(String, Result<String, StoreError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    (0..20)
                        .map(|i| {
                            let key = format!("key-{t}-{i}");
                            let r =
                                store.enqueue(item(&format!("s{t}-{i}"), ItemKind::End, &key), T0);
                            (key, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let stored: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .collect();
    let full = results
        .iter()
        .filter(|(_, r)| matches!(r, Err(StoreError::QueueFull { .. })))
        .count();
    assert_eq!(stored.len(), 150);
    assert_eq!(
        full,
        16 * 20 - 150,
        "the others were refused, nothing else failed"
    );
    let unique: std::collections::HashSet<_> = stored.iter().collect();
    assert_eq!(unique.len(), 150, "distinct local ids");
    drop(store);

    // Reopened (as after a crash): exactly the acknowledged items are there.
    let again = Store::open(&path, limits).unwrap();
    let items = again.list(None).unwrap();
    assert_eq!(items.len(), 150);
    let acked: std::collections::HashSet<&str> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(k, _)| k.as_str())
        .collect();
    for i in &items {
        assert!(acked.contains(i.idempotency_key.as_str()));
    }
}

/// Leasing takes the oldest due heads whether few or many items are due
/// (two query plans: through the due index, or a walk in queue order).
#[test]
fn leasing_takes_the_oldest_due_heads_with_few_or_many_due() {
    let (_dir, _path, store) = temp_store();
    let n = 300; // over the threshold between the two plans (128 due)
    let mut ids = Vec::new();
    for i in 0..n {
        let id = store
            .enqueue(
                item(&format!("s{i}"), ItemKind::End, &format!("key-many-{i:06}")),
                T0,
            )
            .unwrap();
        ids.push(id);
    }
    // Many due: the first 64 in queue order.
    let first = store.lease_ready("w", LEASE, T0, 64).unwrap();
    assert_eq!(super::ids(&first), ids[..64].to_vec());
    // All but a few fail and back off for an hour (the last five are due).
    let rest = store.lease_ready("w", LEASE, T0, n).unwrap();
    assert_eq!(rest.len(), n - 64);
    for (i, id) in ids.iter().enumerate().skip(64) {
        let next = if i < n - 5 { T0 + 3_600_000 } else { T0 };
        assert!(store.release(id, "w", next, "failed", None).unwrap());
    }
    let later = T0 + LEASE + 1; // the first leases have expired too
    let mut expected: Vec<String> = ids[..64].to_vec();
    expected.extend(ids[n - 5..].iter().cloned());
    let few = store.lease_ready("w2", LEASE, later, 200).unwrap();
    assert_eq!(super::ids(&few), expected);
}
