//! Opening the store file: pragmas, health check and the versioned schema.
//!
//! The schema is versioned with `PRAGMA user_version`. A new file gets
//! [`FRESH_SCHEMA`] in one transaction; an older file runs one upgrade arm per
//! version in [`UPGRADES`]; a newer file is refused ([`StoreError::Schema`]) and
//! left alone. A file that is not a SQLite database, fails `PRAGMA quick_check`
//! (run when `integrity.rs` says a crash may have damaged it), or holds tables
//! without a version (another program's database) is refused as
//! [`StoreError::Corrupt`]: it is never replaced or recreated.
//!
//! Adding version N+1: bump [`SCHEMA_VERSION`], change [`FRESH_SCHEMA`] to the
//! new layout, and append the arm taking N to N+1 to [`UPGRADES`]. The test
//! `upgraded_schema_equals_fresh` (tests/store.rs) keeps a frozen copy of
//! every released schema and checks that each, upgraded, equals a fresh file.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use super::StoreError;

/// The schema version this SDK writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = 6;

/// The connection's page cache limit, as SQLite's `cache_size` takes it
/// in KiB (negative): 256 KiB.
const PAGE_CACHE_KIB: i64 = -256;

/// Statements kept prepared per connection: a little more than the store uses,
/// so `prepare_cached` never evicts on the hot path.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// The `rehome` table (version 2): one row per queued end whose session was
/// found abandoned or ended without it, while it is re-homed (see
/// `store/rehome.rs`). Deleted with its item (`ON DELETE CASCADE`).
macro_rules! rehome_table {
    () => {
        "
CREATE TABLE rehome (
    local_id      TEXT    PRIMARY KEY REFERENCES queue (local_id) ON DELETE CASCADE,
    generation    INTEGER NOT NULL DEFAULT 0 CHECK (generation >= 0),
    to_session_id TEXT,
    waiting_for   TEXT,
    updated_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
"
    };
}

/// The `queue` table and its indexes. Version 4 admits the kinds `note`
/// (`POST /notes`, its own lane) and `checkpoint` (`POST /checkpoint`, in
/// its session's lane); SQLite cannot change a CHECK in place, so the
/// upgrade rebuilds the table (see [`queue_kinds_v4`]).
macro_rules! queue_table {
    () => {
        "
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
"
    };
}

/// The index of leased queue rows (version 5): a partial index holding only
/// the rows with a lease (those in flight: a drain batch or two, not the
/// backlog). Leasing first looks for holders other than itself with a live
/// lease (to void a dead process's leases, `free_dead_leases_tx`), and `sync`
/// counts live leases; without it both visited every pending row (through
/// `queue_by_due`'s `state`), once per leased batch of 64: draining n items
/// cost O(n²), 100,000 items at a fifth of the rate of 10,000. Those queries
/// name it (`INDEXED BY`): SQLite's planner, without statistics, preferred
/// the `state` prefix of `queue_by_due`. Kept apart from `queue_table!`
/// because the version 4 rebuild (which uses that macro) predates it.
macro_rules! queue_lease_index {
    () => {
        "
CREATE INDEX queue_by_lease ON queue (lease_holder, lease_until_ms)
    WHERE lease_holder IS NOT NULL;
"
    };
}

/// The index of cached handoffs by their session (version 6). An end first
/// looks in the cache for a handoff of its session (the server stores one
/// only when it ends the session, see `engine/session.rs`); without it that
/// parsed every cached handoff — one per venture/repo/track ever seen — on
/// every end. The expression is exactly the lookup's: `NULL` for a row that
/// is not JSON, so such a row is indexed (and never found) instead of
/// failing its write. Kept apart from the `last_handoff` table of
/// `FRESH_SCHEMA` for the upgrade arm, which adds only it.
macro_rules! last_handoff_session_index {
    () => {
        "
CREATE INDEX last_handoff_by_session ON last_handoff
    (iif(json_valid(handoff_json), json_extract(handoff_json, '$.session_id'), NULL));
"
    };
}

/// The `checkpoint_baseline` table (version 4): for a queued checkpoint,
/// the session's newest checkpoint number read before its first send. Every
/// later attempt first looks for a checkpoint newer than it with the same
/// content (see `engine/deliver_v2.rs`). Deleted with its item.
macro_rules! checkpoint_baseline_table {
    () => {
        "
CREATE TABLE checkpoint_baseline (
    local_id TEXT    PRIMARY KEY REFERENCES queue (local_id) ON DELETE CASCADE,
    after    INTEGER NOT NULL CHECK (after >= 0)
) STRICT, WITHOUT ROWID;
"
    };
}

/// The complete current schema, applied to a new (empty) file.
///
/// `seq` orders the queue: it only grows among existing rows, in commit order
/// across processes, which neither clocks nor ULIDs from two processes
/// guarantee. `lease_holder` and `lease_until_ms` are set together; an expired
/// lease is simply ignored, so a crashed holder needs no cleanup. Nullable
/// `track` is made unique per tuple through `ifnull(track, 'none')`, since
/// SQLite treats NULLs as distinct in unique indexes.
pub(crate) const FRESH_SCHEMA: &str = concat!(
    queue_table!(),
    "
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

CREATE TABLE server_info (
    base_url               TEXT    PRIMARY KEY,
    generation             TEXT    CHECK (generation IN ('v1', 'v2')),
    version_json           TEXT,
    detected_at_ms         INTEGER,
    ventures_json          TEXT,
    ventures_fetched_at_ms INTEGER
) STRICT, WITHOUT ROWID;
",
    rehome_table!(),
    checkpoint_baseline_table!(),
    queue_lease_index!(),
    last_handoff_session_index!()
);

/// Version 3: what the SDK learnt about each base URL (its generation and
/// `GET /version`, the `GET /ventures` list), see `server_info.rs`.
fn add_server_info(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE server_info (
    base_url               TEXT    PRIMARY KEY,
    generation             TEXT    CHECK (generation IN ('v1', 'v2')),
    version_json           TEXT,
    detected_at_ms         INTEGER,
    ventures_json          TEXT,
    ventures_fetched_at_ms INTEGER
) STRICT, WITHOUT ROWID;",
    )
}

