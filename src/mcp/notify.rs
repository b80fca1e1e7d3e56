//! What happens in the background, told to the client as MCP notifications.
//!
//! A queued handoff is delivered by this process's drain long after the
//! `crane_handoff` call returned "queued"; a session can be lost; a queued
//! item can fail for good. Without notifications the agent would only learn
//! it by polling `crane_status`. So the engine's [`Event`]s are forwarded:
//!
//! - `notifications/resources/updated` for `crane://handoff/latest` when a
//!   handoff of this process was stored (directly, from the queue or
//!   re-homed), if the client subscribed to that resource;
//! - `notifications/message` (MCP logging) for every event at or above the
//!   level the client set with `logging/setLevel` (default `info`):
//!   deliveries and queueing `info`, connectivity and dropped updates
//!   `notice`, a lost session or failing heartbeat `warning`, a
//!   dead-lettered item `error`, accepted heartbeats `debug`. The data is a
//!   JSON object `{event, message, …ids}`.
//!
//! MCP logging is deprecated by the specification's SEP-2577 (and in rmcp),
//! but clients speaking the protocol versions with `initialize` — every
//! agent CLI today — still receive it; resource updates are the durable
//! channel.

#![allow(deprecated)] // MCP logging: see the module docs.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rmcp::model::{
    LoggingLevel, LoggingMessageNotificationParam, ResourceUpdatedNotificationParam,
};
use rmcp::{Peer, RoleServer};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use super::resources::HANDOFF_LATEST;
use super::session::State;
use crate::engine::Event;

/// Rank of `debug`.
pub(crate) const DEBUG: u8 = 0;
/// Rank of `info` (the default floor).
pub(crate) const INFO: u8 = 1;

/// The order of the MCP (syslog) levels.
pub(crate) fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => DEBUG,
        LoggingLevel::Info => INFO,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// Forwards the engine's events to the client until the channel closes or
/// the client goes away. Sending failures are ignored: a notification is
/// advice, never the record (the queue and the server are).
pub(crate) async fn forward(
    mut events: UnboundedReceiver<Event>,
    peer: Peer<RoleServer>,
    st: Arc<State>,
) {
    while let Some(event) = events.recv().await {
        let Some(n) = describe(&event) else { continue };
        if n.handoff_stored && st.is_subscribed(HANDOFF_LATEST) {
            let _ = peer
                .notify_resource_updated(ResourceUpdatedNotificationParam::new(HANDOFF_LATEST))
                .await;
        }
        if rank(n.level) >= st.log_floor.load(Ordering::Relaxed) {
            let _ = peer
                .notify_logging_message(
                    LoggingMessageNotificationParam::new(n.level, n.data).with_logger("crane"),
                )
                .await;
        }
        if peer.is_transport_closed() {
            break;
        }
    }
}

/// One event as the client sees it.
struct Told {
    level: LoggingLevel,
    data: Value,
    /// The repository's latest handoff changed.
    handoff_stored: bool,
}

fn notice(level: LoggingLevel, event: &str, message: String, extra: Value) -> Option<Told> {
    let mut data = json!({"event": event, "message": message});
    if let (Some(obj), Value::Object(more)) = (data.as_object_mut(), extra) {
        obj.extend(more);
    }
    Some(Told {
        level,
        data,
        handoff_stored: false,
    })
}

