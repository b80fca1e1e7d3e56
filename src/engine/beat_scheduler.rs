//! The heartbeat scheduler: one task and one queue for every live session.
//!
//! A task and a timer per session cost about 700 bytes each (tokio pads a
//! task to whole cache lines, and the sleeping future holds a timer entry and
//! the select state), more than everything else a session keeps. So sessions
//! do not own tasks: each live session has one entry (32 bytes) in a min-heap
//! of due times, and a single scheduler task sleeps until the earliest one,
//! pops everything due and sends those beats as short-lived tasks
//! ([`beat_once`]), which push the session's next due time when they finish.
//!
//! Entries are never removed in place: a reschedule (an `/update`, a manual
//! beat, a retry) pushes a new entry with a higher generation, and a popped
//! entry whose generation is not the session's current one is dropped, as is
//! one whose handle is gone (the entry holds only a weak reference). A
//! wall-clock jump (the watchdog's signal: the machine slept) makes the
//! scheduler beat at once every session that is overdue by the wall clock.
//!
//! The task holds the engine only weakly, so it ends when the last handle
//! and engine clone are dropped; it is not one of the engine's background
//! tasks, because live handles keep beating after the engine value is gone.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::heartbeat::{beat_once, Beat, Due};
use super::Inner;

/// The queue of due heartbeats shared by the engine, its handles and the
/// scheduler task.
#[derive(Default)]
pub(crate) struct Heartbeats {
    queue: Mutex<BinaryHeap<Entry>>,
    wake: Notify,
    started: AtomicBool,
}

/// One due beat. Ordered so that the heap's top is the earliest.
struct Entry {
    at: Instant,
    generation: u64,
    beat: Weak<Beat>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap.
        other
            .at
            .cmp(&self.at)
            .then_with(|| other.generation.cmp(&self.generation))
    }
}

impl Heartbeats {
    fn lock(&self) -> MutexGuard<'_, BinaryHeap<Entry>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Schedules a new session's beats, starting the scheduler task on the
    /// first one (on the calling tokio runtime).
    pub(crate) fn register(inner: &Arc<Inner>, beat: &Arc<Beat>) {
        let Some(due) = beat.due() else { return };
        let me = &inner.heartbeats;
        me.push(beat, due);
        if !me.started.swap(true, AtomicOrdering::AcqRel) {
            tokio::spawn(run(
                Arc::clone(me),
                Arc::downgrade(inner),
                inner.clock_jumps.subscribe(),
            ));
        }
    }

    /// Queues a beat, waking the scheduler if it is now the earliest.
    pub(crate) fn push(&self, beat: &Arc<Beat>, due: Due) {
        let earliest = {
            let mut q = self.lock();
            let earliest = q.peek().is_none_or(|top| due.at < top.at);
            q.push(Entry {
                at: due.at,
                generation: due.generation,
                beat: Arc::downgrade(beat),
            });
            earliest
        };
        if earliest {
            // Stores a permit if the scheduler is not waiting yet, so the
            // wake-up cannot fall between its peek and its wait.
            self.wake.notify_one();
        }
    }

    /// Number of queued entries (live and stale).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Sends every beat due by `now`; returns when the next one is due.
    fn fire_due(&self, inner: &Arc<Inner>, now: Instant) -> Option<Instant> {
        let mut due = Vec::new();
        let next = {
            let mut q = self.lock();
            while q.peek().is_some_and(|top| top.at <= now) {
                due.extend(q.pop());
            }
            q.peek().map(|top| top.at)
        };
        for entry in due {
            if let Some(beat) = entry.beat.upgrade() {
                if beat.claim(entry.generation) {
                    tokio::spawn(beat_once(Arc::clone(inner), beat));
                }
            }
        }
        next
    }

    /// After a wall-clock jump: sends at once every beat that is overdue by
    /// the wall clock (their queue entries become stale when they finish).
    fn fire_overdue(&self, inner: &Arc<Inner>) {
        let wall_now = inner.clock.now();
        let beats: Vec<Arc<Beat>> = self
            .lock()
            .iter()
            .filter_map(|e| e.beat.upgrade())
            .collect();
        for beat in beats {
            if beat.claim_if_overdue(wall_now) {
                tokio::spawn(beat_once(Arc::clone(inner), beat));
            }
        }
    }
}

/// The scheduler task: until the engine is gone, sleep until the earliest
/// due beat, a sooner one being queued, or a wall-clock jump.
async fn run(me: Arc<Heartbeats>, engine: Weak<Inner>, mut jumps: watch::Receiver<u64>) {
    loop {
        let next = {
            let Some(inner) = engine.upgrade() else {
                return;
            };
            me.fire_due(&inner, Instant::now())
        };
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = me.wake.notified() => {}
            changed = jumps.changed() => {
                // The sender lives in the engine: an error means it is gone.
                if changed.is_err() { return; }
                let Some(inner) = engine.upgrade() else { return };
                me.fire_overdue(&inner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_earliest_entry_is_on_top() {
        let hb = Heartbeats::default();
        let now = Instant::now();
        for (secs, generation) in [(30, 1), (10, 2), (20, 3), (10, 4)] {
            hb.lock().push(Entry {
                at: now + Duration::from_secs(secs),
                generation,
                beat: Weak::new(),
            });
        }
        assert_eq!(hb.len(), 4);
        let order: Vec<u64> =
            std::iter::from_fn(|| hb.lock().pop().map(|e| e.generation)).collect();
        assert_eq!(order, vec![2, 4, 3, 1]);
    }
}
