//! Re-homing: a queued handoff whose session ended without it still arrives.
//!
//! Why it exists: an agent offline for more than 45 minutes comes back to a
//! session that another `/sod` of its tuple marked `abandoned` (or that was
//! superseded); its queued `/eod` meets "session not active" and, before
//! re-homing, ended dead — the next agent never saw the work. Now, once
//! confirmation (`confirm.rs`) has read the old session and found *no*
//! handoff stored there (another handoff there is a conflict, never
//! re-homed), the engine:
//!
//! 1. looks at the tuple's active sessions (`GET /active`, read only): a live
//!    session that is not ours (an agent working in it now) is never ended by
//!    us, so the item waits for it, with that reason, and is retried with
//!    backoff;
//! 2. starts a session for the item's agent/venture/repo/track (`/sod`, no
//!    docs) whose `meta` carries the marker
//!    `{"crane_rehome": {"from_session_id", "local_id", "queued_at"}}` — the
//!    record of the original session, on the server's session record;
//! 3. decides from the answer ([`plan`]): `created`, or `resumed` with our own
//!    marker (a retry of our own `/sod`), is ours to end; `resumed` for
//!    anyone else's session means wait, as in 1;
//! 4. writes the target session id to the store, durably, *before* sending
//!    anything to it, then ends it with the original summary, payload (byte
//!    for byte, so its hash still verifies), status label, recipient and end
//!    reason.
//!
//! Exactly once across crashes: the `/sod` and `/eod` use idempotency keys
//! derived from the item's own key and the re-home generation, and a stored
//! target is always resumed, never replaced, unless the server says it ended
//! without our handoff (confirmed by reading); only then is a new target
//! chosen, under the next generation's keys.

use std::sync::Arc;

use serde_json::json;

use super::deliver::{Delivered, Delivery};
use super::Inner;
use crate::canonical::sha256_hex;
use crate::idempotency::IdempotencyKey;
use crate::model::{
    ActiveQuery, EndSession, Session, SodStatus, StartSession, StartSessionResponse,
};
use crate::store::{QueueItem, Rehome};
use crate::{Client, Error};

/// The key of the marker in the `meta` of a re-home session.
pub const REHOME_META_KEY: &str = "crane_rehome";

/// What to do with the session a re-home `/sod` answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Ours (created for this item, or our own earlier `/sod` resumed): end
    /// it with the handoff.
    Deliver {
        /// The target session.
        session_id: String,
    },
    /// A live session of the tuple that is not ours: wait until it ends.
    /// (Seam: on a server with `/eos keep_session_open`, this is where the
    /// handoff could be stored in that session without ending it.)
    Wait {
        /// The live session.
        session_id: String,
    },
}

/// Decides from a re-home `/sod` answer whether its session is ours to end.
pub(crate) fn plan(item: &QueueItem, sod: &StartSessionResponse) -> Plan {
    if sod.status == SodStatus::Created || is_ours(&sod.session, &item.local_id) {
        Plan::Deliver {
            session_id: sod.session_id.clone(),
        }
    } else {
        Plan::Wait {
            session_id: sod.session_id.clone(),
        }
    }
}

/// Whether `session` was started by the re-home of item `local_id`.
pub(crate) fn is_ours(session: &Session, local_id: &str) -> bool {
    session
        .meta_json
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .is_some_and(|m| m[REHOME_META_KEY]["local_id"] == local_id)
}

/// The `meta` of a re-home session: where the original session is recorded.
pub(crate) fn marker(item: &QueueItem) -> serde_json::Value {
    let queued_at = jiff::Timestamp::from_millisecond(item.created_at_ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| item.created_at_ms.to_string());
    json!({ REHOME_META_KEY: {
        "from_session_id": item.session_id,
        "local_id": item.local_id,
        "queued_at": queued_at,
    }})
}

/// A re-home idempotency key: stable for one item, step and generation.
fn key(item: &QueueItem, step: &str, generation: u32) -> Result<IdempotencyKey, Error> {
    let digest = sha256_hex(item.idempotency_key.as_bytes());
    IdempotencyKey::parse(format!(
        "crane-rehome-{step}-{generation}-{}",
        &digest[..32]
    ))
}

/// Why a re-home waits for `session_id`.
pub(crate) fn waiting_message(session_id: &str) -> String {
    format!("re-home waits: session {session_id} is active for this agent/venture/repo/track")
}

/// The live session a pending item's re-home waits for, if its last attempt
/// waited (`state` is the item's re-homing row).
pub(crate) fn waits_for(item: &QueueItem, state: Option<&Rehome>) -> Option<String> {
    let session_id = state?.waiting_for.as_deref()?;
    (item.last_error.as_deref() == Some(waiting_message(session_id).as_str()))
        .then(|| session_id.to_owned())
}

