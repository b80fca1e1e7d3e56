//! Named limits and timings, each with the reason for its value.
//!
//! Every number the SDK's reliability depends on lives here, so it can be
//! reviewed in one place and tuned through [`crate::RetryPolicy`] and the
//! client builder where callers need to.

use std::time::Duration;

/// The server abandons a session whose last heartbeat is older than this.
pub const STALE_AFTER: Duration = Duration::from_secs(45 * 60);

/// A keeper leaves after this long with no `crane` command for its session
/// and no change to its checkout's git HEAD, index or top folder: longer than
/// a long build, test run or review without either, short enough that an
/// agent that exited without `crane eod` releases its session within about
/// two hours (this plus [`STALE_AFTER`]).
pub const KEEPER_IDLE_LIMIT: Duration = Duration::from_secs(90 * 60);

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

/// Largest response body read (bytes); reading stops past it with
/// [`crate::Error::ResponseTooLarge`], so a hostile or broken server cannot
/// fill memory. The largest legitimate answers are a `/sod` with docs (the
/// emulator's: ~3 KB; the v2 docs audit fixture: 21 KB) and a record holding
/// an 800 KiB payload as an escaped JSON string (measured at ~1.6 MiB
/// worst case, `tests/security.rs`); 16 MiB leaves ten times that, and a
/// `/handoffs` page of many maximal handoffs past it is served by a smaller
/// `limit`.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Most pages one walk of `GET /handoffs` follows (`crane handoffs list
/// --all`, [`crate::Client::handoff_pages`], the bindings' pager): at 100 a
/// page, 100,000 handoffs, far past any real history; past it the walk
/// stops with [`crate::Error::PagingStopped`] instead of running forever.
pub const MAX_PAGES_PER_WALK: u32 = 1_000;

/// Longest error-body excerpt kept in an error message.
pub const ERROR_BODY_EXCERPT: usize = 200;

/// Largest early shift of a heartbeat, so agents that started together drift apart.
pub const HEARTBEAT_JITTER: Duration = Duration::from_secs(15);

/// Longest a heartbeat waits whatever the server proposes: a third of the
/// 45-minute staleness window, so two missed beats still leave margin.
pub const MAX_HEARTBEAT_DELAY: Duration = Duration::from_secs(15 * 60);

/// First retry delay of a failed heartbeat; doubled per failure.
pub const HEARTBEAT_RETRY_BASE: Duration = Duration::from_secs(5);

/// Cap of the heartbeat retry delay: a recovering network is noticed within a minute.
pub const HEARTBEAT_RETRY_MAX: Duration = Duration::from_secs(60);

/// Deadline of a direct `/update` or `/eod` before it is left to the queue:
/// the agent gets an answer (delivered or queued) quickly.
pub const DIRECT_CALL_DEADLINE: Duration = Duration::from_secs(15);

/// How long the drain waits for more finished deliveries before settling a
/// group of them in one store transaction.
pub const DRAIN_SETTLE_LINGER: Duration = Duration::from_millis(20);

/// How long the cache writer gathers heartbeat schedules before committing
/// them: a burst of beats commits once. (A direct delivery's completion and
/// a read's cache update are applied at once instead, so the next call's
/// transaction does not carry them: see `engine/cache_writer.rs`.)
pub const CACHE_WRITE_GATHER: Duration = Duration::from_millis(20);

/// Queue items delivered in parallel (each from a different session).
pub const DRAIN_CONCURRENCY: usize = 16;

/// Items leased per drain round.
pub const DRAIN_BATCH: usize = 64;

/// Longest a leased item belongs to one process whose liveness cannot be
/// known. A holder whose liveness lock is free (it died) loses its leases at
/// once (see `store::owner`); this expiry is only the fallback.
pub const LEASE: Duration = Duration::from_secs(120);

/// First delay before a failed queue item is retried; doubled per attempt.
pub const QUEUE_RETRY_BASE: Duration = Duration::from_secs(1);

/// Cap of a queue item's retry delay.
pub const QUEUE_RETRY_MAX: Duration = Duration::from_secs(300);

/// First delay of the offline `/health` probe; doubled per failure, with jitter.
pub const PROBE_BASE: Duration = Duration::from_secs(1);

/// Cap of the probe delay: the return of the network is noticed within this.
pub const PROBE_MAX: Duration = Duration::from_secs(30);

/// Clock watchdog period: a machine sleep or clock step is noticed within this.
pub const WATCHDOG_TICK: Duration = Duration::from_secs(30);

/// Wall-vs-monotonic drift that counts as a clock jump.
pub const CLOCK_JUMP_THRESHOLD: Duration = Duration::from_secs(5);

/// While a new session waits for queued work of its slot held by another
/// process, how often it looks again.
pub const FLUSH_POLL: Duration = Duration::from_millis(200);

/// How often an idle drain looks for items queued by other processes sharing
/// the file (one cheap indexed query).
pub const DRAIN_IDLE_RECHECK: Duration = Duration::from_secs(10);

/// How long [`crate::engine::Crane::close`] waits for deliveries in flight.
pub const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Largest request body the server accepts, in bytes (1 MiB, by
/// `Content-Length`; over it: 413). Checked before anything is queued, so a
/// request the server would refuse never enters the queue.
pub const MAX_REQUEST_BODY_BYTES: usize = 1_048_576;

/// Deepest nesting of objects and arrays accepted in a payload or `meta`
/// (`{}` is depth 1). The SDK's own queue, the emulator and every
/// `serde_json` reader stop at 128 levels (a request body adds one); the real
/// service's V8 parser accepts deeper documents, so this refuses, before
/// anything is stored, only shapes no reader here could take back.
pub const MAX_JSON_DEPTH: usize = 100;

/// How long a generation learnt from `GET /version` is believed before it
/// is probed again (see [`crate::generation`]). A server that went away and
/// came back is probed again at once, whatever its age.
pub const GENERATION_TTL: Duration = Duration::from_secs(60 * 60);

/// How long the `GET /ventures` list cached in the store is used without
/// asking again (it is still used, however old, while the server is
/// unreachable).
pub const VENTURES_TTL: Duration = Duration::from_secs(24 * 60 * 60);
