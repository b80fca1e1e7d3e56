//! Writing files only their owner can read.
//!
//! Everything the SDK and the `crane` CLI write — the store and its WAL/SHM
//! files, the connectivity record, the origin cache, the docs from `/sod`,
//! queue exports and their temporary files — holds an agent's work or facts
//! about its checkouts, so on unix it is 0600 inside 0700 directories,
//! whichever command happens to create it first. Files and directories left
//! wider by an older version are tightened when next written. Writes go
//! through a temporary file created private (never widened later) and a
//! rename; the temporary file is removed on any error, so a full disk leaves
//! nothing behind. A destination that is a symbolic link is refused rather
//! than followed.
//!
//! On other platforms the functions do the same writes without modes.

use std::io::Write;
use std::path::Path;

/// Mode of every file written: owner read/write only.
#[cfg(unix)]
pub const FILE_MODE: u32 = 0o600;

/// Mode of every directory created: owner only.
#[cfg(unix)]
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) with mode 0700, and tightens `dir`
/// itself to 0700 if it already exists with wider permissions. Parents that
/// already exist are left alone: they may be the user's home.
pub fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    tighten(dir, true)
}

/// Tightens an existing file (0600) or directory (0700) that is readable or
/// writable by group or others; a missing path is fine.
pub fn tighten(path: &Path, is_dir: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        let want = if is_dir { DIR_MODE } else { FILE_MODE };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, is_dir);
    Ok(())
}

/// [`write_atomic`] into a directory of ours: the parent is created, or
/// tightened, to 0700 first. Not for a path the user chose (an export), whose
/// directory is theirs.
pub fn write_in_private_dir(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    write_atomic(path, bytes)
}

/// Writes `bytes` to `path` privately and atomically: into a new 0600
/// temporary file beside it, then renamed over it, so the result is 0600
/// whatever was there before. A `path` that is a symbolic link is refused
/// (`InvalidInput`); the temporary file is removed on any failure. The
/// parent directory must exist and is not changed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    refuse_symlink(path)?;
    let tmp = temp_path(path);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// An error if `path` exists and is a symbolic link.
pub fn refuse_symlink(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link; refusing to write through it",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Creates `dir/name` (private, in a private `dir`) and takes an exclusive
/// advisory lock on it, under the name `name.tmp` first so that nobody sees
/// the file unlocked. The lock lives as long as the returned [`std::fs::File`]:
/// the operating system releases it when the process dies, which is what
/// makes such a file a liveness signal (owners' leases, open-store markers).
pub fn create_locked(
    dir: &Path,
    name: &str,
) -> std::io::Result<(std::fs::File, std::path::PathBuf)> {
    ensure_dir(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(&tmp)?;
    let locked = file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::Error(e) => e,
        std::fs::TryLockError::WouldBlock => {
            std::io::Error::other("a brand-new lock file is locked")
        }
    });
    if let Err(e) = locked.and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok((file, path))
}

/// A temporary name beside `path`, unique to this process and call.
fn temp_path(path: &Path) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_private_and_tightens_what_was_wide() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let file = dir.join("f.json");
        write_in_private_dir(&file, b"one").unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_in_private_dir(&file, b"two").unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp left");
    }

    #[test]
    fn refuses_symlinks_and_leaves_no_temp_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_atomic(&link, b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        // Renaming onto a directory fails after the temp file was written.
        let d = tmp.path().join("d");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("x"), b"").unwrap();
        assert!(write_atomic(&d, b"x").is_err());
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