/// The dead reason when re-homing is turned off.
pub(crate) fn off_error(item: &QueueItem, lost: Error) -> Error {
    match lost {
        Error::SessionNotActive {
            status,
            message,
            correlation_id,
        } => {
            let what = status.map_or_else(|| "ended".to_owned(), |s| s.to_string());
            Error::SessionNotActive {
                status,
                message: format!(
                    "session {} was {what} without this handoff; re-homing is off ({message})",
                    item.session_id
                ),
                correlation_id,
            }
        }
        other => other,
    }
}

/// Re-homes the queued end `item` (its request `req`, without a key): the
/// server said its session is not active and confirmation found nothing of
/// ours stored there.
pub(crate) async fn rehome(
    inner: &Arc<Inner>,
    client: &Client,
    item: &QueueItem,
    req: EndSession,
) -> Delivery {
    let t = &item.tuple;
    if t.agent.is_empty() || t.venture.is_empty() || t.repo.is_empty() {
        // Queued for a session the cache did not know: no tuple to re-home to.
        return Delivery::Permanent(Error::invalid_input(
            "session_id",
            format!(
                "session {} ended without this handoff, and the queued item does not record \
                 its agent/venture/repo/track, so it cannot be re-homed",
                item.session_id
            ),
        ));
    }
    let (id, holder) = (item.local_id.clone(), inner.holder.clone());
    let state = match inner.store(move |s| s.rehome_state(&id)).await {
        Ok(s) => s,
        Err(e) => return Delivery::Transient(e),
    };
    let generation = state.as_ref().map_or(0, |s| s.generation);
    let target = match state.and_then(|s| s.to_session_id) {
        Some(target) => target,
        None => match choose_target(inner, client, item, generation).await {
            Ok(Plan::Deliver { session_id }) => {
                let (id, sid, now) = (
                    item.local_id.clone(),
                    session_id.clone(),
                    inner.clock.now_ms(),
                );
                // Durable before anything is sent to it: a crash from here
                // on resumes with this very session.
                match inner
                    .store(move |s| s.rehome_target(&id, &holder, &sid, now))
                    .await
                {
                    Ok(true) => session_id,
                    Ok(false) => return lost_lease(item),
                    Err(e) => return Delivery::Transient(e),
                }
            }
            Ok(Plan::Wait { session_id }) => {
                return Delivery::Waiting(waiting_message(&session_id))
            }
            Err(e) if e.is_transient() => return Delivery::Transient(e),
            Err(e) => return Delivery::Permanent(e),
        },
    };
    let key = match key(item, "eod", generation) {
        Ok(k) => k,
        Err(e) => return Delivery::Permanent(e),
    };
    let mut end = req;
    end.session_id = target.clone();
    let end = end.idempotency_key(key);
    match client.end_session(&end).await {
        Ok(r) => Delivery::Done(Delivered::Rehomed {
            response: Box::new(r),
            from_session_id: item.session_id.clone(),
        }),
        // The target ended (or vanished) without our handoff — confirmed by
        // reading it — so a new target is safe: the next attempt picks one.
        Err(e @ (Error::SessionNotActive { .. } | Error::NotFound { .. })) => {
            let (id, holder, now) = (
                item.local_id.clone(),
                inner.holder.clone(),
                inner.clock.now_ms(),
            );
            match inner
                .store(move |s| s.rehome_retarget(&id, &holder, now))
                .await
            {
                Ok(_) => Delivery::Transient(Error::Server {
                    status: 409,
                    retry_after: None,
                    message: format!(
                        "the re-home session {target} ended without this handoff ({e}); \
                         a new one is started at the next attempt"
                    ),
                    correlation_id: e.correlation_id().map(str::to_owned),
                }),
                Err(se) => Delivery::Transient(se),
            }
        }
        Err(e) if e.is_transient() => Delivery::Transient(e),
        Err(e) => Delivery::Permanent(e),
    }
}

