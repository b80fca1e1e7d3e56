//! Durability after the fact: a commit whose fsync the caller overlaps with
//! other work.
//!
//! Why it exists: a direct `/update` or `/eod` is queued before it is sent,
//! so a crash mid-send cannot lose it. Committed with `synchronous=FULL`,
//! the queueing waited for an fsync of the WAL (a few hundred microseconds
//! on a good disk, milliseconds on a busy one) before the request could even
//! start, and the caller paid the fsync and the round trip one after the
//! other. Here the row is committed with `synchronous=NORMAL` — in the file
//! and visible to every process at once, with its lease, so the ordering and
//! exactly-once decisions are made by that transaction exactly as before —
//! and [`Store::sync_wal`] then fsyncs the WAL while the request is in
//! flight. The caller hears "queued" only after that sync returned, so what
//! it is told is as durable as a `FULL` commit would have made it.
//!
//! Why this is the same durability: in WAL mode a `FULL` commit is the
//! `NORMAL` commit plus an fsync of the WAL file after the commit frame is
//! written. `fdatasync` on any descriptor of that file flushes every frame
//! written to it so far, this commit's included. Should a checkpoint move
//! the frames into the database file first and a later writer restart the
//! WAL over them, SQLite has synced the database file before allowing the
//! restart (it does so at every `synchronous` level above `OFF`), so the
//! frames are on stable storage either way. SQLite itself fsyncs the
//! directory once after creating a WAL, so that the file's name survives a
//! power loss too; a store that only ever syncs here does the same once.
//!
//! What a crash before the sync can do: a process crash loses nothing (the
//! frames are in the OS's page cache and the next opener reads them); power
//! loss can undo the commit, but then the caller never heard "queued", and
//! the request, if the server received it, is on the server. With a
//! rollback journal (a filesystem without WAL support) commits are never
//! deferred: [`Store::defers_sync`] is `false` and every enqueue commits
//! with `FULL` as before.

use std::fs::File;
use std::sync::atomic::Ordering;

use super::{Store, StoreError};

impl Store {
    /// Whether this store's enqueues can commit first and be synced after
    /// ([`Store::sync_wal`]): the store is writable and in WAL mode.
    pub(crate) fn defers_sync(&self) -> bool {
        self.inner.access.wal()
    }

    /// Brings every commit this store made so far to stable storage: an
    /// fsync of the WAL file (and, the first time, of its directory). Takes
    /// no lock: it may run while other calls use the connection.
    pub(crate) fn sync_wal(&self) -> Result<(), StoreError> {
        if !self.defers_sync() {
            // Every commit that needed it was made with synchronous=FULL.
            return Ok(());
        }
        let mut wal = self.inner.path.as_os_str().to_owned();
        wal.push("-wal");
        let failed = |source| StoreError::Sync {
            path: self.inner.path.clone(),
            source,
        };
        File::open(&wal)
            .and_then(|f| f.sync_data())
            .map_err(failed)?;
        if !self.inner.wal_dir_synced.load(Ordering::Acquire) {
            sync_dir(&self.inner.path).map_err(failed)?;
            self.inner.wal_dir_synced.store(true, Ordering::Release);
        }
        self.inner.wal_syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many times [`Store::sync_wal`] brought this handle's deferred
    /// commits to stable storage since it was opened (diagnostics; the
    /// tests use it to check that nothing is reported queued unsynced).
    pub fn wal_syncs(&self) -> u64 {
        self.inner.wal_syncs.load(Ordering::Relaxed)
    }
}

/// fsyncs the directory holding `db` (where its WAL's name lives).
#[cfg(unix)]
fn sync_dir(db: &std::path::Path) -> std::io::Result<()> {
    let dir = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing here; the WAL's data sync is
/// what this platform offers.
#[cfg(not(unix))]
fn sync_dir(_db: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
