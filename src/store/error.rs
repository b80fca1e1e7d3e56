//! Errors of the local store, and the one place that classifies SQLite's errors.
//!
//! Each variant is something a caller can act on: the file cannot be opened,
//! is damaged, is locked by another process, is full, was written by a newer
//! SDK, or an item does not exist. Every message that concerns the file names
//! its path and, where there is one, the fix. Raw SQLite errors are turned into
//! these variants by [`StoreError::refine`] (busy → `Locked`, not-a-database or
//! unreadable rows → `Corrupt`); whatever is left stays [`StoreError::Sqlite`].

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// What went wrong in the local store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file or its directory could not be created or opened.
    #[error(
        "cannot open the crane store {}: {source}; check that the directory exists \
         and is writable, or set CRANE_HOME to another directory",
        path.display()
    )]
    Open {
        /// The store file.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// The file is not a SQLite database, fails `PRAGMA quick_check`, or holds
    /// rows this SDK cannot read. The file is left untouched.
    #[error(
        "the crane store {} is damaged or is not a crane database ({detail}); it was left \
         untouched: move it aside (queued handoffs may be recoverable from it) and run again",
        path.display()
    )]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// The write-ahead log could not be brought to stable storage after a
    /// commit whose sync was deferred (see `wal_sync.rs`): what was just
    /// queued is in the file but may not survive a power loss.
    #[error(
        "could not bring the crane store {} to stable storage: {source}; what was just \
         queued is in the file but may not survive a power loss",
        path.display()
    )]
    Sync {
        /// The store file.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// Another process held the write lock for longer than the busy timeout.
    #[error(
        "the crane store {} is locked by another process for too long; retry, or look for a \
         stuck crane process holding it open",
        path.display()
    )]
    Locked {
        /// The store file.
        path: PathBuf,
    },
    /// Enqueuing would exceed [`QueueLimits`](super::QueueLimits); nothing was evicted.
    #[error(
        "the offline queue in {} is full ({items} items, {bytes} bytes; limits {max_items} \
         items, {max_bytes} bytes); deliver pending items, or retry or drop dead ones",
        path.display()
    )]
    QueueFull {
        /// The store file.
        path: PathBuf,
        /// Items in the queue now (pending and dead).
        items: u64,
        /// Bytes of request bodies in the queue now.
        bytes: u64,
        /// The item limit.
        max_items: usize,
        /// The byte limit.
        max_bytes: u64,
    },
    /// The session already has a different end waiting in the queue: two
    /// ends of one session cannot both be delivered, so the second is refused
    /// at once instead of being queued to die later.
    #[error(
        "session {session_id} already has a different end queued (item {local_id}, summary \
         {summary:?}); only one end of a session can be stored: wait for it (`crane sync`), \
         or drop it (`crane queue drop {local_id}`) and end again"
    )]
    EndPending {
        /// The session.
        session_id: String,
        /// The queued end that was there first.
        local_id: String,
        /// Its summary.
        summary: String,
        /// The payload hash of the refused end.
        refused_hash: String,
    },
    /// No queued item has this local id.
    #[error("no queued item with local id {local_id}")]
    NotFound {
        /// The local id that was asked for.
        local_id: String,
    },
    /// The file was written by a newer SDK whose schema this one does not know.
    #[error(
        "the crane store {} has schema version {found}, newer than the {supported} this SDK \
         supports; upgrade crane, or set CRANE_HOME to use another store",
        path.display()
    )]
    Schema {
        /// The store file.
        path: PathBuf,
        /// The file's `user_version`.
        found: u32,
        /// The newest version this SDK knows.
        supported: u32,
    },
    /// No data directory could be found for the default store (no home directory).
    #[error("cannot find a data directory for the crane store; set CRANE_HOME to a directory")]
    NoDataDir,
    /// A thread panicked while using this handle; its transaction was rolled
    /// back, but the handle refuses further use. Open the store again.
    #[error("a thread panicked while using the crane store {}; open it again", path.display())]
    Poisoned {
        /// The store file.
        path: PathBuf,
    },
    /// An unexpected SQLite error (a bug, or a failing disk).
    #[error("unexpected SQLite error in the crane store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// Turns a raw SQLite error into the variant a caller can act on.
    pub(crate) fn refine(self, path: &Path) -> StoreError {
        let StoreError::Sqlite(err) = self else {
            return self;
        };
        match &err {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Locked {
                    path: path.to_path_buf(),
                },
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => StoreError::Corrupt {
                    path: path.to_path_buf(),
                    detail: err.to_string(),
                },
                _ => StoreError::Sqlite(err),
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("unreadable row: {err}"),
            },
            _ => StoreError::Sqlite(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn busy_becomes_locked_naming_the_path() {
        let err = failure(rusqlite::ffi::SQLITE_BUSY).refine(Path::new("/x/crane.db"));
        assert!(matches!(&err, StoreError::Locked { path } if path == Path::new("/x/crane.db")));
        assert!(err.to_string().contains("/x/crane.db"));
    }

    #[test]
    fn not_a_database_becomes_corrupt() {
        let err = failure(rusqlite::ffi::SQLITE_NOTADB).refine(Path::new("/x/crane.db"));
        assert!(matches!(err, StoreError::Corrupt { .. }));
    }

    #[test]
    fn other_errors_stay_sqlite_and_non_sqlite_errors_pass_through() {
        let err = failure(rusqlite::ffi::SQLITE_CONSTRAINT).refine(Path::new("/x"));
        assert!(matches!(err, StoreError::Sqlite(_)));
        let err = StoreError::NotFound {
            local_id: "a".into(),
        }
        .refine(Path::new("/x"));
        assert!(matches!(err, StoreError::NotFound { .. }));
    }
}
