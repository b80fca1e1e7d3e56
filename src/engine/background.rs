//! The engine's three background tasks.
//!
//! - **Drain**: leases due queue items (heads of their sessions only, so order
//!   within a session holds) and delivers them concurrently across sessions.
//!   It sleeps until the next item is due, the network returns, or someone
//!   enqueues — never polling while offline, so an offline machine burns no CPU.
//! - **Probe**: while offline, asks `GET /health` with jittered exponential
//!   backoff; any answer flips the shared state online and wakes the drain.
//! - **Watchdog**: compares wall and monotonic time; a jump (machine sleep,
//!   clock step) wakes every heartbeat to re-check its schedule.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::task::JoinHandle;

use super::deliver::{deliver, settle_batch, Delivery, SyncReport};
use super::events::Event;
use super::Inner;
use crate::connectivity::State;
use crate::policy;
use crate::retry::full_jitter;
use crate::store::QueueItem;
use crate::Error;

pub(crate) fn spawn_all(inner: &Arc<Inner>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(drain_loop(Arc::downgrade(inner))),
        tokio::spawn(probe_loop(Arc::downgrade(inner))),
        tokio::spawn(watchdog_loop(Arc::downgrade(inner))),
        tokio::spawn(super::cache_writer::writer_loop(Arc::downgrade(inner))),
    ]
}

/// Leases and delivers due items until none is due. Returns what happened.
/// With `due_by`, only items that were due by then (see
/// [`Store::lease_due_by`](crate::store::Store::lease_due_by)).
pub(crate) async fn drain_pass(
    inner: &Arc<Inner>,
    due_by: Option<i64>,
) -> Result<SyncReport, Error> {
    let mut report = SyncReport::default();
    loop {
        let round = drain_round(inner, due_by).await?;
        report.delivered += round.delivered;
        report.retrying += round.retrying;
        report.dead += round.dead;
        report.dropped += round.dropped;
        // Settling an item can make the next item of its session a head, due
        // now: go round again while anything was settled for good.
        if round.delivered + round.dead + round.dropped == 0 {
            break;
        }
    }
    report.pending = inner.store(|s| s.counts()).await?.pending;
    Ok(report)
}

/// One pipelined round, until no item is due: a new batch is leased while
/// the previous one is still being delivered, deliveries run
/// `drain_concurrency` at a time without waiting for a batch's slowest item,
/// and finished items are settled in groups (one store transaction each)
/// while other deliveries are in flight — so the server never waits for the
/// store, nor the store for the server. Order within a session holds: only
/// a session's head item is leased, and the next one becomes the head only
/// when the head is settled.
async fn drain_round(inner: &Arc<Inner>, due_by: Option<i64>) -> Result<SyncReport, Error> {
    // Owned handles, not borrows: the stream's closures must not carry
    // lifetimes into the spawned drain task's `Send` bound.
    let failure = Arc::new(FirstError::default());
    let state = (Arc::clone(inner), Arc::clone(&failure));
    let batches = stream::unfold(state, |(inner, failure)| async move {
        let items = lease_batch(&inner, &failure, due_by).await?;
        Some((stream::iter(items), (inner, failure)))
    });
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let delivering = Arc::clone(inner);
    let deliveries = async move {
        let concurrency = delivering.config.drain_concurrency.max(1);
        let outcomes = batches
            .flatten()
            .map(move |item| deliver_item(Arc::clone(&delivering), item))
            .buffer_unordered(concurrency);
        let mut outcomes = std::pin::pin!(outcomes);
        while let Some(outcome) = outcomes.next().await {
            if done_tx.send(outcome).is_err() {
                break;
            }
        }
    };
    let settler = async {
        let mut tally = SyncReport::default();
        // A group is whatever finishes within a short linger of its first
        // item (up to a batch): each store commit rewrites the same hot
        // pages, so fewer, larger commits cost far less per item, and an
        // item only waits a few milliseconds longer to be settled.
        while let Some(first) = done_rx.recv().await {
            let mut group = vec![first];
            let until = tokio::time::Instant::now() + policy::DRAIN_SETTLE_LINGER;
            while group.len() < policy::DRAIN_BATCH {
                match tokio::time::timeout_at(until, done_rx.recv()).await {
                    Ok(Some(outcome)) => group.push(outcome),
                    Ok(None) | Err(_) => break,
                }
            }
            match settle_batch(inner, group).await {
                Ok(settled) => {
                    for d in settled {
                        match d {
                            Delivery::Done(_) => tally.delivered += 1,
                            Delivery::Transient(_) | Delivery::Waiting(_) => tally.retrying += 1,
                            Delivery::Permanent(_) => tally.dead += 1,
                            Delivery::Obsolete(_) => tally.dropped += 1,
                        }
                    }
                }
                Err(e) => {
                    // Items left leased are retried, with the same idempotency
                    // keys, once this engine ends (or their lease expires):
                    // nothing is lost.
                    failure.set(e);
                    break;
                }
            }
        }
        tally
    };
    let ((), tally) = tokio::join!(deliveries, settler);
    match failure.take() {
        Some(e) => Err(e),
        None => Ok(tally),
    }
}

