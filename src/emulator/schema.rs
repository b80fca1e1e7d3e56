//! The emulator's SQLite schema and how a database is opened.
//!
//! The emulator keeps sessions, handoffs and idempotency records in SQLite, as
//! the real service does (D1), so that shutting an emulator down and starting
//! a new one on the same file keeps everything — tests use that to simulate a
//! server that goes away and comes back. The schema carries a version
//! (`PRAGMA user_version`); a fresh database gets the whole schema in one go, a
//! version 1 file (v1 protocol only) is upgraded in place, and a
//! database from a newer emulator is refused rather than misread. Indexes cover
//! every query an API route makes, so no request scans a table (only the
//! control API's state dump sorts a whole table), and no index exists that no
//! route needs, since every index costs each `/eod` another page write.

use std::path::Path;

use rusqlite::Connection;

/// Version written to `PRAGMA user_version` by [`UPGRADE_TO_2`].
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// The complete schema of a fresh database.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE sessions (
    id                      TEXT PRIMARY KEY,
    agent                   TEXT NOT NULL,
    client                  TEXT,
    client_version          TEXT,
    host                    TEXT,
    venture                 TEXT NOT NULL,
    repo                    TEXT NOT NULL,
    track                   INTEGER,
    issue_number            INTEGER,
    branch                  TEXT,
    commit_sha              TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('active', 'ended', 'abandoned')),
    created_at              TEXT NOT NULL,
    started_at              TEXT NOT NULL,
    last_heartbeat_at       TEXT NOT NULL,
    ended_at                TEXT,
    end_reason              TEXT,
    schema_version          TEXT NOT NULL,
    actor_key_id            TEXT NOT NULL,
    creation_correlation_id TEXT NOT NULL,
    meta_json               TEXT,
    client_session_id       TEXT,
    last_activity_at        TEXT,
    session_group_id        TEXT
);
CREATE INDEX idx_sessions_active ON sessions (agent, venture, repo, status, last_heartbeat_at);

CREATE TABLE handoffs (
    id                      TEXT PRIMARY KEY,
    session_id              TEXT NOT NULL,
    venture                 TEXT NOT NULL,
    repo                    TEXT NOT NULL,
    track                   INTEGER,
    issue_number            INTEGER,
    branch                  TEXT,
    commit_sha              TEXT,
    from_agent              TEXT NOT NULL,
    to_agent                TEXT,
    status_label            TEXT,
    summary                 TEXT NOT NULL,
    payload_json            TEXT NOT NULL,
    payload_hash            TEXT NOT NULL,
    payload_size_bytes      INTEGER NOT NULL,
    schema_version          TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    actor_key_id            TEXT NOT NULL,
    creation_correlation_id TEXT NOT NULL
);
CREATE INDEX idx_handoffs_session ON handoffs (session_id, created_at, id);
CREATE INDEX idx_handoffs_agent ON handoffs (from_agent, created_at, id);
CREATE INDEX idx_handoffs_repo ON handoffs (venture, repo, created_at, id);
CREATE INDEX idx_handoffs_track ON handoffs (venture, repo, track, created_at, id);
CREATE INDEX idx_handoffs_issue ON handoffs (venture, repo, issue_number, created_at, id);

CREATE TABLE idempotency_keys (
    endpoint            TEXT NOT NULL,
    key                 TEXT NOT NULL,
    response_status     INTEGER NOT NULL,
    response_hash       TEXT NOT NULL,
    response_body       TEXT,
    response_size_bytes INTEGER NOT NULL,
    response_truncated  INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    expires_at          TEXT NOT NULL,
    PRIMARY KEY (endpoint, key)
) WITHOUT ROWID;
CREATE INDEX idx_idempotency_expires ON idempotency_keys (expires_at);
"#;

