//! The reliability engine: what makes an agent crash-safe and offline-safe.
//!
//! [`Crane`] joins the typed [`Client`] with the durable [`Store`]: every
//! `/update` and `/eod` is written to the SQLite queue with its idempotency
//! key *before* the first attempt (so a crash at any point leaves it there,
//! to be resent with the same key), then sent at once; a transient failure
//! leaves it queued and the call returns `Queued` instead of an error. One
//! background drain delivers queued items oldest first, in order within each
//! session, when the server comes back (a `/health` probe notices), when the
//! engine starts, and on [`Crane::sync`]. Sessions started through the engine
//! return a [`SessionHandle`] that heartbeats on the server's schedule.
//!
//! Background work runs on the tokio runtime that calls [`Crane::open`]; it is
//! owned by the engine and stopped by [`Crane::shutdown`] or on drop.

mod api;
mod background;
mod beat_scheduler;
mod cache_writer;
mod clock;
mod deliver;
mod events;
mod heartbeat;
mod reads;
mod rehome;
mod session;
mod start_blocks;
mod v2_writes;
mod ventures;
mod why;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use deliver::{EndOutcome, SyncReport, UpdateOutcome};
pub use events::{Event, EventListener, NoopListener};
pub use reads::Fresh;
pub use rehome::REHOME_META_KEY;
pub use session::SessionHandle;
pub use v2_writes::{CheckpointOutcome, NoteOutcome};
pub use why::WaitReason;

use crate::config::ClientConfig;
use crate::connectivity::Connectivity;
use crate::generation::GenerationState;
use crate::retry::RetryPolicy;
use crate::store::{QueueLimits, Store, StoreError};
use crate::{Client, Error};

/// Configuration of a [`Crane`] engine.
#[derive(Clone)]
pub struct CraneConfig {
    /// The HTTP client's configuration.
    pub client: ClientConfig,
    /// The queue/cache file; `None` = `$CRANE_HOME/crane.db` or the platform data dir.
    pub store_path: Option<PathBuf>,
    /// Caps of the offline queue.
    pub queue_limits: QueueLimits,
    /// Largest random amount a heartbeat is sent early (spreads agents out).
    pub heartbeat_jitter: Duration,
    /// Queue items delivered in parallel (different sessions only).
    pub drain_concurrency: usize,
    /// Retry policy of direct `/update` and `/eod` calls before they are left
    /// to the queue. Kept short: the queue is the long-term retry.
    pub direct_retry: RetryPolicy,
    /// Receives background events.
    pub listener: Arc<dyn EventListener>,
    /// Wall-clock source (tests use [`Clock::tokio`]).
    pub clock: Clock,
    /// How long a queue item leased to this engine stays its own if this
    /// process's liveness cannot be known (see [`crate::store::Liveness`]);
    /// while the process is alive and its liveness lock is held, other
    /// processes respect the lease, and once it dies they take it at once.
    pub lease: Duration,
    /// Re-home a queued handoff whose session ended or was abandoned without
    /// it (default `true`): deliver it in a new session of the same
    /// agent/venture/repo/track whose `meta` names the original session (see
    /// ARCHITECTURE.md, *Re-homing*). `false`: such an item is dead, with the
    /// reason.
    pub rehome_abandoned: bool,
    /// First delay before a queue item that failed transiently is tried
    /// again; doubled per failed attempt, with full jitter, up to
    /// `queue_retry_max`. A server's `Retry-After` is a floor under it.
    pub queue_retry_base: Duration,
    /// Cap of a queue item's retry delay.
    pub queue_retry_max: Duration,
}

impl std::fmt::Debug for CraneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CraneConfig")
            .field("client", &self.client)
            .field("store_path", &self.store_path)
            .field("queue_limits", &self.queue_limits)
            .field("heartbeat_jitter", &self.heartbeat_jitter)
            .field("drain_concurrency", &self.drain_concurrency)
            .field("lease", &self.lease)
            .field("rehome_abandoned", &self.rehome_abandoned)
            .field("queue_retry_base", &self.queue_retry_base)
            .field("queue_retry_max", &self.queue_retry_max)
            .finish_non_exhaustive()
    }
}

