//! Where the store file lives, and creating it with private permissions.
//!
//! The default location is `$CRANE_HOME/crane.db` when `CRANE_HOME` is set
//! (tests, CI, several isolated agents on one machine), else `crane.db` in the
//! platform data directory. The file holds handoffs (an agent's notes on its
//! work), so on unix it is created with mode 0600 in directories created with
//! mode 0700; SQLite gives its `-wal` and `-shm` files the same mode as the
//! database. An existing file (and the directory) left wider by an older
//! version is tightened to those modes when the store opens.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use super::StoreError;

/// Environment variable naming the directory that holds the store file.
pub const HOME_ENV: &str = "CRANE_HOME";

/// File name of the store inside its directory.
pub const DB_FILE_NAME: &str = "crane.db";

/// Mode of a store file we create: readable and writable by its owner only.
#[cfg(unix)]
const FILE_MODE: u32 = crate::private_fs::FILE_MODE;

/// The default store path: [`HOME_ENV`] if set and non-empty, else the platform data dir.
pub(crate) fn default_db_path() -> Result<PathBuf, StoreError> {
    resolve(std::env::var_os(HOME_ENV), || {
        directories::ProjectDirs::from("dev", "venturecrane", "crane")
            .map(|dirs| dirs.data_dir().to_path_buf())
    })
    .ok_or(StoreError::NoDataDir)
}

/// Pure path resolution, separated from the environment so it can be tested.
fn resolve(
    crane_home: Option<OsString>,
    data_dir: impl FnOnce() -> Option<PathBuf>,
) -> Option<PathBuf> {
    let dir = match crane_home.filter(|home| !home.is_empty()) {
        Some(home) => PathBuf::from(home),
        None => data_dir()?,
    };
    Some(dir.join(DB_FILE_NAME))
}

/// Creates the parent directories and, if absent, an empty store file with
/// private permissions. The store's directory, an existing file and its
/// WAL/SHM files are tightened if an older version left them wider.
pub(crate) fn prepare_file(path: &Path) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::private_fs::ensure_dir(parent).map_err(open_err)?;
    }
    // A file (or WAL/SHM) an older version left readable by others is
    // tightened; SQLite gives new WAL/SHM files the database's mode.
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        crate::private_fs::tighten(Path::new(&p), false).map_err(open_err)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    match options.open(path) {
        // An empty file is a valid, empty SQLite database.
        Ok(_) => Ok(()),
        // Existing (or just created by a concurrent process): open it as is.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(open_err(e)),
    }
}

/// The permission bits of `path`, or `None` where the platform has no unix modes.
pub(crate) fn file_mode(path: &Path) -> std::io::Result<Option<u32>> {
    let metadata = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(Some(metadata.permissions().mode() & 0o777))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crane_home_wins_over_the_data_dir() {
        let got = resolve(Some("/tmp/ch".into()), || Some("/data".into()));
        assert_eq!(got, Some(PathBuf::from("/tmp/ch/crane.db")));
    }

    #[test]
    fn empty_or_absent_crane_home_falls_back_to_the_data_dir() {
        let data = || Some(PathBuf::from("/data"));
        assert_eq!(resolve(None, data), Some(PathBuf::from("/data/crane.db")));
        assert_eq!(
            resolve(Some(OsString::new()), data),
            Some(PathBuf::from("/data/crane.db"))
        );
        assert_eq!(resolve(None, || None), None);
    }

    #[test]
    fn prepare_creates_dirs_and_never_touches_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/crane.db");
        prepare_file(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        std::fs::write(&path, b"keep me").unwrap();
        prepare_file(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, crate::private_fs::DIR_MODE);
            assert_eq!(file_mode(&path).unwrap(), Some(FILE_MODE));
        }
    }

    #[cfg(unix)]
    #[test]
    fn prepare_tightens_a_store_left_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let path = home.join("crane.db");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        for f in ["crane.db", "crane.db-wal", "crane.db-shm"] {
            std::fs::write(home.join(f), b"").unwrap();
            std::fs::set_permissions(home.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare_file(&path).unwrap();
        assert_eq!(file_mode(&home).unwrap(), Some(crate::private_fs::DIR_MODE));
        for f in ["crane.db", "crane.db-wal", "crane.db-shm"] {
            assert_eq!(file_mode(&home.join(f)).unwrap(), Some(FILE_MODE), "{f}");
        }
    }
}
