//! The durable local store: the offline queue and the local cache.
//!
//! Why it exists: an agent's handoff must never be lost because the network,
//! the server or the agent's own process failed at the wrong moment. Every
//! `/update` and `/eod` the SDK cannot deliver at once is written here first and
//! delivered later, in order, with the idempotency key it was given when it was
//! queued. The same file caches what the SDK last learned from the server (the
//! current session per tuple, the last handoff, the documentation) so a CLI can
//! answer without a round trip.
//!
//! What it guarantees:
//!
//! - **Durable on return.** When a write method returns `Ok`, the change is on
//!   stable storage: the database runs in WAL mode with `synchronous=FULL`, so
//!   every commit fsyncs the WAL. `synchronous=NORMAL` would keep the file
//!   consistent but may forget the last commits on power loss, and a handoff the
//!   SDK has told the user is "saved" must not be forgotten. Writes are rare
//!   (one per update or handoff), so the fsync costs nothing anyone notices.
//! - **Safe between processes.** Several processes (two agent CLIs) may open the
//!   same file. All coordination goes through SQLite transactions; every
//!   read-modify-write runs under `BEGIN IMMEDIATE`, and no state is kept in
//!   memory between calls. Leases carry an expiry, so a crashed holder's items
//!   come back by themselves.
//! - **Never destroys data it does not understand.** A file that is not a SQLite
//!   database, fails `PRAGMA quick_check`, or was written by a newer schema is
//!   refused with [`StoreError::Corrupt`] or [`StoreError::Schema`] and left
//!   exactly as it was. It is never replaced or recreated.
//! - **Bounded.** The queue refuses new items with [`StoreError::QueueFull`] past
//!   [`QueueLimits`]; it never evicts anything to make room.
//!
//! This module is pure storage: it does no HTTP and has no notion of retry
//! policy. Times are unix milliseconds passed in by the caller, so tests (and
//! the retry loop) control the clock. Every method is a short blocking
//! transaction; async callers run it under `tokio::task::spawn_blocking`.

mod cache;
mod error;
mod item;
mod paths;
mod queue;
mod queue_admin;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use cache::{Cached, CachedSession};
pub use error::StoreError;
pub use item::{
    Enqueued, ItemKind, ItemState, NewItem, QueueCounts, QueueItem, QueueStats, SessionTuple,
};
pub use paths::{DB_FILE_NAME, HOME_ENV};
pub use schema::SCHEMA_VERSION;

/// Default cap on queued items (pending and dead): far more than any agent
/// produces offline, small enough that listing the queue stays instant.
pub const DEFAULT_MAX_ITEMS: usize = 10_000;

/// Default cap on the bytes of queued request bodies (256 MiB): room for hundreds
/// of maximum-size handoffs (800 KiB each) without letting a stuck queue fill a disk.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// How long a call waits for another process's write lock before failing with
/// [`StoreError::Locked`]: every transaction here is a few milliseconds long,
/// so five seconds of waiting means something is wrong, not merely busy.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Size limits of the offline queue. Counts dead items too: they hold disk
/// space until a person retries or drops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most items (pending and dead) the queue holds.
    pub max_items: usize,
    /// Most bytes of request bodies (`body_json`) the queue holds.
    pub max_bytes: u64,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_items: DEFAULT_MAX_ITEMS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// A handle on the local store file.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`: share one `Store` across
/// threads and tasks. Calls are serialized on one SQLite connection; each is a
/// short transaction, so run them under `tokio::task::spawn_blocking` from async
/// code. Other processes may open the same file at the same time.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
    limits: QueueLimits,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl Store {
    /// Opens (creating if absent) the store at `path` with the default busy timeout.
    ///
    /// Creates missing parent directories and, on unix, creates the file with
    /// mode 0600. Refuses a file that is not a healthy crane store
    /// ([`StoreError::Corrupt`]) or was written by a newer SDK
    /// ([`StoreError::Schema`]), leaving it untouched.
    pub fn open(path: &Path, limits: QueueLimits) -> Result<Store, StoreError> {
        Store::open_with(path, limits, DEFAULT_BUSY_TIMEOUT)
    }

    /// Like [`Store::open`], with the time to wait for another process's lock
    /// before a call fails with [`StoreError::Locked`].
    pub fn open_with(
        path: &Path,
        limits: QueueLimits,
        busy_timeout: Duration,
    ) -> Result<Store, StoreError> {
        paths::prepare_file(path)?;
        let conn = schema::open_connection(path, busy_timeout)?;
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                path: path.to_path_buf(),
                limits,
            }),
        })
    }

    /// Opens the store at [`Store::default_path`].
    pub fn open_default(limits: QueueLimits) -> Result<Store, StoreError> {
        Store::open(&Store::default_path()?, limits)
    }

    /// Where [`Store::open_default`] keeps the store: `$CRANE_HOME/crane.db` when
    /// [`HOME_ENV`] is set and non-empty, else `crane.db` in the platform data
    /// directory (e.g. `~/.local/share/crane` on Linux).
    pub fn default_path() -> Result<PathBuf, StoreError> {
        paths::default_db_path()
    }

    /// The path of the store file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The queue limits this handle enforces.
    pub fn limits(&self) -> QueueLimits {
        self.inner.limits
    }

    /// The permission bits of the store file (e.g. `0o600`), for a doctor
    /// command; `None` on platforms without unix modes.
    pub fn file_mode(&self) -> std::io::Result<Option<u32>> {
        paths::file_mode(&self.inner.path)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction (the write lock is taken up
    /// front, so concurrent read-modify-writes in other processes serialize
    /// instead of failing on upgrade) and commits it.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(TransactionBehavior::Immediate, f)
    }

    /// Runs `f` in a deferred (read) transaction, so several queries see one snapshot.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(TransactionBehavior::Deferred, f)
    }

    fn run<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = &self.inner.path;
        let mut conn = self.lock()?;
        let result = conn
            .transaction_with_behavior(behavior)
            .map_err(StoreError::from)
            .and_then(|tx| {
                let out = f(&tx)?;
                tx.commit()?;
                Ok(out)
            });
        result.map_err(|e| e.refine(path))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.inner.conn.lock().map_err(|_| StoreError::Poisoned {
            path: self.inner.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Store>();
    }

    #[test]
    fn default_limits_are_the_named_constants() {
        let limits = QueueLimits::default();
        assert_eq!(limits.max_items, DEFAULT_MAX_ITEMS);
        assert_eq!(limits.max_bytes, DEFAULT_MAX_BYTES);
    }

    #[test]
    fn clones_share_one_connection() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), QueueLimits::default()).unwrap();
        let other = store.clone();
        assert!(Arc::ptr_eq(&store.inner, &other.inner));
        assert_eq!(other.path(), dir.path().join("s.db"));
    }
}
