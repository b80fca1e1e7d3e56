//! The engine's session and queue operations.
//!
//! Starting a session first flushes queued work for the same (agent,
//! venture, repo, track): otherwise the server would resume the old session
//! and the queued `/eod` would later end the agent's new, live one.

use std::sync::Arc;

use jiff::Timestamp;

use super::background::drain_pass;
use super::deliver::{SyncReport, UpdateOutcome};
use super::heartbeat::Schedule;
use super::session::{
    end_through_queue, heartbeat_and_record, update_through_queue, SessionHandle,
};
use super::{Crane, EndOutcome};
use crate::model::{EndSession, HeartbeatResponse, Session, SessionTuple, StartSession, Update};
use crate::policy;
use crate::store::{CachedSession, ItemState, QueueCounts, QueueItem};
use crate::Error;

impl Crane {
    /// Starts or resumes the session for the request's tuple and keeps it
    /// alive with automatic heartbeats until the handle is ended or dropped.
    pub async fn start_session(&self, req: StartSession) -> Result<SessionHandle, Error> {
        self.start_session_with(req, true).await
    }

    /// Like [`Crane::start_session`]; `auto_heartbeat: false` leaves beating
    /// to the caller (e.g. a CLI that hands it to a keeper process).
    pub async fn start_session_with(
        &self,
        req: StartSession,
        auto_heartbeat: bool,
    ) -> Result<SessionHandle, Error> {
        req.validate()?;
        self.check_listed_venture(&req.venture).await?;
        let inner = Arc::clone(self.inner());
        let tuple = req.tuple();
        self.flush_tuple(&tuple).await?;
        let resp = inner.client.start_session(&req).await?;
        let now = inner.clock.now_ms();
        let cached = CachedSession {
            session_id: resp.session_id.clone(),
            tuple: tuple.clone(),
            session_json: serde_json::to_string(&resp.session).unwrap_or_default(),
            next_heartbeat_at_ms: Some(resp.next_heartbeat_at.as_millisecond()),
            heartbeat_interval_seconds: Some(resp.heartbeat_interval_seconds),
            updated_at_ms: now,
            keeper_pid: None,
        };
        let docs = resp.documentation.as_ref().and_then(|d| {
            let hash = d.content_hash.clone()?;
            Some((hash, serde_json::to_string(&d.docs).ok()?))
        });
        inner
            .store_in_turn(move |s| {
                s.put_current_session(&cached)?;
                if let Some((hash, json)) = docs {
                    s.put_docs(&hash, &json, now)?;
                }
                Ok(())
            })
            .await?;
        let session = resp.session.clone();
        let first = Schedule::from_server(
            &inner,
            resp.session.last_heartbeat_at,
            resp.next_heartbeat_at,
        );
        Ok(SessionHandle::new(
            inner,
            session,
            Some(resp),
            first,
            auto_heartbeat,
        ))
    }

    /// Re-attaches to the cached current session of a tuple (e.g. started by
    /// another process), with automatic heartbeats. `None` if none is cached.
    pub async fn attach(&self, tuple: &SessionTuple) -> Result<Option<SessionHandle>, Error> {
        let t = tuple.clone();
        let cached = self
            .inner()
            .store(move |s| s.get_current_session(&t))
            .await?;
        self.handle_from_cache(cached, true)
    }

    /// Re-attaches to a cached session by id. `None` if it is not cached.
    pub async fn attach_by_id(
        &self,
        session_id: &str,
        auto_heartbeat: bool,
    ) -> Result<Option<SessionHandle>, Error> {
        let id = session_id.to_owned();
        let cached = self
            .inner()
            .store(move |s| s.current_session_by_id(&id))
            .await?;
        self.handle_from_cache(cached, auto_heartbeat)
    }

    fn handle_from_cache(
        &self,
        cached: Option<CachedSession>,
        auto_heartbeat: bool,
    ) -> Result<Option<SessionHandle>, Error> {
        let Some(c) = cached else { return Ok(None) };
        let session: Session = serde_json::from_str(&c.session_json).map_err(|e| Error::Store {
            message: format!("cached session {} is unreadable: {e}", c.session_id),
        })?;
        let inner = self.inner();
        let now = inner.clock.now();
        let next = c
            .next_heartbeat_at_ms
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(now);
        let first = Schedule::after(inner, next, inner.clock.until(next));
        Ok(Some(SessionHandle::new(
            Arc::clone(inner),
            session,
            None,
            first,
            auto_heartbeat,
        )))
    }

