//! Success bodies of the eight routes.
//!
//! Each mirrors the contract's table; `correlation_id` is kept so callers can
//! quote it, and newer-server additions are accepted where they are known
//! (`last_handoff`, `active_sessions` on `/sod`) and ignored otherwise.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{DocAudit, Handoff, NoteBlock, Session};

/// Whether `/sod` created a new session or resumed a live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SodStatus {
    /// A new session was created.
    Created,
    /// The live session for this tuple was resumed.
    Resumed,
    /// A value this SDK does not know.
    #[serde(other)]
    Unknown,
}

/// One documentation item delivered by `/sod`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocItem {
    /// Scope, e.g. `global` or a venture code.
    #[serde(default)]
    pub scope: Option<String>,
    /// File-like name of the doc.
    pub doc_name: String,
    /// The text.
    #[serde(default)]
    pub content: String,
    /// Hash of `content`.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Version number or label.
    #[serde(default)]
    pub version: Option<serde_json::Value>,
}

/// The documentation bundle of `/sod`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Documentation {
    /// The docs.
    #[serde(default)]
    pub docs: Vec<DocItem>,
    /// Number of docs.
    #[serde(default)]
    pub count: u32,
    /// Changes whenever any doc changes; cache key.
    #[serde(default)]
    pub content_hash: Option<String>,
}

/// `POST /sos` (`/sod`) success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartSessionResponse {
    /// The session id.
    pub session_id: String,
    /// Created or resumed.
    pub status: SodStatus,
    /// The session record.
    pub session: Session,
    /// When the server wants the next heartbeat.
    pub next_heartbeat_at: Timestamp,
    /// The interval the server drew (480–720 s in v1).
    pub heartbeat_interval_seconds: u32,
    /// Correlation id of the request.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Whole docs (v1 always; v2 with `docs_format: full`), unless
    /// `include_docs: false`.
    #[serde(default)]
    pub documentation: Option<Documentation>,
    /// v2: the index of the docs (names, hashes, titles; no content).
    #[serde(default)]
    pub doc_index: Option<Documentation>,
    /// v2: which of the venture's required documents exist.
    #[serde(default)]
    pub doc_audit: Option<DocAudit>,
    /// v2: the venture's (and global) executive-summary notes.
    #[serde(default)]
    pub enterprise_context: Option<NoteBlock>,
    /// v2: summaries of the venture's PRD, design, strategy… notes.
    #[serde(default)]
    pub knowledge_base: Option<NoteBlock>,
    /// Newer servers: the last handoff for this tuple.
    #[serde(default)]
    pub last_handoff: Option<Handoff>,
    /// Newer servers: other active sessions.
    #[serde(default)]
    pub active_sessions: Option<Vec<Session>>,
}

/// `POST /update` success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateResponse {
    /// The session id.
    pub session_id: String,
    /// When the update was applied.
    pub updated_at: Timestamp,
    /// Next heartbeat time proposed by the server.
    pub next_heartbeat_at: Timestamp,
    /// Interval drawn by the server.
    pub heartbeat_interval_seconds: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `POST /heartbeat` success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The session id.
    pub session_id: String,
    /// The recorded heartbeat time.
    pub last_heartbeat_at: Timestamp,
    /// Next heartbeat time proposed by the server.
    pub next_heartbeat_at: Timestamp,
    /// Interval drawn by the server.
    pub heartbeat_interval_seconds: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `POST /eos` (`/eod`) success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndSessionResponse {
    /// The ended session.
    pub session_id: String,
    /// The stored handoff's id.
    pub handoff_id: String,
    /// The stored handoff.
    pub handoff: Handoff,
    /// When the session ended (`None`: v2 with `keep_session_open`, the
    /// session is still active).
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `GET /active` success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveSessions {
    /// Sessions whose status is active (possibly stale: see [`Session::is_stale_at`]).
    pub sessions: Vec<Session>,
    /// Number of sessions.
    pub count: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `GET /handoffs/latest` success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestHandoff {
    /// The newest matching handoff, if any.
    pub handoff: Option<Handoff>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// One page of `GET /handoffs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffPage {
    /// Handoffs, newest first.
    pub handoffs: Vec<Handoff>,
    /// Cursor of the next page, if any.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// Whether more pages exist.
    #[serde(default)]
    pub has_more: bool,
    /// Items on this page.
    pub count: u32,
    /// Handoffs matching the filter on every page (v2 servers; `None` on v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}
