//! The file itself: durability across reopen, schema versions and upgrades,
//! refusing damaged or foreign files, permissions and lock timeouts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crane_context::store::{ItemKind, ItemState, QueueLimits, Store, StoreError, SCHEMA_VERSION};

use super::*;

#[test]
fn a_queued_item_survives_reopening_with_its_idempotency_key() {
    let (_dir, path, store) = temp_store();
    let new = item("s1", ItemKind::End, "01JABCDEFGHJKMNPQRSTVWXYZ0");
    let id = store.enqueue(new.clone(), T0).unwrap();
    drop(store);

    let store = Store::open(&path, QueueLimits::default()).unwrap();
    let got = store.get(&id).unwrap().unwrap();
    assert_eq!(got.idempotency_key, new.idempotency_key);
    assert_eq!(got.body_json, new.body_json);
    assert_eq!(got.payload_hash, new.payload_hash);
    assert_eq!(
        (got.state, got.attempts, got.created_at_ms),
        (ItemState::Pending, 0, T0)
    );
}

/// Every released schema, frozen as it shipped. When version N+1 is added,
/// append version N+1's fresh SQL here (as the statements it adds to N);
/// each older entry must upgrade to it. Each is a list of batches run in order.
const RELEASED_SCHEMAS: &[(u32, &[&str])] = &[
    (1, &[V1_SCHEMA]),
    (2, &[V1_SCHEMA, V2_ADDED]),
    (3, &[V1_SCHEMA, V2_ADDED, V3_ADDED]),
    (4, &[V1_SCHEMA, V2_ADDED, V3_ADDED, V4_CHANGED]),
    (5, &[V1_SCHEMA, V2_ADDED, V3_ADDED, V4_CHANGED, V5_ADDED]),
    (
        6,
        &[
            V1_SCHEMA, V2_ADDED, V3_ADDED, V4_CHANGED, V5_ADDED, V6_ADDED,
        ],
    ),
];

/// What version 6 added to version 5: the index of cached handoffs by
/// their session, so an end's cache check reads one row, not every one.
const V6_ADDED: &str = "
CREATE INDEX last_handoff_by_session ON last_handoff
    (iif(json_valid(handoff_json), json_extract(handoff_json, '$.session_id'), NULL));
";

/// What version 5 added to version 4: the partial index of leased rows,
/// so that leasing and `sync` read the rows in flight, not the backlog.
const V5_ADDED: &str = "
CREATE INDEX queue_by_lease ON queue (lease_holder, lease_until_ms)
    WHERE lease_holder IS NOT NULL;
";

