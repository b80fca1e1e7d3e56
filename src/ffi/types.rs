//! The session-side records and enums that cross the FFI, and their
//! conversions (the query side is in [`super::queries`]).
//!
//! They mirror the Rust model field by field with two deliberate changes, so
//! every host language reads them without extra dependencies: timestamps are
//! ISO 8601 / RFC 3339 strings (`2026-01-31T12:00:00.123Z`), and free-form
//! JSON (payloads, metadata, raw bodies) is JSON text. Inputs are validated
//! by the Rust request builders, so a non-object payload or metadata fails
//! with [`CraneError::InvalidInput`](super::CraneError::InvalidInput) before
//! anything is sent or queued.

use jiff::Timestamp;

use crate::engine::{EndOutcome as RsEndOutcome, UpdateOutcome as RsUpdateOutcome};
use crate::model;

fn iso(t: Timestamp) -> String {
    t.to_string()
}

/// Unix milliseconds as ISO 8601 (empty if out of range).
pub(crate) fn iso_ms(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map(iso).unwrap_or_default()
}

/// A work session as the server reports it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Session {
    /// `sess_` + ULID.
    pub id: String,
    /// The agent name, e.g. `cc-cli-host`.
    pub agent: String,
    /// Client program name.
    pub client: Option<String>,
    /// Client program version.
    pub client_version: Option<String>,
    /// Host name the agent runs on.
    pub host: Option<String>,
    /// Venture code, e.g. `vc`.
    pub venture: String,
    /// Repository, `owner/name`.
    pub repo: String,
    /// Work track, if any.
    pub track: Option<i64>,
    /// Issue number, if any.
    pub issue_number: Option<i64>,
    /// Git branch.
    pub branch: Option<String>,
    /// Git commit.
    pub commit_sha: Option<String>,
    /// `active`, `ended`, `abandoned` (or `unknown` for a newer server's value).
    pub status: String,
    /// When the record was created (ISO 8601).
    pub created_at: String,
    /// When the session started (ISO 8601).
    pub started_at: String,
    /// Last heartbeat (ISO 8601).
    pub last_heartbeat_at: String,
    /// When it ended, if it did (ISO 8601).
    pub ended_at: Option<String>,
    /// Why it ended: `manual`, `stale`, `superseded`, `error`, `unknown`.
    pub end_reason: Option<String>,
    /// Caller metadata as JSON text.
    pub meta_json: Option<String>,
    /// Fingerprint of the relay key that created it.
    pub actor_key_id: Option<String>,
    /// Correlation id of the creating request.
    pub creation_correlation_id: Option<String>,
    /// v2: the agent's own id for its transcript.
    pub client_session_id: Option<String>,
    /// v2: when the agent was last active, as reported on `/eos` (free text).
    pub last_activity_at: Option<String>,
    /// v2: the group of sessions working together.
    pub session_group_id: Option<String>,
}

impl From<model::Session> for Session {
    fn from(s: model::Session) -> Self {
        Self {
            id: s.id,
            agent: s.agent,
            client: s.client,
            client_version: s.client_version,
            host: s.host,
            venture: s.venture,
            repo: s.repo,
            track: s.track,
            issue_number: s.issue_number,
            branch: s.branch,
            commit_sha: s.commit_sha,
            status: s.status.to_string(),
            created_at: iso(s.created_at),
            started_at: iso(s.started_at),
            last_heartbeat_at: iso(s.last_heartbeat_at),
            ended_at: s.ended_at.map(iso),
            end_reason: s.end_reason.map(end_reason_name),
            meta_json: s.meta_json,
            actor_key_id: s.actor_key_id,
            creation_correlation_id: s.creation_correlation_id,
            client_session_id: s.client_session_id,
            last_activity_at: s.last_activity_at,
            session_group_id: s.session_group_id,
        }
    }
}

fn end_reason_name(r: model::EndReason) -> String {
    match r {
        model::EndReason::Manual => "manual",
        model::EndReason::Stale => "stale",
        model::EndReason::Superseded => "superseded",
        model::EndReason::Error => "error",
        model::EndReason::Unknown => "unknown",
    }
    .to_owned()
}

/// A stored handoff: what one agent leaves for the next.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Handoff {
    /// `ho_` + ULID.
    pub id: String,
    /// The session it ended.
    pub session_id: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Track.
    pub track: Option<i64>,
    /// Issue number.
    pub issue_number: Option<i64>,
    /// Branch when the session ended.
    pub branch: Option<String>,
    /// Commit when the session ended.
    pub commit_sha: Option<String>,
    /// The agent that wrote it.
    pub from_agent: String,
    /// The intended next agent, if any.
    pub to_agent: Option<String>,
    /// Free-form status label, e.g. `in-progress`.
    pub status_label: Option<String>,
    /// One-line summary.
    pub summary: String,
    /// The payload as canonical (RFC 8785) JSON text; parse it with your JSON library.
    pub payload_json: String,
    /// Lowercase hex SHA-256 of `payload_json`.
    pub payload_hash: String,
    /// Length of `payload_json` in bytes.
    pub payload_size_bytes: u64,
    /// When it was stored (ISO 8601).
    pub created_at: String,
    /// Correlation id of the storing request.
    pub creation_correlation_id: Option<String>,
}

