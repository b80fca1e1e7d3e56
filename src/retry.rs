//! The retry loop every request goes through.
//!
//! One attempt's outcome is classified once (see [`crate::transport`]) into
//! success, transient (with an optional server-requested delay) or permanent.
//! Transient failures are retried with exponential backoff and *full jitter*
//! (a uniformly random delay between zero and the capped exponential step),
//! which spreads thousands of agents that failed together. The schedule comes
//! from `backon`; `Retry-After` overrides it, capped. Every call also has an
//! overall deadline so an agent never hangs, and the loop stops early when the
//! shared connectivity state says the server is unreachable.

use std::time::Duration;

use backon::BackoffBuilder;
use rand::Rng;
use tokio::time::Instant;

use crate::policy;

/// How a call retries transient failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub max_attempts: u32,
    /// First backoff step.
    pub base_delay: Duration,
    /// Largest backoff step.
    pub max_delay: Duration,
    /// Deadline of the whole call, retries included.
    pub deadline: Duration,
    /// Largest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: policy::MAX_ATTEMPTS,
            base_delay: policy::BASE_DELAY,
            max_delay: policy::MAX_DELAY,
            deadline: policy::CALL_DEADLINE,
            max_retry_after: policy::MAX_RETRY_AFTER,
        }
    }
}

impl RetryPolicy {
    /// The brief policy of `/heartbeat`.
    pub fn heartbeat() -> Self {
        Self {
            max_attempts: policy::HEARTBEAT_MAX_ATTEMPTS,
            deadline: policy::HEARTBEAT_DEADLINE,
            ..Self::default()
        }
    }

    /// A single attempt, no retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The capped exponential steps (without jitter) between attempts.
    pub(crate) fn steps(&self) -> impl Iterator<Item = Duration> {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
    }
}

/// Full jitter: uniform in `[0, step]`.
pub(crate) fn full_jitter(step: Duration) -> Duration {
    if step.is_zero() {
        return step;
    }
    let ms = step.as_millis().min(u64::MAX as u128) as u64;
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

/// What one attempt produced, as the retry loop sees it.
pub(crate) enum Step<T, E> {
    /// Done: return this.
    Done(Result<T, E>),
    /// Worth another attempt, after at least `retry_after` when given.
    Retry {
        /// The error to return if no attempt is left.
        error: E,
        /// Server-requested delay.
        retry_after: Option<Duration>,
    },
}

/// Runs `attempt` until it is done, the attempts or the deadline run out, or
/// `give_up_early()` says further waiting is pointless (offline).
pub(crate) async fn run<T, E, F, Fut>(
    policy: &RetryPolicy,
    give_up_early: impl Fn() -> bool,
    past_deadline: impl FnOnce() -> E,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Step<T, E>>,
{
    let deadline = Instant::now() + policy.deadline;
    let mut steps = policy.steps();
    let mut n = 0u32;
    loop {
        n += 1;
        // The deadline bounds the attempt in flight too, not only the waits
        // between attempts: a silent server must not hold a call for the
        // per-request timeout when the call's documented deadline is shorter.
        let Ok(step) = tokio::time::timeout_at(deadline, attempt(n)).await else {
            return Err(past_deadline());
        };
        match step {
            Step::Done(r) => return r,
            Step::Retry { error, retry_after } => {
                let Some(step) = steps.next() else {
                    return Err(error);
                };
                if give_up_early() {
                    return Err(error);
                }
                let delay = match retry_after {
                    Some(ra) => ra.min(policy.max_retry_after),
                    None => full_jitter(step),
                };
                if Instant::now() + delay >= deadline {
                    return Err(error);
                }
                tracing::debug!(attempt = n, ?delay, "retrying after transient failure");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn steps_are_capped_and_bounded() {
        let p = RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        let s: Vec<_> = p.steps().collect();
        assert_eq!(s.len(), 7);
        assert_eq!(s[0].as_millis(), 100);
        assert_eq!(s[1].as_millis(), 200);
        assert!(s.iter().all(|d| *d <= Duration::from_millis(500)));
        for _ in 0..100 {
            assert!(full_jitter(Duration::from_millis(50)) <= Duration::from_millis(50));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_attempt_limit() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let r: Result<(), &str> = run(
            &RetryPolicy::default(),
            || false,
            || "deadline",
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Step::Retry {
                        error: "busy",
                        retry_after: Some(Duration::from_secs(2)),
                    }
                }
            },
        )
        .await;
        assert_eq!(r, Err("busy"));
        assert_eq!(calls.load(Ordering::SeqCst), policy::MAX_ATTEMPTS);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2) * (policy::MAX_ATTEMPTS - 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn caps_retry_after_and_respects_deadline() {
        let p = RetryPolicy {
            deadline: Duration::from_secs(90),
            ..RetryPolicy::default()
        };
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let r: Result<(), &str> = run(
            &p,
            || false,
            || "deadline",
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Step::Retry {
                        error: "slow down",
                        retry_after: Some(Duration::from_secs(3600)),
                    }
                }
            },
        )
        .await;
        assert!(r.is_err());
        // 3600 s is capped to 60 s; a second wait would pass the 90 s deadline.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(start.elapsed(), policy::MAX_RETRY_AFTER);
    }

    /// Issue #10 F: a silent server (an attempt that only ends with the
    /// 30 s request timeout) returned after 30 s though the call's deadline
    /// was 15 s. On the paused clock the call ends exactly at its deadline.
    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_an_attempt_in_flight() {
        let p = RetryPolicy {
            deadline: policy::DIRECT_CALL_DEADLINE,
            ..RetryPolicy::default()
        };
        let start = Instant::now();
        let r: Result<(), &str> = run(
            &p,
            || false,
            || "deadline",
            |_| async {
                tokio::time::sleep(policy::REQUEST_TIMEOUT).await;
                Step::Retry {
                    error: "timed out",
                    retry_after: None,
                }
            },
        )
        .await;
        assert_eq!(r, Err("deadline"));
        assert_eq!(start.elapsed(), policy::DIRECT_CALL_DEADLINE);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_early_when_offline() {
        let calls = AtomicU32::new(0);
        let r: Result<(), &str> = run(
            &RetryPolicy::default(),
            || true,
            || "deadline",
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Step::Retry {
                        error: "refused",
                        retry_after: None,
                    }
                }
            },
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
