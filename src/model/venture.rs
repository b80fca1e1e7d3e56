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

/// The body of `GET /ventures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ventures {
    /// The ventures, in the server's order (the order matching uses).
    pub ventures: Vec<Venture>,
}
