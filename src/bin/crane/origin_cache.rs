//! The checkout's `origin` remote without a `git` process on every command.
//!
//! `crane status` must answer in a few milliseconds, and starting `git
//! remote get-url origin` costs about two of them. The answer only changes
//! when a git config file changes, so it is cached per checkout together with
//! a fingerprint of every config file git reads for it (the repository's
//! `.git/config`, the user's `~/.gitconfig` and `$XDG_CONFIG_HOME/git/config`,
//! and `/etc/gitconfig`): same contents, same answer. Git itself is asked
//! whenever the cache cannot be sure — a fingerprint differs, a config file
//! uses `include`, `.git` is a file (worktrees, submodules), or a `GIT_*`
//! variable redirects the configuration — so the cache never answers
//! differently from git for long: the next command after a change asks git.
//! The cache file lives in the CLI's data directory; any error reading or
//! writing it only means asking git. It never holds a credential: URLs are
//! stripped of userinfo before they reach it, and an entry an older version
//! wrote with one is ignored and rewritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Environment variables that change which configuration git reads.
const GIT_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
];

/// Checkouts remembered (the oldest entries are dropped beyond this).
const MAX_ENTRIES: usize = 64;

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    /// Keyed by the checkout's `.git` directory.
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    url: String,
    used_ms: i64,
}

/// The origin URL for the checkout containing `cwd`: from `cache` when the
/// fingerprint matches, else from `ask_git` (and then cached).
pub fn origin_url(
    cache: &Path,
    cwd: &Path,
    ask_git: impl FnOnce() -> Option<String>,
) -> Option<String> {
    origin_url_with(cache, cwd, &global_config_files(), ask_git)
}

/// [`origin_url`] with the user and system config files given.
fn origin_url_with(
    cache: &Path,
    cwd: &Path,
    global: &[PathBuf],
    ask_git: impl FnOnce() -> Option<String>,
) -> Option<String> {
    let Some(key) = cacheable_checkout(cwd) else {
        return ask_git();
    };
    let Some(fingerprint) = fingerprint(&key, global) else {
        return ask_git();
    };
    let name = key.display().to_string();
    let mut file = read(cache);
    if let Some(e) = file.entries.get(&name) {
        // An entry written by an older crane may still hold a token: a miss.
        if e.fingerprint == fingerprint && crate::git::without_credentials(&e.url) == e.url {
            // A cache an older version left readable by others is tightened.
            let _ = crane_context::private_fs::tighten(cache, false);
            return Some(e.url.clone());
        }
    }
    let url = ask_git()?;
    file.entries.insert(
        name,
        Entry {
            fingerprint,
            url: url.clone(),
            used_ms: jiff::Timestamp::now().as_millisecond(),
        },
    );
    while file.entries.len() > MAX_ENTRIES {
        let oldest = file
            .entries
            .iter()
            .min_by_key(|(_, e)| e.used_ms)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => file.entries.remove(&k),
            None => break,
        };
    }
    write(cache, &file);
    Some(url)
}

/// The `.git` directory of the checkout containing `cwd`, if the cache may
/// speak for it (see the module docs).
fn cacheable_checkout(cwd: &Path) -> Option<PathBuf> {
    if GIT_ENV.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    let mut dir = Some(cwd);
    while let Some(d) = dir {
        let dot_git = d.join(".git");
        match std::fs::symlink_metadata(&dot_git) {
            Ok(m) if m.is_dir() => return Some(dot_git),
            Ok(_) => return None, // a `.git` file: worktree or submodule
            Err(_) => dir = d.parent(),
        }
    }
    None
}

/// The system and user config files git reads besides the repository's.
fn global_config_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/gitconfig")];
    if let Some(base) = directories::BaseDirs::new() {
        files.push(base.home_dir().join(".gitconfig"));
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| base.home_dir().join(".config"));
        files.push(xdg.join("git").join("config"));
    }
    files
}

/// SHA-256 over every config file git reads for the remote, or `None` when
/// one of them includes others (their changes would go unnoticed).
fn fingerprint(dot_git: &Path, global: &[PathBuf]) -> Option<String> {
    let files = std::iter::once(dot_git.join("config")).chain(global.iter().cloned());
    let mut hash = Sha256::new();
    for f in files {
        hash.update(f.as_os_str().as_encoded_bytes());
        match std::fs::read(&f) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
                if text.contains("[include") {
                    return None;
                }
                hash.update(b"\x01");
                hash.update(&bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => hash.update(b"\x00"),
            Err(_) => return None,
        }
        hash.update(b"\xff");
    }
    Some(format!("{:x}", hash.finalize()))
}

