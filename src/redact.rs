//! Taking secrets out of URLs before they are shown, stored or sent.
//!
//! A URL can carry a password in its userinfo (`https://user:pass@host/`):
//! a git remote with an access token, a server URL pasted with credentials.
//! Everything this crate prints, stores or puts in an error goes through
//! [`redact_url`] (for a parsed URL) or [`redact_url_text`] (for text that may
//! hold one), so the userinfo never reaches a terminal, a log or a file.

use url::Url;

/// The URL with any user name and password removed.
pub fn strip_userinfo(url: &Url) -> Url {
    let mut clean = url.clone();
    // Both fail only for URLs that cannot have userinfo (no host), which then
    // have none to remove.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean
}

/// The URL as text with its userinfo removed, for messages and output.
pub fn redact_url(url: &Url) -> String {
    strip_userinfo(url).to_string()
}

/// Text that may contain URLs (a `Location` header, a git remote, an error
/// message) with the userinfo of every `scheme://user:pass@host` removed.
///
/// Works on the text itself, so it also cleans URLs that do not parse: any
/// `@` between a `://` and the next `/`, `?`, `#` or whitespace ends a
/// userinfo, and everything from the `://` to that `@` is dropped.
pub fn redact_url_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(i) => rest = &tail[i + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_user_and_password() {
        let u = Url::parse("https://x-access-token:ghp_secret@github.com/o/r.git").unwrap();
        assert_eq!(redact_url(&u), "https://github.com/o/r.git");
        let u = Url::parse("http://user@127.0.0.1:8787/").unwrap();
        assert_eq!(redact_url(&u), "http://127.0.0.1:8787/");
    }

    #[test]
    fn cleans_free_text() {
        assert_eq!(
            redact_url_text("see https://tok:pw@h.example/p and ssh://git@h/x ok"),
            "see https://h.example/p and ssh://h/x ok"
        );
        assert_eq!(
            redact_url_text("http://a:b@c:d@host?q=@x"),
            "http://host?q=@x"
        );
        assert_eq!(redact_url_text("no url here"), "no url here");
        assert_eq!(
            redact_url_text("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
    }
}
