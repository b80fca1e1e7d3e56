//! Named limits and timings, each with the reason for its value.
//!
//! Every number the SDK's reliability depends on lives here, so it can be
//! reviewed in one place and tuned through [`crate::RetryPolicy`] and the
//! client builder where callers need to.

use std::time::Duration;

/// The server abandons a session whose last heartbeat is older than this.
pub const STALE_AFTER: Duration = Duration::from_secs(45 * 60);

/// The server keeps idempotency keys this long; later retries need confirmation.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Connect timeout: loopback and healthy networks connect in milliseconds; a
/// longer wait only delays the switch to offline mode.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-attempt timeout: the largest request (an 800 KiB handoff) fits easily.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts per write call before giving up (or queueing).
pub const MAX_ATTEMPTS: u32 = 5;

/// First backoff delay; doubled per attempt, with full jitter.
pub const BASE_DELAY: Duration = Duration::from_millis(200);

/// Backoff cap, so a long outage does not push retries out indefinitely.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// Overall deadline of one call including retries: an agent must never hang.
pub const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// Largest `Retry-After` honoured; a longer one is capped, not obeyed blindly.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Heartbeats retry briefly: the next scheduled beat is the real retry.
pub const HEARTBEAT_MAX_ATTEMPTS: u32 = 3;

/// Heartbeat call deadline, kept well below any heartbeat interval.
pub const HEARTBEAT_DEADLINE: Duration = Duration::from_secs(20);

/// Longest error-body excerpt kept in an error message.
pub const ERROR_BODY_EXCERPT: usize = 200;
