//! One session's heartbeat: its schedule, its shared state, one beat.
//!
//! The schedule comes from the server's own pair of timestamps; a handle and
//! the engine's beat scheduler (`beat_scheduler.rs`) share it through a
//! [`Beat`]. When a beat falls due the scheduler runs [`beat_once`] as a
//! short task: it beats, reschedules from the answer, and hands the next due
//! time back to the scheduler. Failures retry with capped exponential backoff
//! and are reported every time; a 404/409 means the session is gone (ended or
//! abandoned elsewhere): it is reported lost and no longer scheduled. A live
//! session costs no task and no timer of its own — only a `Beat` and an entry
//! in the scheduler's queue — so a process can keep thousands alive.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;

use super::events::Event;
use super::Inner;
use crate::policy;
use crate::Error;

/// When the next heartbeat is due, on both clocks.
///
/// The delay is taken from the server's own pair of timestamps (its "now" and
/// its `next_heartbeat_at`), so a skewed local clock cannot shift it. It is
/// then pinned to the monotonic clock (for sleeping) and to the local wall
/// clock (to notice a machine sleep, during which the monotonic clock stops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// The server's proposed time, as it said it.
    pub server_next: Timestamp,
    /// Monotonic deadline.
    pub mono_due: tokio::time::Instant,
    /// Local wall-clock deadline.
    pub wall_due: Timestamp,
}

impl Schedule {
    /// A schedule from the server's "now" and "next" (jitter applied).
    pub(crate) fn from_server(
        inner: &Inner,
        server_now: Timestamp,
        server_next: Timestamp,
    ) -> Self {
        let raw =
            Duration::try_from(server_next.duration_since(server_now)).unwrap_or(Duration::ZERO);
        Self::after(inner, server_next, raw)
    }

    /// A schedule `raw` from now (capped, minus jitter).
    pub(crate) fn after(inner: &Inner, server_next: Timestamp, raw: Duration) -> Self {
        let raw = raw.min(policy::MAX_HEARTBEAT_DELAY);
        let max_jitter = inner.config.heartbeat_jitter.min(raw / 10);
        let delay = if max_jitter.is_zero() {
            raw
        } else {
            let ms = max_jitter.as_millis() as u64;
            raw - Duration::from_millis(rand::rng().random_range(0..=ms))
        };
        let span = jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::ZERO);
        let now = inner.clock.now();
        Self {
            server_next,
            mono_due: tokio::time::Instant::now() + delay,
            wall_due: now.saturating_add(span).unwrap_or(now),
        }
    }
}

/// Delay after `failures` consecutive heartbeat failures.
pub(crate) fn retry_delay(failures: u32) -> Duration {
    policy::HEARTBEAT_RETRY_BASE
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(policy::HEARTBEAT_RETRY_MAX)
}

/// What a handle and the scheduler share about one session.
pub(crate) struct Beat {
    session_id: Box<str>,
    state: Mutex<BeatState>,
}

/// The mutable part of a [`Beat`].
#[derive(Debug, Clone, Copy)]
struct BeatState {
    schedule: Schedule,
    /// Bumped on every reschedule: queue entries of older generations are
    /// stale and skipped.
    generation: u64,
    /// Consecutive failed beats.
    failures: u32,
    /// A beat is being sent (at most one at a time).
    in_flight: bool,
    /// Stopped by the handle, or the session was lost: never beat again.
    stopped: bool,
}

impl BeatState {
    /// Takes a fresh server schedule, clearing failures: the due time to
    /// queue under a new generation, unless stopped.
    fn adopt(&mut self, schedule: Schedule) -> Option<Due> {
        self.schedule = schedule;
        self.failures = 0;
        self.generation += 1;
        (!self.stopped).then_some(Due {
            at: schedule.mono_due,
            generation: self.generation,
        })
    }
}

/// A due time handed to the scheduler: beat `generation` at `at`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Due {
    pub at: tokio::time::Instant,
    pub generation: u64,
}