fn describe(event: &Event) -> Option<Told> {
    use LoggingLevel::{Debug, Error, Info, Notice, Warning};
    match event {
        Event::HandoffDelivered {
            session_id,
            local_id,
            handoff_id,
            ..
        } => notice(
            Info,
            "handoff_delivered",
            format!(
                "Handoff {local_id} delivered: stored as {handoff_id} for session {session_id}."
            ),
            json!({"session_id": session_id, "local_id": local_id, "handoff_id": handoff_id}),
        )
        .map(|n| Told {
            handoff_stored: true,
            ..n
        }),
        Event::HandoffRehomed {
            local_id,
            from_session_id,
            to_session_id,
            handoff_id,
        } => notice(
            Warning,
            "handoff_rehomed",
            format!(
                "Handoff {local_id} for session {from_session_id} (which ended without it) was \
                 delivered in a new session {to_session_id} as {handoff_id}."
            ),
            json!({"local_id": local_id, "from_session_id": from_session_id,
                   "to_session_id": to_session_id, "handoff_id": handoff_id}),
        )
        .map(|n| Told {
            handoff_stored: true,
            ..n
        }),
        Event::HandoffQueued {
            session_id,
            local_id,
        } => notice(
            Info,
            "handoff_queued",
            format!("Handoff {local_id} for session {session_id} is queued; it will be delivered."),
            json!({"session_id": session_id, "local_id": local_id}),
        ),
        Event::UpdateQueued {
            session_id,
            local_id,
        } => notice(
            Info,
            "update_queued",
            format!("Update {local_id} for session {session_id} is queued."),
            json!({"session_id": session_id, "local_id": local_id}),
        ),
        Event::UpdateDelivered {
            session_id,
            local_id,
        } => notice(
            Info,
            "update_delivered",
            format!("Queued update {local_id} for session {session_id} delivered."),
            json!({"session_id": session_id, "local_id": local_id}),
        ),
        Event::NoteDelivered { local_id, note_id } => notice(
            Info,
            "note_delivered",
            format!("Queued note {local_id} delivered: stored as {note_id}."),
            json!({"local_id": local_id, "note_id": note_id}),
        ),
        Event::CheckpointDelivered {
            session_id,
            local_id,
            checkpoint_id,
            checkpoint_number,
            ..
        } => notice(
            Info,
            "checkpoint_delivered",
            format!(
                "Queued checkpoint {local_id} delivered: checkpoint {checkpoint_number} \
                 ({checkpoint_id}) of session {session_id}."
            ),
            json!({"session_id": session_id, "local_id": local_id,
                   "checkpoint_id": checkpoint_id, "checkpoint_number": checkpoint_number}),
        ),
        Event::UpdateDropped {
            session_id,
            local_id,
            error,
        } => notice(
            Notice,
            "update_dropped",
            format!("Queued update {local_id} dropped: session {session_id} is gone ({error})."),
            json!({"session_id": session_id, "local_id": local_id, "kind": error.kind()}),
        ),
        Event::ItemDeadLettered {
            session_id,
            local_id,
            error,
        } => notice(
            Error,
            "item_dead",
            format!(
                "Queued item {local_id} (session {session_id}) failed for good: {error}. \
                 crane_queue lists it; crane_queue action=retry sends it again."
            ),
            json!({"session_id": session_id, "local_id": local_id, "kind": error.kind(),
                   "correlation_id": error.correlation_id()}),
        ),
        Event::SessionLost { session_id, error } => notice(
            Warning,
            "session_lost",
            format!(
                "Session {session_id} ended or was abandoned elsewhere ({error}); heartbeats \
                 stopped. Call crane_sos to start a new one."
            ),
            json!({"session_id": session_id, "kind": error.kind()}),
        ),
        Event::HeartbeatFailed {
            session_id,
            error,
            attempt,
        } => notice(
            Warning,
            "heartbeat_failed",
            format!(
                "Heartbeat of session {session_id} failed (attempt {attempt}): {error}; retrying."
            ),
            json!({"session_id": session_id, "attempt": attempt, "kind": error.kind()}),
        ),
        Event::HeartbeatSent {
            session_id,
            next_heartbeat_at,
            ..
        } => notice(
            Debug,
            "heartbeat_sent",
            format!("Heartbeat of session {session_id} accepted; next around {next_heartbeat_at}."),
            json!({"session_id": session_id, "next_heartbeat_at": next_heartbeat_at.to_string()}),
        ),
        Event::ConnectivityChanged { online } => notice(
            Notice,
            "connectivity",
            if *online {
                "The Crane Context service answers again; queued work is being delivered.".into()
            } else {
                "The Crane Context service cannot be reached; ends and updates are queued.".into()
            },
            json!({"online": online}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivered_handoff_updates_the_latest_handoff_resource() {
        let n = describe(&Event::HandoffDelivered {
            session_id: "sess_1".into(),
            local_id: "L1".into(),
            handoff_id: "ho_1".into(),
            payload_hash: "h".into(),
        })
        .unwrap();
        assert!(n.handoff_stored);
        assert_eq!(n.data["event"], "handoff_delivered");
        assert_eq!(n.data["handoff_id"], "ho_1");
        let beat = describe(&Event::ConnectivityChanged { online: true }).unwrap();
        assert!(!beat.handoff_stored);
        assert!(rank(beat.level) > INFO);
    }
}