/// The tables version 2 adds for the v2 protocol (checkpoints, notes, docs,
/// per-minute activity). A fresh database runs [`SCHEMA`] (whose `sessions`
/// already has the v2 columns) and then this; a version 1 file gets the three
/// session columns and then this, so both end with the same tables.
pub(crate) const UPGRADE_TO_2: &str = r#"
CREATE TABLE checkpoints (
    id                TEXT PRIMARY KEY,
    session_id        TEXT NOT NULL,
    venture           TEXT NOT NULL,
    repo              TEXT NOT NULL,
    track             INTEGER,
    issue_number      INTEGER,
    branch            TEXT,
    commit_sha        TEXT,
    summary           TEXT NOT NULL,
    work_completed    TEXT,
    blockers          TEXT,
    next_actions      TEXT,
    notes             TEXT,
    checkpoint_number INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    actor_key_id      TEXT NOT NULL,
    correlation_id    TEXT NOT NULL
);
CREATE INDEX idx_checkpoints_session ON checkpoints (session_id, created_at);
CREATE INDEX idx_checkpoints_venture ON checkpoints (venture, repo, track, created_at);

CREATE TABLE notes (
    id                     TEXT PRIMARY KEY,
    title                  TEXT,
    content                TEXT NOT NULL,
    tags                   TEXT,
    venture                TEXT,
    archived               INTEGER NOT NULL DEFAULT 0,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    actor_key_id           TEXT NOT NULL,
    meta_json              TEXT,
    authored_by_session_id TEXT,
    source_hash            TEXT,
    embedding_model        TEXT,
    embedding_version      TEXT,
    embedding_hash         TEXT,
    injectable             INTEGER NOT NULL DEFAULT 0,
    curator_parse_error    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_notes_created ON notes (created_at, id);

CREATE TABLE docs (
    scope        TEXT NOT NULL,
    doc_name     TEXT NOT NULL,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    title        TEXT,
    description  TEXT,
    version      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (scope, doc_name)
) WITHOUT ROWID;

CREATE TABLE session_activity (
    session_id TEXT NOT NULL,
    minute     TEXT NOT NULL,
    source     TEXT NOT NULL,
    PRIMARY KEY (session_id, minute)
) WITHOUT ROWID;

PRAGMA user_version = 2;
"#;

/// Columns version 2 adds to `sessions` in an upgraded version 1 database.
const UPGRADE_SESSIONS_TO_2: &str = "
ALTER TABLE sessions ADD COLUMN client_session_id TEXT;
ALTER TABLE sessions ADD COLUMN last_activity_at TEXT;
ALTER TABLE sessions ADD COLUMN session_group_id TEXT;
";

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    /// SQLite refused an operation.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer emulator.
    #[error("database schema version {found} is newer than this emulator's ({SCHEMA_VERSION})")]
    TooNew {
        /// The version found in the file.
        found: i64,
    },
}

/// Opens (creating if needed) the database at `path`, or an in-memory one.
pub(crate) fn open(path: Option<&Path>) -> Result<Connection, SchemaError> {
    let conn = match path {
        Some(path) => {
            let conn = Connection::open(path)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // No fsync, even at checkpoints: data survives the process (the
            // OS has it), which is all an emulator promises; fsyncs under the
            // one database lock would cap throughput at a few hundred writes/s.
            conn.pragma_update(None, "synchronous", "OFF")?;
            conn
        }
        None => {
            // In memory through the `memdb` VFS rather than `:memory:`: a
            // `:memory:` database lives in the page cache, which SQLite walks
            // at the end of every write transaction, so each `/eod` got slower
            // as the tables grew (3× after ~20,000 handoffs). With `memdb` the
            // page cache stays bounded and the cost per request stays flat.
            let name = format!("file:/crane-emulator-{}?vfs=memdb", ulid::Ulid::new());
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                | rusqlite::OpenFlags::SQLITE_OPEN_URI;
            let conn = Connection::open_with_flags(name, flags)?;
            raise_memdb_limit(&conn);
            conn.pragma_update(None, "journal_mode", "MEMORY")?;
            conn
        }
    };
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    migrate(&conn)?;
    Ok(conn)
}

/// Largest in-memory database (bytes): memory is taken only as it fills.
const MEMDB_MAX_BYTES: i64 = 64 << 30;

/// `memdb` files stop growing at 1 GiB by default ("database or disk is
/// full"), which a long benchmark run reaches (~150,000 handoffs with their
/// replay records); raise the cap. A failure leaves the default in place.
fn raise_memdb_limit(conn: &Connection) {
    if let Err(rc) = memdb_size_limit(conn, MEMDB_MAX_BYTES) {
        tracing::warn!(rc, "could not raise the in-memory database's size limit");
    }
}

