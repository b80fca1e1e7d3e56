//! Which generation of the service a base URL speaks, and how the client
//! knows it.
//!
//! The January worker (v1) and today's worker (v2) share most of their wire
//! contract, but not the names of the session routes (`/sod`/`/eod` against
//! `/sos`/`/eos`), nor the identity rules (v2 checks the agent pattern, the
//! venture list, `owner/name` repos and session ids). A client must therefore
//! know which one it talks to before its first write, without asking on every
//! call. The rule, from the v2 contract's "Telling v1 from v2":
//!
//! - `GET /version` (no key) answers 200 on v2, with the deployed commit and
//!   schema version, and 404 on v1. One probe per base URL decides.
//! - What was learnt is remembered in the store (see [`GenerationMemory`]),
//!   so a CLI command does not probe again; a remembered answer older than
//!   [`crate::policy::GENERATION_TTL`] is probed again.
//! - A deployment changes while the server is away: after the client saw the
//!   server unreachable and back, the next call probes again.
//! - A v2 route answering `404 Endpoint not found` means the server is v1
//!   after all: the client forgets, probes, and resends under the right name
//!   with the same idempotency key.
//! - A setting can pin the generation ([`crate::ClientConfig::protocol`],
//!   `protocol = "v1"|"v2"` in the config file, [`crate::settings::PROTOCOL_ENV`]):
//!   no probe at all.
//!
//! Nothing queued names a route: a queued `/update` or end is sent under the
//! name of the generation known when it is delivered, so an item queued
//! against a v1 server is delivered correctly after the server is upgraded
//! (v2 serves `/sod` and `/eod` as aliases that share the `/sos` and `/eos`
//! idempotency scopes, so a retry under the new name replays the original).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::connectivity::State;
use crate::Error;

/// A generation of the Crane Context wire contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// The January worker: `/sod`, `/eod`, eight routes, lenient identity.
    V1,
    /// Today's worker: `/sos`, `/eos`, `/version`, `/ventures`, checkpoints,
    /// notes…, and stricter identity rules.
    V2,
}

impl Generation {
    /// `v1` or `v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }

    /// The route that starts a session: `/sod` on v1, `/sos` on v2.
    pub fn start_route(self) -> &'static str {
        match self {
            Self::V1 => "/sod",
            Self::V2 => "/sos",
        }
    }

    /// The route that ends a session: `/eod` on v1, `/eos` on v2.
    pub fn end_route(self) -> &'static str {
        match self {
            Self::V1 => "/eod",
            Self::V2 => "/eos",
        }
    }
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Generation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(Self::V1),
            "v2" | "2" => Ok(Self::V2),
            other => Err(Error::invalid_input(
                "protocol",
                format!("{other:?} is not a generation; use v1 or v2"),
            )),
        }
    }
}

/// The answer of `GET /version` (v2 only). Every field is optional: a newer
/// server may drop or add fields, and none of them is needed to talk to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    /// `crane-context`.
    #[serde(default)]
    pub service: Option<String>,
    /// The deployed commit.
    #[serde(default)]
    pub commit: Option<String>,
    /// Its short form.
    #[serde(default)]
    pub commit_short: Option<String>,
    /// When the build was made.
    #[serde(default)]
    pub build_timestamp: Option<String>,
    /// When it was deployed (first request since a cold start).
    #[serde(default)]
    pub deployed_at: Option<String>,
    /// Hash of the database schema.
    #[serde(default)]
    pub schema_hash: Option<String>,
    /// The database schema's version (55 on the contract's build).
    #[serde(default)]
    pub schema_version: Option<i64>,
    /// Migrations applied, by name.
    #[serde(default)]
    pub migrations_applied: Vec<String>,
    /// Feature flags.
    #[serde(default)]
    pub features_enabled: BTreeMap<String, bool>,
    /// `production`, `staging` or `unknown`.
    #[serde(default)]
    pub environment: Option<String>,
}

/// How the client came to know the generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerationSource {
    /// A setting pinned it; the server was not asked.
    Pinned,
    /// This client probed `GET /version`.
    Probed,
    /// Read from the store, where an earlier probe (maybe of another
    /// process) left it.
    Remembered,
}

/// The generation of a base URL and what the server said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationInfo {
    /// v1 or v2.
    pub generation: Generation,
    /// `GET /version` (v2 only; `None` when pinned or on v1).
    pub version: Option<ServerVersion>,
    /// How it is known.
    pub source: GenerationSource,
    /// When it was probed (unix ms; 0 when pinned).
    pub detected_at_ms: i64,
}

/// Where a client keeps what it learnt about a base URL between processes.
/// [`crate::store::Store`] implements it; a [`crate::Crane`] engine plugs its
/// store in. Calls are short and blocking; the client runs them off the
/// async threads. Failures are the implementation's to log: memory is a
/// convenience, a probe can always answer again.
pub trait GenerationMemory: Send + Sync {
    /// What was last learnt about `base_url`, if anything.
    fn recall(&self, base_url: &str) -> Option<GenerationInfo>;
    /// Records what was learnt about `base_url`.
    fn remember(&self, base_url: &str, info: &GenerationInfo);
    /// Forgets `base_url` (a v2 route answered 404).
    fn forget(&self, base_url: &str);
}

