//! Calls a host thread drives itself, and the HTTP connections they use.
//!
//! A blocking binding call (Python's `…_blocking()`, Swift's synchronous
//! forms) runs on the host's own thread. Polled inside the SDK's shared
//! multi-thread runtime, its request still travels to a worker: hyper's
//! connection task and the socket's readiness live there, so every exchange
//! costs two cross-thread wake-ups, a quarter of a loopback call (benchmark
//! item 12: reqwest entered that way is 1.25× a client working on the calling
//! thread, 1.04× on a current-thread runtime the caller drives).
//!
//! So the bindings may run a *plain exchange* (a heartbeat, a read: calls
//! that spawn no background task) on a current-thread runtime owned by the
//! host thread, with this module's flag set for its duration. The transport
//! then sends through a client of its own for that thread: a connection made
//! on one thread's runtime is driven only while that thread is inside a
//! call, so sharing its pool with the engine's background tasks (heartbeats,
//! the drain) would stall them. Each thread's clients die with the thread,
//! and a client whose transport is gone is dropped at that thread's next
//! lookup.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

thread_local! {
    /// Whether this thread is driving a host call (see [`enter`]).
    static DRIVING: Cell<bool> = const { Cell::new(false) };
    /// This thread's clients, one per live transport.
    static CLIENTS: RefCell<Vec<(Weak<()>, reqwest::Client)>> = const { RefCell::new(Vec::new()) };
}

/// Marks the current thread as driving a host call until dropped.
#[cfg_attr(not(feature = "ffi"), allow(dead_code))]
pub(crate) struct Driving {
    was: bool,
}

impl Drop for Driving {
    fn drop(&mut self) {
        DRIVING.with(|d| d.set(self.was));
    }
}

/// Marks the current thread as driving a host call on its own runtime: the
/// transport's requests made while the returned guard lives use this
/// thread's clients.
#[cfg_attr(not(feature = "ffi"), allow(dead_code))]
pub(crate) fn enter() -> Driving {
    Driving {
        was: DRIVING.with(|d| d.replace(true)),
    }
}

/// Whether the current thread is driving a host call.
pub(crate) fn driving() -> bool {
    DRIVING.with(Cell::get)
}

/// This thread's client for the transport whose liveness token is `owner`,
/// made with `build` the first time.
pub(crate) fn client<E>(
    owner: &Arc<()>,
    build: impl FnOnce() -> Result<reqwest::Client, E>,
) -> Result<reqwest::Client, E> {
    CLIENTS.with(|clients| {
        let mut clients = clients.borrow_mut();
        clients.retain(|(o, _)| o.strong_count() > 0);
        if let Some((_, c)) = clients
            .iter()
            .find(|(o, _)| o.as_ptr() == Arc::as_ptr(owner))
        {
            return Ok(c.clone());
        }
        let c = build()?;
        clients.push((Arc::downgrade(owner), c.clone()));
        Ok(c)
    })
}
