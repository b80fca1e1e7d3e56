//! What git says about the checkout: its repository, branch and commit.
//!
//! The repository comes from `git remote get-url origin` in any of the forms
//! a remote takes (`git@host:owner/name.git`, `ssh://git@host[:port]/owner/name`,
//! `https://[user@]host/owner/name[.git]`, `git://…`) and is reported as
//! `owner/name`, the form the server stores. Each value costs one `git`
//! process, run only by the commands that need it; a missing `git`, a
//! directory that is not a checkout or an empty repository give `None`, never
//! an error: every value can also be passed as a flag.

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
    let out = Command::new("git")
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

/// The current branch (`None` when detached or outside a checkout).
pub fn branch() -> Option<String> {
    git(&["symbolic-ref", "--quiet", "--short", "HEAD"])
}

/// The commit `HEAD` points to (`None` in an empty repository).
pub fn commit() -> Option<String> {
    git(&["rev-parse", "--verify", "--quiet", "HEAD"])
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
