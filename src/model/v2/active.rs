//! `GET /active` as v2 serves it: every filter optional.
//!
//! v1 required agent, venture and repo ([`crate::model::ActiveQuery`]); v2
//! filters by any subset and lists every active session without one. The
//! server lists stale sessions as active: judge liveness with
//! [`crate::model::Session::is_stale_at`].

use crate::model::ActiveQuery;

/// `GET /active` filters (v2): any subset, or none for every active session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActiveFilter {
    /// Only this agent.
    pub agent: Option<String>,
    /// Only this venture.
    pub venture: Option<String>,
    /// Only this repository.
    pub repo: Option<String>,
    /// Only this track.
    pub track: Option<i64>,
}

impl ActiveFilter {
    /// No filter: every active session.
    pub fn all() -> Self {
        Self::default()
    }
    /// Only this agent.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }
    /// Only this venture.
    pub fn venture(mut self, venture: impl Into<String>) -> Self {
        self.venture = Some(venture.into());
        self
    }
    /// Only this repository.
    pub fn repo(mut self, repo: impl Into<String>) -> Self {
        self.repo = Some(repo.into());
        self
    }
    /// Only this track.
    pub fn track(mut self, track: i64) -> Self {
        self.track = Some(track);
        self
    }
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        for (k, x) in [
            ("agent", &self.agent),
            ("venture", &self.venture),
            ("repo", &self.repo),
        ] {
            if let Some(x) = x {
                v.push((k, x.clone()));
            }
        }
        if let Some(t) = self.track {
            v.push(("track", t.to_string()));
        }
        v
    }
}

impl From<&ActiveQuery> for ActiveFilter {
    fn from(q: &ActiveQuery) -> Self {
        Self {
            agent: Some(q.agent.clone()),
            venture: Some(q.venture.clone()),
            repo: Some(q.repo.clone()),
            track: q.track,
        }
    }
}
