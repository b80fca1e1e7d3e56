//! Unit tests of the crate-internal enqueue answers: the row an enqueue
//! returns instead of reading it back, and an end's checks run inside its
//! enqueue's transaction (`Store::enqueue_checked`).

use super::*;
use super::{cache, schema};

const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = 60_000;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db"), QueueLimits::default()).unwrap();
    (dir, store)
}

fn known() -> SessionTuple {
    SessionTuple {
        agent: "agent".into(),
        venture: "vc".into(),
        repo: "o/r".into(),
        track: Some(2),
    }
}

fn end(sid: &str, key: &str) -> NewItem {
    NewItem {
        kind: ItemKind::End,
        session_id: sid.into(),
        tuple: SessionTuple::unknown(),
        idempotency_key: key.into(),
        body_json: format!(r#"{{"session_id":"{sid}","summary":"s","payload":{{}}}}"#),
        payload_hash: Some("ab".repeat(32)),
    }
}

fn cache_session(store: &Store, sid: &str) {
    store
        .put_current_session(&CachedSession {
            session_id: sid.into(),
            tuple: known(),
            session_json: format!(r#"{{"id":"{sid}"}}"#),
            next_heartbeat_at_ms: None,
            heartbeat_interval_seconds: None,
            updated_at_ms: T0,
            keeper_pid: None,
        })
        .unwrap();
}

/// An end queued with both checks, leased to `me`.
fn end_checked(store: &Store, sid: &str, key: &str) -> Queued {
    let checks = EnqueueChecks {
        fill_tuple: true,
        cached_handoff: true,
    };
    store
        .enqueue_checked(
            end(sid, key),
            checks,
            Some(("me", LEASE)),
            T0,
            Durability::AtCommit,
        )
        .unwrap()
}

fn row(q: Queued) -> (Enqueued, Option<Box<QueueItem>>) {
    match q {
        Queued::Item { enqueued, row } => (enqueued, row),
        Queued::Cached { .. } => panic!("unexpected cached handoff"),
    }
}

/// Commit frames in the store's WAL (a frame whose header records the
/// database size after a commit): one per committed write transaction.
fn wal_commits(store: &Store) -> usize {
    let mut wal = store.path().as_os_str().to_owned();
    wal.push("-wal");
    let bytes = std::fs::read(wal).unwrap_or_default();
    if bytes.len() < 32 {
        return 0;
    }
    let page = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    bytes[32..]
        .chunks(24 + page)
        .filter(|f| f.len() == 24 + page && f[4..8] != [0, 0, 0, 0])
        .count()
}

/// The row an enqueue hands back (so the engine sends it without reading
/// it back) is exactly the row stored.
#[test]
fn the_returned_row_is_the_stored_row() {
    let (_dir, store) = store();
    let (enqueued, returned) = row(store
        .enqueue_leased_row(end("sess_1", "k1"), "me", LEASE, T0, Durability::AtCommit)
        .unwrap());
    assert!(enqueued.leased);
    let stored = store.get(&enqueued.local_id).unwrap().unwrap();
    assert_eq!(returned.as_deref(), Some(&stored));

    // Already queued under its key: no row of this call's making.
    let (again, none) = row(store
        .enqueue_leased_row(end("sess_1", "k1"), "me", LEASE, T0, Durability::AtCommit)
        .unwrap());
    assert_eq!(again.local_id, enqueued.local_id);
    assert_eq!(none, None);
    // Not leased (behind the session's head): none either.
    let mut update = end("sess_1", "k2");
    update.kind = ItemKind::Update;
    update.payload_hash = None;
    let (behind, none) = row(store
        .enqueue_leased_row(update, "me", LEASE, T0, Durability::AtCommit)
        .unwrap());
    assert!(!behind.leased);
    assert_eq!(none, None);
}

/// An end's checks fill in its tuple from the cached session, or leave the
/// unknown tuple when none is cached.
#[test]
fn end_checks_fill_the_tuple_from_the_cache() {
    let (_dir, store) = store();
    cache_session(&store, "sess_known");
    let fill = EnqueueChecks {
        fill_tuple: true,
        cached_handoff: true,
    };
    let (e, r) = row(store
        .enqueue_checked(
            end("sess_known", "k1"),
            fill,
            Some(("me", LEASE)),
            T0,
            Durability::AtCommit,
        )
        .unwrap());
    assert_eq!(r.unwrap().tuple, known());
    assert_eq!(store.get(&e.local_id).unwrap().unwrap().tuple, known());
    let (e, _) = row(store
        .enqueue_checked(
            end("sess_other", "k2"),
            fill,
            None,
            T0,
            Durability::AtCommit,
        )
        .unwrap());
    assert!(!e.leased);
    assert_eq!(
        store.get(&e.local_id).unwrap().unwrap().tuple,
        SessionTuple::unknown()
    );
}

/// With a handoff of the session in the cache, nothing is queued and the
/// handoff comes back with the session's tuple.
#[test]
fn end_checks_find_a_cached_handoff_and_queue_nothing() {
    let (_dir, store) = store();
    cache_session(&store, "sess_1");
    let json = r#"{"id":"ho_1","session_id":"sess_1"}"#;
    store
        .put_last_handoff("vc", "o/r", Some(2), json, T0)
        .unwrap();
    let q = end_checked(&store, "sess_1", "k1");
    assert_eq!(
        q,
        Queued::Cached {
            tuple: known(),
            handoff_json: json.into()
        }
    );
    assert_eq!(store.counts().unwrap().pending, 0);
}

/// The writes recorded for later (a delivered end's completion and what it
/// teaches the cache) land in the checked enqueue's one commit, and the
/// checks see them: the completion's handoff of the session is found.
/// Reading first, as the engine did, took a commit of its own.
#[test]
fn end_checks_and_recorded_writes_commit_once() {
    let (_dir, store) = store();
    let (first, _) = row(store
        .enqueue_leased_row(end("sess_1", "k1"), "me", LEASE, T0, Durability::AtCommit)
        .unwrap());
    let completion = |local_id: &str, sid: &str| Completion {
        local_id: local_id.into(),
        last_handoff: Some(CachedHandoff {
            venture: "vc".into(),
            repo: "o/r".into(),
            track: None,
            handoff_json: format!(r#"{{"id":"ho","session_id":"{sid}"}}"#),
        }),
        ended_session: Some(sid.into()),
    };
    store.complete_later("me", completion(&first.local_id, "sess_1"), T0);
    let before = wal_commits(&store);
    let (second, _) = row(end_checked(&store, "sess_2", "k2"));
    assert!(second.leased);
    assert_eq!(wal_commits(&store) - before, 1);
    assert!(!store.has_later());
    assert_eq!(store.get(&first.local_id).unwrap(), None, "completed");

    // The checks saw the completion's cache write.
    let (third, _) = row(store
        .enqueue_leased_row(end("sess_3", "k3"), "me", LEASE, T0, Durability::AtCommit)
        .unwrap());
    store.complete_later("me", completion(&third.local_id, "sess_3"), T0);
    let q = end_checked(&store, "sess_3", "k4");
    assert!(matches!(q, Queued::Cached { .. }), "{q:?}");

    // The old order (a read, then the enqueue) commits twice.
    let (fourth, _) = row(store
        .enqueue_leased_row(end("sess_4", "k5"), "me", LEASE, T0, Durability::AtCommit)
        .unwrap());
    store.complete_later("me", completion(&fourth.local_id, "sess_4"), T0);
    let before = wal_commits(&store);
    store.cached_handoff_of_session("sess_5").unwrap();
    store
        .enqueue_leased(end("sess_5", "k6"), "me", LEASE, T0)
        .unwrap();
    assert_eq!(wal_commits(&store) - before, 2);
}

/// An end's cached-handoff check reads the one row of its session through
/// `last_handoff_by_session` (it parsed every cached handoff, on every end),
/// whatever the tuple it knows; rows that are not JSON are never found.
#[test]
fn end_checks_find_the_cached_handoff_through_its_index() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(schema::FRESH_SCHEMA).unwrap();
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", cache::HANDOFF_OF_SESSION))
        .unwrap();
    let plan: Vec<String> = stmt
        .query_map(["s"], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        plan,
        ["SEARCH last_handoff USING INDEX last_handoff_by_session (<expr>=?)"]
    );

    let (_dir, store) = store();
    let ho = |sid: &str| format!(r#"{{"id":"ho_{sid}","session_id":"{sid}"}}"#);
    store
        .put_last_handoff("vc", "o/r", Some(2), &ho("sess_2"), T0)
        .unwrap();
    store
        .put_last_handoff("vc", "o/x", None, &ho("sess_x"), T0)
        .unwrap();
    store
        .put_last_handoff("vc", "o/bad", None, "not json sess_b", T0)
        .unwrap();
    let check = |sid: &str, tuple: SessionTuple| {
        let mut item = end(sid, &format!("k-{sid}-{}", tuple.repo));
        item.tuple = tuple;
        let checks = EnqueueChecks {
            fill_tuple: false,
            cached_handoff: true,
        };
        match store
            .enqueue_checked(item, checks, None, T0, Durability::AtCommit)
            .unwrap()
        {
            Queued::Cached { handoff_json, .. } => Some(handoff_json),
            Queued::Item { .. } => None,
        }
    };
    assert_eq!(check("sess_2", known()), Some(ho("sess_2")));
    assert_eq!(check("sess_x", SessionTuple::unknown()), Some(ho("sess_x")));
    // Not cached, or only named in a row that is not JSON: queued.
    assert_eq!(check("sess_y", known()), None);
    assert_eq!(check("sess_b", SessionTuple::unknown()), None);
    assert_eq!(store.counts().unwrap().pending, 2);
}

/// A deferred enqueue (`wal_sync.rs`) commits without waiting for the disk,
/// yet at once: another connection sees the row, leased, before any sync;
/// the sync is the caller's, and counted. An enqueue at commit is FULL.
#[test]
fn a_deferred_enqueue_commits_relaxed_and_is_synced_on_request() {
    let (dir, store) = store();
    assert!(
        store.defers_sync(),
        "a store on a local disk is in WAL mode"
    );
    let durable = |s: &Store| s.inner.sync_full.load(Ordering::Relaxed);
    store.enqueue(end("sess_0", "k0"), T0).unwrap();
    assert!(durable(&store));
    let (enqueued, _) = row(store
        .enqueue_leased_row(end("sess_1", "k1"), "me", LEASE, T0, Durability::Deferred)
        .unwrap());
    assert!(enqueued.leased);
    assert!(!durable(&store), "the deferred commit waited for the disk");
    let other = Store::open(&dir.path().join("s.db"), QueueLimits::default()).unwrap();
    let seen = other.get(&enqueued.local_id).unwrap().unwrap();
    assert_eq!(seen.lease_holder.as_deref(), Some("me"));
    assert_eq!(store.wal_syncs(), 0);
    store.sync_wal().unwrap();
    assert_eq!(store.wal_syncs(), 1);
}
