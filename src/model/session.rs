//! The session record and its status enums.
//!
//! A session is one agent's unit of work on one (venture, repo, track). The
//! status enums tolerate values this SDK does not know yet, so a newer server
//! never breaks an older client.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Lifecycle state of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// The session is live.
    Active,
    /// The session was ended by `/eod`.
    Ended,
    /// The session went stale (no heartbeat for 45 minutes) and was replaced.
    Abandoned,
    /// A status this SDK does not know.
    #[serde(other)]
    Unknown,
}

impl std::fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Abandoned => "abandoned",
            Self::Unknown => "unknown",
        })
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    /// Ended by the agent with a handoff.
    Manual,
    /// Abandoned after missing heartbeats.
    Stale,
    /// Replaced by a newer session for the same tuple.
    Superseded,
    /// Ended because of an error.
    Error,
    /// A reason this SDK does not know.
    #[serde(other)]
    Unknown,
}

/// A work session as the server reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `sess_` + ULID.
    pub id: String,
    /// The agent name, e.g. `cc-cli-host`.
    pub agent: String,
    /// Client program name.
    #[serde(default)]
    pub client: Option<String>,
    /// Client program version.
    #[serde(default)]
    pub client_version: Option<String>,
    /// Host name the agent runs on.
    #[serde(default)]
    pub host: Option<String>,
    /// Venture code, e.g. `vc`.
    pub venture: String,
    /// Repository, `owner/name`.
    pub repo: String,
    /// Work track, if any.
    #[serde(default)]
    pub track: Option<i64>,
    /// Issue number, if any.
    #[serde(default)]
    pub issue_number: Option<i64>,
    /// Git branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// Git commit.
    #[serde(default)]
    pub commit_sha: Option<String>,
    /// Lifecycle state.
    pub status: SessionStatus,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the session started.
    pub started_at: Timestamp,
    /// Last heartbeat (also refreshed by `/sod` and `/update`).
    pub last_heartbeat_at: Timestamp,
    /// When it ended, if it did.
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    /// Why it ended, if it did.
    #[serde(default)]
    pub end_reason: Option<EndReason>,
    /// Record schema version.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// First 16 hex chars of SHA-256 of the relay key that created it.
    #[serde(default)]
    pub actor_key_id: Option<String>,
    /// Correlation id of the creating request.
    #[serde(default)]
    pub creation_correlation_id: Option<String>,
    /// Caller metadata as JSON text.
    #[serde(default)]
    pub meta_json: Option<String>,
    /// v2: the agent's own id for its transcript (e.g. the Claude Code session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_session_id: Option<String>,
    /// v2: when the agent was last active, as the client reported it on `/eos`
    /// (free text on the server), or the last heartbeat of an abandoned session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<String>,
    /// v2: the group of sessions working together (see `GET /siblings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_group_id: Option<String>,
}

impl Session {
    /// The (agent, venture, repo, track) tuple that identifies this session's slot.
    pub fn tuple(&self) -> SessionTuple {
        SessionTuple {
            agent: self.agent.clone(),
            venture: self.venture.clone(),
            repo: self.repo.clone(),
            track: self.track,
        }
    }

    /// Whether the last heartbeat is older than the server's 45-minute window
    /// at `now` (v1 `/active` still lists such sessions as active).
    pub fn is_stale_at(&self, now: Timestamp) -> bool {
        now.duration_since(self.last_heartbeat_at).as_secs()
            > crate::policy::STALE_AFTER.as_secs() as i64
    }
}

/// The slot a session occupies: `/sod` resumes the active session with the same tuple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionTuple {
    /// Agent name.
    pub agent: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Track; `None` matches any track on the server.
    pub track: Option<i64>,
}

impl SessionTuple {
    /// The empty tuple an item carries when its session's tuple is not
    /// known here (a session this machine never cached, a note's lane).
    pub(crate) fn unknown() -> Self {
        Self {
            agent: String::new(),
            venture: String::new(),
            repo: String::new(),
            track: None,
        }
    }
}
