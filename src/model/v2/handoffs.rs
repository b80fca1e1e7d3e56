//! What v2 adds to handoffs: a status label that can be changed after the
//! fact (`POST /handoffs/:id/status`), and date windows on `GET /handoffs`.
//!
//! `/eos` stores any text as a status label, but the status route accepts
//! only four values, so the label is an enum here: a value the server would
//! refuse cannot be built.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::Handoff;
use crate::Error;

/// The labels `POST /handoffs/:id/status` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffStatusLabel {
    /// The work is done.
    Done,
    /// Someone is on it.
    InProgress,
    /// It cannot go on.
    Blocked,
    /// Ready to be picked up.
    Ready,
}

impl HandoffStatusLabel {
    /// Every label, in the server's order.
    pub const ALL: [Self; 4] = [Self::Done, Self::InProgress, Self::Blocked, Self::Ready];

    /// The wire value, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::InProgress => "in_progress",
            Self::Blocked => "blocked",
            Self::Ready => "ready",
        }
    }
}

impl std::fmt::Display for HandoffStatusLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for HandoffStatusLabel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                Error::invalid_input(
                    "status_label",
                    format!("must be one of done, in_progress, blocked, ready; got {s:?}"),
                )
            })
    }
}

/// The body of `POST /handoffs/:id/status`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusChange {
    pub(crate) status_label: HandoffStatusLabel,
}

/// `{handoff}`: the answer of `POST /handoffs/:id/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HandoffReply {
    pub(crate) handoff: Handoff,
    #[serde(default)]
    pub(crate) correlation_id: Option<String>,
}

/// A creation-time window on `GET /handoffs` (v2). The server compares
/// dates as text against `created_at`, so they are always sent in its own
/// full form, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandoffDates {
    /// Only handoffs created at or after this time.
    pub created_after: Option<Timestamp>,
    /// Only handoffs created strictly before this time.
    pub created_before: Option<Timestamp>,
}

impl HandoffDates {
    /// Whether no bound is set.
    pub fn is_empty(&self) -> bool {
        self.created_after.is_none() && self.created_before.is_none()
    }
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(t) = self.created_after {
            v.push(("created_after", format!("{t:.3}")));
        }
        if let Some(t) = self.created_before {
            v.push(("created_before", format!("{t:.3}")));
        }
        v
    }
    pub(crate) fn validate(&self, date_only: bool) -> Result<(), Error> {
        if let (Some(a), Some(b)) = (self.created_after, self.created_before) {
            if a > b {
                return Err(Error::invalid_input(
                    "created_before",
                    "must not be earlier than created_after",
                ));
            }
        }
        if date_only && self.created_after.is_none() {
            return Err(Error::invalid_input(
                "created_after",
                "listing by date alone needs created_after (the server refuses created_before alone)",
            ));
        }
        Ok(())
    }
}