/// What one client (and its clones) knows now.
pub(crate) struct GenerationState {
    pub(crate) pinned: Option<Generation>,
    known: Mutex<Option<Known>>,
    memory: Mutex<Option<Arc<dyn GenerationMemory>>>,
    /// One probe at a time per client.
    pub(crate) probing: tokio::sync::Mutex<()>,
}

/// What a client knows of the generation.
pub(crate) enum Knowledge {
    /// Learnt, and nothing happened since that casts doubt on it.
    Believed(GenerationInfo),
    /// Learnt, but the server went away and came back since: probe again
    /// (the store's copy is no better), falling back to this if the probe
    /// cannot answer.
    Doubted(GenerationInfo),
    /// Nothing learnt in this process.
    None,
}

struct Known {
    info: GenerationInfo,
    /// Connectivity as seen when it was learnt: any change since (the server
    /// went away and came back, maybe redeployed) makes it worth a new probe.
    seen: watch::Receiver<State>,
}

impl Known {
    /// Whether it is still believed: connectivity has not changed since it
    /// was learnt, or the server is not reachable now (offline, nothing
    /// better can be learnt; keep believing).
    fn believed(&self) -> bool {
        let changed = self.seen.has_changed().unwrap_or(true);
        let online = matches!(*self.seen.borrow(), State::Online);
        !changed || !online
    }
}

impl std::fmt::Debug for GenerationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationState")
            .field("pinned", &self.pinned)
            .field("known", &self.current().map(|i| i.generation))
            .finish_non_exhaustive()
    }
}

impl GenerationState {
    pub(crate) fn new(pinned: Option<Generation>) -> Self {
        Self {
            pinned,
            known: Mutex::new(None),
            memory: Mutex::new(None),
            probing: tokio::sync::Mutex::new(()),
        }
    }

    /// The generation known in this process, if it is still believed.
    pub(crate) fn current(&self) -> Option<GenerationInfo> {
        match self.knowledge() {
            Knowledge::Believed(info) => Some(info),
            Knowledge::Doubted(_) | Knowledge::None => None,
        }
    }

    /// What this process knows, and whether it still believes it.
    pub(crate) fn knowledge(&self) -> Knowledge {
        let Ok(guard) = self.known.lock() else {
            return Knowledge::None;
        };
        let Some(known) = guard.as_ref() else {
            return Knowledge::None;
        };
        if known.believed() {
            Knowledge::Believed(known.info.clone())
        } else {
            Knowledge::Doubted(known.info.clone())
        }
    }

    /// [`Self::current`]'s generation alone, without copying the rest (the
    /// server's `GET /version`, with its list of migrations): asked on
    /// every request.
    pub(crate) fn current_generation(&self) -> Option<Generation> {
        let guard = self.known.lock().ok()?;
        let known = guard.as_ref()?;
        known.believed().then_some(known.info.generation)
    }

    pub(crate) fn set(&self, info: GenerationInfo, mut seen: watch::Receiver<State>) {
        seen.mark_unchanged();
        if let Ok(mut guard) = self.known.lock() {
            *guard = Some(Known { info, seen });
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut guard) = self.known.lock() {
            *guard = None;
        }
    }

    pub(crate) fn memory(&self) -> Option<Arc<dyn GenerationMemory>> {
        self.memory.lock().ok().and_then(|m| m.clone())
    }

    pub(crate) fn set_memory(&self, memory: Arc<dyn GenerationMemory>) {
        if let Ok(mut guard) = self.memory.lock() {
            *guard = Some(memory);
        }
    }
}

/// Whether a 404 means the route does not exist (the server is of another
/// generation), not that the session or handoff does not.
pub(crate) fn is_missing_route(e: &Error) -> bool {
    matches!(e, Error::NotFound { message, .. } if message.starts_with("Endpoint not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_names() {
        assert_eq!(Generation::V1.start_route(), "/sod");
        assert_eq!(Generation::V2.start_route(), "/sos");
        assert_eq!(Generation::V1.end_route(), "/eod");
        assert_eq!(Generation::V2.end_route(), "/eos");
        assert_eq!("V2".parse::<Generation>().ok(), Some(Generation::V2));
        assert!(matches!(
            "v3".parse::<Generation>(),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn a_missing_route_is_told_from_a_missing_session() {
        let route = Error::NotFound {
            message: "Endpoint not found: POST /sos".into(),
            correlation_id: None,
        };
        let session = Error::NotFound {
            message: "Session not found".into(),
            correlation_id: Some("corr_1".into()),
        };
        assert!(is_missing_route(&route));
        assert!(!is_missing_route(&session));
    }

    #[test]
    fn a_connectivity_change_makes_the_known_generation_doubtful() {
        let connectivity = crate::connectivity::Connectivity::new();
        let state = GenerationState::new(None);
        let info = GenerationInfo {
            generation: Generation::V1,
            version: None,
            source: GenerationSource::Probed,
            detected_at_ms: 1,
        };
        state.set(info, connectivity.subscribe());
        assert!(state.current().is_some());
        connectivity.mark_offline("gone");
        // Offline: nothing better to learn, still believed.
        assert!(state.current().is_some());
        connectivity.mark_online();
        assert!(state.current().is_none(), "back online: probe again");
    }
}
