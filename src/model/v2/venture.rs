//! `GET /ventures`: the service's list of ventures, with their GitHub org
//! and repositories, from which a client maps a checkout to a venture code.
//!
//! Minimal on purpose (added for `crane mcp`): only the fields a client acts
//! on are typed; `capabilities` and `portfolio` are left out.

use serde::{Deserialize, Serialize};

/// One venture of `GET /ventures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Venture {
    /// The venture code sessions use (`vc`, `sc`, …).
    pub code: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// GitHub org (compared case-insensitively).
    #[serde(default)]
    pub org: String,
    /// Repository names (without the org) that belong to it.
    #[serde(default)]
    pub repos: Vec<String>,
}

impl Venture {
    /// Whether `owner/name` is one of this venture's repositories: the org
    /// matches case-insensitively and the name is in `repos`.
    pub fn owns_repo(&self, slug: &str) -> bool {
        let Some((owner, name)) = slug.split_once('/') else {
            return false;
        };
        owner.eq_ignore_ascii_case(&self.org) && self.repos.iter().any(|r| r == name)
    }
}

/// The answer of `GET /ventures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureList {
    /// The ventures, in the service's order.
    pub ventures: Vec<Venture>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ownership_is_org_case_insensitive_and_repo_exact() {
        let v = Venture {
            code: "vc".into(),
            name: "Venture Crane".into(),
            org: "venturecrane".into(),
            repos: vec!["crane-console".into()],
        };
        assert!(v.owns_repo("VentureCrane/crane-console"));
        assert!(!v.owns_repo("venturecrane/other"));
        assert!(!v.owns_repo("someone/crane-console"));
        assert!(!v.owns_repo("crane-console"));
    }
}
