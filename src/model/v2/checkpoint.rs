//! Checkpoints: progress notes inside a live session (`POST /checkpoint`,
//! `GET /checkpoints`).
//!
//! The server numbers every checkpoint of a session and does **not**
//! deduplicate them: each call adds one, key or not. That is why the client
//! never resends one blindly (see `Client::checkpoint`), and why
//! [`NewCheckpoint::same_content`] exists: it is how a checkpoint read back
//! from `/checkpoints` is recognised as the one a lost request stored.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::wire;
use crate::Error;

/// `POST /checkpoint`: record progress on a live session (also refreshes its heartbeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCheckpoint {
    /// The session (must be active).
    pub session_id: String,
    /// What was achieved, one line (non-empty).
    pub summary: String,
    /// Items finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_completed: Option<Vec<String>>,
    /// What is in the way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<String>>,
    /// What comes next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_actions: Option<Vec<String>>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl NewCheckpoint {
    /// A checkpoint with a summary and no lists.
    pub fn new(session_id: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
            summary: summary.into(),
            work_completed: None,
            blockers: None,
            next_actions: None,
            notes: None,
        }
    }
    /// Sets the items finished.
    pub fn work_completed(mut self, items: Vec<String>) -> Self {
        self.work_completed = Some(items);
        self
    }
    /// Sets the blockers.
    pub fn blockers(mut self, items: Vec<String>) -> Self {
        self.blockers = Some(items);
        self
    }
    /// Sets the next actions.
    pub fn next_actions(mut self, items: Vec<String>) -> Self {
        self.next_actions = Some(items);
        self
    }
    /// Sets the free-text notes.
    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Checks the fields locally: a session id of the server's form
    /// (`sess_` + ULID; the server would answer a malformed one with 404),
    /// a non-empty summary (400 `Required string field` otherwise), and a
    /// body within the server's 1 MiB request limit.
    pub fn validate(&self) -> Result<(), Error> {
        wire::session_id("session_id", &self.session_id)?;
        wire::required("summary", &self.summary)?;
        let size = serde_json::to_vec(self)
            .map_err(|e| Error::invalid_input("body", e.to_string()))?
            .len();
        if size > crate::policy::MAX_REQUEST_BODY_BYTES {
            return Err(Error::PayloadTooLarge {
                message: format!(
                    "the checkpoint would be {size} bytes, over the server's request limit of {}",
                    crate::policy::MAX_REQUEST_BODY_BYTES
                ),
                correlation_id: None,
            });
        }
        Ok(())
    }

    /// Whether `stored` carries exactly this request's content (session,
    /// summary, the three lists and the notes). An absent list and an empty
    /// one are the same to the server's readers, so they compare equal.
    pub fn same_content(&self, stored: &Checkpoint) -> bool {
        let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        stored.session_id == self.session_id
            && stored.summary.as_deref() == Some(self.summary.as_str())
            && list(&stored.work_completed) == list(&self.work_completed)
            && list(&stored.blockers) == list(&self.blockers)
            && list(&stored.next_actions) == list(&self.next_actions)
            && stored.notes.as_deref().unwrap_or("") == self.notes.as_deref().unwrap_or("")
    }
}

/// `POST /checkpoint` success (HTTP 201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointCreated {
    /// `cp_` + ULID.
    pub checkpoint_id: String,
    /// Its number within the session, from 1.
    pub checkpoint_number: u32,
    /// The session.
    pub session_id: String,
    /// When it was stored.
    pub created_at: Timestamp,
    /// Correlation id of the storing request.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl From<&Checkpoint> for CheckpointCreated {
    /// The answer the server gave when it stored `c`, rebuilt from the record
    /// (used when the answer itself was lost and the record was read back).
    fn from(c: &Checkpoint) -> Self {
        Self {
            checkpoint_id: c.id.clone(),
            checkpoint_number: c.checkpoint_number,
            session_id: c.session_id.clone(),
            created_at: c.created_at,
            correlation_id: c.correlation_id.clone(),
        }
    }
}

/// A stored checkpoint (items of `GET /checkpoints`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `cp_` + ULID.
    pub id: String,
    /// The session it belongs to.
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
    /// Branch (copied from the session).
    #[serde(default)]
    pub branch: Option<String>,
    /// Commit (copied from the session).
    #[serde(default)]
    pub commit_sha: Option<String>,
    /// The summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Items finished (stored by the server as JSON text).
    #[serde(default, deserialize_with = "wire::text_list")]
    pub work_completed: Option<Vec<String>>,
    /// Blockers (stored as JSON text).
    #[serde(default, deserialize_with = "wire::text_list")]
    pub blockers: Option<Vec<String>>,
    /// Next actions (stored as JSON text).
    #[serde(default, deserialize_with = "wire::text_list")]
    pub next_actions: Option<Vec<String>>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// Its number within the session, from 1.
    pub checkpoint_number: u32,
    /// When it was stored.
    pub created_at: Timestamp,
    /// First 16 hex characters of SHA-256 of the writer's relay key.
    #[serde(default)]
    pub actor_key_id: Option<String>,
    /// Correlation id of the storing request.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `GET /checkpoints`: a session's checkpoints, or a venture's (optionally
/// narrowed to a repo and track). Newest first, one page, no cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointsQuery {
    /// The checkpoints of one session.
    Session {
        /// The session.
        session_id: String,
        /// How many, 1–100 (server default 20).
        limit: Option<u32>,
    },
    /// The checkpoints of a venture.
    Venture {
        /// Venture code.
        venture: String,
        /// Only this repository.
        repo: Option<String>,
        /// Only this track.
        track: Option<i64>,
        /// How many, 1–100 (server default 20).
        limit: Option<u32>,
    },
}

impl CheckpointsQuery {
    /// The newest checkpoints of a session.
    pub fn session(session_id: impl Into<String>) -> Self {
        Self::Session {
            session_id: session_id.into(),
            limit: None,
        }
    }
    /// The newest checkpoints of a venture.
    pub fn venture(venture: impl Into<String>) -> Self {
        Self::Venture {
            venture: venture.into(),
            repo: None,
            track: None,
            limit: None,
        }
    }
    /// Sets how many to return (1–100, checked when sent).
    pub fn limit(mut self, n: u32) -> Self {
        match &mut self {
            Self::Session { limit, .. } | Self::Venture { limit, .. } => *limit = Some(n),
        }
        self
    }
    /// Checks the filter and page size locally.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Self::Session { session_id, limit } => {
                wire::required("session_id", session_id)?;
                wire::limit(*limit, crate::model::query::MAX_PAGE_SIZE)
            }
            Self::Venture { venture, limit, .. } => {
                wire::required("venture", venture)?;
                wire::limit(*limit, crate::model::query::MAX_PAGE_SIZE)
            }
        }
    }
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let (mut v, limit) = match self {
            Self::Session { session_id, limit } => {
                (vec![("session_id", session_id.clone())], limit)
            }
            Self::Venture {
                venture,
                repo,
                track,
                limit,
            } => {
                let mut v = vec![("venture", venture.clone())];
                if let Some(r) = repo {
                    v.push(("repo", r.clone()));
                }
                if let Some(t) = track {
                    v.push(("track", t.to_string()));
                }
                (v, limit)
            }
        };
        if let Some(l) = limit {
            v.push(("limit", l.to_string()));
        }
        v
    }
}

/// `GET /checkpoints` success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointList {
    /// Newest first.
    pub checkpoints: Vec<Checkpoint>,
    /// Number of checkpoints returned.
    pub count: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}