    /// Ends any session by id (no handle needed), through the queue.
    pub async fn end_session(&self, req: EndSession) -> Result<EndOutcome, Error> {
        // The tuple is looked up from the cache with the end's other local
        // checks, in one trip to the store.
        end_through_queue(self.inner(), req, None).await
    }

    /// Sends a heartbeat for any session by id (no handle needed) and records
    /// the answer in the cache: the next scheduled time, or, when the server
    /// says the session is gone, that it is no longer current.
    pub async fn heartbeat(&self, session_id: &str) -> Result<HeartbeatResponse, Error> {
        heartbeat_and_record(self.inner(), session_id).await
    }

    /// Updates any session by id (no handle needed), through the queue.
    pub async fn update(&self, req: Update) -> Result<UpdateOutcome, Error> {
        // The tuple is looked up from the cache inside the enqueue's own
        // store trip and transaction.
        update_through_queue(self.inner(), req, None).await
    }

    pub(crate) async fn cached_tuple(&self, session_id: &str) -> Result<SessionTuple, Error> {
        let id = session_id.to_owned();
        let cached = self
            .inner()
            .store(move |s| s.current_session_by_id(&id))
            .await?;
        Ok(tuple_or_unknown(cached))
    }

    /// Delivers every queued item now, waits (up to
    /// [`policy::DIRECT_CALL_DEADLINE`]) for items another live drain holds
    /// (this engine's background task, another engine or process), and
    /// reports the queue after the call: `delivered` counts every item
    /// delivered during it, by whichever drain, `pending` what is left.
    /// Items of a dead process are taken over. The call tries each item at
    /// most once: one that fails is rescheduled by its backoff, counted in
    /// `retrying`, and left to the background drain or the next call, even
    /// when its backoff runs out before the call returns.
    pub async fn sync(&self) -> Result<SyncReport, Error> {
        let inner = self.inner();
        // Counted before anything below can wake the background drain (the
        // `mark_online` does): whatever it settles during the call is then
        // reported as this call's, not lost between two snapshots.
        let before = inner.store(|s| s.stats()).await?;
        if !inner.client.connectivity().is_online() {
            // An explicit sync is worth one real attempt even when offline.
            if inner.queue_client.health().await.is_ok() {
                inner.client.connectivity().mark_online();
            }
        }
        // One attempt per item: every later pass leases only what was due
        // when the call began (a failed item is released strictly later),
        // so an item whose jittered backoff runs out during the call waits
        // for the next drain, and `retrying` means what it says.
        let began = inner.clock.now_ms();
        inner.store(move |s| s.make_all_due(began)).await?;
        let mut report = drain_pass(inner, Some(began)).await?;
        // Items another drain holds are in flight: wait for them, so the
        // report is the queue's state after the call, not only what this
        // pass happened to send. Done only when one snapshot shows nothing
        // leased and nothing due: when another drain settles an item, the
        // next of its session becomes due, and checking only for leases
        // could stop in between with that item still pending.
        let deadline = tokio::time::Instant::now() + policy::DIRECT_CALL_DEADLINE;
        let mut progressed = true;
        loop {
            let (leased, due) = self.leased_and_due(began).await?;
            if (!leased && !due) || tokio::time::Instant::now() >= deadline {
                break;
            }
            if due && !leased && !progressed {
                // Due, but the last pass could send nothing (offline or
                // closing): nobody else will either.
                break;
            }
            if !due || !progressed {
                // Our own drains notify on every settled item; another
                // process's do not, so also look again after a short while.
                let wait = tokio::time::timeout(policy::FLUSH_POLL, inner.settled.notified());
                let _ = tokio::time::timeout_at(deadline, wait).await;
            }
            let more = drain_pass(inner, Some(began)).await?;
            report.delivered += more.delivered;
            report.retrying += more.retrying;
            report.dead += more.dead;
            report.dropped += more.dropped;
            progressed = more.delivered + more.retrying + more.dead + more.dropped > 0;
        }
        // Whoever settled them (this pass, the background drain, another
        // engine or process), the store's counters say what happened to
        // items during the call.
        let after = inner.store(|s| s.stats()).await?;
        let during = |a: u64, b: u64| u32::try_from(a.saturating_sub(b)).unwrap_or(u32::MAX);
        report.delivered = report
            .delivered
            .max(during(after.delivered_total, before.delivered_total));
        report.dead = report.dead.max(during(after.dead_total, before.dead_total));
        report.dropped = report
            .dropped
            .max(during(after.dropped_total, before.dropped_total));
        report.pending = inner.store(|s| s.counts()).await?.pending;
        Ok(report)
    }

