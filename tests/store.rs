//! Integration tests of the durable local store on real SQLite files.
//!
//! Each test works in its own temporary directory. Two `Store`s opened on the
//! same file stand in for two processes: they share nothing but the file, so
//! whatever they agree on was coordinated by SQLite. Time is passed in, so
//! lease expiry and rescheduling are tested by moving `now` forward.

use std::path::PathBuf;

use crane_context::store::{ItemKind, NewItem, QueueItem, QueueLimits, SessionTuple, Store};

const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = 30_000;

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crane.db");
    let store = Store::open(&path, QueueLimits::default()).unwrap();
    (dir, path, store)
}

fn tuple(track: Option<i64>) -> SessionTuple {
    SessionTuple {
        agent: "cc-cli-host".into(),
        venture: "vc".into(),
        repo: "owner/repo".into(),
        track,
    }
}

fn item(session: &str, kind: ItemKind, key: &str) -> NewItem {
    NewItem {
        kind,
        session_id: session.into(),
        tuple: tuple(Some(1)),
        idempotency_key: key.into(),
        body_json: format!("{{\"session_id\":\"{session}\",\"key\":\"{key}\"}}"),
        payload_hash: (kind == ItemKind::End).then(|| "ab".repeat(32)),
    }
}

fn ids(items: &[QueueItem]) -> Vec<String> {
    items.iter().map(|i| i.local_id.clone()).collect()
}

#[path = "store/cache.rs"]
mod cache;
#[path = "store/file.rs"]
mod file;
#[path = "store/later.rs"]
mod later;
#[path = "store/queue.rs"]
mod queue;
#[path = "store/queue_admin.rs"]
mod queue_admin;
