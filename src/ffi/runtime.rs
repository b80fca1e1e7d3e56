//! The tokio runtime the bindings own, and the two ways calls enter it.
//!
//! The engine spawns its background work (heartbeats, the queue drain, the
//! connectivity probe, the clock watchdog) on whatever runtime it is opened
//! in, so that runtime must live as long as the process and keep running
//! between host calls. uniffi's `async_runtime = "tokio"` only *enters* a
//! lazily created runtime while polling a call's future, and a sync export
//! has no runtime at all, so neither can host background tasks. Every call
//! therefore runs on one multi-thread runtime created here on first use:
//! async exports as a task on it (`run`), blocking ones polled on the
//! caller's own thread inside it (`block`), and
//! [`Crane::open`](crate::Crane::open) itself runs inside it. A blocking
//! call that is a plain exchange (a heartbeat, a read) instead runs on a
//! current-thread runtime of the calling thread's own, with that thread's
//! own connections (`block_exchange`, `host_thread.rs`): the request never
//! leaves the caller's thread, as with `http.client` or `URLSession`.
//!
//! A call whose awaitable the host cancels keeps running to completion on
//! this runtime (its result is dropped): an `end` that was already persisted
//! is never cut in half.

use std::cell::OnceCell;
use std::future::Future;
use std::sync::{mpsc, OnceLock};

use tokio::runtime::{Builder, Runtime};

use super::CraneError;

/// Worker threads of the runtime: the work is I/O-bound and light, two
/// threads keep one free while the other runs a host callback.
const WORKER_THREADS: usize = 2;

/// Name of the runtime's threads, as seen by debuggers and listeners.
pub const THREAD_NAME: &str = "crane-context-ffi";

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The process-wide runtime, created on first use.
fn runtime() -> Result<&'static Runtime, CraneError> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name(THREAD_NAME)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| CraneError::internal(format!("cannot start the SDK runtime: {e}")))
}

/// Runs `fut` on the owned runtime and awaits its result (async exports).
pub(crate) async fn run<T, F>(fut: F) -> Result<T, CraneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, crate::Error>> + Send + 'static,
{
    match runtime()?.spawn(fut).await {
        Ok(result) => result.map_err(CraneError::from),
        Err(e) => Err(CraneError::internal(format!("SDK task failed: {e}"))),
    }
}

/// Runs blocking work (e.g. waiting for host callbacks to return) on the
/// owned runtime's blocking pool and awaits it, so no worker thread blocks.
pub(crate) async fn run_blocking<F>(f: F) -> Result<(), CraneError>
where
    F: FnOnce() + Send + 'static,
{
    runtime()?
        .spawn_blocking(f)
        .await
        .map_err(|e| CraneError::internal(format!("SDK task failed: {e}")))
}

/// Runs `fut` on the owned runtime and blocks the calling thread until it is
/// done (blocking exports). Safe from any thread, including one inside
/// another tokio runtime; calling it from a listener callback blocks one of
/// the SDK's own threads, so listeners should not.
///
/// From a plain host thread (the usual case: Python's or Swift's own
/// thread), the future is polled on that thread with [`Runtime::block_on`]:
/// the runtime's workers still drive the sockets, timers and background
/// tasks, but the call itself no longer travels to a worker and its result
/// back through a channel — two thread wake-ups per call, about a third of
/// a loopback heartbeat's cost as seen from Python. From inside a tokio
/// runtime `block_on` is not allowed, so the call is handed to a worker and
/// waited for, as before.
pub(crate) fn block<T, F>(fut: F) -> Result<T, CraneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, crate::Error>> + Send + 'static,
{
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return rt.block_on(fut).map_err(CraneError::from);
    }
    let (tx, rx) = mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    match rx.recv() {
        Ok(result) => result.map_err(CraneError::from),
        Err(_) => Err(CraneError::internal("SDK task ended without a result")),
    }
}

thread_local! {
    /// This host thread's own runtime, for [`block_exchange`]; `None` when
    /// it could not be made (then calls take the shared runtime).
    static LOCAL: OnceCell<Option<Runtime>> = const { OnceCell::new() };
}

/// Like [`block`] for a *plain exchange*: a call that sends requests and
/// records their results but spawns no task (a heartbeat, a read). From a
/// plain host thread it runs on a current-thread runtime that thread owns,
/// with its requests on that thread's own connections (see
/// `host_thread.rs`), so the exchange never leaves the caller's thread.
/// Work the call hands to the store still runs on a blocking pool, and the
/// engine's background tasks stay on the shared runtime: a spawned task on
/// the host's runtime would run only while the host is inside a call, which
/// is why calls that may start one (a session start, an update or end that
/// can queue) keep to [`block`].
pub(crate) fn block_exchange<T, F>(fut: F) -> Result<T, CraneError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, crate::Error>> + Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return block(fut);
    }
    // The shared runtime exists before any exchange: the engine lives on it.
    runtime()?;
    LOCAL.with(|local| {
        let made = local.get_or_init(|| Builder::new_current_thread().enable_all().build().ok());
        match made {
            Some(rt) => {
                let _driving = crate::host_thread::enter();
                rt.block_on(fut).map_err(CraneError::from)
            }
            None => block(fut),
        }
    })
}
