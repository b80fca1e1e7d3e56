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
//! - **Durable on return.** When `enqueue`, `enqueue_leased`, `dead_letter`,
//!   `retry_dead`, `drop_item` or `make_all_due` returns `Ok`, the change is on
//!   stable storage: the database runs in WAL mode and these commit with
//!   `synchronous=FULL`, so the commit fsyncs the WAL. `synchronous=NORMAL`
//!   would keep the file consistent but may forget the last commits on power
//!   loss, and a handoff the SDK has told the user is "saved" must not be
//!   forgotten. The engine's direct sends queue through a crate-internal
//!   variant that commits first and fsyncs the WAL while the request is in
//!   flight, answering only after that fsync (`wal_sync.rs`): the same
//!   guarantee when the caller hears anything, at the cost of the slower of
//!   the two instead of their sum.
//! - **Bookkeeping commits without waiting for the disk.** Leases, completions
//!   of delivered items, transient-failure reschedules and every cache write
//!   commit with `synchronous=NORMAL`: the file stays consistent, and the
//!   change reaches the disk with the next durable commit (whose fsync covers
//!   the whole WAL) or checkpoint. Power loss can only undo such a change,
//!   which is harmless: a lost lease is an expired lease, a lost completion
//!   makes a delivered item be sent again *with its original idempotency key*
//!   (the server replays its answer, or the engine confirms the stored handoff
//!   by hash), a lost reschedule retries sooner, and the cache is refilled
//!   from the server. Waiting for an fsync (milliseconds on a busy disk) per
//!   delivered item or per heartbeat would instead cap a backlog drain or ten
//!   thousand live sessions at the disk's fsync rate. (Only in WAL mode: with
//!   a rollback journal, where `NORMAL` can corrupt the file on power loss,
//!   every commit is `FULL`.) A direct delivery's
//!   completion and a read's cache update are not even waited for: they are
//!   applied before this `Store`'s next transaction (see `later.rs`).
//! - **Safe between processes.** Several processes (two agent CLIs) may open the
//!   same file. All coordination goes through SQLite transactions; every
//!   read-modify-write runs under `BEGIN IMMEDIATE`, and no state is kept in
//!   memory between calls. A lease names its holder, whose liveness every
//!   other process can test through an OS file lock (see `owner.rs`): a dead
//!   holder's items are free at once. Leases also carry an expiry, the
//!   fallback when liveness cannot be known.
//! - **Never destroys data it does not understand.** A file that is not a SQLite
//!   database, fails `PRAGMA quick_check`, or was written by a newer schema is
//!   refused with [`StoreError::Corrupt`] or [`StoreError::Schema`] and left
//!   exactly as it was. It is never replaced or recreated. The whole-file
//!   check runs only on the first open after a crash (see `integrity.rs`);
//!   a damaged page found later fails its query with [`StoreError::Corrupt`].
//! - **Bounded.** The queue refuses new items with [`StoreError::QueueFull`] past
//!   [`QueueLimits`]; it never evicts anything to make room.
//!
//! This module is pure storage: it does no HTTP and has no notion of retry
//! policy. Times are unix milliseconds passed in by the caller, so tests (and
//! the retry loop) control the clock. Every method is a short blocking
//! transaction; async callers run it under `tokio::task::spawn_blocking`.