impl CraneConfig {
    /// Defaults around a client configuration.
    pub fn new(client: ClientConfig) -> Self {
        Self {
            client,
            store_path: None,
            queue_limits: QueueLimits::default(),
            heartbeat_jitter: crate::policy::HEARTBEAT_JITTER,
            drain_concurrency: crate::policy::DRAIN_CONCURRENCY,
            direct_retry: RetryPolicy {
                max_attempts: 3,
                deadline: crate::policy::DIRECT_CALL_DEADLINE,
                ..RetryPolicy::default()
            },
            listener: Arc::new(NoopListener),
            clock: Clock::system(),
            lease: crate::policy::LEASE,
            rehome_abandoned: true,
            queue_retry_base: crate::policy::QUEUE_RETRY_BASE,
            queue_retry_max: crate::policy::QUEUE_RETRY_MAX,
        }
    }

    /// Uses this queue/cache file.
    pub fn store_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.store_path = Some(path.into());
        self
    }

    /// Sends events to this listener.
    pub fn listener(mut self, listener: Arc<dyn EventListener>) -> Self {
        self.listener = listener;
        self
    }

    /// Turns re-homing of handoffs whose session ended without them on
    /// (the default) or off (see [`CraneConfig::rehome_abandoned`]).
    pub fn rehome_abandoned(mut self, on: bool) -> Self {
        self.rehome_abandoned = on;
        self
    }
}

/// Shared state of the engine and its handles.
pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) queue_client: Client,
    pub(crate) store: Arc<Store>,
    pub(crate) listener: Arc<dyn EventListener>,
    pub(crate) clock: Clock,
    /// The holder id of this engine's leases (its owner's id).
    pub(crate) holder: String,
    /// Holds the liveness lock for the engine's whole life (see `store::owner`).
    _owner: crate::store::Owner,
    pub(crate) drain_wake: Notify,
    /// Set by [`Crane::close`]: no new deliveries start.
    pub(crate) closing: std::sync::atomic::AtomicBool,
    /// Notified whenever a queue item is settled (delivered, rescheduled, dead).
    pub(crate) settled: Notify,
    pub(crate) clock_jumps: watch::Sender<u64>,
    /// Every live session's next heartbeat (one scheduler task for all).
    pub(crate) heartbeats: Arc<beat_scheduler::Heartbeats>,
    /// Cache writes off the callers' path (see `cache_writer.rs`).
    pub(crate) cache_writer: cache_writer::CacheWriter,
    /// One copy per venture of the `/sos` blocks its handles keep (see `start_blocks.rs`).
    pub(crate) start_blocks: start_blocks::SharedBlocks,
    /// One store trip at a time for session starts (see [`Inner::store_in_turn`]).
    pub(crate) start_turns: tokio::sync::Semaphore,
    pub(crate) config: CraneConfig,
}

/// Aborts the background tasks when the last [`Crane`] clone goes away.
struct TaskGuard(Mutex<Vec<JoinHandle<()>>>);

impl TaskGuard {
    fn abort_all(&self) {
        if let Ok(mut tasks) = self.0.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl Inner {
    /// Runs a store operation off the async threads.
    pub(crate) async fn store<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(r) => r.map_err(Error::from),
            Err(e) => Err(Error::Store {
                message: format!("store task failed: {e}"),
            }),
        }
    }

    /// [`Inner::store`] for the store trips of session starts (and the
    /// venture list they read), one at a time per engine. The store has one
    /// connection, so the trips could not overlap anyway; waiting for the
    /// turn here rather than inside the blocking pool keeps a burst of
    /// concurrent starts from starting one blocking thread each just to wait
    /// for the connection (each thread with its stack and a malloc arena:
    /// 30 threads inside item 5's window added ~500 bytes per session at
    /// 2,000 sessions, BENCHMARKS.md change 24).
    pub(crate) async fn store_in_turn<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        // The semaphore is never closed; were it, the trip goes ahead alone.
        let _turn = self.start_turns.acquire().await.ok();
        self.store(f).await
    }

    pub(crate) fn emit(&self, event: Event) {
        self.listener.on_event(event);
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::QueueFull { .. } => Error::QueueFull {
                message: e.to_string(),
            },
            StoreError::EndPending {
                ref session_id,
                ref refused_hash,
                ..
            } => Error::HandoffConflict {
                session_id: session_id.clone(),
                local_hash: refused_hash.clone(),
                server_hash: None,
                stored: None,
                message: e.to_string(),
            },
            other => Error::Store {
                message: other.to_string(),
            },
        }
    }
}

/// The crash-safe, offline-safe Crane Context engine. Cheap to clone.
#[derive(Clone)]
pub struct Crane {
    inner: Arc<Inner>,
    tasks: Arc<TaskGuard>,
}

impl std::fmt::Debug for Crane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crane")
            .field("url", &self.inner.config.client.base_url.as_str())
            .field("store", &self.inner.store.path())
            .finish()
    }
}

