//! Whether the work a keeper keeps alive is still going on.
//!
//! A keeper must not outlive the agent that started it: an agent that exits
//! without `crane eod` would otherwise leave its session listed as active to
//! every other agent for ever. Two cheap signals say the work goes on:
//!
//! - a "last activity" file per session, whose modification time every
//!   `crane` command that acts on the session (`sod`, `update`, `heartbeat`,
//!   `status`) sets to now;
//! - the modification times of the checkout's git `HEAD` and `index` and of
//!   the checkout folder itself (a commit, a `git add`, a checkout, a file
//!   created or renamed at the top) — a few `stat` calls, never a walk of
//!   the tree.
//!
//! The keeper also writes a small record of itself (pid, start, checkout,
//! idle limit) so `crane status` and `crane doctor` can show its age and the
//! last activity it sees. Both files live under `keepers/` in the store's
//! folder, private (0600 in 0700, `crane_context::private_fs`), and are
//! written atomically; all of this is best effort: a file that cannot be
//! read counts as no activity, never as an error.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::output::duration_text;

/// Folder of the keeper records and activity files, under the store's folder.
const KEEPERS_DIR: &str = "keepers";

/// What a running keeper records about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeeperRecord {
    /// Its pid.
    pub pid: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// The checkout it watches, when one was found.
    #[serde(default)]
    pub checkout: Option<PathBuf>,
    /// The checkout's git folder, when one was found.
    #[serde(default)]
    pub git_dir: Option<PathBuf>,
    /// How long without activity before it leaves, in seconds.
    pub idle_limit_seconds: u64,
}

/// A session id reduced to a safe file name.
fn file_stem(session_id: &str) -> String {
    let s: String = session_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "_".into()
    } else {
        s
    }
}

fn activity_path(data_dir: &Path, session_id: &str) -> PathBuf {
    data_dir
        .join(KEEPERS_DIR)
        .join(format!("{}.activity", file_stem(session_id)))
}

fn record_path(data_dir: &Path, session_id: &str) -> PathBuf {
    data_dir
        .join(KEEPERS_DIR)
        .join(format!("{}.json", file_stem(session_id)))
}

/// Records that a `crane` command acted on `session_id` now (best effort):
/// the activity file's modification time is the record. Setting it on the
/// existing file costs two system calls; rewriting the file through a new
/// inode and a rename (as before) cost ext4 an inode allocation, a truncate
/// of the replaced one and a forced writeback on every command.
pub fn touch(data_dir: &Path, session_id: &str) {
    let path = activity_path(data_dir, session_id);
    let touched = (|| {
        let file = match open_activity(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    crane_context::private_fs::ensure_dir(dir)?;
                }
                open_activity(&path)?
            }
            Err(e) => return Err(e),
        };
        file.set_modified(SystemTime::now())
    })();
    let _ = touched;
}

/// Opens (creating, 0600; tightening an existing one) the activity file for
/// writing; refuses a link.
fn open_activity(path: &Path) -> std::io::Result<std::fs::File> {
    crane_context::private_fs::refuse_symlink(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, crane_context::private_fs::FILE_MODE);
    let file = options.open(path)?;
    // One an older version (or a person) left wider is tightened.
    crane_context::private_fs::tighten(path, false)?;
    Ok(file)
}

/// When a `crane` command last acted on `session_id`, if one recorded it.
pub fn last_command(data_dir: &Path, session_id: &str) -> Option<SystemTime> {
    std::fs::metadata(activity_path(data_dir, session_id))
        .and_then(|m| m.modified())
        .ok()
}

/// Writes the keeper's record (best effort).
pub fn write_record(data_dir: &Path, session_id: &str, record: &KeeperRecord) {
    if let Ok(json) = serde_json::to_vec_pretty(record) {
        let _ = crate::state::write_atomic(&record_path(data_dir, session_id), &json);
    }
}