mod baseline;
mod cache;
#[cfg(test)]
mod enqueue_tests;
mod error;
mod group;
mod integrity;
mod item;
mod later;
mod owner;
mod paths;
mod queue;
mod queue_admin;
mod rehome;
mod schema;
mod server_info;
mod wal_sync;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use cache::{Cached, CachedSession};
pub use error::StoreError;
pub(crate) use item::{Durability, EnqueueChecks, Queued};
pub use item::{
    Enqueued, ItemKind, ItemState, NewItem, QueueCounts, QueueItem, QueueStats, SessionTuple,
    NOTE_LANE_PREFIX,
};
pub use owner::{Liveness, Owner};
pub use paths::{DB_FILE_NAME, HOME_ENV};
pub use queue::{CachedHandoff, Completion};
pub use rehome::Rehome;
pub use schema::SCHEMA_VERSION;
pub use server_info::ServerMemory;

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
    /// Whether the connection is in `synchronous=FULL` (else `NORMAL`);
    /// only read or changed while `conn` is locked.
    sync_full: AtomicBool,
    /// The queue's item count and body bytes, so an enqueue need not scan the
    /// table to check the limits. Valid only while `PRAGMA data_version` is
    /// unchanged (no other connection committed); this connection's own
    /// inserts and deletes keep it up to date. Only used while `conn` is locked.
    totals: Mutex<Option<QueueTotals>>,
    /// Concurrent durable enqueues share one commit (see `group.rs`).
    group: group::GroupCommit,
    /// How it was opened. Read-only ([`Store::open_read_only`]): no marker,
    /// so no checkpoint at close either (a checkpoint writes the file).
    /// Writable in WAL mode: enqueues may defer their fsync to
    /// [`Store::sync_wal`] (see `wal_sync.rs`), and relaxed commits are
    /// allowed at all.
    access: Access,
    /// Whether [`Store::sync_wal`] has synced the WAL's directory.
    wal_dir_synced: AtomicBool,
    /// Syncs done by [`Store::sync_wal`] (see [`Store::wal_syncs`]).
    wal_syncs: AtomicU64,
    /// Relaxed writes recorded but not yet applied (see `later.rs`);
    /// taken only while `conn` is locked.
    later: Mutex<Vec<later::Later>>,
    /// This open's marker (see `integrity.rs`); declared after `conn`, so it
    /// is removed only once the connection is closed.
    _marker: Option<integrity::OpenMarker>,
}

/// The WAL size past which closing a store folds the WAL into the file
/// (a checkpoint: two fsyncs). Below it the WAL is left for the next opener,
/// which replays it (reads it once) when it is the first to open the file:
/// 256 KiB keeps that replay under a tenth of a millisecond while a
/// short-lived command that wrote a few pages closes without an fsync.
const CLOSE_CHECKPOINT_WAL_BYTES: u64 = 256 * 1024;

impl Drop for Inner {
    fn drop(&mut self) {
        // Writes recorded for later (see `later.rs`) land before closing.
        let later = std::mem::take(self.later.get_mut().unwrap_or_else(|p| p.into_inner()));
        if let (false, Ok(conn)) = (later.is_empty(), self.conn.get_mut()) {
            // Relaxed only in WAL mode (see `Store::transact`).
            let mode = if self.access.wal() { "NORMAL" } else { "FULL" };
            let _ = conn.pragma_update(None, "synchronous", mode);
            if let Ok(tx) = conn.transaction_with_behavior(TransactionBehavior::Immediate) {
                if later::apply_all(&tx, &later).is_ok() {
                    let _ = tx.commit();
                }
            }
        }
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        let big = self.access != Access::ReadOnly
            && std::fs::metadata(&wal).is_ok_and(|m| m.len() > CLOSE_CHECKPOINT_WAL_BYTES);
        if let (true, Ok(conn)) = (big, self.conn.get_mut()) {
            // Never wait for other processes here: busy means they will do it.
            let _ = conn.busy_timeout(Duration::ZERO);
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

/// How a [`Store`] was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// By [`Store::open_read_only`].
    ReadOnly,
    /// By [`Store::open`]; `wal`: the connection is in WAL mode.
    Writable { wal: bool },
}

impl Access {
    /// Writable and in WAL mode.
    fn wal(self) -> bool {
        self == Access::Writable { wal: true }
    }
}

/// The queue's size as of a `data_version` of this connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueTotals {
    data_version: i64,
    pub(crate) items: u64,
    pub(crate) bytes: u64,
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
        let owners = owner::owners_dir(path);
        let mut findings = integrity::inspect(&owners);
        let check = findings.must_check();
        let conn = schema::open_connection(path, busy_timeout, check)?;
        if check {
            findings.checked(&owners);
        }
        let wal = schema::in_wal_mode(&conn);
        let access = Access::Writable { wal };
        Ok(Store::on(
            conn,
            path,
            limits,
            access,
            findings.marker.take(),
        ))
    }

