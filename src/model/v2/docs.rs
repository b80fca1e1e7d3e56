//! Documentation and configuration reads: `/docs`, `/docs/:scope/:name`,
//! `/docs/audit`, `/config/memory-gate`.
//!
//! `GET /docs/audit` has a side effect on the server (it writes missing
//! default requirements), which is harmless to repeat, so it is retried like
//! any read.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A document in a listing (`GET /docs`): no content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSummary {
    /// `global` or a venture code.
    pub scope: String,
    /// File-like name, e.g. `vc-api.md`.
    pub doc_name: String,
    /// SHA-256 of the content.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Version, counted up on every upload.
    #[serde(default)]
    pub version: Option<i64>,
}

/// `GET /docs` success: the global docs and the venture's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocList {
    /// The docs.
    pub docs: Vec<DocSummary>,
    /// Number of docs.
    pub count: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// A document with its content (`GET /docs/:scope/:name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// `global` or a venture code.
    pub scope: String,
    /// File-like name.
    pub doc_name: String,
    /// The text.
    pub content: String,
    /// SHA-256 of the content.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<i64>,
}

/// `{doc}`: the answer of `GET /docs/:scope/:name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DocReply {
    pub(crate) doc: Doc,
    #[serde(default)]
    pub(crate) correlation_id: Option<String>,
}

/// How complete a venture's documentation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocAuditStatus {
    /// Every required doc present and fresh.
    Complete,
    /// A required doc is missing.
    Incomplete,
    /// Present but some are stale.
    Warning,
    /// A value this SDK does not know.
    #[serde(other)]
    Unknown,
}

/// A required document that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingDoc {
    /// Its name.
    pub doc_name: String,
    /// Whether it is required.
    #[serde(default)]
    pub required: bool,
    /// What it should contain.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the service can generate it.
    #[serde(default)]
    pub auto_generate: bool,
    /// What it would be generated from.
    #[serde(default)]
    pub generation_sources: Vec<String>,
}

/// A present document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditedDoc {
    /// Its name.
    pub doc_name: String,
    /// Its scope.
    pub scope: String,
    /// Its version.
    #[serde(default)]
    pub version: Option<i64>,
    /// When it was last uploaded.
    pub updated_at: Timestamp,
}

/// A present document older than the staleness threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleDoc {
    /// The document.
    #[serde(flatten)]
    pub doc: AuditedDoc,
    /// Days since its last upload.
    pub days_since_update: i64,
    /// The threshold it passed.
    pub staleness_threshold_days: i64,
    /// Whether the service can regenerate it.
    #[serde(default)]
    pub auto_generate: Option<bool>,
    /// What it would be regenerated from.
    #[serde(default)]
    pub generation_sources: Option<Vec<String>>,
}

/// One venture's documentation audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocAudit {
    /// Venture code.
    pub venture: String,
    /// Venture name.
    pub venture_name: String,
    /// Overall state.
    pub status: DocAuditStatus,
    /// Required docs that do not exist.
    #[serde(default)]
    pub missing: Vec<MissingDoc>,
    /// Docs past the staleness threshold.
    #[serde(default)]
    pub stale: Vec<StaleDoc>,
    /// Docs present and fresh.
    #[serde(default)]
    pub present: Vec<AuditedDoc>,
    /// One line, e.g. `SMD Ventures: 7 missing`.
    pub summary: String,
}

/// `GET /docs/audit` success: `{audit}` for one venture, `{audits}` for all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsAudit {
    /// The audit of the venture asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<DocAudit>,
    /// Every venture's audit, when no venture was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audits: Option<Vec<DocAudit>>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl DocsAudit {
    /// The audits, whichever form the server sent.
    pub fn into_audits(self) -> Vec<DocAudit> {
        self.audits
            .unwrap_or_default()
            .into_iter()
            .chain(self.audit)
            .collect()
    }
}

/// Who must approve a memory note before it is injected into agent context
/// (`GET /config/memory-gate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryGate {
    /// The captain must approve it.
    CaptainApproved,
    /// The curator must mark it injectable.
    Injectable,
    /// Either is enough.
    Either,
    /// Both are needed.
    Both,
    /// A value this SDK does not know.
    #[serde(other)]
    Unknown,
}

/// `{gate}`: the answer of `GET /config/memory-gate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemoryGateReply {
    pub(crate) gate: MemoryGate,
    #[serde(default)]
    pub(crate) correlation_id: Option<String>,
}
