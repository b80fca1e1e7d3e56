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
    ]
}

/// Leases and delivers due items until none is due. Returns what happened.
pub(crate) async fn drain_pass(inner: &Arc<Inner>) -> Result<SyncReport, Error> {
    let mut report = SyncReport::default();
    loop {
        if !inner.client.connectivity().is_online() || inner.closing.load(Ordering::Acquire) {
            break;
        }
        let holder = inner.holder.clone();
        let now = inner.clock.now_ms();
        let lease = policy::LEASE.as_millis() as i64;
        let items = inner
            .store(move |s| s.lease_ready(&holder, lease, now, policy::DRAIN_BATCH))
            .await?;
        if items.is_empty() {
            break;
        }
        let outcomes: Vec<(QueueItem, Delivery)> = stream::iter(items)
            .map(|item| async move {
                let d = deliver(&inner.queue_client, &item).await;
                (item, d)
            })
            .buffer_unordered(inner.config.drain_concurrency.max(1))
            .collect()
            .await;
        let mut progressed = false;
        for r in settle_batch(inner, outcomes).await? {
            match r {
                Delivery::Done(_) => {
                    report.delivered += 1;
                    progressed = true;
                }
                Delivery::Transient(_) => report.retrying += 1,
                Delivery::Permanent(_) => {
                    report.dead += 1;
                    progressed = true;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    report.pending = inner.store(|s| s.counts()).await?.pending;
    Ok(report)
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
            if let Err(e) = drain_pass(&inner).await {
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
