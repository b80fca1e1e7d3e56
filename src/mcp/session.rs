//! The server's state: the engine, the checkout's identity, its venture
//! once resolved and the live session handle (whose heartbeats run in the
//! engine's scheduler as long as this process holds it).
//!
//! Venture resolution is one function ([`State::venture`]) so that the
//! mapping the service defines (org + repo in `GET /ventures`) can move into
//! the library proper without touching the tools.

use std::sync::Mutex;

use tokio::sync::Mutex as AsyncMutex;

use super::render::Failure;
use super::Identity;
use crate::engine::{Crane, SessionHandle};
use crate::model::SessionTuple;

/// Shared by every tool call.
pub(crate) struct State {
    pub(crate) crane: Crane,
    pub(crate) identity: Identity,
    venture: Mutex<Option<String>>,
    /// The session this process keeps alive, if any.
    pub(crate) session: AsyncMutex<Option<SessionHandle>>,
}

impl State {
    pub(crate) fn new(crane: Crane, identity: Identity) -> Self {
        let venture = Mutex::new(identity.venture.clone());
        Self {
            crane,
            identity,
            venture,
            session: AsyncMutex::new(None),
        }
    }

    /// The venture already known (given, or resolved earlier), without asking.
    pub(crate) fn known_venture(&self) -> Option<String> {
        self.venture.lock().ok().and_then(|v| v.clone())
    }

    /// The venture: `requested`, else the known one, else the one of
    /// `GET /ventures` whose org and repos hold this checkout's repo.
    pub(crate) async fn venture(&self, requested: Option<&str>) -> Result<String, Failure> {
        if let Some(v) = requested.map(str::trim).filter(|v| !v.is_empty()) {
            return Ok(v.to_owned());
        }
        if let Some(v) = self.known_venture() {
            return Ok(v);
        }
        // The library's rule (see `crate::identity`): on v2 the server's
        // venture list (cached in the store, used stale offline), on v1 the
        // org map (already applied by the host when it knew the org).
        let (owner, repo_name) = self
            .identity
            .repo
            .split_once('/')
            .unwrap_or(("", self.identity.repo.as_str()));
        let org_map = std::collections::BTreeMap::new();
        let query = crate::identity::VentureQuery {
            explicit: None,
            owner,
            repo_name,
            org_map: &org_map,
        };
        let choice = self.crane.choose_venture(&query).await.map_err(|e| {
            Failure::new("unknown_venture", format!("{e}; pass `venture` to name it"))
        })?;
        if let Ok(mut slot) = self.venture.lock() {
            *slot = Some(choice.code.clone());
        }
        Ok(choice.code)
    }

    /// The session tuple for a venture.
    pub(crate) fn tuple(&self, venture: &str) -> SessionTuple {
        SessionTuple {
            agent: self.identity.agent.clone(),
            venture: venture.to_owned(),
            repo: self.identity.repo.clone(),
            track: self.identity.track,
        }
    }

    /// The id of this checkout's current session: the held handle's, else
    /// the one cached by any process (`crane sod`, an earlier server).
    pub(crate) async fn session_id(&self) -> Result<String, Failure> {
        if let Some(h) = self.session.lock().await.as_ref() {
            return Ok(h.session_id().to_owned());
        }
        let venture = self.known_venture().ok_or_else(no_session)?;
        let tuple = self.tuple(&venture);
        let cached = self
            .crane
            .store()
            .get_current_session(&tuple)
            .map_err(crate::Error::from)?;
        cached.map(|c| c.session_id).ok_or_else(no_session)
    }
}

/// No session is open for this checkout.
pub(crate) fn no_session() -> Failure {
    Failure::new(
        "no_session",
        "no session is open for this checkout: call crane_sos first",
    )
}
