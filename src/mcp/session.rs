//! The server's state: the engine, the checkout's identity, its venture
//! once resolved and the live session handle (whose heartbeats run in the
//! engine's scheduler as long as this process holds it).
//!
//! It also remembers what the client asked to hear about (resource
//! subscriptions, the logging level), which `notify.rs` consults when a
//! background event arrives.
//!
//! Venture resolution is one function ([`State::venture`]) so that the
//! mapping the service defines (org + repo in `GET /ventures`) can move into
//! the library proper without touching the tools.

use std::collections::BTreeSet;
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
    /// Resource URIs the client subscribed to (`resources/subscribe`).
    subscribed: Mutex<BTreeSet<String>>,
    /// Lowest logging level the client wants (`logging/setLevel`), as a
    /// rank of [`super::notify::rank`]; default `info`.
    pub(crate) log_floor: std::sync::atomic::AtomicU8,
}

impl State {
    pub(crate) fn new(crane: Crane, identity: Identity) -> Self {
        let venture = Mutex::new(identity.venture.clone());
        Self {
            crane,
            identity,
            venture,
            session: AsyncMutex::new(None),
            subscribed: Mutex::new(BTreeSet::new()),
            log_floor: std::sync::atomic::AtomicU8::new(super::notify::INFO),
        }
    }

    /// Records a subscription (`true`) or its end (`false`).
    pub(crate) fn subscribe(&self, uri: &str, on: bool) {
        if let Ok(mut set) = self.subscribed.lock() {
            if on {
                set.insert(uri.to_owned());
            } else {
                set.remove(uri);
            }
        }
    }

    /// Whether the client subscribed to `uri`.
    pub(crate) fn is_subscribed(&self, uri: &str) -> bool {
        self.subscribed.lock().is_ok_and(|s| s.contains(uri))
    }

    /// Remembers the venture a session was started for, so later tools use it.
    pub(crate) fn set_venture(&self, code: &str) {
        if let Ok(mut slot) = self.venture.lock() {
            *slot = Some(code.to_owned());
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
        let code = self.checkout_venture().await.map_err(|e| {
            Failure::new("unknown_venture", format!("{e}; pass `venture` to name it"))
        })?;
        self.set_venture(&code);
        Ok(code)
    }

    /// This checkout's venture by the library's rule (see `crate::identity`):
    /// the host's (its org map or `--venture`), else on v2 the server's
    /// venture list (cached in the store, used stale offline). An
    /// [`crate::Error::InvalidInput`] means no venture lists this repository.
    pub(crate) async fn checkout_venture(&self) -> Result<String, crate::Error> {
        if let Some(v) = &self.identity.venture {
            return Ok(v.clone());
        }
        let (owner, repo_name) = self.identity.owner_and_name();
        let org_map = std::collections::BTreeMap::new();
        let query = crate::identity::VentureQuery {
            explicit: None,
            owner,
            repo_name,
            org_map: &org_map,
        };
        Ok(self.crane.choose_venture(&query).await?.code)
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
