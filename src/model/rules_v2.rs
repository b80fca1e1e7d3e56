//! The identity rules a v2 server enforces (the contract's "Identity
//! rules"), checked locally so a request that would be refused is never
//! sent or queued, and the error names the field. v1 servers accept any
//! non-empty string, so these run only when the server is known to be v2.

use crate::Error;

/// The agent rule: `^[a-z0-9]+-[a-z0-9-]+$`.
pub fn check_agent(field: &str, agent: &str) -> Result<(), Error> {
    let ok = agent.split_once('-').is_some_and(|(head, tail)| {
        !head.is_empty()
            && !tail.is_empty()
            && head
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && tail
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if ok {
        return Ok(());
    }
    Err(Error::invalid_input(
        field,
        format!(
            "{agent:?} does not match the v2 agent pattern ^[a-z0-9]+-[a-z0-9-]+$ \
             (lower-case letters and digits, a hyphen after the first run)"
        ),
    ))
}

/// The repo rule: `^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$`.
pub fn check_repo(repo: &str) -> Result<(), Error> {
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match repo.split_once('/') {
        Some((owner, name)) if part(owner) && part(name) => Ok(()),
        _ => Err(Error::invalid_input(
            "repo",
            format!(
                "{repo:?} is not owner/name as v2 requires (letters, digits, '_' and '-'; \
                 no dots)"
            ),
        )),
    }
}

/// The session id rule: `^sess_[0-9A-HJKMNP-TV-Z]{26}$`.
pub fn check_session_id(id: &str) -> Result<(), Error> {
    let ok = id.strip_prefix("sess_").is_some_and(|ulid| {
        ulid.len() == 26
            && ulid
                .bytes()
                .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
    });
    if ok {
        return Ok(());
    }
    Err(Error::invalid_input(
        "session_id",
        format!("{id:?} is not a session id (sess_ followed by a 26-character ULID)"),
    ))
}

/// The venture rule: one of the codes `GET /ventures` lists.
pub fn check_venture(venture: &str, known: &[String]) -> Result<(), Error> {
    if known.iter().any(|k| k == venture) {
        return Ok(());
    }
    Err(Error::invalid_input(
        "venture",
        format!(
            "{venture:?} is not a venture this server lists; use one of: {}",
            known.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents() {
        for ok in ["crane-mcp-fixture-host-2a97", "a-b", "cc-cli-host", "x1--"] {
            assert!(check_agent("agent", ok).is_ok(), "{ok}");
        }
        for bad in [
            "Bad.Agent",
            "agent",
            "-a",
            "a_b-c",
            "A-b",
            "",
            "a-b.c",
            "a--",
        ] {
            let refused = check_agent("agent", bad).err();
            if bad == "a--" {
                assert!(refused.is_none(), "a-- matches the pattern");
                continue;
            }
            assert!(
                matches!(refused, Some(Error::InvalidInput { ref field, .. }) if field == "agent"),
                "{bad}"
            );
        }
    }

    #[test]
    fn repos_and_session_ids() {
        assert!(check_repo("venturecrane/ke-console").is_ok());
        assert!(check_repo("not a repo").is_err());
        assert!(check_repo("owner/name.git").is_err());
        assert!(check_repo("owner/").is_err());
        assert!(check_session_id("sess_01M8CQKBKW7CHS5PM60Z8QVKMR").is_ok());
        assert!(check_session_id("sess_1").is_err());
        assert!(check_session_id("sess_01M8CQKBKW7CHS5PM60Z8QVKMU").is_err());
        assert!(check_venture("ke", &["vc".into(), "ke".into()]).is_ok());
        let e = check_venture("kidexpenses", &["vc".into(), "ke".into()]).unwrap_err();
        assert!(e.to_string().contains("vc, ke"), "{e}");
    }
}