    /// In one snapshot: whether a pending item is leased, unexpired, to a
    /// drain that is alive (this engine's own background drain included) or
    /// whose liveness cannot be known, and whether a head is due now that
    /// was due by `due_by`. Leases of dead processes are freed first.
    async fn leased_and_due(&self, due_by: i64) -> Result<(bool, bool), Error> {
        let inner = self.inner();
        let (me, now) = (inner.holder.clone(), inner.clock.now_ms());
        inner
            .store(move |s| {
                s.free_dead_leases(&me, now)?;
                s.leased_and_due(now, due_by)
            })
            .await
    }

    /// Delivers queued work of a tuple before a new `/sod` for it. Items
    /// already in flight (leased by this or another process) are waited for,
    /// up to the direct-call deadline; items that still cannot be delivered
    /// make the start fail rather than resume the session they would end.
    async fn flush_tuple(&self, tuple: &SessionTuple) -> Result<(), Error> {
        let inner = self.inner();
        let deadline = tokio::time::Instant::now() + policy::DIRECT_CALL_DEADLINE;
        let mut attempted = false;
        loop {
            let (t, me, now) = (tuple.clone(), inner.holder.clone(), inner.clock.now_ms());
            // Items of a process that died are free at once, not in flight.
            // An end whose re-home waits for a live session of this tuple
            // (see `rehome.rs`) never ends the session this start resumes:
            // it does not hold the start back.
            let left = inner
                .store_in_turn(move |s| {
                    s.free_dead_leases(&me, now)?;
                    let mut left = Vec::new();
                    for item in s.pending_for_tuple(&t)? {
                        let state = s.rehome_state(&item.local_id)?;
                        if super::rehome::waits_for(&item, state.as_ref()).is_none() {
                            left.push(item);
                        }
                    }
                    Ok(left)
                })
                .await?;
            if left.is_empty() {
                return Ok(());
            }
            let now = inner.clock.now_ms();
            let in_flight = left
                .iter()
                .any(|i| i.lease_holder.is_some() && i.lease_until_ms.is_some_and(|u| u > now));
            if !in_flight {
                if attempted {
                    return Err(not_flushed(left.len()));
                }
                attempted = true;
                self.sync().await?;
                continue;
            }
            // Our own drain notifies on every settled item; another process's
            // does not, so also look again after a short while.
            let wait = tokio::time::timeout(policy::FLUSH_POLL, inner.settled.notified());
            if tokio::time::timeout_at(deadline, wait).await.is_err() {
                return Err(not_flushed(left.len()));
            }
        }
    }

    /// Items in the queue (`None` = all states), oldest first.
    pub async fn queue_items(&self, state: Option<ItemState>) -> Result<Vec<QueueItem>, Error> {
        self.inner().store(move |s| s.list(state)).await
    }

    /// Queue counts.
    pub async fn queue_counts(&self) -> Result<QueueCounts, Error> {
        self.inner().store(|s| s.counts()).await
    }

    /// Moves a dead item back to pending and wakes the drain.
    pub async fn retry_dead(&self, local_id: &str) -> Result<(), Error> {
        let (id, now) = (local_id.to_owned(), self.inner().clock.now_ms());
        self.inner().store(move |s| s.retry_dead(&id, now)).await?;
        self.wake();
        Ok(())
    }

    /// Deletes a queue item for good.
    pub async fn drop_item(&self, local_id: &str) -> Result<(), Error> {
        let id = local_id.to_owned();
        self.inner().store(move |s| s.drop_item(&id)).await
    }
}

/// The tuple of a cached session, or the empty tuple of a session this store
/// never cached (queued items carry it; see `Store::pending_for_tuple`).
pub(crate) fn tuple_or_unknown(cached: Option<CachedSession>) -> SessionTuple {
    cached.map_or_else(SessionTuple::unknown, |c| c.tuple)
}

fn not_flushed(n: usize) -> Error {
    Error::Offline {
        message: format!(
            "{n} queued item(s) for this agent/venture/repo/track are not delivered yet; \
             starting a session now would resume the session they end. Retry when online \
             (or inspect them with the queue commands)."
        ),
    }
}
