//! The per-session heartbeat task.
//!
//! It sleeps until the server's `next_heartbeat_at` (minus a small random
//! jitter, capped so a bad server value cannot push it past the staleness
//! window), beats, and reschedules from the answer. `/update` answers reset
//! the schedule through the handle. Failures retry with capped exponential
//! backoff and are reported every time; a 404/409 means the session is gone
//! (ended or abandoned elsewhere): the task reports it lost and stops. After a
//! wall-clock jump (machine sleep) the watchdog wakes it to beat at once if
//! the scheduled time has passed. One tokio timer per session, no thread.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use tokio::sync::Notify;

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

/// What a handle and its heartbeat task share: the session id, the current
/// schedule, and a wake-up for when the handle replaces the schedule (after
/// an `/update` or a manual beat). One small allocation per live session: a
/// `watch` channel would cost about four times as much, and a process may
/// hold thousands of sessions.
pub(crate) struct Beat {
    session_id: Box<str>,
    schedule: Mutex<Schedule>,
    changed: Notify,
}

impl Beat {
    /// Shared state for one session, starting from its first schedule.
    pub(crate) fn new(session_id: &str, first: Schedule) -> Arc<Self> {
        Arc::new(Self {
            session_id: session_id.into(),
            schedule: Mutex::new(first),
            changed: Notify::new(),
        })
    }

    /// The current schedule.
    pub(crate) fn get(&self) -> Schedule {
        *self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the schedule and wakes the task to follow it.
    pub(crate) fn set(&self, schedule: Schedule) {
        self.replace(schedule);
        self.changed.notify_one();
    }

    /// Replaces the schedule without waking the task (the task's own beat).
    fn replace(&self, schedule: Schedule) {
        *self.schedule.lock().unwrap_or_else(PoisonError::into_inner) = schedule;
    }
}

/// Delay after `failures` consecutive heartbeat failures.
pub(crate) fn retry_delay(failures: u32) -> Duration {
    policy::HEARTBEAT_RETRY_BASE
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(policy::HEARTBEAT_RETRY_MAX)
}

/// Runs until the session is lost or the handle aborts it.
pub(crate) async fn run(inner: Arc<Inner>, beat: Arc<Beat>) {
    let mut jumps = inner.clock_jumps.subscribe();
    let mut failures = 0u32;
    let mut retry_at: Option<tokio::time::Instant> = None;
    loop {
        let current = beat.get();
        let due = retry_at.unwrap_or(current.mono_due);
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = beat.changed.notified() => {
                // A fresh server schedule (from /update) replaces any retry.
                // (A change made before this wait left a permit, so none is
                // missed.)
                retry_at = None;
                failures = 0;
                continue;
            }
            r = jumps.changed() => {
                if r.is_err() { return; }
                // The wall clock jumped (e.g. the machine slept): if the beat
                // is overdue by the wall clock, beat now; else keep waiting.
                if inner.clock.now() < current.wall_due {
                    continue;
                }
            }
        }
        let session_id = &*beat.session_id;
        // Boxed: the request's state lives on the heap only while a beat is
        // in flight, so the idle task (one per live session) stays small.
        match Box::pin(inner.client.heartbeat(session_id)).await {
            Ok(r) => {
                failures = 0;
                retry_at = None;
                let next = r.next_heartbeat_at;
                beat.replace(Schedule::from_server(&inner, r.last_heartbeat_at, next));
                let (sid, interval) = (session_id.to_owned(), r.heartbeat_interval_seconds);
                let now = inner.clock.now_ms();
                let _ = Box::pin(inner.store(move |s| {
                    s.set_heartbeat_schedule(&sid, next.as_millisecond(), interval, now)
                }))
                .await;
                inner.emit(Event::HeartbeatSent {
                    session_id: session_id.to_owned(),
                    next_heartbeat_at: next,
                    interval_seconds: interval,
                });
            }
            Err(e @ (Error::SessionNotActive { .. } | Error::NotFound { .. })) => {
                let sid = session_id.to_owned();
                let _ = Box::pin(inner.store(move |s| s.clear_current_session(&sid))).await;
                inner.emit(Event::SessionLost {
                    session_id: session_id.to_owned(),
                    error: e,
                });
                return;
            }
            Err(e) => {
                failures += 1;
                retry_at = Some(tokio::time::Instant::now() + retry_delay(failures));
                tracing::warn!(session_id, error = %e, failures, "heartbeat failed");
                inner.emit(Event::HeartbeatFailed {
                    session_id: session_id.to_owned(),
                    error: e,
                    attempt: failures,
                });
            }
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