impl Crane {
    /// Opens the store, builds the clients and starts the background drain,
    /// connectivity probe and clock watchdog on the current tokio runtime.
    /// Pending items found in the queue start draining at once.
    pub async fn open(config: CraneConfig) -> Result<Self, Error> {
        let path = config.store_path.clone();
        let limits = config.queue_limits;
        let store = tokio::task::spawn_blocking(move || {
            let store = match path {
                Some(p) => Store::open(&p, limits),
                None => Store::open_default(limits),
            }?;
            let owner = crate::store::Owner::claim(store.path());
            if let Err(e) = store.sweep_dead_owners() {
                tracing::debug!(error = %e, "could not sweep dead owners' lock files");
            }
            Ok::<_, StoreError>((store, owner))
        })
        .await
        .map_err(|e| Error::Store {
            message: format!("store open task failed: {e}"),
        })??;
        let (store, owner) = store;
        let store = Arc::new(store);
        let connectivity = Connectivity::new();
        // Both clients share what is known of the server's generation, and
        // remember it in the store (see `crate::generation`).
        let generation = Arc::new(GenerationState::new(config.client.protocol));
        generation.set_memory(Arc::clone(&store) as Arc<dyn crate::generation::GenerationMemory>);
        let client = Client::with_shared(
            config.client.clone().retry(config.direct_retry.clone()),
            connectivity.clone(),
            Arc::clone(&generation),
        )?;
        let queue_client = Client::with_shared(
            config.client.clone().retry(RetryPolicy::none()),
            connectivity,
            generation,
        )?;
        let inner = Arc::new(Inner {
            client,
            queue_client,
            store,
            listener: Arc::clone(&config.listener),
            clock: config.clock.clone(),
            holder: owner.id().to_owned(),
            _owner: owner,
            drain_wake: Notify::new(),
            settled: Notify::new(),
            closing: std::sync::atomic::AtomicBool::new(false),
            clock_jumps: watch::Sender::new(0),
            heartbeats: Arc::default(),
            cache_writer: cache_writer::CacheWriter::new(),
            start_blocks: start_blocks::SharedBlocks::default(),
            start_turns: tokio::sync::Semaphore::new(1),
            config,
        });
        let tasks = Arc::new(TaskGuard(Mutex::new(background::spawn_all(&inner))));
        Ok(Self { inner, tasks })
    }

    /// The typed client (its writes use the engine's short direct retry policy).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The local store (queue and cache).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Wakes the background drain (e.g. after the host knows the network is back).
    pub fn wake(&self) {
        self.inner.drain_wake.notify_one();
    }

    /// Stops background tasks at once. Heartbeats of live handles stop with
    /// their handles. A delivery cut off here keeps its lease while this
    /// engine lives (other processes take it once the engine is dropped or
    /// the process exits); prefer [`Crane::close`] before a process exits.
    pub fn shutdown(&self) {
        self.tasks.abort_all();
    }

    /// Waits, up to `timeout`, until no queue item is held by a delivery of
    /// this engine (woken by each settled item; other processes' deliveries
    /// are not waited for). Returns the local ids still held at the end.
    pub async fn settle(&self, timeout: Duration) -> Result<Vec<String>, Error> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let holder = inner.holder.clone();
            let held = inner.store(move |s| s.held_by(&holder)).await?;
            if held.is_empty() {
                return Ok(held);
            }
            let wait = tokio::time::timeout(crate::policy::FLUSH_POLL, inner.settled.notified());
            if tokio::time::timeout_at(deadline, wait).await.is_err() {
                return Ok(held);
            }
        }
    }

    /// Closes gracefully: starts no new delivery, waits (up to
    /// [`crate::policy::CLOSE_GRACE`]) for deliveries in flight to settle,
    /// releases any item this process still holds so another process can
    /// send it at once, then stops the background tasks.
    pub async fn close(&self) -> Result<(), Error> {
        let inner = &self.inner;
        inner
            .closing
            .store(true, std::sync::atomic::Ordering::Release);
        let held = self.settle(crate::policy::CLOSE_GRACE).await?;
        if !held.is_empty() {
            let (holder, now) = (inner.holder.clone(), inner.clock.now_ms());
            inner
                .store(move |s| {
                    for id in held {
                        s.release(&id, &holder, now, "released at close", None)?;
                    }
                    Ok(())
                })
                .await?;
        }
        // Cache writes still queued (the last heartbeat's schedule) land
        // before the writer stops.
        inner.cache_writer.flush(crate::policy::CLOSE_GRACE).await;
        self.tasks.abort_all();
        Ok(())
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }
}
