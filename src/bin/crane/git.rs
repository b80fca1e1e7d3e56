//! What git says about the checkout: its repository, branch and commit.
//!
//! The repository comes from `git remote get-url origin` in any of the forms
//! a remote takes (`git@host:owner/name.git`, `ssh://git@host[:port]/owner/name`,
//! `https://[user@]host/owner/name[.git]`, `git://…`) and is reported as
//! `owner/name`, the form the server stores. Each value costs one `git`
//! process (branch and commit together one: [`head`]), run only by the
//! commands that need it; a missing `git`, a directory that is not a
//! checkout or an empty repository give `None`, never an error: every value
//! can also be passed as a flag.

use std::path::Path;
use std::process::{Command, Stdio};

/// A repository named by its remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The owner (GitHub org or user; a GitLab group's top level), as written.
    pub owner: String,
    /// The repository path without `.git`: `owner/name` (or `group/sub/name`).
    pub slug: String,
}

fn git(args: &[&str]) -> Option<String> {
    git_in(None, args)
}

fn git_in(dir: Option<&Path>, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The `origin` remote of the checkout in the current directory; with a
/// cache file, git is only asked when its configuration changed
/// (`origin_cache.rs`).
pub fn origin(cache: Option<&std::path::Path>) -> Option<Remote> {
    // Credentials go before anything keeps the URL (the cache file) or shows it.
    let ask = || git(&["remote", "get-url", "origin"]).map(|u| without_credentials(&u));
    let url = match (cache, std::env::current_dir()) {
        (Some(cache), Ok(cwd)) => crate::origin_cache::origin_url(cache, &cwd, ask),
        _ => ask(),
    }?;
    parse_remote(&url)
}

/// The branch and commit of the checkout in the current directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// The current branch (`None` when detached or outside a checkout).
    pub branch: Option<String>,
    /// The commit `HEAD` points to (`None` in an empty repository).
    pub commit: Option<String>,
}

/// [`Head`] of the checkout in the current directory: one `git` process
/// in a checkout with commits, the two of [`branch`] and [`commit`]
/// otherwise.
pub fn head() -> Head {
    head_in(None)
}

/// The branch and commit given (flags), each one missing asked of git:
/// both missing cost one process ([`head`]).
pub fn fill(branch: Option<String>, commit: Option<String>) -> Head {
    match (branch, commit) {
        (None, None) => head(),
        (branch, commit) => Head {
            branch: branch.or_else(self::branch),
            commit: commit.or_else(self::commit),
        },
    }
}

/// [`head`] of the checkout in `dir` (`None`: the current directory).
///
/// `git rev-parse HEAD --abbrev-ref HEAD` prints the commit, then the
/// branch as `symbolic-ref --short` would (both shorten the ref the same
/// way), or `HEAD` when detached (no branch can be named `HEAD`). It fails
/// where the separate asks can still answer in part — an empty repository
/// (a branch but no commit), a file named `HEAD` beside the revision —
/// and then they are asked.
fn head_in(dir: Option<&Path>) -> Head {
    if let Some(out) = git_in(dir, &["rev-parse", "HEAD", "--abbrev-ref", "HEAD"]) {
        let mut lines = out.lines().map(str::trim);
        if let (Some(commit), Some(branch), None) = (lines.next(), lines.next(), lines.next()) {
            if !commit.is_empty() && !branch.is_empty() {
                return Head {
                    branch: (branch != "HEAD").then(|| branch.to_owned()),
                    commit: Some(commit.to_owned()),
                };
            }
        }
    }
    Head {
        branch: branch_in(dir),
        commit: commit_in(dir),
    }
}

/// The current branch (`None` when detached or outside a checkout).
pub fn branch() -> Option<String> {
    branch_in(None)
}

fn branch_in(dir: Option<&Path>) -> Option<String> {
    git_in(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"])
}

/// The commit `HEAD` points to (`None` in an empty repository).
pub fn commit() -> Option<String> {
    commit_in(None)
}

fn commit_in(dir: Option<&Path>) -> Option<String> {
    git_in(dir, &["rev-parse", "--verify", "--quiet", "HEAD"])
}

/// A remote URL with any user name, password or token removed: from
/// `https://x-access-token:ghp_…@github.com/o/r` and from the scp-like
/// `user:token@host:o/r` alike (a bare ssh login such as `git@` is kept).
/// Only `owner/name` is needed downstream.
pub fn without_credentials(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") {
        return crane_context::redact::redact_url_text(url);
    }
    // scp-like: [user[:password]@]host:path; the userinfo ends at the last
    // `@` before the path's first slash. A bare ssh login (`git@`) is no
    // secret and stays; anything with a password goes.
    let authority_end = url.find('/').unwrap_or(url.len());
    match url[..authority_end].rfind('@') {
        Some(at) if url[..at].contains(':') => url[at + 1..].to_owned(),
        _ => url.to_owned(),
    }
}

