//! The handoff record: what one agent leaves for the next.
//!
//! The server stores the payload as canonical JSON text and names it by its
//! hash; the record exposes both that text and a parsed view, and can verify
//! that the text matches the hash.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::canonical::sha256_hex;
use crate::Error;

/// A stored handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// `ho_` + ULID.
    pub id: String,
    /// The session it ended.
    pub session_id: String,
    /// Venture code (copied from the session).
    pub venture: String,
    /// Repository (copied from the session).
    pub repo: String,
    /// Track (copied from the session).
    #[serde(default)]
    pub track: Option<i64>,
    /// Issue number (copied from the session).
    #[serde(default)]
    pub issue_number: Option<i64>,
    /// Branch when the session ended.
    #[serde(default)]
    pub branch: Option<String>,
    /// Commit when the session ended.
    #[serde(default)]
    pub commit_sha: Option<String>,
    /// The agent that wrote it.
    pub from_agent: String,
    /// The intended next agent, if any.
    #[serde(default)]
    pub to_agent: Option<String>,
    /// Free-form status label, e.g. `in-progress`.
    #[serde(default)]
    pub status_label: Option<String>,
    /// One-line summary.
    pub summary: String,
    /// The payload as canonical (RFC 8785) JSON text.
    pub payload_json: String,
    /// Lowercase hex SHA-256 of `payload_json`.
    pub payload_hash: String,
    /// Length of `payload_json` in bytes.
    pub payload_size_bytes: u64,
    /// Record schema version.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// When it was stored.
    pub created_at: Timestamp,
    /// Key id of the writer.
    #[serde(default)]
    pub actor_key_id: Option<String>,
    /// Correlation id of the storing request.
    #[serde(default)]
    pub creation_correlation_id: Option<String>,
    /// Why the session ended, when the server's record says (v1 records do
    /// not: it is on the session). Compared when confirming a handoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<crate::model::EndReason>,
}

impl Handoff {
    /// The payload parsed as JSON.
    pub fn payload(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_str(&self.payload_json).map_err(|e| Error::Decode {
            status: 200,
            message: format!("handoff {} payload_json is not valid JSON: {e}", self.id),
            correlation_id: self.creation_correlation_id.clone(),
        })
    }

    /// Whether `payload_hash` is the SHA-256 of `payload_json`.
    pub fn hash_matches(&self) -> bool {
        sha256_hex(self.payload_json.as_bytes()) == self.payload_hash
    }
}