/// What version 4 changed in version 3: the queue admits notes and
/// checkpoints (the table is rebuilt, `rehome` with it), and queued
/// checkpoints keep their confirmation baseline.
const V4_CHANGED: &str = "
DROP TABLE rehome;
DROP TABLE queue;
CREATE TABLE queue (
    seq                 INTEGER PRIMARY KEY,
    local_id            TEXT    NOT NULL UNIQUE,
    kind                TEXT    NOT NULL CHECK (kind IN ('update', 'end', 'note', 'checkpoint')),
    session_id          TEXT    NOT NULL,
    agent               TEXT    NOT NULL,
    venture             TEXT    NOT NULL,
    repo                TEXT    NOT NULL,
    track               INTEGER,
    idempotency_key     TEXT    NOT NULL UNIQUE,
    body_json           TEXT    NOT NULL,
    payload_hash        TEXT,
    size_bytes          INTEGER NOT NULL CHECK (size_bytes >= 0),
    state               TEXT    NOT NULL CHECK (state IN ('pending', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at_ms       INTEGER NOT NULL,
    next_attempt_at_ms  INTEGER NOT NULL,
    last_error          TEXT,
    last_correlation_id TEXT,
    lease_holder        TEXT,
    lease_until_ms      INTEGER,
    CHECK ((lease_holder IS NULL) = (lease_until_ms IS NULL))
) STRICT;
CREATE INDEX queue_by_session ON queue (session_id, state, seq);
CREATE INDEX queue_by_due ON queue (state, next_attempt_at_ms);
CREATE TABLE rehome (
    local_id      TEXT    PRIMARY KEY REFERENCES queue (local_id) ON DELETE CASCADE,
    generation    INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    to_session_id TEXT,
    waiting_for   TEXT,
    updated_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE checkpoint_baseline (
    local_id TEXT    PRIMARY KEY REFERENCES queue (local_id) ON DELETE CASCADE,
    after    INTEGER NOT NULL CHECK (after >= 0)
) STRICT, WITHOUT ROWID;
";

/// What version 2 added to version 1: the re-homing state of queued ends.
const V2_ADDED: &str = "
CREATE TABLE rehome (
    local_id      TEXT    PRIMARY KEY REFERENCES queue (local_id) ON DELETE CASCADE,
    generation    INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    to_session_id TEXT,
    waiting_for   TEXT,
    updated_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// What version 3 added to version 2: what the SDK learnt about each base URL.
const V3_ADDED: &str = "
CREATE TABLE server_info (
    base_url               TEXT    PRIMARY KEY,
    generation             TEXT    CHECK (generation IN ('v1', 'v2')),
    version_json           TEXT,
    detected_at_ms         INTEGER,
    ventures_json          TEXT,
    ventures_fetched_at_ms INTEGER
) STRICT, WITHOUT ROWID;
";

const V1_SCHEMA: &str = "
CREATE TABLE queue (
    seq                 INTEGER PRIMARY KEY,
    local_id            TEXT    NOT NULL UNIQUE,
    kind                TEXT    NOT NULL CHECK (kind IN ('update', 'end')),
    session_id          TEXT    NOT NULL,
    agent               TEXT    NOT NULL,
    venture             TEXT    NOT NULL,
    repo                TEXT    NOT NULL,
    track               INTEGER,
    idempotency_key     TEXT    NOT NULL UNIQUE,
    body_json           TEXT    NOT NULL,
    payload_hash        TEXT,
    size_bytes          INTEGER NOT NULL CHECK (size_bytes >= 0),
    state               TEXT    NOT NULL CHECK (state IN ('pending', 'dead')),
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at_ms       INTEGER NOT NULL,
    next_attempt_at_ms  INTEGER NOT NULL,
    last_error          TEXT,
    last_correlation_id TEXT,
    lease_holder        TEXT,
    lease_until_ms      INTEGER,
    CHECK ((lease_holder IS NULL) = (lease_until_ms IS NULL))
) STRICT;
CREATE INDEX queue_by_session ON queue (session_id, state, seq);
CREATE INDEX queue_by_due ON queue (state, next_attempt_at_ms);

CREATE TABLE stats (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL CHECK (value >= 0)
) STRICT, WITHOUT ROWID;
INSERT INTO stats (name, value) VALUES ('delivered_total', 0), ('dead_total', 0);

CREATE TABLE current_session (
    session_id                 TEXT    PRIMARY KEY,
    agent                      TEXT    NOT NULL,
    venture                    TEXT    NOT NULL,
    repo                       TEXT    NOT NULL,
    track                      INTEGER,
    session_json               TEXT    NOT NULL,
    next_heartbeat_at_ms       INTEGER,
    heartbeat_interval_seconds INTEGER CHECK (heartbeat_interval_seconds >= 0),
    updated_at_ms              INTEGER NOT NULL,
    keeper_pid                 INTEGER CHECK (keeper_pid >= 0)
) STRICT;
CREATE UNIQUE INDEX current_session_by_tuple
    ON current_session (agent, venture, repo, ifnull(track, 'none'));

CREATE TABLE last_handoff (
    venture       TEXT    NOT NULL,
    repo          TEXT    NOT NULL,
    track         INTEGER,
    handoff_json  TEXT    NOT NULL,
    fetched_at_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX last_handoff_by_key ON last_handoff (venture, repo, ifnull(track, 'none'));

CREATE TABLE docs (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    content_hash  TEXT    NOT NULL,
    docs_json     TEXT    NOT NULL,
    fetched_at_ms INTEGER NOT NULL
) STRICT;
";

/// What must be equal between an upgraded and a fresh file.
#[derive(Debug, PartialEq)]
struct SchemaSnapshot {
    /// `(type, name, sql)` of every object, the SQL whitespace-normalized.
    objects: Vec<(String, String, String)>,
    user_version: u32,
    /// Seeded rows of the `stats` table.
    stats: Vec<(String, i64)>,
}

fn schema_of(path: &Path) -> SchemaSnapshot {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, ifnull(sql, '') FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let objects = stmt
        .query_map([], |r| {
            let sql: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                sql.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let user_version = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT name, value FROM stats ORDER BY name")
        .unwrap();
    let stats = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    SchemaSnapshot {
        objects,
        user_version,
        stats,
    }
}

#[test]
fn upgraded_schema_equals_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    drop(Store::open(&fresh, QueueLimits::default()).unwrap());
    let expected = schema_of(&fresh);
    assert_eq!(expected.user_version, SCHEMA_VERSION);
    assert!(expected.objects.iter().any(|(_, name, _)| name == "queue"));
    assert!(
        RELEASED_SCHEMAS.iter().any(|(v, _)| *v == SCHEMA_VERSION),
        "freeze the new schema above"
    );

    for (version, batches) in RELEASED_SCHEMAS {
        let old = dir.path().join(format!("v{version}.db"));
        let conn = rusqlite::Connection::open(&old).unwrap();
        for sql in *batches {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version).unwrap();
        drop(conn);
        drop(Store::open(&old, QueueLimits::default()).unwrap());
        assert_eq!(
            schema_of(&old),
            expected,
            "schema v{version} upgraded differs from fresh"
        );
    }
}

/// Upgrading to version 4 rebuilds the queue table: every queued item (with
/// its order) and every re-homing row must survive it.
#[test]
fn upgrading_a_v3_file_keeps_its_queued_items_and_rehoming_state() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v3.db");
    let conn = rusqlite::Connection::open(&old).unwrap();
    for sql in [V1_SCHEMA, V2_ADDED, V3_ADDED] {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute_batch(
        "INSERT INTO queue (seq, local_id, kind, session_id, agent, venture, repo, track, \
         idempotency_key, body_json, payload_hash, size_bytes, state, attempts, created_at_ms, \
         next_attempt_at_ms) VALUES \
         (7, 'L1', 'update', 'sess_a', 'a', 'vc', 'o/r', NULL, 'k1', '{}', NULL, 2, 'pending', 0, 1, 1), \
         (9, 'L2', 'end', 'sess_a', 'a', 'vc', 'o/r', NULL, 'k2', '{}', 'h', 2, 'dead', 3, 2, 2);
         INSERT INTO rehome (local_id, generation, to_session_id, updated_at_ms) \
         VALUES ('L2', 1, 'sess_b', 5);",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    drop(conn);
    let store = Store::open(&old, QueueLimits::default()).unwrap();
    let items = store.list(None).unwrap();
    let got: Vec<_> = items
        .iter()
        .map(|i| (i.local_id.as_str(), i.kind, i.state, i.attempts))
        .collect();
    assert_eq!(
        got,
        [
            ("L1", ItemKind::Update, ItemState::Pending, 0),
            ("L2", ItemKind::End, ItemState::Dead, 3)
        ]
    );
    let rehome = store
        .rehome_state("L2")
        .unwrap()
        .expect("re-homing state kept");
    assert_eq!(
        (rehome.generation, rehome.to_session_id.as_deref()),
        (1, Some("sess_b"))
    );
    drop(store);
    let conn = rusqlite::Connection::open(&old).unwrap();
    let seqs: Vec<i64> = conn
        .prepare("SELECT seq FROM queue ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(seqs, [7, 9]);
}

/// Upgrading to version 5 builds the lease index from the rows already
/// there: leases taken before the upgrade are seen through it (the lease
/// queries name it, so a missing index would be an error), and a dead
/// holder's lease taken before the upgrade is still taken over.
#[test]
fn upgrading_a_v4_file_indexes_its_existing_leases() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v4.db");
    let conn = rusqlite::Connection::open(&old).unwrap();
    for sql in [V1_SCHEMA, V2_ADDED, V3_ADDED, V4_CHANGED] {
        conn.execute_batch(sql).unwrap();
    }
    // s1's head leased by a process that has died since (its lock is
    // free), s2's head unleased; both due.
    let gone = crane_context::store::Owner::claim(&old);
    let gone_id = gone.id().to_owned();
    drop(gone);
    conn.execute_batch(&format!(
        "INSERT INTO queue (local_id, kind, session_id, agent, venture, repo, track, \
         idempotency_key, body_json, size_bytes, state, created_at_ms, next_attempt_at_ms, \
         lease_holder, lease_until_ms) VALUES \
         ('L1', 'update', 's1', 'a', 'vc', 'o/r', NULL, 'k1', '{{}}', 2, 'pending', 1, 1, \
          '{gone_id}', {until}), \
         ('L2', 'update', 's2', 'a', 'vc', 'o/r', NULL, 'k2', '{{}}', 2, 'pending', 1, 1, NULL, NULL);",
        until = T0 + LEASE
    ))
    .unwrap();
    conn.pragma_update(None, "user_version", 4).unwrap();
    drop(conn);

    let store = Store::open(&old, QueueLimits::default()).unwrap();
    assert_eq!(store.live_leases(T0).unwrap(), 1);
    let leased = store.lease_ready("me", LEASE, T0, 10).unwrap();
    assert_eq!(
        ids(&leased),
        ["L1", "L2"],
        "the dead holder's item is taken over"
    );
    assert_eq!(store.live_leases(T0).unwrap(), 2);
    assert_eq!(store.held_by("me").unwrap(), ["L1", "L2"]);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crane.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();

    let err = Store::open(&path, QueueLimits::default()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { path: p, .. } if p == &path),
        "{err:?}"
    );
    assert!(err.to_string().contains(&*path.to_string_lossy()));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

/// A store with 50 queued items, closed cleanly, whose queue table root
/// (page 2) was then overwritten; returns the damaged bytes.
fn damage_a_closed_store(path: &Path, store: Store) -> Vec<u8> {
    for n in 0..50 {
        store
            .enqueue(
                item(&format!("s{n}"), ItemKind::Update, &format!("key-{n:020}")),
                T0,
            )
            .unwrap();
    }
    drop(store);
    // Closing leaves the WAL in place; move everything into the file itself.
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    bytes[page_size..page_size + 64].fill(0xA5); // page 2: the queue table's root
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// What a process killed with the store open leaves: its open marker, no
/// longer locked by anyone. Returns the marker's path.
fn leave_a_killed_openers_marker(path: &Path) -> PathBuf {
    let marker = path
        .with_file_name("crane.db.owners")
        .join("4242-KILLED.open");
    std::fs::write(&marker, b"").unwrap();
    marker
}

#[test]
fn after_an_unclean_shutdown_a_damaged_database_fails_the_check_at_open_and_is_left_untouched() {
    let (_dir, path, store) = temp_store();
    let bytes = damage_a_closed_store(&path, store);
    let marker = leave_a_killed_openers_marker(&path);

    let err = Store::open(&path, QueueLimits::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(
        marker.exists(),
        "kept until a check passes: the next open checks again"
    );
    assert!(Store::open(&path, QueueLimits::default()).is_err());
}

#[test]
fn after_a_clean_close_a_damaged_page_is_refused_when_it_is_read_and_left_untouched() {
    // Opening no longer reads the whole file (issue 13): the damage is found
    // by SQLite when the page is read, and reported as Corrupt, not repaired.
    let (_dir, path, store) = temp_store();
    let bytes = damage_a_closed_store(&path, store);

    let store = Store::open(&path, QueueLimits::default()).unwrap();
    let err = store.list(None).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    drop(store);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_newer_schema_version_is_refused() {
    let (_dir, path, store) = temp_store();
    drop(store);
    let newer = SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let err = Store::open(&path, QueueLimits::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::Schema { found, supported, .. } if found == newer && supported == SCHEMA_VERSION),
        "{err:?}"
    );
}

#[cfg(unix)]
#[test]
fn the_file_and_its_wal_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path, store) = temp_store();
    store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    assert_eq!(store.file_mode().unwrap(), Some(0o600));
    let wal = std::fs::metadata(format!("{}-wal", path.display())).unwrap();
    assert_eq!(wal.permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_write_lock_held_too_long_gives_locked_after_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crane.db");
    let timeout = Duration::from_millis(100);
    let store = Store::open_with(&path, QueueLimits::default(), timeout).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    let err = store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(&err, StoreError::Locked { path: p } if p == &path),
        "{err:?}"
    );
    assert!(
        waited >= timeout && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );
    assert_eq!(
        store.counts().unwrap().pending,
        0,
        "readers are not blocked in WAL mode"
    );

    other.execute_batch("COMMIT").unwrap();
    store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
}

/// The open markers in the store's owners directory.
fn open_markers(path: &Path) -> usize {
    std::fs::read_dir(path.with_file_name("crane.db.owners"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".open"))
        .count()
}

#[test]
fn a_read_only_open_reads_leaves_no_marker_and_refuses_writes() {
    let (_dir, path, store) = temp_store();
    store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    drop(store);
    let markers = || open_markers(&path);

    let reader = Store::open_read_only(&path, QueueLimits::default()).unwrap();
    assert_eq!(reader.counts().unwrap().pending, 1);
    assert_eq!(markers(), 0, "a reader places no open marker");
    assert!(reader
        .enqueue(item("s2", ItemKind::Update, "k-000000000000000000002"), T0)
        .is_err());
    drop(reader);
    let store = Store::open(&path, QueueLimits::default()).unwrap();
    assert_eq!(store.counts().unwrap().pending, 1, "the write was refused");
}

#[test]
fn a_read_only_open_after_an_unclean_shutdown_checks_the_file_like_a_full_open() {
    let (_dir, path, store) = temp_store();
    let bytes = damage_a_closed_store(&path, store);
    let marker = leave_a_killed_openers_marker(&path);

    let err = Store::open_read_only(&path, QueueLimits::default()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert!(marker.exists(), "kept until a check passes");
}

#[test]
fn close_at_exit_closes_a_writable_store_and_a_reader_left_to_the_exit_stops_no_writer() {
    let (_dir, path, store) = temp_store();
    store
        .enqueue(item("s1", ItemKind::Update, "k-000000000000000000001"), T0)
        .unwrap();
    let markers = || open_markers(&path);
    assert_eq!(markers(), 1);
    // A writable store is closed: its open marker is gone, so the next
    // open is not taken for one after a crash.
    store.close_at_exit();
    assert_eq!(markers(), 0, "a writable store must be closed, not leaked");

    // A reader left to the exit holds no lock: a writer commits at once.
    let reader = Store::open_read_only(&path, QueueLimits::default()).unwrap();
    assert_eq!(reader.counts().unwrap().pending, 1);
    reader.close_at_exit();
    let writer = Store::open(&path, QueueLimits::default()).unwrap();
    writer
        .enqueue(item("s2", ItemKind::Update, "k-000000000000000000002"), T0)
        .unwrap();
    assert_eq!(writer.counts().unwrap().pending, 2);
}