impl Beat {
    /// Shared state for one session, starting from its first schedule;
    /// `beating: false` for a handle without automatic heartbeats.
    pub(crate) fn new(session_id: &str, first: Schedule, beating: bool) -> Arc<Self> {
        Arc::new(Self {
            session_id: session_id.into(),
            state: Mutex::new(BeatState {
                schedule: first,
                generation: 0,
                failures: 0,
                in_flight: false,
                stopped: !beating,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BeatState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session id.
    pub(crate) fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The current schedule.
    pub(crate) fn schedule(&self) -> Schedule {
        self.lock().schedule
    }

    /// The first due time (for registration with the scheduler).
    pub(crate) fn due(&self) -> Option<Due> {
        let st = self.lock();
        (!st.stopped).then_some(Due {
            at: st.schedule.mono_due,
            generation: st.generation,
        })
    }

    /// Whether beats are still scheduled.
    pub(crate) fn is_beating(&self) -> bool {
        !self.lock().stopped
    }

    /// Never beat again (pending queue entries become stale).
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
    }

    /// Adopts a fresh server schedule (from `/update` or a manual beat):
    /// clears any retry and returns the new due time, unless stopped.
    pub(crate) fn reschedule(&self, schedule: Schedule) -> Option<Due> {
        self.lock().adopt(schedule)
    }

    /// Claims the beat for `generation`: false if that entry is stale, a
    /// beat is already in flight, or the beats were stopped.
    pub(crate) fn claim(&self, generation: u64) -> bool {
        let mut st = self.lock();
        if st.stopped || st.in_flight || st.generation != generation {
            return false;
        }
        st.in_flight = true;
        true
    }

    /// Like [`Beat::claim`] for a beat forced by a wall-clock jump: any
    /// generation, but only if the beat is overdue by the wall clock.
    pub(crate) fn claim_if_overdue(&self, wall_now: Timestamp) -> bool {
        let mut st = self.lock();
        if st.stopped || st.in_flight || wall_now < st.schedule.wall_due {
            return false;
        }
        st.in_flight = true;
        true
    }

    /// Ends an in-flight beat that succeeded; returns the next due time.
    fn succeeded(&self, schedule: Schedule) -> Option<Due> {
        let mut st = self.lock();
        st.in_flight = false;
        st.adopt(schedule)
    }

    /// Ends an in-flight beat that failed; returns the attempt number and
    /// the retry's due time.
    fn failed(&self) -> (u32, Option<Due>) {
        let mut st = self.lock();
        st.in_flight = false;
        st.failures = st.failures.saturating_add(1);
        st.generation += 1;
        let due = (!st.stopped).then_some(Due {
            at: tokio::time::Instant::now() + retry_delay(st.failures),
            generation: st.generation,
        });
        (st.failures, due)
    }

    /// Ends an in-flight beat that found the session gone.
    fn lost(&self) {
        let mut st = self.lock();
        st.in_flight = false;
        st.stopped = true;
    }
}

/// Records in the cache what the server just said about a session's
/// schedule: when it wants the next heartbeat (best effort: the cache only
/// serves offline reads and `crane status`). Queued for the engine's cache
/// writer: the caller does not wait for the commit (see `cache_writer.rs`).
pub(crate) fn record_schedule(
    inner: &Inner,
    session_id: &str,
    next: jiff::Timestamp,
    interval_seconds: u32,
) {
    inner
        .cache_writer
        .schedule(super::cache_writer::ScheduleWrite {
            session_id: session_id.into(),
            next_ms: next.as_millisecond(),
            interval_seconds,
            now_ms: inner.clock.now_ms(),
        });
}

/// Forgets a session the server says is gone (ended or abandoned), so
/// nothing local still calls it current (best effort).
pub(crate) async fn forget_lost(inner: &Arc<Inner>, session_id: &str) {
    let sid = session_id.to_owned();
    let _ = inner.store(move |s| s.clear_current_session(&sid)).await;
}

/// Whether a heartbeat's error means the session is gone for good.
pub(crate) fn is_lost(e: &Error) -> bool {
    matches!(e, Error::SessionNotActive { .. } | Error::NotFound { .. })
}

/// Sends one claimed beat and hands the next due time to the scheduler.
pub(crate) async fn beat_once(inner: Arc<Inner>, beat: Arc<Beat>) {
    let session_id = beat.session_id();
    match inner.client.heartbeat(session_id).await {
        Ok(r) => {
            let next = r.next_heartbeat_at;
            let due = beat.succeeded(Schedule::from_server(&inner, r.last_heartbeat_at, next));
            if let Some(due) = due {
                inner.heartbeats.push(&beat, due);
            }
            let interval = r.heartbeat_interval_seconds;
            record_schedule(&inner, session_id, next, interval);
            inner.emit(Event::HeartbeatSent {
                session_id: session_id.to_owned(),
                next_heartbeat_at: next,
                interval_seconds: interval,
            });
        }
        Err(e) if is_lost(&e) => {
            beat.lost();
            forget_lost(&inner, session_id).await;
            inner.emit(Event::SessionLost {
                session_id: session_id.to_owned(),
                error: e,
            });
        }
        Err(e) => {
            let (attempt, due) = beat.failed();
            if let Some(due) = due {
                inner.heartbeats.push(&beat, due);
            }
            tracing::warn!(session_id, error = %e, failures = attempt, "heartbeat failed");
            inner.emit(Event::HeartbeatFailed {
                session_id: session_id.to_owned(),
                error: e,
                attempt,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_and_cap() {
        assert_eq!(retry_delay(1), Duration::from_secs(5));
        assert_eq!(retry_delay(2), Duration::from_secs(10));
        assert_eq!(retry_delay(4), Duration::from_secs(40));
        assert_eq!(retry_delay(5), Duration::from_secs(60));
        assert_eq!(retry_delay(50), Duration::from_secs(60));
    }
}
