//! Background events, delivered to a listener the host implements.
//!
//! Heartbeats, queueing and delivery happen on the SDK's own threads, so the
//! host hears about them through [`CraneListener`], implemented in Python or
//! Swift and adapted here to the engine's [`EventListener`].
//!
//! **Which thread:** `on_event` is called on one of the SDK's runtime worker
//! threads (named `crane-context-ffi`), never on an event loop, and may be
//! called from two threads at once. One exception: an event that a blocking
//! call causes itself (`UpdateQueued` or `HandoffQueued` from `update_blocking`
//! or `end_blocking`, a re-homing or dead-lettering during its send) is
//! delivered on the calling thread, before the call returns. Return quickly and
//! do not call blocking SDK methods from it: hand the event to your own loop
//! (Python: `loop.call_soon_threadsafe(queue.put_nowait, event)`; Swift: an
//! `AsyncStream` continuation or a `DispatchQueue`). An exception raised by
//! the listener is logged and dropped; it never stops the SDK. Once the
//! client is closed (or shut down, or `detach_listener` was called), the
//! listener is never called again.

use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::engine::{Event, EventListener};

use super::CraneError;

/// An error as carried inside an event.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ErrorInfo {
    /// The variant's stable name: `network`, `timeout`, `server`,
    /// `session_not_active`, `validation`, … (same names as the Rust `Error::kind`).
    pub kind: String,
    /// The full message.
    pub message: String,
    /// The server's correlation id, if any.
    pub correlation_id: Option<String>,
}

impl From<crate::Error> for ErrorInfo {
    fn from(e: crate::Error) -> Self {
        Self {
            kind: e.kind().to_owned(),
            message: e.to_string(),
            correlation_id: e.correlation_id().map(str::to_owned),
        }
    }
}

/// A background happening the host may want to know about.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CraneEvent {
    /// A heartbeat was accepted; the next one is scheduled.
    HeartbeatSent {
        /// The session.
        session_id: String,
        /// When the server wants the next one (ISO 8601).
        next_heartbeat_at: String,
        /// The interval the server drew, seconds.
        interval_seconds: u32,
    },
    /// A heartbeat failed; it will be retried.
    HeartbeatFailed {
        /// The session.
        session_id: String,
        /// Why it failed.
        error: ErrorInfo,
        /// Consecutive failures so far.
        attempt: u32,
    },
    /// The session ended or was abandoned elsewhere; heartbeats stopped.
    SessionLost {
        /// The session.
        session_id: String,
        /// What the server said.
        error: ErrorInfo,
    },
    /// An update could not be delivered now and waits in the offline queue.
    UpdateQueued {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
    },
    /// A handoff could not be delivered now and waits in the offline queue.
    HandoffQueued {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
    },
    /// A queued update reached the server.
    UpdateDelivered {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
    },
    /// A handoff reached the server (directly or from the queue).
    HandoffDelivered {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
        /// The stored handoff's id.
        handoff_id: String,
        /// Its payload hash (equal to the one computed locally).
        payload_hash: String,
    },
    /// A handoff whose session ended or was abandoned without it was
    /// delivered in a new session of the same agent/venture/repo/track (its
    /// `meta` names the original); a `HandoffDelivered` for the new session
    /// follows.
    HandoffRehomed {
        /// Queue item id.
        local_id: String,
        /// The session the handoff was written for.
        from_session_id: String,
        /// The session it was delivered in (ended by it).
        to_session_id: String,
        /// The stored handoff's id.
        handoff_id: String,
    },
    /// A queued item failed permanently and moved to the dead-letter list.
    ItemDeadLettered {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
        /// Why.
        error: ErrorInfo,
    },
    /// A queued update was dropped because its session is gone (ended or
    /// abandoned); nothing is dead-lettered.
    UpdateDropped {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
        /// What the server said.
        error: ErrorInfo,
    },
    /// The server became reachable or unreachable.
    ConnectivityChanged {
        /// Whether it is reachable now.
        online: bool,
    },
    /// A note created through the engine was stored from the queue.
    NoteDelivered {
        /// Queue item id.
        local_id: String,
        /// The stored note's id.
        note_id: String,
    },
    /// A checkpoint reached the server (sent, or found stored by the read
    /// that confirms it before any resend).
    CheckpointDelivered {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
        /// The stored checkpoint's id.
        checkpoint_id: String,
        /// Its number within the session.
        checkpoint_number: u32,
    },
}

