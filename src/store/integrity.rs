//! When the store reads its whole file to check it: only when something may
//! have damaged it.
//!
//! Why it exists: `PRAGMA quick_check` reads every page, so running it on
//! every open made each `crane` command and each engine start O(file):
//! 270 ms with 100,000 queued handoffs. What it guards against is narrow.
//! SQLite's commits are atomic across a crash of the process, the OS or the
//! power (WAL with an fsync per durable commit), so a crash cannot corrupt
//! the file *unless the storage stack broke a promise* (a disk or file
//! system that acknowledges an fsync it did not do). Such damage can only
//! appear after a crash; so the whole file is checked on the first open
//! after a crash, and otherwise not at all. Damage from outside
//! (bit rot, another program writing the file) is still caught: SQLite
//! verifies every page it reads, and a damaged one makes the query fail
//! with `SQLITE_CORRUPT`, which the store reports as
//! [`StoreError::Corrupt`](super::StoreError::Corrupt) and never repairs or
//! overwrites.
//!
//! How a crash is recognised, without writing to the database:
//!
//! - **Open markers.** Each open store holds an exclusive OS lock on its own
//!   file `<store>.owners/<pid>-<time>-<n>.open` (created and locked under a
//!   temporary name, then renamed, as the owners' `.lock` files in
//!   `owner.rs`), and removes it when it is closed — after its connection is
//!   closed. A marker found *unlocked* at open belongs to a process that
//!   died with the store open (SIGKILL, OOM, a panic that aborted, power
//!   loss): the file is checked, and only once it passed are those markers
//!   removed. A marker that cannot be created makes this open check too.
//! - **Boot id** (Linux). A marker whose directory entry had not reached the
//!   disk when the power failed is gone after the reboot, so the boot also
//!   counts: `<store>.owners/boot` records the boot id
//!   (`/proc/sys/kernel/random/boot_id`) of the last check, and the first
//!   open of each boot checks the file when it differs (or is missing: a
//!   store copied from elsewhere is checked once). Elsewhere only markers
//!   decide.
//!
//! Both checks cost a directory listing and a few small files: microseconds.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Suffix of an open store's marker in the owners directory.
const MARKER_SUFFIX: &str = ".open";
/// Suffix of a marker being created (renamed to [`MARKER_SUFFIX`] once locked).
const MARKER_TMP_SUFFIX: &str = ".open.tmp";
/// File in the owners directory with the boot id of the last full check.
const BOOT_FILE: &str = "boot";

/// This open store's marker: locked for the store's life, removed on close.
#[derive(Debug)]
pub(crate) struct OpenMarker {
    path: PathBuf,
    _file: File,
}

impl Drop for OpenMarker {
    fn drop(&mut self) {
        // Removed before the lock is released (when `_file` closes), so a
        // clean close never looks like a dead opener.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What opening found in the owners directory.
#[derive(Debug)]
pub(crate) struct Findings {
    /// This open's marker (`None`: it could not be created, so check).
    pub(crate) marker: Option<OpenMarker>,
    /// Markers of openers that died with the store open.
    dead: Vec<PathBuf>,
    /// The boot id to record after a check, when it differs from the file's.
    new_boot: Option<String>,
}

impl Findings {
    /// Whether the whole file must be checked before it is used.
    pub(crate) fn must_check(&self) -> bool {
        self.marker.is_none() || !self.dead.is_empty() || self.new_boot.is_some()
    }

    /// After a check that passed: forget the evidence of the crash.
    pub(crate) fn checked(&self, owners: &Path) {
        for path in &self.dead {
            let _ = std::fs::remove_file(path);
        }
        if let Some(boot) = &self.new_boot {
            let _ = crate::private_fs::write_atomic(&owners.join(BOOT_FILE), boot.as_bytes());
        }
    }
}

/// Places this open's marker in `owners` and looks for signs of a crash.
pub(crate) fn inspect(owners: &Path) -> Findings {
    let id = marker_id();
    let marker = match place_marker(owners, &id) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, dir = %owners.display(),
                "no open marker for the crane store: checking its integrity now");
            None
        }
    };
    let dead = dead_markers(owners, &id);
    // Private like everything the SDK writes, even when not rewritten.
    let _ = crate::private_fs::tighten(&owners.join(BOOT_FILE), false);
    let new_boot = current_boot_id().filter(|now| {
        std::fs::read_to_string(owners.join(BOOT_FILE))
            .map(|recorded| recorded.trim() != now)
            .unwrap_or(true)
    });
    Findings {
        marker,
        dead,
        new_boot,
    }
}