    /// A store over an opened connection (`marker`: this open's, see
    /// `integrity.rs`).
    fn on(
        conn: Connection,
        path: &Path,
        limits: QueueLimits,
        access: Access,
        marker: Option<integrity::OpenMarker>,
    ) -> Store {
        Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                path: path.to_path_buf(),
                limits,
                sync_full: AtomicBool::new(true),
                totals: Mutex::new(None),
                group: group::GroupCommit::default(),
                access,
                wal_dir_synced: AtomicBool::new(false),
                wal_syncs: AtomicU64::new(0),
                later: Mutex::new(Vec::new()),
                _marker: marker,
            }),
        }
    }

    /// Opens the store for a command that only reads it (`crane status`).
    ///
    /// A store that never writes cannot leave its file in need of a check
    /// (`integrity.rs`), so it places no open marker — the marker's file
    /// creation, rename and removal were a measurable part of `crane
    /// status` — and its connection refuses writes (`PRAGMA query_only`:
    /// a write through it fails with an error, never silently). When the evidence says the file must be checked first,
    /// or it does not exist yet or needs a schema upgrade, this is exactly
    /// [`Store::open`] (which checks, creates or upgrades, with a marker).
    pub fn open_read_only(path: &Path, limits: QueueLimits) -> Result<Store, StoreError> {
        let owners = owner::owners_dir(path);
        if !path.is_file() || integrity::must_check_without_marker(&owners) {
            return Store::open(path, limits);
        }
        let Some(conn) = schema::open_current_read_only(path, DEFAULT_BUSY_TIMEOUT)? else {
            return Store::open(path, limits);
        };
        Ok(Store::on(conn, path, limits, Access::ReadOnly, None))
    }

    /// Leaves a store opened by [`Store::open_read_only`] to the process's
    /// exit instead of closing it; any other store is dropped (closed)
    /// here as usual.
    ///
    /// For a command that exits right after (`crane status`). Closing a
    /// read-only connection only frees memory — its schema, its
    /// statements, its page cache: ~130 k instructions, 8 % of `crane
    /// status` — since it holds no lock between reads, places no open
    /// marker, never checkpoints and has nothing recorded to write. A
    /// writable store's drop does work that must happen (recorded writes,
    /// the checkpoint of a large WAL, removing the open marker), so it is
    /// never skipped.
    pub fn close_at_exit(self) {
        if self.inner.access == Access::ReadOnly && Arc::strong_count(&self.inner) == 1 {
            std::mem::forget(self);
        }
    }

    fn group(&self) -> &group::GroupCommit {
        &self.inner.group
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
    /// instead of failing on upgrade) and commits it durably
    /// (`synchronous=FULL`: on stable storage when this returns).
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(TransactionBehavior::Immediate, Some(true), f)
    }

    /// Like [`Store::write`], committed with `synchronous=NORMAL`: consistent,
    /// but on stable storage only with the next durable commit or checkpoint.
    /// Only for changes whose loss on power failure is harmless (see the
    /// module documentation).
    pub(crate) fn write_relaxed<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(TransactionBehavior::Immediate, Some(false), f)
    }

    /// [`Store::write`] when `durable`, else [`Store::write_relaxed`].
    pub(crate) fn commit<T>(
        &self,
        durable: bool,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(TransactionBehavior::Immediate, Some(durable), f)
    }

    /// Runs `f` in a deferred (read) transaction, so several queries see one snapshot.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(TransactionBehavior::Deferred, None, f)
    }

    /// `full`: the `synchronous` mode to commit with (`None` for reads).
    fn run<T>(
        &self,
        behavior: TransactionBehavior,
        full: Option<bool>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = &self.inner.path;
        let mut conn = self.lock()?;
        // Writes recorded for later (see `later.rs`) come first, inside the
        // caller's transaction; a read then becomes a relaxed write (one
        // transaction, not two).
        let later = self.take_later();
        if later.is_empty() {
            return self
                .transact(&mut conn, behavior, full, f)
                .map_err(|e| e.refine(path));
        }
        let (with_later, sync) = match full {
            None => (TransactionBehavior::Immediate, false),
            Some(full) => (behavior, full),
        };
        let mut f = Some(f);
        let result = self.transact(&mut conn, with_later, Some(sync), |tx| {
            // In a savepoint: if they fail, the caller's write still runs.
            tx.execute_batch("SAVEPOINT later")?;
            match self.apply_later_tx(tx, &later) {
                Ok(()) => tx.execute_batch("RELEASE later")?,
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO later; RELEASE later")?;
                    self.later_failed(e.refine(path));
                }
            }
            match f.take() {
                Some(f) => f(tx),
                None => Err(StoreError::Poisoned { path: path.clone() }),
            }
        });
        let Err(e) = result else { return result };
        // Rolled back, caller's write included: tried again next time.
        self.restore_later(later);
        match f {
            // A read that could not take the write lock (another process
            // holds it) still reads, as in WAL it never waits for writers.
            Some(f) if full.is_none() => self
                .transact(&mut conn, behavior, None, f)
                .map_err(|e| e.refine(path)),
            _ => Err(e.refine(path)),
        }
    }

    /// One transaction on the locked connection, committed with the
    /// `synchronous` mode `full` asks for (`None` for reads).
    fn transact<T>(
        &self,
        conn: &mut Connection,
        behavior: TransactionBehavior,
        full: Option<bool>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(full) = full {
            // Relaxed only in WAL mode: with a rollback journal (a filesystem
            // that refused WAL), `NORMAL` can leave the file corrupt after a
            // power loss (SQLite's documentation of `synchronous`), and the
            // store must never be damaged to save an fsync.
            let full = full || !self.inner.access.wal();
            // Set before the transaction (it cannot change inside one); if
            // switching fails, nothing is written rather than written less
            // durably than promised.
            if self.inner.sync_full.load(Ordering::Relaxed) != full {
                let mode = if full { "FULL" } else { "NORMAL" };
                conn.pragma_update(None, "synchronous", mode)?;
                self.inner.sync_full.store(full, Ordering::Relaxed);
            }
        }
        let result = conn
            .transaction_with_behavior(behavior)
            .map_err(StoreError::from)
            .and_then(|tx| {
                let out = f(&tx)?;
                tx.commit()?;
                Ok(out)
            });
        if result.is_err() {
            // The transaction may have adjusted the totals and then rolled back.
            self.set_totals(None);
        }
        result
    }

    /// The queue's item count and body bytes, inside a write transaction:
    /// from memory while no other connection has committed since they were
    /// last known, else counted (a full scan of the queue).
    pub(crate) fn queue_totals(&self, tx: &Transaction<'_>) -> Result<QueueTotals, StoreError> {
        let data_version: i64 = tx.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if let Some(t) = self.totals().filter(|t| t.data_version == data_version) {
            return Ok(t);
        }
        let (items, bytes): (i64, i64) = tx
            .prepare_cached("SELECT count(*), ifnull(sum(size_bytes), 0) FROM queue")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let t = QueueTotals {
            data_version,
            items: u64::try_from(items).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
        };
        self.set_totals(Some(t));
        Ok(t)
    }

    /// Records that this connection added (`sign` 1) or removed (`sign` -1)
    /// one item of `size` bytes, inside the transaction doing it.
    pub(crate) fn adjust_totals(&self, sign: i8, size: u64) {
        if let Some(mut t) = self.totals() {
            if sign > 0 {
                t.items = t.items.saturating_add(1);
                t.bytes = t.bytes.saturating_add(size);
            } else {
                t.items = t.items.saturating_sub(1);
                t.bytes = t.bytes.saturating_sub(size);
            }
            self.set_totals(Some(t));
        }
    }

    fn totals(&self) -> Option<QueueTotals> {
        self.inner.totals.lock().ok().and_then(|t| *t)
    }

    fn set_totals(&self, totals: Option<QueueTotals>) {
        if let Ok(mut t) = self.inner.totals.lock() {
            *t = totals;
        }
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

    /// With a rollback journal (a filesystem that refuses WAL), a relaxed
    /// write still commits with `synchronous=FULL`: `NORMAL` could corrupt
    /// the file on power loss there.
    #[test]
    fn without_wal_relaxed_writes_stay_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path, QueueLimits::default()).unwrap());
        let conn = schema::open_connection(&path, DEFAULT_BUSY_TIMEOUT, false).unwrap();
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let access = Access::Writable {
            wal: schema::in_wal_mode(&conn),
        };
        let store = Store::on(conn, &path, QueueLimits::default(), access, None);
        assert!(!store.defers_sync());
        store
            .write_relaxed(|tx| Ok(tx.execute_batch("PRAGMA user_version = user_version")?))
            .unwrap();
        let sync: i64 = store
            .lock()
            .unwrap()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must stay FULL without WAL");
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