fn read(cache: &Path) -> CacheFile {
    std::fs::read(cache)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Best effort: written to a temporary file and renamed over the cache.
fn write(cache: &Path, file: &CacheFile) {
    // Never keep a credential, even one an older crane cached.
    let mut file = CacheFile {
        entries: file.entries.clone(),
    };
    for e in file.entries.values_mut() {
        e.url = crate::git::without_credentials(&e.url);
    }
    let Ok(bytes) = serde_json::to_vec(&file) else {
        return;
    };
    let _ = crate::state::write_atomic(cache, &bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn checkout(dir: &Path, config: &str) {
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::write(dir.join(".git/config"), config).unwrap();
    }

    #[test]
    fn answers_from_the_cache_until_the_config_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let cwd = repo.join("src/deep");
        std::fs::create_dir_all(&cwd).unwrap();
        checkout(
            &repo,
            "[remote \"origin\"]\n\turl = git@github.com:o/a.git\n",
        );
        let cache = tmp.path().join("home/origin-cache.json");
        let asked = Cell::new(0);
        let ask = |url: &str| {
            asked.set(asked.get() + 1);
            Some(url.to_owned())
        };

        // The user's config is part of the fingerprint too.
        let user = tmp.path().join("gitconfig");
        std::fs::write(&user, "[user]\n\tname = a\n").unwrap();
        let global = [user.clone()];
        let origin_url =
            |c: &Path, d: &Path, f: &dyn Fn() -> Option<String>| origin_url_with(c, d, &global, f);
        let first = origin_url(&cache, &cwd, &|| ask("git@github.com:o/a.git"));
        assert_eq!(first.as_deref(), Some("git@github.com:o/a.git"));
        assert_eq!(asked.get(), 1);
        let second = origin_url(&cache, &cwd, &|| ask("not asked"));
        assert_eq!(second.as_deref(), Some("git@github.com:o/a.git"));
        assert_eq!(asked.get(), 1, "the second answer came from the cache");

        // `git remote set-url` rewrites .git/config: git is asked again.
        checkout(
            &repo,
            "[remote \"origin\"]\n\turl = git@github.com:o/b.git\n",
        );
        let third = origin_url(&cache, &cwd, &|| ask("git@github.com:o/b.git"));
        assert_eq!(third.as_deref(), Some("git@github.com:o/b.git"));
        assert_eq!(asked.get(), 2);
        assert_eq!(
            origin_url(&cache, &cwd, &|| ask("x")).as_deref(),
            Some("git@github.com:o/b.git")
        );
        assert_eq!(asked.get(), 2);

        // So is a change to the user's config (e.g. a `url.insteadOf`).
        std::fs::write(&user, "[url \"ssh://x/\"]\n\tinsteadOf = git@github.com:\n").unwrap();
        origin_url(&cache, &cwd, &|| ask("ssh://x/o/b.git"));
        assert_eq!(asked.get(), 3);
    }

    #[test]
    fn asks_git_whenever_the_cache_cannot_be_sure() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("origin-cache.json");
        let asked = Cell::new(0);
        let ask = || {
            asked.set(asked.get() + 1);
            Some("https://github.com/o/r".to_owned())
        };
        let origin_url =
            |c: &Path, d: &Path, f: &dyn Fn() -> Option<String>| origin_url_with(c, d, &[], f);
        // Config with includes: every call asks git.
        let inc = tmp.path().join("inc");
        checkout(&inc, "[include]\n\tpath = other\n");
        origin_url(&cache, &inc, &ask);
        origin_url(&cache, &inc, &ask);
        assert_eq!(asked.get(), 2);
        // A worktree (`.git` is a file): every call asks git.
        let wt = tmp.path().join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(wt.join(".git"), "gitdir: ../inc/.git\n").unwrap();
        origin_url(&cache, &wt, &ask);
        origin_url(&cache, &wt, &ask);
        assert_eq!(asked.get(), 4);
        // Nothing is cached when git has no answer.
        let none = tmp.path().join("none");
        checkout(&none, "");
        assert_eq!(origin_url(&cache, &none, &|| None), None);
        assert_eq!(
            origin_url(&cache, &none, &|| Some("x".into())).as_deref(),
            Some("x")
        );
    }
}