/// The record of the keeper of `session_id`, if one wrote it.
pub fn read_record(data_dir: &Path, session_id: &str) -> Option<KeeperRecord> {
    let bytes = std::fs::read(record_path(data_dir, session_id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Removes the keeper's record and the session's activity file (best effort).
pub fn remove(data_dir: &Path, session_id: &str) {
    let _ = std::fs::remove_file(record_path(data_dir, session_id));
    let _ = std::fs::remove_file(activity_path(data_dir, session_id));
}

/// The checkout around `dir` and its git folder: the nearest folder upwards
/// holding `.git` (a folder, or a worktree's `gitdir:` file), else `dir`
/// itself with no git folder. No git process is run.
pub fn locate_checkout(dir: &Path) -> (PathBuf, Option<PathBuf>) {
    for candidate in dir.ancestors() {
        let dot_git = candidate.join(".git");
        if dot_git.is_dir() {
            return (candidate.to_path_buf(), Some(dot_git));
        }
        if dot_git.is_file() {
            let git_dir = std::fs::read_to_string(&dot_git).ok().and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("gitdir:"))
                    .map(|p| candidate.join(p.trim()))
            });
            return (candidate.to_path_buf(), git_dir);
        }
    }
    (dir.to_path_buf(), None)
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest sign of work on `session_id`: the last `crane` command for it
/// and the modification times of the checkout folder and its git `HEAD` and
/// `index`.
pub fn last_activity(
    data_dir: &Path,
    session_id: &str,
    checkout: Option<&Path>,
    git_dir: Option<&Path>,
) -> Option<SystemTime> {
    let mut times = vec![last_command(data_dir, session_id)];
    if let Some(c) = checkout {
        times.push(mtime(c));
    }
    if let Some(g) = git_dir {
        times.push(mtime(&g.join("HEAD")));
        times.push(mtime(&g.join("index")));
    }
    times.into_iter().flatten().max()
}

/// What `crane status` and `crane doctor` show about a session's keeper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeeperView {
    /// When the keeper started (from its record).
    pub started_at: Option<Timestamp>,
    /// Its age in seconds.
    pub age_seconds: Option<u64>,
    /// The latest activity it counts (a command, or a change in the checkout).
    pub last_activity_at: Option<Timestamp>,
    /// Seconds since that activity.
    pub idle_seconds: Option<u64>,
    /// How long without activity before it leaves, in seconds.
    pub idle_limit_seconds: Option<u64>,
}

impl KeeperView {
    /// `, up 5m 2s, last activity 2m 0s ago (leaves after 1h 30m idle)`,
    /// from what is known.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(age) = self.age_seconds {
            text.push_str(&format!(", up {}", duration_text(clamp(age))));
        }
        if let Some(idle) = self.idle_seconds {
            text.push_str(&format!(
                ", last activity {} ago",
                duration_text(clamp(idle))
            ));
        }
        if let Some(limit) = self.idle_limit_seconds {
            text.push_str(&format!(
                " (leaves after {} idle)",
                duration_text(clamp(limit))
            ));
        }
        text
    }
}

fn clamp(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// The keeper of `session_id` as its record and the activity signals show it.
pub fn view(data_dir: &Path, session_id: &str) -> KeeperView {
    let record = read_record(data_dir, session_id);
    let started = record.as_ref().map(|r| r.started_at);
    let last = last_activity(
        data_dir,
        session_id,
        record.as_ref().and_then(|r| r.checkout.as_deref()),
        record.as_ref().and_then(|r| r.git_dir.as_deref()),
    )
    .map(|t| match started {
        Some(s) => t.max(SystemTime::from(s)),
        None => t,
    });
    KeeperView {
        started_at: started,
        age_seconds: started.map(|s| since(SystemTime::from(s)).as_secs()),
        last_activity_at: last.and_then(|t| Timestamp::try_from(t).ok()),
        idle_seconds: last.map(|t| since(t).as_secs()),
        idle_limit_seconds: record.map(|r| r.idle_limit_seconds),
    }
}

/// How long ago `then` was, zero when it is in the future.
pub fn since(then: SystemTime) -> Duration {
    SystemTime::now().duration_since(then).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_cannot_escape_the_folder() {
        assert_eq!(file_stem("../x/y"), "___x_y");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem("sess_01ABC"), "sess_01ABC");
    }

    #[test]
    fn a_command_counts_as_activity_and_is_forgotten_on_remove() {
        let dir = tempfile::tempdir().unwrap();
        assert!(last_activity(dir.path(), "s1", None, None).is_none());
        touch(dir.path(), "s1");
        let at = last_activity(dir.path(), "s1", None, None).unwrap();
        assert!(since(at) < Duration::from_secs(60));
        remove(dir.path(), "s1");
        assert!(last_command(dir.path(), "s1").is_none());
    }

    #[test]
    fn finds_the_git_folder_upwards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
        let (root, git) = locate_checkout(&dir.path().join("src/deep"));
        assert_eq!(root, dir.path());
        assert_eq!(git, Some(dir.path().join(".git")));
    }
}