/// One upgrade arm: takes a file from version `i + 1` to `i + 2` (index `i`).
type Upgrade = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// The upgrade arms, oldest first.
const UPGRADES: &[Upgrade] = &[
    v1_to_v2,
    add_server_info,
    queue_kinds_v4,
    add_lease_index,
    add_handoff_session_index,
];

/// Version 2 adds the `rehome` table (the re-homing state of queued ends).
fn v1_to_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(rehome_table!())
}

/// Version 4: the queue admits notes and checkpoints, and queued
/// checkpoints keep their confirmation baseline. The CHECK on `kind` cannot
/// be altered, so `queue` is rebuilt: its rows (with their `seq`, so the
/// order is kept) and the `rehome` rows that reference them are copied
/// aside, both tables dropped (`rehome` first, so no cascade deletes
/// anything) and created again exactly as a fresh file has them, and the
/// rows copied back, all in the migration's one transaction.
fn queue_kinds_v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(concat!(
        "CREATE TEMP TABLE queue_v3 AS SELECT * FROM main.queue;
CREATE TEMP TABLE rehome_v3 AS SELECT * FROM main.rehome;
DROP TABLE main.rehome;
DROP TABLE main.queue;",
        queue_table!(),
        rehome_table!(),
        checkpoint_baseline_table!(),
        "INSERT INTO main.queue SELECT * FROM temp.queue_v3;
INSERT INTO main.rehome SELECT * FROM temp.rehome_v3;
DROP TABLE temp.queue_v3;
DROP TABLE temp.rehome_v3;"
    ))
}

/// Version 5: the partial index of leased rows (see `queue_lease_index!`).
/// Built once from the rows present; nothing else changes.
fn add_lease_index(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(queue_lease_index!())
}

/// Version 6: the index of cached handoffs by session (see
/// `last_handoff_session_index!`). Built once from the rows present.
fn add_handoff_session_index(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(last_handoff_session_index!())
}

// Exactly one arm per version after the first.
const _: () = assert!(UPGRADES.len() + 1 == SCHEMA_VERSION as usize);

/// Whether `conn` is in WAL mode (a filesystem without the shared memory
/// WAL needs leaves it in a rollback-journal mode, see [`open_connection`]).
pub(crate) fn in_wal_mode(conn: &Connection) -> bool {
    conn.pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
        .is_ok_and(|m| m.eq_ignore_ascii_case("wal"))
}

/// Opens `path` (which must exist), checks its health (the whole file when
/// `check`, else its header), sets the pragmas and brings its schema to
/// [`SCHEMA_VERSION`].
pub(crate) fn open_connection(
    path: &Path,
    busy_timeout: Duration,
    check: bool,
) -> Result<Connection, StoreError> {
    let (mut conn, version) = connect(path, busy_timeout, check)?;
    configure_writable(&conn, path)?;
    // Already current (every open but the first of each release): no
    // migration, so no write transaction either.
    if version != SCHEMA_VERSION {
        migrate(&mut conn, path).map_err(|e| e.refine(path))?;
    }
    Ok(conn)
}

/// For a store opened only to read: like [`open_connection`] without a
/// check, refusing writes (`PRAGMA query_only`); `None` when the file's
/// schema is not the current one (it needs an upgrade, which writes: the
/// caller opens it the full way instead).
pub(crate) fn open_current_read_only(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Option<Connection>, StoreError> {
    let (conn, version) = connect(path, busy_timeout, false)?;
    if version != SCHEMA_VERSION {
        return Ok(None);
    }
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| StoreError::from(e).refine(path))?;
    // Nothing else of `configure_writable` matters to a connection that
    // only reads: the journal mode is the file's (a reader neither sets nor
    // needs it), durability and foreign keys are about writes, and each
    // pragma is a statement prepared and run (~17 k instructions for the
    // four in `crane status`). Closing must still not checkpoint: a query-only
    // connection is read-write to SQLite, and the last one to close would.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| StoreError::from(e).refine(path))?;
    Ok(Some(conn))
}