/// Parses a remote URL into owner and name.
pub fn parse_remote(url: &str) -> Option<Remote> {
    let url = url.trim();
    let path = if let Some((_, rest)) = url.split_once("://") {
        // scheme://[user@]host[:port]/path
        let (_, path) = rest.split_once('/')?;
        path
    } else if let Some((host, path)) = url.split_once(':') {
        // scp-like: [user@]host:path (a local path has no colon before a slash)
        if host.contains('/') {
            return None;
        }
        path
    } else {
        return None;
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    if owner.is_empty() || name.is_empty() || name.split('/').any(str::is_empty) {
        return None;
    }
    Some(Remote {
        owner: owner.to_owned(),
        slug: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "git {args:?} failed");
    }

    #[test]
    fn one_ask_for_branch_and_commit_answers_like_the_two_asks() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let separately = |dir: &Path| Head {
            branch: branch_in(Some(dir)),
            commit: commit_in(Some(dir)),
        };
        // Not a checkout.
        assert_eq!(head_in(Some(&repo)), Head::default());
        // An empty repository: a branch, no commit.
        run(&repo, &["init", "-q", "-b", "trunk"]);
        let empty = head_in(Some(&repo));
        assert_eq!(empty.branch.as_deref(), Some("trunk"));
        assert_eq!((empty.clone(), empty.commit), (separately(&repo), None));
        // On a branch.
        run(&repo, &["commit", "-q", "--allow-empty", "-m", "one"]);
        let on_branch = head_in(Some(&repo));
        assert_eq!(on_branch.branch.as_deref(), Some("trunk"));
        assert_eq!(on_branch.commit.as_ref().map(String::len), Some(40));
        assert_eq!(on_branch, separately(&repo));
        // A branch and a tag of the same name: both shorten it alike.
        run(&repo, &["tag", "trunk"]);
        assert_eq!(head_in(Some(&repo)), separately(&repo));
        // A file named HEAD beside the revision.
        std::fs::write(repo.join("HEAD"), b"x").unwrap();
        assert_eq!(head_in(Some(&repo)), separately(&repo));
        std::fs::remove_file(repo.join("HEAD")).unwrap();
        // Detached.
        run(&repo, &["checkout", "-q", "--detach"]);
        let detached = head_in(Some(&repo));
        assert_eq!(detached.branch, None);
        assert_eq!(detached, separately(&repo));
    }

    fn slug(url: &str) -> Option<String> {
        parse_remote(url).map(|r| r.slug)
    }

    #[test]
    fn credentials_are_removed_before_anything_keeps_the_url() {
        for (raw, clean) in [
            (
                "https://x-access-token:ghp_SECRET@github.com/o/r.git",
                "https://github.com/o/r.git",
            ),
            (
                "https://ghp_SECRET@github.com/o/r",
                "https://github.com/o/r",
            ),
            ("tok:ghp_SECRET@github.com:o/r.git", "github.com:o/r.git"),
            ("git@github.com:o/r.git", "git@github.com:o/r.git"),
            ("/local/path", "/local/path"),
        ] {
            let got = without_credentials(raw);
            assert_eq!(got, clean);
            if raw.contains(':') && raw != "/local/path" {
                assert_eq!(slug(&got).as_deref(), Some("o/r"), "{raw}");
            }
        }
    }

    #[test]
    fn https_and_ssh_forms() {
        let want = Some("venturecrane/demo".to_owned());
        assert_eq!(slug("git@github.com:venturecrane/demo.git"), want);
        assert_eq!(slug("git@github.com:venturecrane/demo"), want);
        assert_eq!(slug("https://github.com/venturecrane/demo.git"), want);
        assert_eq!(slug("https://github.com/venturecrane/demo/"), want);
        assert_eq!(slug("https://user:tok@github.com/venturecrane/demo"), want);
        assert_eq!(slug("ssh://git@github.com:22/venturecrane/demo.git"), want);
        assert_eq!(slug("git://github.com/venturecrane/demo.git"), want);
        assert_eq!(
            slug("https://gitlab.com/org/sub/demo.git").as_deref(),
            Some("org/sub/demo")
        );
        assert_eq!(slug("/local/path/repo"), None);
        assert_eq!(slug("https://github.com/"), None);
        assert_eq!(slug("nonsense"), None);
    }
}
