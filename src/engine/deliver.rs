//! Persist first, then send: the path of every `/update` and `/eod`, and of
//! the v2 writes that are safe to queue (`/notes`, `/checkpoint`: see
//! `v2_writes.rs`).
//!
//! An item is written to the queue, leased to this process, then sent. When
//! the server is believed reachable, the commit that queues it does not wait
//! for the disk: the WAL is synced while the request is in flight (see
//! `store/wal_sync.rs`), and the caller is answered only once both are done,
//! so "queued" is never said of an item that is not on stable storage and a
//! direct call costs the slower of the fsync and the round trip instead of
//! their sum. Offline, the enqueue commits durably at once as before. On
//! success it is removed; on a transient failure it stays, rescheduled with
//! backoff, and the caller hears `Queued`; on a permanent failure it moves to
//! the dead-letter list (never deleted silently) and the caller gets the error.
//! The background drain uses the same [`deliver`] for queued items, so a
//! queued handoff is sent exactly like a direct one, with the same key.
//! Before every send of an end, the stored payload is hashed again and
//! compared with the hash recorded when it was queued: an item the disk (or
//! anyone) changed since is dead-lettered as corrupted, never sent.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::events::Event;
use super::{CraneConfig, Inner};
use crate::canonical::CanonicalPayload;
use crate::idempotency::IdempotencyKey;
use crate::model::v2::{CheckpointCreated, Note};
use crate::model::{
    EndReason, EndSession, EndSessionResponse, SessionTuple, Update, UpdateResponse,
};
use crate::policy;
use crate::retry::full_jitter;
use crate::store::{
    CachedHandoff, Completion, Durability, EnqueueChecks, Enqueued, ItemKind, NewItem, QueueItem,
    Queued, Store, StoreError,
};
use crate::{Client, Error};

/// Result of ending a session through the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum EndOutcome {
    /// The server stored the handoff.
    Delivered(Box<EndSessionResponse>),
    /// The server could not be reached; the handoff is safe in the local queue
    /// and will be delivered automatically.
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

/// Result of an update through the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOutcome {
    /// The server applied it.
    Applied(UpdateResponse),
    /// Queued for later delivery (ahead of the session's end).
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

/// What one drain pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Items delivered.
    pub delivered: u32,
    /// Items that failed transiently and stay queued.
    pub retrying: u32,
    /// Items moved to the dead-letter list.
    pub dead: u32,
    /// Queued updates dropped because their session is gone (see
    /// [`Event::UpdateDropped`]).
    pub dropped: u32,
    /// Items still pending after the pass.
    pub pending: u64,
}

#[derive(Deserialize)]
struct QueuedEnd {
    session_id: String,
    summary: String,
    payload: Box<RawValue>,
    #[serde(default)]
    status_label: Option<String>,
    #[serde(default)]
    to_agent: Option<String>,
    #[serde(default)]
    end_reason: Option<EndReason>,
    #[serde(default)]
    last_activity_at: Option<String>,
}

#[derive(Deserialize)]
struct QueuedUpdate {
    session_id: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit_sha: Option<String>,
    #[serde(default)]
    meta: Option<serde_json::Value>,
}

/// The server's answer to a delivered item.
pub(crate) enum Delivered {
    Update(UpdateResponse),
    End(Box<EndSessionResponse>),
    /// The end was delivered in a new session, its own having ended without
    /// it (see `rehome.rs`).
    Rehomed {
        response: Box<EndSessionResponse>,
        from_session_id: String,
    },
    /// A note was stored (or upserted), see `v2_writes.rs`.
    Note(Box<Note>),
    /// A checkpoint was stored, or found stored by a confirming read.
    Checkpoint(CheckpointCreated),
}

impl Delivered {
    /// The server's answer to a delivered end (re-homed or not).
    pub(crate) fn end_response(&self) -> Option<&EndSessionResponse> {
        match self {
            Delivered::End(r) | Delivered::Rehomed { response: r, .. } => Some(r),
            Delivered::Update(_) | Delivered::Note(_) | Delivered::Checkpoint(_) => None,
        }
    }
}

/// How one delivery attempt ended.
pub(crate) enum Delivery {
    Done(Delivered),
    Transient(Error),
    Permanent(Error),
    /// An update whose session is gone: removed, not dead-lettered.
    Obsolete(Error),
    /// A re-home waits for a live session of its tuple that is not ours
    /// (the reason): kept, retried with backoff; nothing failed.
    Waiting(String),
}

