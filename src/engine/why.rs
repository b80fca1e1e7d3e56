//! Why a queued item is still waiting: the reason every "queued" message gives.
//!
//! "Queued" alone hides what a person needs to know: whether the server
//! could not be reached, answered with an error (and asked to wait), whether
//! the item waits behind an older item of its session, or is being sent right
//! now by another live process. The engine decides this from the store and
//! the liveness of lease holders, once, so the CLI and the bindings render
//! the same answer.

use std::fmt;

use super::Crane;
use crate::connectivity::State;
use crate::store::{ItemState, Liveness};
use crate::Error;

/// Why a pending queue item has not been delivered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitReason {
    /// The server could not be reached.
    Unreachable {
        /// What the last attempt to reach it said.
        detail: String,
    },
    /// The last attempt failed at the server (its status, message and any
    /// `Retry-After` are in `error`); retried at `next_attempt_at_ms`.
    ServerFailed {
        /// The last error, as recorded with the item.
        error: String,
        /// When it is retried (unix ms).
        next_attempt_at_ms: i64,
    },
    /// An older item of the same session must be delivered first.
    Behind {
        /// The older item.
        local_id: String,
    },
    /// Its session ended without it and its re-home waits for a live session
    /// of the same agent/venture/repo/track that is not ours (never ended
    /// by the SDK): retried with backoff, delivered once that one ends.
    RehomeWaits {
        /// The live session.
        session_id: String,
    },
    /// Another live process holds it and is delivering it.
    HeldByLiveProcess {
        /// That process's id, when its holder id names one.
        pid: Option<u32>,
    },
    /// Nothing has failed yet: it is due for delivery.
    Due,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { detail } => write!(f, "the server could not be reached ({detail})"),
            Self::ServerFailed {
                error,
                next_attempt_at_ms,
            } => {
                let at = jiff::Timestamp::from_millisecond(*next_attempt_at_ms)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|_| next_attempt_at_ms.to_string());
                write!(f, "the server failed it ({error}); next attempt at {at}")
            }
            Self::Behind { local_id } => {
                write!(f, "it waits behind item {local_id} of the same session")
            }
            Self::RehomeWaits { session_id } => {
                write!(f, "{}", super::rehome::waiting_message(session_id))
            }
            Self::HeldByLiveProcess { pid: Some(pid) } => {
                write!(f, "process {pid} (alive) is delivering it")
            }
            Self::HeldByLiveProcess { pid: None } => {
                write!(f, "another live process is delivering it")
            }
            Self::Due => write!(f, "it is due for delivery"),
        }
    }
}

impl Crane {
    /// Why the pending item `local_id` waits; `None` if it is not pending
    /// (delivered, dead or unknown).
    pub async fn why_queued(&self, local_id: &str) -> Result<Option<WaitReason>, Error> {
        let inner = self.inner();
        let (id, me) = (local_id.to_owned(), inner.holder.clone());
        let now = inner.clock.now_ms();
        let found = inner
            .store(move |s| {
                let Some(item) = s.get(&id)? else {
                    return Ok(None);
                };
                if item.state != ItemState::Pending {
                    return Ok(None);
                }
                let ahead = s
                    .pending_for_session(&item.session_id)?
                    .into_iter()
                    .next()
                    .map(|head| head.local_id)
                    .filter(|head| *head != item.local_id);
                let holder = item
                    .lease_holder
                    .clone()
                    .filter(|h| *h != me && item.lease_until_ms.is_some_and(|u| u > now));
                let alive = holder
                    .as_deref()
                    .is_some_and(|h| s.holder_liveness(h) != Liveness::Dead);
                let rehome = s.rehome_state(&item.local_id)?;
                Ok(Some((item, ahead, holder.filter(|_| alive), rehome)))
            })
            .await?;
        let Some((item, ahead, live_holder, rehome)) = found else {
            return Ok(None);
        };
        if let Some(holder) = live_holder {
            let pid = holder.split('-').next().and_then(|p| p.parse().ok());
            return Ok(Some(WaitReason::HeldByLiveProcess { pid }));
        }
        if let Some(local_id) = ahead {
            return Ok(Some(WaitReason::Behind { local_id }));
        }
        if let Some(session_id) = super::rehome::waits_for(&item, rehome.as_ref()) {
            return Ok(Some(WaitReason::RehomeWaits { session_id }));
        }
        if let State::Offline { reason } = inner.client.connectivity().state() {
            return Ok(Some(WaitReason::Unreachable { detail: reason }));
        }
        Ok(Some(match item.last_error {
            Some(error) => WaitReason::ServerFailed {
                error,
                next_attempt_at_ms: item.next_attempt_at_ms,
            },
            None => WaitReason::Due,
        }))
    }
}