impl From<Event> for CraneEvent {
    fn from(e: Event) -> Self {
        match e {
            Event::HeartbeatSent {
                session_id,
                next_heartbeat_at,
                interval_seconds,
            } => Self::HeartbeatSent {
                session_id,
                next_heartbeat_at: next_heartbeat_at.to_string(),
                interval_seconds,
            },
            Event::HeartbeatFailed {
                session_id,
                error,
                attempt,
            } => Self::HeartbeatFailed {
                session_id,
                error: error.into(),
                attempt,
            },
            Event::SessionLost { session_id, error } => Self::SessionLost {
                session_id,
                error: error.into(),
            },
            Event::UpdateQueued {
                session_id,
                local_id,
            } => Self::UpdateQueued {
                session_id,
                local_id,
            },
            Event::HandoffQueued {
                session_id,
                local_id,
            } => Self::HandoffQueued {
                session_id,
                local_id,
            },
            Event::UpdateDelivered {
                session_id,
                local_id,
            } => Self::UpdateDelivered {
                session_id,
                local_id,
            },
            Event::HandoffDelivered {
                session_id,
                local_id,
                handoff_id,
                payload_hash,
            } => Self::HandoffDelivered {
                session_id,
                local_id,
                handoff_id,
                payload_hash,
            },
            Event::ItemDeadLettered {
                session_id,
                local_id,
                error,
            } => Self::ItemDeadLettered {
                session_id,
                local_id,
                error: error.into(),
            },
            Event::UpdateDropped {
                session_id,
                local_id,
                error,
            } => Self::UpdateDropped {
                session_id,
                local_id,
                error: error.into(),
            },
            Event::HandoffRehomed {
                local_id,
                from_session_id,
                to_session_id,
                handoff_id,
            } => Self::HandoffRehomed {
                local_id,
                from_session_id,
                to_session_id,
                handoff_id,
            },
            Event::ConnectivityChanged { online } => Self::ConnectivityChanged { online },
            Event::NoteDelivered { local_id, note_id } => Self::NoteDelivered { local_id, note_id },
            Event::CheckpointDelivered {
                session_id,
                local_id,
                checkpoint_id,
                checkpoint_number,
            } => Self::CheckpointDelivered {
                session_id,
                local_id,
                checkpoint_id,
                checkpoint_number,
            },
        }
    }
}

/// Receives [`CraneEvent`]s; implement it in Python or Swift.
///
/// Called on an SDK worker thread, possibly two at once: return quickly and
/// hand the event to your own loop. Raising/throwing is allowed and ignored.
#[uniffi::export(with_foreign)]
pub trait CraneListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: CraneEvent) -> Result<(), CraneError>;
}

/// Adapts a host listener to the engine's [`EventListener`], until it is
/// detached.
///
/// Why detachable: a host runtime can be shutting down while the SDK's
/// threads still run. A CPython interpreter that is finalizing ends any
/// foreign thread that tries to enter it with `pthread_exit`, whose forced
/// unwind through these Rust frames aborts the process ("FATAL: exception
/// not rethrown", exit -6) after the program already reported its result.
/// So closing a client detaches its listener: no call into the host starts
/// afterwards, and `detach` waits for the calls in progress.
pub(crate) struct ListenerAdapter {
    state: Mutex<AdapterState>,
    idle: Condvar,
}

struct AdapterState {
    listener: Option<Arc<dyn CraneListener>>,
    in_flight: usize,
}

thread_local! {
    /// Whether this thread is inside a host callback (a listener that closes
    /// its own client must not wait for itself).
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

impl ListenerAdapter {
    pub(crate) fn new(listener: Arc<dyn CraneListener>) -> Self {
        Self {
            state: Mutex::new(AdapterState {
                listener: Some(listener),
                in_flight: 0,
            }),
            idle: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, AdapterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops every later call into the host and waits until the calls in
    /// progress returned (except the caller's own, when a listener detaches
    /// from inside a callback). Idempotent. Blocks: call it off the runtime.
    pub(crate) fn detach(&self) {
        let mut state = self.lock();
        let listener = state.listener.take();
        if !IN_CALLBACK.with(Cell::get) {
            while state.in_flight > 0 {
                state = self
                    .idle
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        drop(state);
        // The host object is released here, outside the lock.
        drop(listener);
    }
}

impl EventListener for ListenerAdapter {
    fn on_event(&self, event: Event) {
        let listener = {
            let mut state = self.lock();
            let Some(listener) = state.listener.clone() else {
                return;
            };
            state.in_flight += 1;
            listener
        };
        IN_CALLBACK.with(|c| c.set(true));
        let result = listener.on_event(event.into());
        IN_CALLBACK.with(|c| c.set(false));
        drop(listener);
        {
            let mut state = self.lock();
            state.in_flight -= 1;
            if state.in_flight == 0 {
                self.idle.notify_all();
            }
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, "the host's event listener failed; event dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl CraneListener for Counting {
        fn on_event(&self, _event: CraneEvent) -> Result<(), CraneError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn no_call_reaches_the_host_after_detach() {
        let host = Arc::new(Counting(AtomicUsize::new(0)));
        let adapter = ListenerAdapter::new(host.clone());
        let event = || Event::ConnectivityChanged { online: true };
        adapter.on_event(event());
        assert_eq!(host.0.load(Ordering::SeqCst), 1);
        adapter.detach();
        adapter.on_event(event());
        adapter.detach();
        assert_eq!(host.0.load(Ordering::SeqCst), 1);
        // The adapter no longer holds the host object.
        assert_eq!(Arc::strong_count(&host), 1);
    }
}
