//! What the engine tells its host.
//!
//! Heartbeats, queueing and delivery happen in the background, so the host
//! learns about them through a listener. The same trait is exported to
//! Python and Swift. Listeners are called on the engine's runtime threads and
//! must return quickly (hand the event to your own loop or channel).

use jiff::Timestamp;

use crate::Error;

/// A background happening the host may want to know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A heartbeat was accepted; the next one is scheduled.
    HeartbeatSent {
        /// The session.
        session_id: String,
        /// When the server wants the next one.
        next_heartbeat_at: Timestamp,
        /// The interval the server drew for it.
        interval_seconds: u32,
    },
    /// A heartbeat failed; it will be retried.
    HeartbeatFailed {
        /// The session.
        session_id: String,
        /// Why it failed.
        error: Error,
        /// Consecutive failures so far.
        attempt: u32,
    },
    /// The session ended or was abandoned elsewhere; heartbeats stopped.
    SessionLost {
        /// The session.
        session_id: String,
        /// What the server said.
        error: Error,
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
    /// delivered in a new session of the same agent/venture/repo/track
    /// (whose `meta` names the original: see ARCHITECTURE.md,
    /// *Re-homing*). Followed by [`Event::HandoffDelivered`] for the new
    /// session.
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
    /// A queued item failed permanently and was moved to the dead-letter list.
    ItemDeadLettered {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
        /// Why.
        error: Error,
    },
    /// A queued update was dropped because its session is gone (ended or
    /// abandoned: the server answered "not found" or "session not active").
    /// Progress on a session that no longer exists is obsolete, not a
    /// failure: nothing is dead-lettered.
    UpdateDropped {
        /// The session.
        session_id: String,
        /// Queue item id.
        local_id: String,
        /// What the server said.
        error: Error,
    },
    /// A note created through the engine was stored from the queue (or,
    /// when identical to an existing note, that note was returned: the
    /// create is an upsert on its `source_hash`).
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
    /// The server became reachable or unreachable.
    ConnectivityChanged {
        /// Whether it is reachable now.
        online: bool,
    },
}

/// Receives [`Event`]s. Called from the engine's runtime threads: return fast.
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: Event);
}

/// A listener that ignores everything.
#[derive(Debug, Default)]
pub struct NoopListener;

impl EventListener for NoopListener {
    fn on_event(&self, _event: Event) {}
}

impl<F: Fn(Event) + Send + Sync> EventListener for F {
    fn on_event(&self, event: Event) {
        self(event)
    }
}
