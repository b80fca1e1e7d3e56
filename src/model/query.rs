//! Query parameters of the read routes, as types.
//!
//! `/handoffs/latest` and `/handoffs` accept only certain combinations of
//! filters; each combination is an enum variant, so an invalid one cannot be
//! built and the server's 400 for "no filter" cannot happen.

use crate::model::v2::HandoffDates;
use crate::Error;

/// `GET /active` query: all active sessions for an agent on a repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveQuery {
    /// Agent name.
    pub agent: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Only this track.
    pub track: Option<i64>,
}

impl ActiveQuery {
    /// Query for an agent, venture and repo.
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
        }
    }
    /// Restricts to a track.
    pub fn track(mut self, track: i64) -> Self {
        self.track = Some(track);
        self
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
        v
    }
}

/// `GET /handoffs/latest`: exactly one of three modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatestHandoffQuery {
    /// The handoff that ended a session.
    Session(String),
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

impl LatestHandoffQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        // The three modes are a subset of the list filters, with the same parameters.
        let filter = match self.clone() {
            Self::Session(id) => HandoffFilter::Session(id),
            Self::Issue {
                venture,
                repo,
                issue_number,
            } => HandoffFilter::Issue {
                venture,
                repo,
                issue_number,
            },
            Self::Track {
                venture,
                repo,
                track,
            } => HandoffFilter::Track {
                venture,
                repo,
                track,
            },
        };
        filter.pairs()
    }
}

/// The filter of `GET /handoffs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoffFilter {
    /// Handoffs of one session.
    Session(String),
    /// Handoffs written by one agent.
    FromAgent(String),
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
    /// Every handoff in a date window (v2 only): needs
    /// [`HandoffDates::created_after`] in the query's `dates`.
    Dates,
}

/// `GET /handoffs`: a filter, an optional date window (v2), a page size and a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffsQuery {
    /// What to list.
    pub filter: HandoffFilter,
    /// Creation-time window (v2 servers; a v1 server ignores it).
    pub dates: HandoffDates,
    /// Page size 1–100 (server default 20).
    pub limit: Option<u32>,
    /// Cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Largest page the server serves.
pub const MAX_PAGE_SIZE: u32 = 100;

impl HandoffsQuery {
    /// First page of a filter with the server's default page size.
    pub fn new(filter: HandoffFilter) -> Self {
        Self {
            filter,
            dates: HandoffDates::default(),
            limit: None,
            cursor: None,
        }
    }
    /// Sets the page size (checked to be 1–100 when sent).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Continues from a cursor.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Only handoffs created at or after `t` (v2).
    pub fn created_after(mut self, t: jiff::Timestamp) -> Self {
        self.dates.created_after = Some(t);
        self
    }
    /// Only handoffs created strictly before `t` (v2).
    pub fn created_before(mut self, t: jiff::Timestamp) -> Self {
        self.dates.created_before = Some(t);
        self
    }
    /// The query for the page after `page` (which this query fetched), or
    /// `None` when it was the last one.
    pub fn after(&self, page: &crate::model::HandoffPage) -> Option<Self> {
        match (&page.next_cursor, page.has_more) {
            (Some(c), true) => Some(self.clone().cursor(c.clone())),
            _ => None,
        }
    }
    /// Checks the page size and the date window locally.
    pub fn validate(&self) -> Result<(), Error> {
        self.dates
            .validate(matches!(self.filter, HandoffFilter::Dates))?;
        match self.limit {
            Some(l) if l == 0 || l > MAX_PAGE_SIZE => Err(Error::invalid_input(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}, got {l}"),
            )),
            _ => Ok(()),
        }
    }
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = self.filter.pairs();
        v.extend(self.dates.pairs());
        if let Some(l) = self.limit {
            v.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.cursor {
            v.push(("cursor", c.clone()));
        }
        v
    }
}

impl HandoffFilter {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        match self {
            HandoffFilter::Session(id) => vec![("session_id", id.clone())],
            HandoffFilter::FromAgent(a) => vec![("from_agent", a.clone())],
            HandoffFilter::Repo { venture, repo } => {
                vec![("venture", venture.clone()), ("repo", repo.clone())]
            }
            HandoffFilter::Issue {
                venture,
                repo,
                issue_number,
            } => vec![
                ("venture", venture.clone()),
                ("repo", repo.clone()),
                ("issue_number", issue_number.to_string()),
            ],
            HandoffFilter::Track {
                venture,
                repo,
                track,
            } => vec![
                ("venture", venture.clone()),
                ("repo", repo.clone()),
                ("track", track.to_string()),
            ],
            HandoffFilter::Dates => Vec::new(),
        }
    }
}
