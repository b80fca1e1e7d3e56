//! Wall-clock time the engine can be tested with.
//!
//! The server speaks wall-clock timestamps (`next_heartbeat_at`), while
//! sleeping uses tokio's monotonic clock. [`Clock::system`] reads the real
//! wall clock; [`Clock::tokio`] derives wall time from tokio's clock, so
//! tests with paused time advance both together, and [`Clock::jump`] moves
//! wall time alone, as a machine sleep or an NTP step does.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// A source of wall-clock time.
#[derive(Debug, Clone)]
pub struct Clock {
    kind: Kind,
    offset_ms: Arc<AtomicI64>,
}

#[derive(Debug, Clone)]
enum Kind {
    System,
    Tokio {
        base_wall: Timestamp,
        base_mono: tokio::time::Instant,
    },
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Self {
        Self {
            kind: Kind::System,
            offset_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Wall time that follows tokio's clock (pausable in tests).
    pub fn tokio() -> Self {
        Self {
            kind: Kind::Tokio {
                base_wall: Timestamp::now(),
                base_mono: tokio::time::Instant::now(),
            },
            offset_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The current wall time.
    pub fn now(&self) -> Timestamp {
        let base = match &self.kind {
            Kind::System => Timestamp::now(),
            Kind::Tokio {
                base_wall,
                base_mono,
            } => {
                let elapsed =
                    SignedDuration::try_from(base_mono.elapsed()).unwrap_or(SignedDuration::MAX);
                base_wall.saturating_add(elapsed).unwrap_or(*base_wall)
            }
        };
        let off = SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed));
        base.saturating_add(off).unwrap_or(base)
    }

    /// The current wall time in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now().as_millisecond()
    }

    /// Moves wall time forward without moving the monotonic clock.
    pub fn jump(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Time from now until `at` (zero if it has passed).
    pub fn until(&self, at: Timestamp) -> Duration {
        let d = at.duration_since(self.now());
        Duration::try_from(d).unwrap_or(Duration::ZERO)
    }
}
