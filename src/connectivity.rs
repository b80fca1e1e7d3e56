//! One shared answer to "can we reach the server right now?".
//!
//! When a call finds the server unreachable, every later call learns it at
//! once: instead of each waiting out a full retry schedule, they make a single
//! attempt (or go straight to the offline queue). A success anywhere — a call
//! or the background `/health` probe — flips the state back and wakes whoever
//! waits for the network to return (the queue drain).

use std::sync::Arc;

use tokio::sync::watch;

/// Shared connectivity state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Connectivity {
    tx: Arc<watch::Sender<State>>,
}

/// A snapshot of the connectivity state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The last exchange with the server succeeded (or none happened yet).
    Online,
    /// The last exchange failed to reach the server.
    Offline {
        /// Why, e.g. "connection refused".
        reason: String,
    },
}

impl Default for Connectivity {
    fn default() -> Self {
        Self::new()
    }
}

impl Connectivity {
    /// Starts online.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(State::Online)),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.tx.borrow().clone()
    }

    /// Whether the server was reachable last time we tried.
    pub fn is_online(&self) -> bool {
        matches!(*self.tx.borrow(), State::Online)
    }

    /// Records that the server could not be reached.
    pub fn mark_offline(&self, reason: &str) {
        self.tx.send_if_modified(|s| {
            if matches!(s, State::Online) {
                tracing::info!(reason, "crane-context server unreachable; offline mode");
                *s = State::Offline {
                    reason: reason.to_owned(),
                };
                true
            } else {
                false
            }
        });
    }

    /// Records that the server answered.
    pub fn mark_online(&self) {
        self.tx.send_if_modified(|s| {
            if matches!(s, State::Offline { .. }) {
                tracing::info!("crane-context server reachable again");
                *s = State::Online;
                true
            } else {
                false
            }
        });
    }

    /// A receiver that changes whenever the state flips.
    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.tx.subscribe()
    }
}