impl From<model::Handoff> for Handoff {
    fn from(h: model::Handoff) -> Self {
        Self {
            id: h.id,
            session_id: h.session_id,
            venture: h.venture,
            repo: h.repo,
            track: h.track,
            issue_number: h.issue_number,
            branch: h.branch,
            commit_sha: h.commit_sha,
            from_agent: h.from_agent,
            to_agent: h.to_agent,
            status_label: h.status_label,
            summary: h.summary,
            payload_json: h.payload_json,
            payload_hash: h.payload_hash,
            payload_size_bytes: h.payload_size_bytes,
            created_at: iso(h.created_at),
            creation_correlation_id: h.creation_correlation_id,
        }
    }
}

/// One documentation item delivered at session start.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DocItem {
    /// Scope, e.g. `global` or a venture code.
    pub scope: Option<String>,
    /// File-like name of the doc.
    pub doc_name: String,
    /// The text.
    pub content: String,
    /// Hash of `content`.
    pub content_hash: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
}

impl From<model::DocItem> for DocItem {
    fn from(d: model::DocItem) -> Self {
        Self {
            scope: d.scope,
            doc_name: d.doc_name,
            content: d.content,
            content_hash: d.content_hash,
            title: d.title,
            description: d.description,
        }
    }
}

/// What the server answered when the session started or resumed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StartInfo {
    /// `created` or `resumed`.
    pub status: String,
    /// When the server wants the first heartbeat (ISO 8601).
    pub next_heartbeat_at: String,
    /// The interval the server drew, seconds.
    pub heartbeat_interval_seconds: u32,
    /// The documentation bundle (empty if not requested).
    pub docs: Vec<DocItem>,
    /// The last handoff for this tuple, on servers that send it.
    pub last_handoff: Option<Handoff>,
    /// Correlation id of the request.
    pub correlation_id: Option<String>,
}

impl From<model::StartSessionResponse> for StartInfo {
    fn from(r: model::StartSessionResponse) -> Self {
        let status = match r.status {
            model::SodStatus::Created => "created",
            model::SodStatus::Resumed => "resumed",
            model::SodStatus::Unknown => "unknown",
        };
        Self {
            status: status.to_owned(),
            next_heartbeat_at: iso(r.next_heartbeat_at),
            heartbeat_interval_seconds: r.heartbeat_interval_seconds,
            docs: r
                .documentation
                .map(|d| d.docs.into_iter().map(DocItem::from).collect())
                .unwrap_or_default(),
            last_handoff: r.last_handoff.map(Handoff::from),
            correlation_id: r.correlation_id,
        }
    }
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HeartbeatInfo {
    /// The session.
    pub session_id: String,
    /// The recorded heartbeat time (ISO 8601).
    pub last_heartbeat_at: String,
    /// When the server wants the next one (ISO 8601).
    pub next_heartbeat_at: String,
    /// The interval the server drew, seconds.
    pub heartbeat_interval_seconds: u32,
    /// Correlation id.
    pub correlation_id: Option<String>,
}

impl From<model::HeartbeatResponse> for HeartbeatInfo {
    fn from(r: model::HeartbeatResponse) -> Self {
        Self {
            session_id: r.session_id,
            last_heartbeat_at: iso(r.last_heartbeat_at),
            next_heartbeat_at: iso(r.next_heartbeat_at),
            heartbeat_interval_seconds: r.heartbeat_interval_seconds,
            correlation_id: r.correlation_id,
        }
    }
}

/// Result of ending a session: delivered now, or safe in the offline queue.
// uniffi lowers enum variants by value (no `Box` across the FFI), and the
// value is serialized right away, so the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum EndOutcome {
    /// The server stored the handoff.
    Delivered {
        /// The stored handoff (its hash equals the one computed locally).
        handoff: Handoff,
        /// When the session ended (ISO 8601); `None` when a v2 server kept
        /// it open (`keep_session_open`).
        ended_at: Option<String>,
        /// Correlation id of the request.
        correlation_id: Option<String>,
    },
    /// The server could not be reached; the handoff waits in the local queue
    /// and is delivered automatically, exactly once.
    Queued {
        /// Queue item id (see `pending_items`).
        local_id: String,
    },
}

impl From<RsEndOutcome> for EndOutcome {
    fn from(o: RsEndOutcome) -> Self {
        match o {
            RsEndOutcome::Delivered(r) => Self::Delivered {
                ended_at: r.ended_at.map(iso),
                correlation_id: r.correlation_id,
                handoff: Handoff::from(r.handoff),
            },
            RsEndOutcome::Queued { local_id } => Self::Queued { local_id },
        }
    }
}

/// Result of an update: applied now, or queued (ahead of the session's end).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum UpdateOutcome {
    /// The server applied it.
    Applied {
        /// When it was applied (ISO 8601).
        updated_at: String,
        /// When the server wants the next heartbeat (ISO 8601).
        next_heartbeat_at: String,
        /// Correlation id.
        correlation_id: Option<String>,
    },
    /// Queued for later delivery.
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

impl From<RsUpdateOutcome> for UpdateOutcome {
    fn from(o: RsUpdateOutcome) -> Self {
        match o {
            RsUpdateOutcome::Applied(r) => Self::Applied {
                updated_at: iso(r.updated_at),
                next_heartbeat_at: iso(r.next_heartbeat_at),
                correlation_id: r.correlation_id,
            },
            RsUpdateOutcome::Queued { local_id } => Self::Queued { local_id },
        }
    }
}