/// Sets the size limit of a `memdb` database (a negative `limit` only reads
/// it); returns the limit now in force, or SQLite's error code.
fn memdb_size_limit(conn: &Connection, limit: i64) -> Result<i64, i32> {
    let mut value = limit;
    // SAFETY: the handle is valid for the connection's lifetime, the schema
    // name is a NUL-terminated literal, and SQLITE_FCNTL_SIZE_LIMIT reads and
    // writes exactly one sqlite3_int64 through the pointer, which outlives
    // the call.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_SIZE_LIMIT,
            (&mut value as *mut i64).cast(),
        )
    };
    if rc == rusqlite::ffi::SQLITE_OK {
        Ok(value)
    } else {
        Err(rc)
    }
}

/// Brings the schema to [`SCHEMA_VERSION`].
fn migrate(conn: &Connection) -> Result<(), SchemaError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => conn.execute_batch(&format!("BEGIN;{SCHEMA}{UPGRADE_TO_2}COMMIT;"))?,
        1 => conn.execute_batch(&format!(
            "BEGIN;{UPGRADE_SESSIONS_TO_2}{UPGRADE_TO_2}COMMIT;"
        ))?,
        SCHEMA_VERSION => {}
        found => return Err(SchemaError::TooNew { found }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_may_grow_past_sqlites_default_cap() -> Result<(), SchemaError> {
        let conn = open(None)?;
        assert_eq!(memdb_size_limit(&conn, -1), Ok(MEMDB_MAX_BYTES));
        Ok(())
    }

    #[test]
    fn fresh_database_gets_current_version() -> Result<(), SchemaError> {
        let conn = open(None)?;
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        assert_eq!(v, SCHEMA_VERSION);
        Ok(())
    }

    /// Tables, columns (in order) and indexes of a database, for comparison.
    fn shape(conn: &Connection) -> rusqlite::Result<Vec<String>> {
        let mut out = Vec::new();
        let names: Vec<(String, String)> = conn
            .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (kind, name) in names {
            out.push(format!("{kind} {name}"));
            if kind == "table" {
                let columns: Vec<String> = conn
                    .prepare(&format!(
                        "SELECT name, type FROM pragma_table_info('{name}')"
                    ))?
                    .query_map([], |r| {
                        Ok(format!(
                            "  {} {}",
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?
                        ))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                out.extend(columns);
            }
        }
        out.push(format!(
            "version {}",
            conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?
        ));
        Ok(out)
    }

    #[test]
    fn an_upgraded_version_1_database_equals_a_fresh_one() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("v1.db");
        {
            // A version 1 database as the previous emulator wrote it.
            let conn = Connection::open(&path)?;
            let v1 = SCHEMA
                .replace(
                    ",\n    client_session_id       TEXT,\n    last_activity_at        TEXT,\n    session_group_id        TEXT\n",
                    "\n",
                );
            assert_ne!(v1, SCHEMA, "the v2 session columns were found");
            conn.execute_batch(&format!("{v1}PRAGMA user_version = 1;"))?;
            conn.execute(
                "INSERT INTO sessions (id, agent, venture, repo, status, created_at, started_at, \
                 last_heartbeat_at, schema_version, actor_key_id, creation_correlation_id) \
                 VALUES ('s', 'a', 'v', 'r', 'active', 't', 't', 't', '1.0', 'k', 'c')",
                [],
            )?;
        }
        let upgraded = open(Some(&path))?;
        let n: i64 = upgraded.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))?;
        assert_eq!(n, 1, "data survives the upgrade");
        assert_eq!(shape(&upgraded)?, shape(&open(None)?)?);
        Ok(())
    }

    #[test]
    fn reopening_a_file_keeps_data_and_refuses_newer_versions(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("s.db");
        {
            let conn = open(Some(&path))?;
            conn.execute(
                "INSERT INTO idempotency_keys VALUES ('/sod','k',200,'h',NULL,1,0,'a','b')",
                [],
            )?;
        }
        {
            let conn = open(Some(&path))?;
            let n: i64 =
                conn.query_row("SELECT COUNT(*) FROM idempotency_keys", [], |r| r.get(0))?;
            assert_eq!(n, 1);
            conn.pragma_update(None, "user_version", 99)?;
        }
        assert!(matches!(
            open(Some(&path)),
            Err(SchemaError::TooNew { found: 99 })
        ));
        Ok(())
    }
}