/// Opens `path` and returns it with its schema version (refusing a newer
/// or foreign file), changing nothing in it.
fn connect(
    path: &Path,
    busy_timeout: Duration,
    check: bool,
) -> Result<(Connection, u32), StoreError> {
    let refine = |e: rusqlite::Error| StoreError::from(e).refine(path);
    // No SQLITE_OPEN_CREATE: the file was created with private permissions by
    // `paths::prepare_file`; SQLite must not recreate it with its own mode.
    // No mutex in SQLite: the `Store` serializes access to the connection.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    conn.busy_timeout(busy_timeout).map_err(refine)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    if check {
        quick_check(&conn, path)?;
    }
    // Refuse a newer or foreign file before changing anything in it (even its journal mode).
    let version = check_version(&conn, path).map_err(|e| e.refine(path))?;
    Ok((conn, version))
}

/// Sets what a connection that writes needs: WAL, no checkpoint at close,
/// `synchronous=FULL`, foreign keys and a bounded page cache.
fn configure_writable(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let refine = |e: rusqlite::Error| StoreError::from(e).refine(path);
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(refine)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Still durable with a rollback journal and synchronous=FULL; only
        // concurrency between processes suffers (readers wait for writers).
        tracing::warn!(path = %path.display(), %mode, "crane store could not switch to WAL mode");
    }
    // Closing does not checkpoint: the WAL is part of the database, and a
    // checkpoint at close (two fsyncs) plus the restart of the emptied WAL
    // by the next writer (two more: its header and its directory) made every
    // short-lived `crane` command wait for the disk four times although what
    // it wrote was either already durable or bookkeeping whose loss is
    // harmless. The WAL stays bounded by SQLite's automatic checkpoint
    // (1,000 pages) and by the store's own checkpoint at close past 256 KiB
    // (`Inner::drop`), and is replayed by the next first opener.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(refine)?;
    // FULL: every commit fsyncs the WAL, so a returned enqueue survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(refine)?;
    // The same switch as `PRAGMA foreign_keys = ON`, without a statement.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)
        .map_err(refine)?;
    // A bounded page cache. SQLite's default (2 MiB per connection) fills
    // as a long-lived engine writes (every session start writes its ~1.5 KiB
    // cache row), and an engine holding 2,000 live sessions paid ~800 bytes
    // of RSS per session for it (BENCHMARKS.md, item 5). The store's hot
    // pages (the b-tree roots and inner pages of the queue and cache tables)
    // fit many times over; the rest is in the OS page cache either way.
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)
        .map_err(refine)?;
    Ok(())
}

/// Fails with [`StoreError::Corrupt`] unless `PRAGMA quick_check` says "ok".
/// Reading the header is also what detects a file that is not a database.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let problems = (|| {
        let mut stmt = conn.prepare("PRAGMA quick_check")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
    })()
    .map_err(|e| StoreError::from(e).refine(path))?;
    if problems == ["ok"] {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("quick_check: {}", problems.join("; ")),
    })
}

/// Reads the file's schema version, refusing a newer version or a database
/// with tables but no version (another program's). Writes nothing.
fn check_version(conn: &Connection, path: &Path) -> Result<u32, StoreError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::Schema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 0 {
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if objects != 0 {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: "it holds tables but no crane schema version".into(),
            });
        }
    }
    Ok(found)
}

/// Creates or upgrades the schema under the write lock, so two processes
/// opening a new file at once create it exactly once.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = check_version(&tx, path)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found == 0 {
        tx.execute_batch(FRESH_SCHEMA)?;
    } else {
        upgrade_from(&tx, found)?;
        tracing::info!(path = %path.display(), from = found, to = SCHEMA_VERSION, "upgraded crane store");
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Runs the upgrade arms from version `from` (at least 1) to [`SCHEMA_VERSION`].
fn upgrade_from(tx: &Transaction<'_>, from: u32) -> rusqlite::Result<()> {
    let first = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
    UPGRADES.iter().skip(first).try_for_each(|arm| arm(tx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn fresh_file_gets_the_current_version_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::File::create(&path).unwrap();
        let conn = open_connection(&path, Duration::from_millis(100), true).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
    }

    #[test]
    fn reopening_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::File::create(&path).unwrap();
        let first = schema_of(&open_connection(&path, Duration::from_millis(100), true).unwrap());
        let second = schema_of(&open_connection(&path, Duration::from_millis(100), true).unwrap());
        assert_eq!(first, second);
        assert!(first.iter().any(|(_, name, _)| name == "queue"));
    }

    #[test]
    fn upgrade_from_the_current_version_runs_no_arm() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        upgrade_from(&tx, SCHEMA_VERSION).unwrap();
        let objects: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(objects, 0);
    }

    #[test]
    fn a_foreign_database_is_refused_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE notes (x TEXT);")
            .unwrap();
        let err = open_connection(&path, Duration::from_millis(100), true).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }
}
