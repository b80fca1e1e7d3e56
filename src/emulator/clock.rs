//! The emulator's clock: real time plus an offset that tests can move forward.
//!
//! Staleness (45 minutes), the idempotency TTL (1 hour) and every timestamp the
//! emulator writes are read from this clock, never from the system clock
//! directly. That lets a test say "an hour passes" through the control API
//! (`POST /__emulator/clock`) and observe the consequences in milliseconds,
//! without sleeping. The offset only ever grows, so the clock never runs
//! backwards within one emulator.

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

/// Real time shifted by an adjustable, monotonically growing offset.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// The current emulator time, truncated to whole milliseconds (the wire
    /// precision), so a stored timestamp and a computed one compare exactly.
    pub(crate) fn now(&self) -> Timestamp {
        let real = Timestamp::now().as_millisecond();
        let ms = real.saturating_add(self.offset_ms.load(Ordering::SeqCst));
        Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
    }

    /// Moves the clock forward by `ms` milliseconds and returns the new time.
    pub(crate) fn advance_ms(&self, ms: i64) -> Timestamp {
        self.offset_ms.fetch_add(ms.max(0), Ordering::SeqCst);
        self.now()
    }
}

/// Formats a timestamp the way the service does: ISO 8601 UTC with exactly
/// three fractional digits, e.g. `2026-11-23T11:30:19.728Z`.
pub(crate) fn format_ts(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `ts` plus a number of seconds (saturating at the end of time).
pub(crate) fn plus_seconds(ts: Timestamp, seconds: i64) -> Timestamp {
    ts.checked_add(SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MAX)
}

/// `ts` minus a number of seconds (saturating at the start of time).
pub(crate) fn minus_seconds(ts: Timestamp, seconds: i64) -> Timestamp {
    ts.checked_sub(SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MIN)
}

/// The system time equal to `ts`, for ULID generation.
pub(crate) fn system_time(ts: Timestamp) -> std::time::SystemTime {
    std::time::SystemTime::from(ts)
}

/// Every id this process mints, in order (see [`new_id`]).
static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

/// A new record id, `prefix` and a ULID of `now`, greater than every id
/// minted before. Lists are ordered newest first by `created_at` and then
/// by id; with a random ULID, two records of the same millisecond came out
/// in either order (a test replaying the recordings failed now and then).
pub(crate) fn new_id(prefix: &str, now: Timestamp) -> String {
    let at = system_time(now);
    let id = IDS
        .lock()
        .ok()
        .and_then(|mut ids| ids.generate_from_datetime(at).ok())
        .unwrap_or_else(|| ulid::Ulid::from_datetime(at));
    format!("{prefix}_{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids of one millisecond come out in the order they were minted, so
    /// "newest first" (by `created_at`, then id) is the order of creation.
    #[test]
    fn ids_of_one_millisecond_are_minted_in_order() {
        let now = Timestamp::from_millisecond(1_795_260_619_728).unwrap_or(Timestamp::UNIX_EPOCH);
        let ids: Vec<String> = (0..20).map(|_| new_id("cp", now)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with("cp_") && id.len() == 29));
    }

    #[test]
    fn formats_with_milliseconds() {
        let ts = Timestamp::from_millisecond(1_795_260_619_728).unwrap_or(Timestamp::UNIX_EPOCH);
        let text = format_ts(ts);
        assert!(text.ends_with(".728Z"), "{text}");
        assert_eq!(text.len(), "2026-11-23T11:30:19.728Z".len());
        let whole = Timestamp::from_millisecond(1_795_260_619_000).unwrap_or(Timestamp::UNIX_EPOCH);
        assert!(format_ts(whole).ends_with(".000Z"));
    }

    #[test]
    fn advance_moves_forward_only() {
        let clock = Clock::default();
        let before = clock.now();
        let after = clock.advance_ms(3_600_000);
        assert!(after.as_millisecond() - before.as_millisecond() >= 3_600_000);
        let again = clock.advance_ms(-10_000_000);
        assert!(again >= after);
    }
}