/// Leases the next batch of due heads; `None` when nothing is due, the
/// engine is offline or closing, or the round already failed.
async fn lease_batch(
    inner: &Arc<Inner>,
    failure: &FirstError,
    due_by: Option<i64>,
) -> Option<Vec<QueueItem>> {
    if failure.is_set()
        || !inner.client.connectivity().is_online()
        || inner.closing.load(Ordering::Acquire)
    {
        return None;
    }
    let (holder, now) = (inner.holder.clone(), inner.clock.now_ms());
    let due_by = due_by.unwrap_or(now);
    let lease = i64::try_from(inner.config.lease.as_millis()).unwrap_or(i64::MAX);
    match inner
        .store(move |s| s.lease_due_by(&holder, lease, now, due_by, policy::DRAIN_BATCH))
        .await
    {
        Ok(items) if !items.is_empty() => Some(items),
        Ok(_) => None,
        Err(e) => {
            failure.set(e);
            None
        }
    }
}

async fn deliver_item(inner: Arc<Inner>, item: QueueItem) -> (QueueItem, Delivery) {
    let d = deliver(&inner, &inner.queue_client, &item).await;
    (item, d)
}

/// The first error of a drain round (it stops leasing and settling).
#[derive(Default)]
struct FirstError(std::sync::Mutex<Option<Error>>);

impl FirstError {
    fn set(&self, e: Error) {
        let mut f = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get_or_insert(e);
    }

    fn is_set(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    fn take(&self) -> Option<Error> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

async fn drain_loop(weak: std::sync::Weak<Inner>) {
    let mut online_rx = match weak.upgrade() {
        Some(i) => i.client.connectivity().subscribe(),
        None => return,
    };
    loop {
        let Some(inner) = weak.upgrade() else { return };
        // Offline, nothing can be sent and the probe wakes us when the server
        // returns: skip the pass and its queue scans, which every offline
        // enqueue would otherwise trigger (each costs a walk of the queue).
        let next_due = if inner.client.connectivity().is_online() {
            if let Err(e) = drain_pass(&inner, None).await {
                tracing::warn!(error = %e, "queue drain failed");
            }
            inner.store(|s| s.next_due_at_ms()).await.ok().flatten()
        } else {
            None
        };
        let online = inner.client.connectivity().is_online();
        // Other processes may queue items in the same file without waking
        // us, so an idle online drain still looks again now and then.
        let wait = match (online, next_due) {
            (true, Some(at)) => Some(
                Duration::from_millis(u64::try_from(at - inner.clock.now_ms()).unwrap_or(0))
                    .min(policy::DRAIN_IDLE_RECHECK),
            ),
            (true, None) => Some(policy::DRAIN_IDLE_RECHECK),
            (false, _) => None,
        };
        let wake = async {
            inner.drain_wake.notified().await;
        };
        let timer = async {
            match wait {
                Some(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
                None => std::future::pending::<()>().await,
            }
        };
        let changed = online_rx.changed();
        tokio::select! {
            _ = wake => {}
            _ = timer => {}
            r = changed => if r.is_err() { return },
        }
    }
}

async fn probe_loop(weak: std::sync::Weak<Inner>) {
    let mut rx = match weak.upgrade() {
        Some(i) => i.client.connectivity().subscribe(),
        None => return,
    };
    loop {
        let state = rx.borrow_and_update().clone();
        match state {
            State::Online => {
                if rx.changed().await.is_err() {
                    return;
                }
                if let Some(inner) = weak.upgrade() {
                    let online = inner.client.connectivity().is_online();
                    inner.emit(Event::ConnectivityChanged { online });
                }
            }
            State::Offline { .. } => {
                let mut delay = policy::PROBE_BASE;
                loop {
                    tokio::time::sleep(delay / 2 + full_jitter(delay / 2)).await;
                    let Some(inner) = weak.upgrade() else { return };
                    if inner.client.connectivity().is_online() {
                        break;
                    }
                    if inner.queue_client.health().await.is_ok() {
                        inner.client.connectivity().mark_online();
                        break;
                    }
                    delay = (delay * 2).min(policy::PROBE_MAX);
                }
                if let Some(inner) = weak.upgrade() {
                    inner.emit(Event::ConnectivityChanged { online: true });
                    // Items that backed off during the outage are due now:
                    // the reason they waited is gone.
                    let now = inner.clock.now_ms();
                    if let Err(e) = inner.store(move |s| s.make_all_due(now)).await {
                        tracing::warn!(error = %e, "could not reschedule queued items");
                    }
                    inner.drain_wake.notify_one();
                }
                rx.borrow_and_update();
            }
        }
    }
}

async fn watchdog_loop(weak: std::sync::Weak<Inner>) {
    let Some(inner) = weak.upgrade() else { return };
    let mut wall = inner.clock.now_ms();
    let mut mono = tokio::time::Instant::now();
    drop(inner);
    loop {
        tokio::time::sleep(policy::WATCHDOG_TICK).await;
        let Some(inner) = weak.upgrade() else { return };
        let (w, m) = (inner.clock.now_ms(), tokio::time::Instant::now());
        let wall_ms = w - wall;
        let mono_ms = i64::try_from(m.duration_since(mono).as_millis()).unwrap_or(i64::MAX);
        if (wall_ms - mono_ms).unsigned_abs() > policy::CLOCK_JUMP_THRESHOLD.as_millis() as u64 {
            tracing::info!(
                drift_ms = wall_ms - mono_ms,
                "wall clock jumped; re-checking heartbeats"
            );
            inner.clock_jumps.send_modify(|n| *n += 1);
        }
        wall = w;
        mono = m;
    }
}