fn corrupt(item: &QueueItem, e: impl std::fmt::Display) -> Error {
    Error::Store {
        message: format!("queue item {} has an unreadable body: {e}", item.local_id),
    }
}

/// Sends one queued item with its stored idempotency key. An end whose
/// session ended without it is re-homed (see `rehome.rs`) unless the engine's
/// configuration turns that off.
pub(crate) async fn deliver(inner: &Arc<Inner>, client: &Client, item: &QueueItem) -> Delivery {
    match item.kind {
        ItemKind::Note => return super::v2_writes::deliver_note(client, item).await,
        ItemKind::Checkpoint => {
            return super::v2_writes::deliver_checkpoint(inner, client, item).await
        }
        ItemKind::Update | ItemKind::End => {}
    }
    let key = match IdempotencyKey::parse(item.idempotency_key.clone()) {
        Ok(k) => k,
        Err(e) => return Delivery::Permanent(e),
    };
    let result = match item.kind {
        // Sent above, by their own rules.
        ItemKind::Note | ItemKind::Checkpoint => {
            return Delivery::Permanent(corrupt(item, "unexpected kind"))
        }
        ItemKind::End => {
            let q: QueuedEnd = match serde_json::from_str(&item.body_json) {
                Ok(q) => q,
                Err(e) => return Delivery::Permanent(corrupt(item, e)),
            };
            // Never send what the queue no longer holds intact: the payload
            // must still be the bytes whose hash was recorded when queued.
            let payload = CanonicalPayload::from_canonical(q.payload.get().to_owned());
            let intact = item
                .payload_hash
                .as_deref()
                .is_some_and(|h| payload.hash() == h);
            if !intact {
                return Delivery::Permanent(Error::Store {
                    message: format!(
                        "queue item {} is corrupted in the local store: its payload no longer \
                         matches the hash recorded when it was queued ({}); it was not sent",
                        item.local_id,
                        item.payload_hash.as_deref().unwrap_or("none")
                    ),
                });
            }
            let mut req = match EndSession::with_canonical(q.session_id, q.summary, payload) {
                Ok(r) => r.idempotency_key(key),
                Err(e) => return Delivery::Permanent(e),
            };
            req.status_label = q.status_label;
            req.to_agent = q.to_agent;
            req.end_reason = q.end_reason;
            req.last_activity_at = q.last_activity_at;
            match client.end_session(&req).await {
                Ok(r) => Ok(Delivered::End(Box::new(r))),
                // Confirmation read the session and found no handoff stored
                // there (another one would be a conflict): not active and
                // without ours, so the handoff needs a new home.
                Err(e @ Error::SessionNotActive { .. }) => {
                    if !inner.config.rehome_abandoned {
                        return Delivery::Permanent(super::rehome::off_error(item, e));
                    }
                    req.idempotency_key = None;
                    return super::rehome::rehome(inner, client, item, req).await;
                }
                Err(e) => Err(e),
            }
        }
        ItemKind::Update => {
            let q: QueuedUpdate = match serde_json::from_str(&item.body_json) {
                Ok(q) => q,
                Err(e) => return Delivery::Permanent(corrupt(item, e)),
            };
            let mut req = Update::new(q.session_id).idempotency_key(key);
            req.branch = q.branch;
            req.commit_sha = q.commit_sha;
            req.meta = q.meta;
            match client.update(&req).await {
                Ok(r) => Ok(Delivered::Update(r)),
                // Progress on a session that ended or was abandoned has
                // nowhere to go and nothing to lose: obsolete, not dead.
                Err(e @ (Error::NotFound { .. } | Error::SessionNotActive { .. })) => {
                    return Delivery::Obsolete(e)
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(d) => Delivery::Done(d),
        Err(e) if e.is_transient() => Delivery::Transient(e),
        Err(e) => Delivery::Permanent(e),
    }
}

/// Backoff of a queue item after `attempts` failures (full jitter, capped).
fn queue_backoff(config: &CraneConfig, attempts: u32) -> Duration {
    let exp = config
        .queue_retry_base
        .saturating_mul(1u32 << attempts.min(16));
    full_jitter(exp.min(config.queue_retry_max))
}

/// When an item released now, after `delay`, is due again: always strictly
/// later than now, so that a `sync` (which leases only what was due when it
/// began, see `Crane::sync`) never tries an item twice, whatever the jitter
/// drew.
fn retry_at(inner: &Inner, delay: Duration) -> i64 {
    let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
    inner.clock.now_ms().saturating_add(ms.max(1))
}

/// Records the outcome of a delivery in the store and tells the listener.
pub(crate) async fn settle(
    inner: &Arc<Inner>,
    item: &QueueItem,
    delivery: Delivery,
) -> Result<Delivery, Error> {
    let id = item.local_id.clone();
    let holder = inner.holder.clone();
    match &delivery {
        Delivery::Done(d) => {
            // Recorded, not waited for: applied before the store's next
            // transaction or by the cache writer soon after (see
            // `store/later.rs`; a crash before then resends the item under
            // its key, which the server answers as a replay).
            let completion = Completion {
                local_id: id,
                last_handoff: d.end_response().and_then(cached_handoff),
                ended_session: d.end_response().map(|r| r.session_id.clone()),
            };
            inner
                .store
                .complete_later(&holder, completion, inner.clock.now_ms());
            inner.cache_writer.apply_later();
            emit_delivered(inner, item, d);
        }
        Delivery::Waiting(why) => {
            let next = retry_at(inner, queue_backoff(&inner.config, item.attempts));
            let msg = why.clone();
            inner
                .store(move |s| s.release(&id, &holder, next, &msg, None))
                .await?;
        }
        Delivery::Transient(e) => {
            // The server's Retry-After (capped; on a 429 or a 5xx) is a
            // floor under the backoff.
            let server_delay = e
                .retry_after()
                .map_or(Duration::ZERO, |d| d.min(policy::MAX_RETRY_AFTER));
            let delay = queue_backoff(&inner.config, item.attempts).max(server_delay);
            let next = retry_at(inner, delay);
            let (msg, corr) = (e.to_string(), e.correlation_id().map(str::to_owned));
            inner
                .store(move |s| s.release(&id, &holder, next, &msg, corr.as_deref()))
                .await?;
        }
        Delivery::Obsolete(e) => {
            inner.store(move |s| s.drop_obsolete(&id, &holder)).await?;
            inner.emit(Event::UpdateDropped {
                session_id: item.session_id.clone(),
                local_id: item.local_id.clone(),
                error: e.clone(),
            });
        }
        Delivery::Permanent(e) => {
            let (msg, corr) = (e.to_string(), e.correlation_id().map(str::to_owned));
            inner
                .store(move |s| s.dead_letter(&id, &holder, &msg, corr.as_deref()))
                .await?;
            inner.emit(Event::ItemDeadLettered {
                session_id: item.session_id.clone(),
                local_id: item.local_id.clone(),
                error: e.clone(),
            });
        }
    }
    inner.settled.notify_waiters();
    Ok(delivery)
}

/// What a delivered handoff teaches the cache (`None` in the impossible
/// case that it cannot be serialized: the cache is best effort).
fn cached_handoff(r: &EndSessionResponse) -> Option<CachedHandoff> {
    let handoff_json = serde_json::to_string(&r.handoff).ok()?;
    Some(CachedHandoff {
        venture: r.handoff.venture.clone(),
        repo: r.handoff.repo.clone(),
        track: r.handoff.track,
        handoff_json,
    })
}

/// Tells the listener about a delivered item: a re-homed handoff is
/// reported as re-homed, then as delivered (in its new session).
fn emit_delivered(inner: &Inner, item: &QueueItem, d: &Delivered) {
    if let Delivered::Rehomed {
        response,
        from_session_id,
    } = d
    {
        inner.emit(Event::HandoffRehomed {
            local_id: item.local_id.clone(),
            from_session_id: from_session_id.clone(),
            to_session_id: response.session_id.clone(),
            handoff_id: response.handoff_id.clone(),
        });
    }
    match d {
        Delivered::Note(n) => {
            return inner.emit(Event::NoteDelivered {
                local_id: item.local_id.clone(),
                note_id: n.id.clone(),
            })
        }
        Delivered::Checkpoint(c) => {
            return inner.emit(Event::CheckpointDelivered {
                session_id: c.session_id.clone(),
                local_id: item.local_id.clone(),
                checkpoint_id: c.checkpoint_id.clone(),
                checkpoint_number: c.checkpoint_number,
            })
        }
        _ => {}
    }
    inner.emit(match d.end_response() {
        Some(r) => Event::HandoffDelivered {
            session_id: r.session_id.clone(),
            local_id: item.local_id.clone(),
            handoff_id: r.handoff_id.clone(),
            payload_hash: r.handoff.payload_hash.clone(),
        },
        None => Event::UpdateDelivered {
            session_id: item.session_id.clone(),
            local_id: item.local_id.clone(),
        },
    });
}

/// The server's answer when `d` delivered an end.
fn done_end(d: &Delivery) -> Option<&EndSessionResponse> {
    match d {
        Delivery::Done(d) => d.end_response(),
        _ => None,
    }
}

/// Settles a drain batch. Every delivered item is completed, and the cache
/// updated, in one store transaction (a commit per item made the store, not
/// the server, the limit of a backlog drain); failed items are settled one by
/// one by [`settle`]. Events follow the same order as with [`settle`]: after
/// the item's completion is recorded.
pub(crate) async fn settle_batch(
    inner: &Arc<Inner>,
    outcomes: Vec<(QueueItem, Delivery)>,
) -> Result<Vec<Delivery>, Error> {
    // Only the last handoff of each venture/repo/track in the group ends up
    // in the cache (each write replaces the previous one), so only that one
    // is serialized and written.
    let mut seen = std::collections::HashSet::new();
    let mut cache_it = vec![false; outcomes.len()];
    for (i, (_, d)) in outcomes.iter().enumerate().rev() {
        if let Some(r) = done_end(d) {
            let h = &r.handoff;
            cache_it[i] = seen.insert((h.venture.as_str(), h.repo.as_str(), h.track));
        }
    }
    let completions: Vec<Completion> = outcomes
        .iter()
        .zip(cache_it)
        .filter_map(|((item, d), cache_it)| match d {
            Delivery::Done(d) => Some(match d.end_response() {
                Some(r) => Completion {
                    local_id: item.local_id.clone(),
                    last_handoff: if cache_it { cached_handoff(r) } else { None },
                    ended_session: Some(r.session_id.clone()),
                },
                None => Completion {
                    local_id: item.local_id.clone(),
                    last_handoff: None,
                    ended_session: None,
                },
            }),
            _ => None,
        })
        .collect();
    let batched = if completions.is_empty() {
        true
    } else {
        let (holder, now) = (inner.holder.clone(), inner.clock.now_ms());
        match inner
            .store(move |s| s.complete_many(&holder, &completions, now))
            .await
        {
            Ok(_) => true,
            Err(e) => {
                // One by one instead, where the cache stays best effort.
                tracing::warn!(error = %e, "batch completion failed; completing items one by one");
                false
            }
        }
    };
    let mut settled = Vec::with_capacity(outcomes.len());
    for (item, delivery) in outcomes {
        match &delivery {
            Delivery::Done(d) if batched => emit_delivered(inner, &item, d),
            _ => {
                settled.push(settle(inner, &item, delivery).await?);
                continue;
            }
        }
        settled.push(delivery);
    }
    inner.settled.notify_waiters();
    Ok(settled)
}

/// How [`submit`] persists an item: taken on the caller's side, used inside
/// the one trip to the store (where a caller may do its own reads first, see
/// `session::end_through_queue`).
pub(crate) struct Persist {
    now: i64,
    holder: String,
    lease: i64,
    online: bool,
}

/// What [`Persist::run`] stored: the item, and when it is leased to this
/// engine to send now, its row as queued.
pub(crate) struct Persisted {
    enqueued: Enqueued,
    stored: Option<QueueItem>,
    /// The commit's fsync was deferred: [`Store::sync_wal`] must return
    /// before the item is said to be queued.
    unsynced: bool,
}

impl Persist {
    pub(crate) fn new(inner: &Inner) -> Self {
        Self {
            now: inner.clock.now_ms(),
            holder: inner.holder.clone(),
            lease: i64::try_from(inner.config.lease.as_millis()).unwrap_or(i64::MAX),
            online: inner.client.connectivity().is_online(),
        }
    }

    /// Queues `item` (leased to this engine when online and the head of its
    /// session): blocking, inside a store trip. Offline, durable on return;
    /// online, its sync is deferred (see [`Persisted::unsynced`]).
    pub(crate) fn run(self, s: &Store, item: NewItem) -> Result<Persisted, StoreError> {
        if !self.online {
            return self.offline(s, item);
        }
        let durability = self.durability();
        let queued = s.enqueue_leased_row(item, &self.holder, self.lease, self.now, durability)?;
        Self::persisted(s, queued, durability)
    }

    /// [`Persist::run`] with the local checks of a direct update or end in
    /// the same transaction as its enqueue (see [`Store::enqueue_checked`]):
    /// `Err` when the cache holds a handoff of an end's session (returned
    /// with the session's tuple; nothing was queued).
    pub(crate) fn run_checked(
        self,
        s: &Store,
        item: NewItem,
        checks: EnqueueChecks,
    ) -> Result<Result<Persisted, (SessionTuple, String)>, StoreError> {
        let lease = self.online.then_some((self.holder.as_str(), self.lease));
        let durability = self.durability();
        match s.enqueue_checked(item, checks, lease, self.now, durability)? {
            Queued::Cached {
                tuple,
                handoff_json,
            } => Ok(Err((tuple, handoff_json))),
            queued => Self::persisted(s, queued, durability).map(Ok),
        }
    }

    /// Online, the enqueue's fsync overlaps the send (see the module docs);
    /// offline nothing is sent, so it is durable at commit.
    fn durability(&self) -> Durability {
        match self.online {
            true => Durability::Deferred,
            false => Durability::AtCommit,
        }
    }

    fn offline(self, s: &Store, item: NewItem) -> Result<Persisted, StoreError> {
        let local_id = s.enqueue(item, self.now)?;
        Ok(Persisted {
            enqueued: Enqueued {
                local_id,
                leased: false,
            },
            stored: None,
            unsynced: false,
        })
    }

    /// What an online enqueue stored. The row this call inserted is known
    /// as inserted; one that was already queued (its key, or the same end)
    /// is read back.
    fn persisted(
        s: &Store,
        queued: Queued,
        durability: Durability,
    ) -> Result<Persisted, StoreError> {
        let (enqueued, row) = queued.into_item(s.path())?;
        let stored = match (enqueued.leased, row) {
            (false, _) => None,
            (true, Some(row)) => Some(*row),
            (true, None) => s.get(&enqueued.local_id)?,
        };
        Ok(Persisted {
            enqueued,
            stored,
            unsynced: durability == Durability::Deferred && s.defers_sync(),
        })
    }
}

/// Persists `item`, then delivers it now unless the session has earlier
/// queued items (it then waits its turn) or the server is known unreachable.
pub(crate) async fn submit(
    inner: &Arc<Inner>,
    item: NewItem,
) -> Result<Result<Delivered, String>, Error> {
    let persist = Persist::new(inner);
    // Queued and read back in one trip to the blocking pool (each trip is
    // a thread hop the caller waits for).
    let persisted = inner.store(move |s| persist.run(s, item)).await?;
    send_persisted(inner, persisted).await
}

/// [`submit`] for an item built without its session's tuple (an update by
/// session id): the tuple is taken from the cache inside the enqueue's
/// transaction, in the same one trip to the store.
pub(crate) async fn submit_filling_tuple(
    inner: &Arc<Inner>,
    item: NewItem,
) -> Result<Result<Delivered, String>, Error> {
    let persist = Persist::new(inner);
    let checks = EnqueueChecks {
        fill_tuple: true,
        cached_handoff: false,
    };
    let persisted = inner
        .store(move |s| persist.run_checked(s, item, checks))
        .await?
        .map_err(|_| Error::Store {
            message: "an enqueue without the cached-handoff check reported a cached handoff".into(),
        })?;
    send_persisted(inner, persisted).await
}

/// The second half of [`submit`]: sends a persisted item leased to us and
/// settles it; an item not leased (offline, or behind earlier items of its
/// session) is left to the drain.
pub(crate) async fn send_persisted(
    inner: &Arc<Inner>,
    persisted: Persisted,
) -> Result<Result<Delivered, String>, Error> {
    let Persisted {
        enqueued,
        stored,
        unsynced,
    } = persisted;
    if !enqueued.leased {
        // Offline, or an earlier item of this session is still queued: the
        // drain sends it in its turn, once it is durable.
        if unsynced {
            inner.store(Store::sync_wal).await?;
        }
        inner.drain_wake.notify_one();
        return Ok(Err(enqueued.local_id));
    }
    let local_id = enqueued.local_id;
    let stored = stored.ok_or_else(|| Error::Store {
        message: format!("queue item {local_id} vanished while leased"),
    })?;
    let delivery = if unsynced {
        // The fsync and the round trip overlap; both end before any answer.
        let (delivery, synced) = tokio::join!(
            deliver(inner, &inner.client, &stored),
            inner.store(Store::sync_wal)
        );
        match (synced, delivery) {
            (Ok(()), delivery) => delivery,
            // Left queued, and not known to be durable: the caller must not
            // hear "queued". The row stays for the drain.
            (Err(e), delivery @ (Delivery::Transient(_) | Delivery::Waiting(_))) => {
                settle(inner, &stored, delivery).await?;
                return Err(e);
            }
            // Delivered, or refused for good: what the server said is the
            // truth, whatever the disk did.
            (Err(e), delivery) => {
                tracing::warn!(%local_id, error = %e, "the store's sync failed after a send");
                delivery
            }
        }
    } else {
        deliver(inner, &inner.client, &stored).await
    };
    match settle(inner, &stored, delivery).await? {
        Delivery::Done(d) => Ok(Ok(d)),
        Delivery::Transient(_) | Delivery::Waiting(_) => {
            inner.drain_wake.notify_one();
            Ok(Err(local_id))
        }
        Delivery::Permanent(e) | Delivery::Obsolete(e) => Err(e),
    }
}

/// The queue item for an end request.
pub(crate) fn end_item(
    req: &EndSession,
    key: &IdempotencyKey,
    tuple: SessionTuple,
) -> Result<NewItem, Error> {
    // Canonicalize first: once the canonical form is known it is what the
    // body carries, so the queue holds exactly the bytes the hash names (a
    // replay rebuilds the payload from them with `from_canonical`).
    let payload_hash = req.payload.hash()?.to_owned();
    // The canonical text can be longer than the compact one it replaced:
    // the body limit is checked again on exactly what will be queued.
    req.validate()?;
    Ok(NewItem {
        kind: ItemKind::End,
        session_id: req.session_id.clone(),
        tuple,
        idempotency_key: key.as_str().to_owned(),
        body_json: serde_json::to_string(req)
            .map_err(|e| Error::invalid_input("body", e.to_string()))?,
        payload_hash: Some(payload_hash),
    })
}

/// The queue item for an update request.
pub(crate) fn update_item(
    req: &Update,
    key: &IdempotencyKey,
    tuple: SessionTuple,
) -> Result<NewItem, Error> {
    Ok(NewItem {
        kind: ItemKind::Update,
        session_id: req.session_id.clone(),
        tuple,
        idempotency_key: key.as_str().to_owned(),
        body_json: serde_json::to_string(req)
            .map_err(|e| Error::invalid_input("body", e.to_string()))?,
        payload_hash: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::CanonicalPayload;
    use serde_json::json;

    /// The queue must hold the canonical bytes the stored hash names, even
    /// though a fresh request carries compact JSON until it is hashed.
    #[test]
    fn queued_end_body_carries_the_canonical_payload() {
        let payload = json!({"z": 2.0, "a": [1e21, "é"]});
        let req = EndSession::new("sess_1", "done", &payload).unwrap();
        let tuple = SessionTuple {
            agent: "a".into(),
            venture: "vc".into(),
            repo: "o/r".into(),
            track: None,
        };
        let item = end_item(&req, &IdempotencyKey::generate(), tuple).unwrap();
        let body: serde_json::Value = serde_json::from_str(&item.body_json).unwrap();
        let canonical = CanonicalPayload::new(&payload).unwrap();
        let sent = serde_json::to_string(&body["payload"]).unwrap();
        assert_eq!(sent, canonical.as_str());
        assert_eq!(item.payload_hash.as_deref(), Some(canonical.hash()));
        assert!(item
            .body_json
            .contains(r#""payload":{"a":[1e+21,"é"],"z":2}"#));
    }
}
