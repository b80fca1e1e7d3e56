//! Reads about sessions other than the caller's own (`/siblings`,
//! `/sessions/prior`, `/sessions/history`) and the activity back-fill
//! (`POST /sessions/:id/activity`).
//!
//! None of these change a session's life cycle: the reads are plain reads,
//! and the activity write is safe to repeat (the server keeps one row per
//! minute and counts repeats as `skipped`), so all of them are retried on
//! transient failures.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::wire;
use crate::model::Session;
use crate::Error;

/// Most events one `POST /sessions/:id/activity` accepts.
pub const MAX_ACTIVITY_EVENTS: usize = 5000;

/// An active session of the same group (items of `GET /siblings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sibling {
    /// `sess_` + ULID.
    pub id: String,
    /// Its agent.
    pub agent: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Track.
    #[serde(default)]
    pub track: Option<i64>,
    /// Issue number.
    #[serde(default)]
    pub issue_number: Option<i64>,
    /// Branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// Last heartbeat (the server lists stale sessions too: judge liveness by this).
    pub last_heartbeat_at: Timestamp,
    /// When it was created.
    pub created_at: Timestamp,
}

/// `GET /siblings` success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Siblings {
    /// The group's active sessions.
    pub siblings: Vec<Sibling>,
    /// Number of siblings.
    pub count: u32,
    /// The group asked about.
    pub session_group_id: String,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `GET /sessions/prior`: the newest ended or abandoned session of a tuple
/// within a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorSessionQuery {
    /// Agent name.
    pub agent: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Only this track.
    pub track: Option<i64>,
    /// Only sessions of this host.
    pub host: Option<String>,
    /// Window in hours, 1–720 (server default 48).
    pub within_hours: Option<u32>,
}

impl PriorSessionQuery {
    /// The query for a tuple, with the server's default window.
    pub fn new(
        agent: impl Into<String>,
        venture: impl Into<String>,
        repo: impl Into<String>,
    ) -> Self {
        Self {
            agent: agent.into(),
            venture: venture.into(),
            repo: repo.into(),
            track: None,
            host: None,
            within_hours: None,
        }
    }
    /// Only this track.
    pub fn track(mut self, track: i64) -> Self {
        self.track = Some(track);
        self
    }
    /// Only sessions of this host.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// The window, in hours (1–720).
    pub fn within_hours(mut self, hours: u32) -> Self {
        self.within_hours = Some(hours);
        self
    }
    /// Checks the required fields and the window locally.
    pub fn validate(&self) -> Result<(), Error> {
        wire::required("agent", &self.agent)?;
        wire::required("venture", &self.venture)?;
        wire::required("repo", &self.repo)?;
        match self.within_hours {
            Some(h) if !(1..=720).contains(&h) => Err(Error::invalid_input(
                "within_hours",
                format!("must be between 1 and 720, got {h}"),
            )),
            _ => Ok(()),
        }
    }
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("agent", self.agent.clone()),
            ("venture", self.venture.clone()),
            ("repo", self.repo.clone()),
        ];
        if let Some(t) = self.track {
            v.push(("track", t.to_string()));
        }
        if let Some(h) = &self.host {
            v.push(("host", h.clone()));
        }
        if let Some(h) = self.within_hours {
            v.push(("within_hours", h.to_string()));
        }
        v
    }
}

/// `GET /sessions/prior` success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorSession {
    /// The session, if one ended inside the window.
    pub session: Option<Session>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// One block of work in a day of `GET /sessions/history`: sessions (or
/// their activity minutes) closer than 30 minutes merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryBlock {
    /// Start of the block.
    pub start: Timestamp,
    /// End of the block.
    pub end: Timestamp,
    /// Sessions in the block.
    pub session_count: u32,
    /// Hosts seen.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Repositories seen.
    #[serde(default)]
    pub repos: Vec<String>,
    /// Branches seen.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Issue numbers seen.
    #[serde(default)]
    pub issues: Vec<i64>,
}

/// One venture's work on one day (UTC−7) of `GET /sessions/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Venture code.
    pub venture: String,
    /// The work date, `YYYY-MM-DD` in UTC−7.
    pub work_date: String,
    /// Blocks of work, in order.
    pub blocks: Vec<HistoryBlock>,
    /// Ended sessions that day.
    pub total_sessions: u32,
}

/// `GET /sessions/history` success: every agent's ended sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHistory {
    /// Per venture and day.
    pub entries: Vec<HistoryEntry>,
    /// Number of entries.
    pub count: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `POST /sessions/:id/activity`: minutes in which the agent was working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityBatch {
    /// The events, each `{ts}`.
    pub events: Vec<ActivityEvent>,
    /// Where they come from (server default `cc_jsonl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One activity event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEvent {
    /// When, ISO 8601 (the server reads the first 16 characters, `YYYY-MM-DDTHH:MM`).
    pub ts: String,
}

impl ActivityBatch {
    /// A batch of timestamps (formatted with milliseconds, UTC).
    pub fn new(times: impl IntoIterator<Item = Timestamp>) -> Self {
        Self {
            events: times
                .into_iter()
                .map(|t| ActivityEvent {
                    ts: format!("{t:.3}"),
                })
                .collect(),
            source: None,
        }
    }
    /// Names the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
    /// Checks the batch: at most 5000 events (none is a valid no-op), each
    /// `ts` starting `YYYY-MM-DDTHH:MM` as the server requires.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some((i, e)) = self
            .events
            .iter()
            .enumerate()
            .find(|(_, e)| !minute_prefix(&e.ts))
        {
            return Err(Error::invalid_input(
                format!("events[{i}].ts"),
                format!("must be ISO 8601 (YYYY-MM-DDTHH:MM…), got {:?}", e.ts),
            ));
        }
        if self.events.len() > MAX_ACTIVITY_EVENTS {
            return Err(Error::invalid_input(
                "events",
                format!(
                    "at most {MAX_ACTIVITY_EVENTS} per call, got {}",
                    self.events.len()
                ),
            ));
        }
        Ok(())
    }
}

/// Whether `ts` starts `YYYY-MM-DDTHH:MM` (digits where digits belong).
fn minute_prefix(ts: &str) -> bool {
    let b = ts.as_bytes();
    b.len() >= 16
        && b[..16].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// `POST /sessions/:id/activity` success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityReport {
    /// Minutes newly stored.
    pub recorded: u32,
    /// Minutes already stored (repeats).
    pub skipped: u32,
    /// Events outside the session's lifetime (absent when no event was sent).
    #[serde(default)]
    pub skipped_out_of_window: u32,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}