/// Whether the file must be checked before use, for an opener that places
/// no marker (a store opened only to read, see
/// [`Store::open_read_only`](super::Store::open_read_only)): an opener
/// died with the store open, or the boot changed since the last check (a
/// missing boot file counts as changed): the same evidence [`inspect`]
/// acts on. Nothing is written except the removal of dead temporary
/// markers, as there.
pub(crate) fn must_check_without_marker(owners: &Path) -> bool {
    !dead_markers(owners, "").is_empty()
        || current_boot_id().is_some_and(|now| {
            std::fs::read_to_string(owners.join(BOOT_FILE))
                .map(|recorded| recorded.trim() != now)
                .unwrap_or(true)
        })
}

/// A marker name unique among live openers: the pid (unique among live
/// processes), the time and a per-process counter. No random generator:
/// seeding one cost a short command as much as the rest of this module.
fn marker_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos:x}-{n}", std::process::id())
}

/// Creates `owners/<id>.open`, locked (see [`crate::private_fs::create_locked`]).
fn place_marker(owners: &Path, id: &str) -> std::io::Result<OpenMarker> {
    let (file, path) = crate::private_fs::create_locked(owners, &format!("{id}{MARKER_SUFFIX}"))?;
    Ok(OpenMarker { path, _file: file })
}

/// Markers in `owners` (other than `me`'s) whose lock is free: their store
/// was open when its process died. Unlocked temporary markers (a process
/// killed before its store was opened) are removed on the way.
fn dead_markers(owners: &Path, me: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(owners) else {
        return Vec::new();
    };
    let mine = format!("{me}{MARKER_SUFFIX}");
    let mut dead = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let tmp = name.ends_with(MARKER_TMP_SUFFIX);
        if name == mine || !(tmp || name.ends_with(MARKER_SUFFIX)) {
            continue;
        }
        let Ok(file) = OpenOptions::new().read(true).write(true).open(entry.path()) else {
            continue;
        };
        if file.try_lock().is_ok() {
            if tmp {
                let _ = std::fs::remove_file(entry.path());
            } else {
                dead.push(entry.path());
            }
        }
    }
    dead
}

/// The id of the running boot, where the platform tells it.
fn current_boot_id() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_alive_while_held_and_dead_after_its_process_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = inspect(dir.path());
        assert!(first.marker.is_some());
        first.checked(dir.path());
        // A second opener sees the first one alive, and nothing to check.
        let second = inspect(dir.path());
        assert!(!second.must_check(), "{second:?}");
        // A marker nobody holds: a process died with the store open.
        std::fs::write(dir.path().join("1-X.open"), b"").unwrap();
        let third = inspect(dir.path());
        assert!(third.must_check());
        third.checked(dir.path());
        assert!(!dir.path().join("1-X.open").exists());
        // Closing cleanly leaves nothing behind.
        drop((first, second, third));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from(BOOT_FILE)]);
    }

    #[test]
    fn an_opener_without_a_marker_sees_the_same_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let first = inspect(dir.path());
        first.checked(dir.path());
        // A live opener is no reason to check.
        assert!(!must_check_without_marker(dir.path()));
        // One that died with the store open is.
        std::fs::write(dir.path().join("1-X.open"), b"").unwrap();
        assert!(must_check_without_marker(dir.path()));
        // A check (by a full open) clears it.
        inspect(dir.path()).checked(dir.path());
        assert!(!must_check_without_marker(dir.path()));
        #[cfg(target_os = "linux")]
        {
            std::fs::write(dir.path().join(BOOT_FILE), b"another-boot").unwrap();
            assert!(must_check_without_marker(dir.path()));
        }
        drop(first);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn another_boot_means_a_check() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = inspect(dir.path());
        assert!(fresh.must_check(), "no boot recorded yet");
        fresh.checked(dir.path());
        assert!(!inspect(dir.path()).must_check());
        std::fs::write(dir.path().join(BOOT_FILE), b"another-boot").unwrap();
        assert!(inspect(dir.path()).must_check());
    }
}
