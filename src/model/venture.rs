//! `GET /ventures` (v2): the ventures the server knows, with the GitHub org
//! and repositories of each. It is what a v2 client maps a checkout to a
//! venture with (see [`crate::identity`]), and the list `/sos` checks the
//! venture against.

use serde::{Deserialize, Serialize};

/// One venture of `GET /ventures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Venture {
    /// Its code, e.g. `ke` (what `/sos` takes as `venture`).
    pub code: String,
    /// Its display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The GitHub organisation its repositories live in.
    #[serde(default)]
    pub org: Option<String>,
    /// The names (without owner) of its repositories.
    #[serde(default)]
    pub repos: Vec<String>,
    /// What it is set up for.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Status, stage, tagline… kept as the server sent them.
    #[serde(default)]
    pub portfolio: Option<serde_json::Value>,
}

impl Venture {
    /// Whether this venture's GitHub organisation is `owner` (compared
    /// case-insensitively, as GitHub does).
    pub fn has_org(&self, owner: &str) -> bool {
        self.org
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case(owner))
    }

    /// Whether this venture lists the repository `owner/repo_name`: its org
    /// matches and `repos` holds the name exactly — the rule today's clients
    /// map a checkout to a venture with.
    pub fn lists_repo(&self, owner: &str, repo_name: &str) -> bool {
        self.has_org(owner) && self.repos.iter().any(|r| r == repo_name)
    }
}

/// The body of `GET /ventures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ventures {
    /// The ventures, in the server's order (the order matching uses).
    pub ventures: Vec<Venture>,
}
