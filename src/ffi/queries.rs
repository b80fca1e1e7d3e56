//! The query side of the FFI: filters in, reports and pages out, and the
//! offline queue as the host inspects it.
//!
//! Same rules as [`super::types`]: timestamps are ISO 8601 strings, JSON is
//! text, and every record converts from (or to) its Rust twin in one `From`.

use std::time::Duration;

use crate::engine::{Fresh, SyncReport as RsSyncReport};
use crate::model;
use crate::store;

use super::types::{iso_ms, DocItem, Handoff, Session};

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Overall health of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HealthStatus {
    /// Everything works.
    Healthy,
    /// Serving, with some part impaired.
    Degraded,
    /// Not serving properly.
    Unhealthy,
}

/// One named check of a health report.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HealthCheck {
    /// The check's name, e.g. `database`.
    pub name: String,
    /// Whether it passes.
    pub ok: bool,
}

/// What `GET /health` said (an unhealthy server is a report, not an error).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HealthReport {
    /// Overall status.
    pub status: HealthStatus,
    /// HTTP status of the answer.
    pub http_status: u16,
    /// Service name, when given.
    pub service: Option<String>,
    /// Server version, when given.
    pub version: Option<String>,
    /// Server time, when given.
    pub timestamp: Option<String>,
    /// Individual checks, when given.
    pub checks: Vec<HealthCheck>,
    /// The raw body as JSON text.
    pub raw_json: String,
}

impl From<model::HealthReport> for HealthReport {
    fn from(r: model::HealthReport) -> Self {
        Self {
            status: match r.status {
                model::HealthStatus::Healthy => HealthStatus::Healthy,
                model::HealthStatus::Degraded => HealthStatus::Degraded,
                model::HealthStatus::Unhealthy => HealthStatus::Unhealthy,
            },
            http_status: r.http_status,
            service: r.service,
            version: r.version,
            timestamp: r.timestamp,
            checks: r
                .checks
                .into_iter()
                .map(|(name, ok)| HealthCheck { name, ok })
                .collect(),
            raw_json: r.raw.to_string(),
        }
    }
}

/// Active sessions of an agent on a repo.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ActiveSessions {
    /// The sessions (a stale one is still listed: check `last_heartbeat_at`).
    pub sessions: Vec<Session>,
    /// Number of sessions.
    pub count: u32,
    /// Correlation id.
    pub correlation_id: Option<String>,
}

impl From<model::ActiveSessions> for ActiveSessions {
    fn from(a: model::ActiveSessions) -> Self {
        Self {
            sessions: a.sessions.into_iter().map(Session::from).collect(),
            count: a.count,
            correlation_id: a.correlation_id,
        }
    }
}

/// One page of handoffs, newest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HandoffPage {
    /// The handoffs on this page.
    pub handoffs: Vec<Handoff>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<String>,
    /// Whether more pages exist.
    pub has_more: bool,
    /// Items on this page.
    pub count: u32,
    /// Handoffs matching on every page (v2 servers; none on v1).
    pub total: Option<u64>,
    /// Correlation id.
    pub correlation_id: Option<String>,
}

impl From<model::HandoffPage> for HandoffPage {
    fn from(p: model::HandoffPage) -> Self {
        Self {
            handoffs: p.handoffs.into_iter().map(Handoff::from).collect(),
            next_cursor: p.next_cursor,
            has_more: p.has_more,
            count: p.count,
            total: p.total,
            correlation_id: p.correlation_id,
        }
    }
}

/// Which handoffs to list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum HandoffFilter {
    /// Handoffs of one session.
    Session {
        /// The session.
        session_id: String,
    },
    /// Handoffs written by one agent.
    FromAgent {
        /// The agent.
        agent: String,
    },
    /// All handoffs of a repo.
    Repo {
        /// Venture code.
        venture: String,
        /// Repository.
        repo: String,
    },
    /// Handoffs of a repo's issue.
    Issue {
        /// Venture code.
        venture: String,
        /// Repository.
        repo: String,
        /// Issue number.
        issue_number: i64,
    },
    /// Handoffs of a repo's track.
    Track {
        /// Venture code.
        venture: String,
        /// Repository.
        repo: String,
        /// Track.
        track: i64,
    },
}

impl From<HandoffFilter> for model::HandoffFilter {
    fn from(f: HandoffFilter) -> Self {
        match f {
            HandoffFilter::Session { session_id } => Self::Session(session_id),
            HandoffFilter::FromAgent { agent } => Self::FromAgent(agent),
            HandoffFilter::Repo { venture, repo } => Self::Repo { venture, repo },
            HandoffFilter::Issue {
                venture,
                repo,
                issue_number,
            } => Self::Issue {
                venture,
                repo,
                issue_number,
            },
            HandoffFilter::Track {
                venture,
                repo,
                track,
            } => Self::Track {
                venture,
                repo,
                track,
            },
        }
    }
}

/// Which handoff `latest_handoff` looks for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum LatestHandoffQuery {
    /// The handoff that ended a session.
    Session {
        /// The session.
        session_id: String,
    },
    /// The newest handoff for an issue.
    Issue {
        /// Venture code.
        venture: String,
        /// Repository.
        repo: String,
        /// Issue number.
        issue_number: i64,
    },
    /// The newest handoff for a track.
    Track {
        /// Venture code.
        venture: String,
        /// Repository.
        repo: String,
        /// Track.
        track: i64,
    },
}

