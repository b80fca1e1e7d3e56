//! Who owns a lease: liveness through an OS advisory lock, time only as the
//! fallback.
//!
//! Why it exists: a lease that only expires with time strands an item for the
//! lease's whole length when its holder dies (SIGKILL, power button, OOM
//! killer): the next `crane sod` waited for it and then said "offline", the
//! next `crane sync` said "another process is delivering them" while nobody
//! was. The operating system knows at once that a process died: it releases
//! the process's file locks. So each engine takes an exclusive advisory lock
//! (`flock` on unix, `LockFileEx` on Windows, through [`std::fs::File`]) on a
//! file of its own, named after its holder id, in a directory beside the
//! store, and keeps it for its whole life. Another process that finds an item
//! leased to that holder tries the same lock without blocking:
//!
//! - the lock is busy: the holder is alive, its lease stands;
//! - the lock is free: the holder is dead, its leases are void at once (and
//!   its lock file is removed);
//! - there is no lock file (a holder that could not create one, or a store
//!   used without an engine) or the lock cannot be tried: nothing is known,
//!   and the lease's expiry time decides, as before.
//!
//! A lock file appears under its final name only once it is locked (it is
//! created and locked under a temporary name, then renamed), so a reader can
//! never mistake an engine that is still starting for a dead one. Holder ids
//! are generated here (`<pid>-<ulid>`): a restarted process with a recycled
//! pid gets a new id, so it can never inherit a dead holder's leases by
//! accident.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Suffix of the directory of lock files beside the store file
/// (`crane.db` → `crane.db.owners/`), so two stores in one folder never mix.
const OWNERS_DIR_SUFFIX: &str = ".owners";

/// What a lock file says about a lease holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its lock is held: the holder's process is running.
    Alive,
    /// Its lock file exists and is free: the holder's process is gone.
    Dead,
    /// No lock file, or it could not be tried: only the lease's expiry decides.
    Unknown,
}

/// An engine's ownership token: the holder id its leases carry, and the
/// locked file that proves to other processes that it is alive. Dropping it
/// releases the lock, exactly as the death of the process would: leases it
/// still holds are then free for others at once. The file itself is removed
/// by whoever frees those leases, or by the next engine's sweep
/// ([`crate::store::Store::sweep_dead_owners`]) when it holds none.
#[derive(Debug)]
pub struct Owner {
    id: String,
    /// The locked file (`None` when it could not be created: the engine then
    /// works as before, its leases freed only by their expiry).
    lock: Option<(File, PathBuf)>,
}

impl Owner {
    /// The lock file's path, if it was created.
    pub fn lock_path(&self) -> Option<&Path> {
        self.lock.as_ref().map(|(_, p)| p.as_path())
    }
}

impl Owner {
    /// A new holder id with its lock taken, beside the store at `db_path`.
    /// Never fails: without a lock file, other processes fall back to the
    /// lease's expiry (logged at warn level).
    pub fn claim(db_path: &Path) -> Owner {
        let id = format!("{}-{}", std::process::id(), ulid::Ulid::new());
        let lock = match take_lock(&owners_dir(db_path), &id) {
            Ok(lock) => Some(lock),
            Err(e) => {
                tracing::warn!(error = %e, store = %db_path.display(),
                    "no liveness lock: this process's leases will only expire with time");
                None
            }
        };
        Owner { id, lock }
    }

    /// The holder id that leases of this engine carry.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether other processes can tell this owner is alive (its lock is held).
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }
}

/// Creates `dir/<id>.lock`, locked (see [`crate::private_fs::create_locked`]).
fn take_lock(dir: &Path, id: &str) -> std::io::Result<(File, PathBuf)> {
    crate::private_fs::create_locked(dir, &format!("{id}.lock"))
}

/// The directory of lock files of the store at `db_path`.
pub(crate) fn owners_dir(db_path: &Path) -> PathBuf {
    let mut name = db_path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(OWNERS_DIR_SUFFIX);
    db_path.with_file_name(name)
}

/// Holder ids of the lock files in `dir` (stale `.tmp` files of a process
/// killed while taking its lock are removed on the way).
pub(crate) fn lock_file_ids(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(id) = name.strip_suffix(".lock") {
            ids.push(id.to_owned());
        } else if name.ends_with(".lock.tmp") {
            // Never renamed into place: its process died before it owned
            // anything. An unlocked one is garbage; a locked one is starting.
            if let Ok(f) = OpenOptions::new().read(true).write(true).open(entry.path()) {
                if f.try_lock().is_ok() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    ids
}

/// Whether `holder` (a lease holder id read from the store) is alive,
/// judged by its lock file in `dir`. Removes the file of a dead holder.
pub(crate) fn liveness(dir: &Path, holder: &str) -> Liveness {
    // Ids come from the file: only ever build a path from a plain name.
    let plain = !holder.is_empty()
        && holder.len() <= 64
        && holder
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !plain {
        return Liveness::Unknown;
    }
    let path = dir.join(format!("{holder}.lock"));
    let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
        return Liveness::Unknown;
    };
    match file.try_lock() {
        Ok(()) => {
            // Dead: nobody will ever lock this id again.
            let _ = std::fs::remove_file(&path);
            Liveness::Dead
        }
        Err(TryLockError::WouldBlock) => Liveness::Alive,
        Err(TryLockError::Error(_)) => Liveness::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_alive_while_held_and_dead_once_its_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("crane.db");
        let owner = Owner::claim(&db);
        assert!(owner.is_locked());
        let owners = owners_dir(&db);
        assert_eq!(owners, dir.path().join("crane.db.owners"));
        assert_eq!(liveness(&owners, owner.id()), Liveness::Alive);
        // A process that died (or dropped its owner) leaves its file behind, unlocked.
        let path = owners.join(format!("{}.lock", owner.id()));
        assert_eq!(owner.lock_path(), Some(path.as_path()));
        let id = owner.id().to_owned();
        drop(owner);
        assert!(path.exists());
        assert_eq!(liveness(&owners, &id), Liveness::Dead);
        assert!(!path.exists(), "a dead holder's lock file is removed");
        assert_eq!(liveness(&owners, &id), Liveness::Unknown);
    }

    #[test]
    fn unknown_or_strange_holders_fall_back_to_time() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(liveness(dir.path(), "w1"), Liveness::Unknown);
        assert_eq!(liveness(dir.path(), "../x"), Liveness::Unknown);
        assert_eq!(liveness(dir.path(), ""), Liveness::Unknown);
    }

    #[test]
    fn stale_temporary_lock_files_are_removed_and_live_ones_listed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("crane.db");
        let owner = Owner::claim(&db);
        let owners = owners_dir(&db);
        std::fs::write(owners.join("123-X.lock.tmp"), b"").unwrap();
        assert_eq!(lock_file_ids(&owners), vec![owner.id().to_owned()]);
        assert!(!owners.join("123-X.lock.tmp").exists());
    }
}