/// Finds the session to deliver to: waits for a live session of the tuple
/// that is not ours, else starts (or resumes our own) re-home session.
async fn choose_target(
    inner: &Arc<Inner>,
    client: &Client,
    item: &QueueItem,
    generation: u32,
) -> Result<Plan, Error> {
    let t = &item.tuple;
    let mut q = ActiveQuery::new(&t.agent, &t.venture, &t.repo);
    q.track = t.track;
    // A read first: a `/sod` that resumes someone's live session refreshes
    // its heartbeat, which must not keep an abandoned agent's session alive.
    let now = jiff::Timestamp::from_millisecond(inner.clock.now_ms())
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let active = client.active_sessions(&q).await?;
    if let Some(live) = active
        .sessions
        .iter()
        .find(|s| s.id != item.session_id && !is_ours(s, &item.local_id) && !s.is_stale_at(now))
    {
        record_waiting(inner, item, &live.id, false).await?;
        return Ok(Plan::Wait {
            session_id: live.id.clone(),
        });
    }
    let mut sod = StartSession::new(&t.agent, &t.venture, &t.repo)
        .include_docs(false)
        .meta(marker(item))
        .idempotency_key(key(item, "sod", generation)?);
    sod.track = t.track;
    let answer = client.start_session(&sod).await?;
    let decided = plan(item, &answer);
    if let Plan::Wait { session_id } = &decided {
        // That answer is stored under this generation's key for an hour:
        // the next attempt must ask again under a fresh key.
        record_waiting(inner, item, session_id, true).await?;
    }
    Ok(decided)
}

async fn record_waiting(
    inner: &Arc<Inner>,
    item: &QueueItem,
    session_id: &str,
    next_generation: bool,
) -> Result<(), Error> {
    let (id, holder, sid, now) = (
        item.local_id.clone(),
        inner.holder.clone(),
        session_id.to_owned(),
        inner.clock.now_ms(),
    );
    inner
        .store(move |s| s.rehome_waiting(&id, &holder, &sid, next_generation, now))
        .await
        .map(|_| ())
}

fn lost_lease(item: &QueueItem) -> Delivery {
    Delivery::Transient(Error::Store {
        message: format!(
            "queue item {} was taken over by another process during its re-home",
            item.local_id
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ItemKind, ItemState, SessionTuple};

    fn item() -> QueueItem {
        QueueItem {
            local_id: "01JLOCAL".into(),
            kind: ItemKind::End,
            session_id: "sess_old".into(),
            tuple: SessionTuple {
                agent: "a".into(),
                venture: "vc".into(),
                repo: "o/r".into(),
                track: Some(1),
            },
            idempotency_key: "01JABCDEFGHJKMNPQRSTVWXYZ0".into(),
            body_json: "{}".into(),
            payload_hash: None,
            state: ItemState::Pending,
            attempts: 0,
            created_at_ms: 1_700_000_000_000,
            next_attempt_at_ms: 0,
            last_error: None,
            last_correlation_id: None,
            lease_holder: None,
            lease_until_ms: None,
            raw_body: None,
        }
    }

    fn answer(status: &str, meta: Option<serde_json::Value>) -> StartSessionResponse {
        serde_json::from_value(json!({
            "session_id": "sess_new", "status": status,
            "session": {
                "id": "sess_new", "agent": "a", "venture": "vc", "repo": "o/r", "track": 1,
                "status": "active", "created_at": "2026-11-23T11:30:19.728Z",
                "started_at": "2026-11-23T11:30:19.728Z",
                "last_heartbeat_at": "2026-11-23T11:30:19.728Z",
                "meta_json": meta.map(|m| m.to_string()),
            },
            "next_heartbeat_at": "2026-11-23T11:40:19.728Z",
            "heartbeat_interval_seconds": 600,
        }))
        .unwrap()
    }

    #[test]
    fn created_or_our_own_resumed_session_is_ended_anyone_elses_is_waited_for() {
        let it = item();
        let deliver = Plan::Deliver {
            session_id: "sess_new".into(),
        };
        assert_eq!(plan(&it, &answer("created", None)), deliver);
        assert_eq!(plan(&it, &answer("resumed", Some(marker(&it)))), deliver);
        let wait = Plan::Wait {
            session_id: "sess_new".into(),
        };
        assert_eq!(plan(&it, &answer("resumed", None)), wait);
        let mut other = it.clone();
        other.local_id = "01JOTHER".into();
        assert_eq!(plan(&it, &answer("resumed", Some(marker(&other)))), wait);
    }

    #[test]
    fn the_marker_names_the_original_session_and_keys_are_stable_per_generation() {
        let it = item();
        let m = marker(&it);
        assert_eq!(m[REHOME_META_KEY]["from_session_id"], "sess_old");
        assert_eq!(m[REHOME_META_KEY]["local_id"], "01JLOCAL");
        assert_eq!(
            key(&it, "eod", 0).unwrap().as_str(),
            key(&it, "eod", 0).unwrap().as_str()
        );
        assert_ne!(
            key(&it, "eod", 0).unwrap().as_str(),
            key(&it, "eod", 1).unwrap().as_str()
        );
        assert_ne!(
            key(&it, "sod", 0).unwrap().as_str(),
            key(&it, "eod", 0).unwrap().as_str()
        );
    }
}