impl From<LatestHandoffQuery> for model::LatestHandoffQuery {
    fn from(q: LatestHandoffQuery) -> Self {
        match q {
            LatestHandoffQuery::Session { session_id } => Self::Session(session_id),
            LatestHandoffQuery::Issue {
                venture,
                repo,
                issue_number,
            } => Self::Issue {
                venture,
                repo,
                issue_number,
            },
            LatestHandoffQuery::Track {
                venture,
                repo,
                track,
            } => Self::Track {
                venture,
                repo,
                track,
            },
        }
    }
}

/// A handoff read that still answers offline.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CachedHandoff {
    /// The handoff, if any.
    pub handoff: Option<Handoff>,
    /// True when it came from the local cache because the server was unreachable.
    pub stale: bool,
    /// Age of a cached value, seconds.
    pub age_seconds: Option<f64>,
}

impl From<Fresh<Option<model::Handoff>>> for CachedHandoff {
    fn from(f: Fresh<Option<model::Handoff>>) -> Self {
        Self {
            handoff: f.value.map(Handoff::from),
            stale: f.stale,
            age_seconds: f.age.map(secs),
        }
    }
}

/// The docs of the last session start, from the local cache.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CachedDocs {
    /// The docs.
    pub docs: Vec<DocItem>,
    /// Age of the cached docs, seconds.
    pub age_seconds: Option<f64>,
}

impl From<Fresh<Vec<model::DocItem>>> for CachedDocs {
    fn from(f: Fresh<Vec<model::DocItem>>) -> Self {
        Self {
            docs: f.value.into_iter().map(DocItem::from).collect(),
            age_seconds: f.age.map(secs),
        }
    }
}

/// Where a queued item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemState {
    /// Waiting to be (re)sent.
    Pending,
    /// Failed permanently; kept with its reason until retried or dropped.
    Dead,
}

impl From<ItemState> for store::ItemState {
    fn from(s: ItemState) -> Self {
        match s {
            ItemState::Pending => Self::Pending,
            ItemState::Dead => Self::Dead,
        }
    }
}

impl From<store::ItemState> for ItemState {
    fn from(s: store::ItemState) -> Self {
        match s {
            store::ItemState::Pending => Self::Pending,
            store::ItemState::Dead => Self::Dead,
        }
    }
}

/// An update or handoff in the local offline queue.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QueueItem {
    /// Local id (a ULID).
    pub local_id: String,
    /// `update` or `end`.
    pub kind: String,
    /// The session it belongs to.
    pub session_id: String,
    /// The session's agent.
    pub agent: String,
    /// The session's venture.
    pub venture: String,
    /// The session's repo.
    pub repo: String,
    /// The session's track.
    pub track: Option<i64>,
    /// The idempotency key sent with every attempt.
    pub idempotency_key: String,
    /// The exact request body (JSON text).
    pub body_json: String,
    /// For `end`: SHA-256 of the canonical payload.
    pub payload_hash: Option<String>,
    /// Pending or dead.
    pub state: ItemState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued (ISO 8601).
    pub created_at: String,
    /// Not sent before this time (ISO 8601).
    pub next_attempt_at: String,
    /// Why the last attempt failed (or why it died).
    pub last_error: Option<String>,
    /// The server's correlation id for the last failed attempt.
    pub last_correlation_id: Option<String>,
}

impl From<store::QueueItem> for QueueItem {
    fn from(q: store::QueueItem) -> Self {
        Self {
            local_id: q.local_id,
            kind: q.kind.as_str().to_owned(),
            session_id: q.session_id,
            agent: q.tuple.agent,
            venture: q.tuple.venture,
            repo: q.tuple.repo,
            track: q.tuple.track,
            idempotency_key: q.idempotency_key,
            body_json: q.body_json,
            payload_hash: q.payload_hash,
            state: q.state.into(),
            attempts: q.attempts,
            created_at: iso_ms(q.created_at_ms),
            next_attempt_at: iso_ms(q.next_attempt_at_ms),
            last_error: q.last_error,
            last_correlation_id: q.last_correlation_id,
        }
    }
}

/// How many items the queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct QueueCounts {
    /// Pending items.
    pub pending: u64,
    /// Dead items.
    pub dead: u64,
    /// Bytes of request bodies, pending and dead.
    pub bytes: u64,
}

impl From<store::QueueCounts> for QueueCounts {
    fn from(c: store::QueueCounts) -> Self {
        Self {
            pending: c.pending,
            dead: c.dead,
            bytes: c.bytes,
        }
    }
}

/// What one `sync` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Items delivered.
    pub delivered: u32,
    /// Items that failed transiently and stay queued.
    pub retrying: u32,
    /// Items moved to the dead-letter list.
    pub dead: u32,
    /// Queued updates dropped because their session is gone.
    pub dropped: u32,
    /// Items still pending after the pass.
    pub pending: u64,
}

impl From<RsSyncReport> for SyncReport {
    fn from(r: RsSyncReport) -> Self {
        Self {
            delivered: r.delivered,
            retrying: r.retrying,
            dead: r.dead,
            dropped: r.dropped,
            pending: r.pending,
        }
    }
}
