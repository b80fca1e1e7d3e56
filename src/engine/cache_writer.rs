//! Cache writes nobody waits for: the heartbeat schedule an answer proposes.
//!
//! Why it exists: every heartbeat (and applied update) records the server's
//! proposed next heartbeat in the cache, for `crane status` and offline
//! reads. Done inline, each call waited for a hop to a blocking thread and a
//! SQLite commit after its answer had arrived — pure latency for the caller,
//! for a write whose loss is harmless (the cache is refilled by the next
//! answer). The write is now handed to one writer task per engine and the
//! call returns with the answer. One task keeps the writes in order (a later
//! answer is never overwritten by an earlier one), and everything queued
//! within [`policy::CACHE_WRITE_GATHER`] is committed together, in one
//! transaction — ten thousand live sessions beat without a commit each.
//! The same task applies the store's deferred writes (a direct delivery's
//! completion, a read's cache update: `store/later.rs`) when no call
//! through the store has applied them first. [`Crane::close`]
//! flushes what is queued (bounded), so a short-lived process such as
//! `crane heartbeat` still leaves the schedule in the cache for the next
//! command; an engine dropped without closing may lose the last few, which
//! only leaves an older schedule in the cache.
//!
//! [`Crane::close`]: super::Crane::close

use std::sync::{Mutex, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::Inner;
use crate::policy;

/// A queued cache write, or a request to report when all before it are done.
pub(crate) enum CacheMsg {
    /// The server's proposed next heartbeat for a session.
    Schedule(ScheduleWrite),
    /// Apply the store's deferred writes (see `store/later.rs`).
    ApplyLater,
    /// Answered once every message before it has been written.
    Flush(oneshot::Sender<()>),
}

/// One session's schedule as the server proposed it.
#[derive(Debug, Clone)]
pub(crate) struct ScheduleWrite {
    pub session_id: Box<str>,
    pub next_ms: i64,
    pub interval_seconds: u32,
    pub now_ms: i64,
}

/// The sending side (in the engine) and, until the task takes it, the
/// receiving side.
pub(crate) struct CacheWriter {
    tx: mpsc::UnboundedSender<CacheMsg>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<CacheMsg>>>,
}

impl CacheWriter {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }

    /// Queues a schedule write; returns at once.
    pub(crate) fn schedule(&self, write: ScheduleWrite) {
        let _ = self.tx.send(CacheMsg::Schedule(write));
    }

    /// Asks for the store's deferred writes (a direct delivery's completion,
    /// a read's cache update) to be applied soon; returns at once.
    pub(crate) fn apply_later(&self) {
        let _ = self.tx.send(CacheMsg::ApplyLater);
    }

    /// Waits, up to `timeout`, until everything queued so far is written.
    pub(crate) async fn flush(&self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(CacheMsg::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(timeout, rx).await;
        }
    }
}

/// The writer task: writes queued schedules in order, in batches.
pub(crate) async fn writer_loop(weak: Weak<Inner>) {
    let rx = weak
        .upgrade()
        .and_then(|inner| inner.cache_writer.rx.lock().ok().and_then(|mut r| r.take()));
    let Some(mut rx) = rx else { return };
    while let Some(first) = rx.recv().await {
        let mut writes = Vec::new();
        let mut flushes = Vec::new();
        let mut apply = false;
        let mut take = |m: CacheMsg| match m {
            CacheMsg::Schedule(w) => writes.push(w),
            CacheMsg::ApplyLater => apply = true,
            CacheMsg::Flush(done) => flushes.push(done),
        };
        // Only schedules gather: a deferred store write (a direct
        // delivery's completion, a read's cache update) is applied at once,
        // so that the next call's transaction — which must apply it first —
        // does not carry it on that call's critical path.
        let gather = matches!(first, CacheMsg::Schedule(_));
        take(first);
        if gather {
            // Gather for a moment (until a flush is asked for): a burst of
            // heartbeats then commits once.
            let until = tokio::time::Instant::now() + policy::CACHE_WRITE_GATHER;
            while let Ok(Some(m)) = tokio::time::timeout_at(until, rx.recv()).await {
                let flush = matches!(m, CacheMsg::Flush(_));
                take(m);
                if flush {
                    break;
                }
            }
        }
        while let Ok(m) = rx.try_recv() {
            take(m);
        }
        if !writes.is_empty() {
            let Some(inner) = weak.upgrade() else { return };
            let _ = inner
                .store(move |s| {
                    s.set_heartbeat_schedules(
                        writes
                            .iter()
                            .map(|w| (&*w.session_id, w.next_ms, w.interval_seconds, w.now_ms)),
                    )
                })
                .await;
        } else if apply {
            // (A schedule write above applies them first anyway.)
            let Some(inner) = weak.upgrade() else { return };
            let _ = inner.store(|s| s.apply_later()).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
