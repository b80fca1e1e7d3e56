//! A gate in front of the Python bindings' async continuations, so that no
//! SDK thread is inside the Python interpreter when it finalizes.
//!
//! Why: an `async` export completes by calling the host's continuation
//! callback from whichever SDK thread woke the future (uniffi's design).
//! In Python that callback takes the GIL, schedules the awaiting task on its
//! event loop and returns. If the interpreter starts finalizing while an SDK
//! thread is still inside that callback (it had to give the GIL back to the
//! main thread, which then ran to the end of the program), CPython ends the
//! thread with `pthread_exit` the moment it takes the GIL again; the forced
//! unwind meets Rust frames and the process aborts ("FATAL: exception not
//! rethrown") *after* the program finished correctly — a few percent of
//! `asyncio.run(...)` programs exited with -6 or -11.
//!
//! The Python package therefore hands uniffi this module's
//! [`crane_context_continuation`] instead of its own callback: it counts
//! the calls in flight and forwards them to the Python callback registered
//! with [`crane_context_set_continuation`]. At interpreter exit (`atexit`,
//! which runs before finalization) the package calls
//! [`crane_context_close_continuations`]: from then on no continuation
//! enters Python (the loops they would wake are gone), and the call waits
//! for those in flight to return — it is made through ctypes, which
//! releases the GIL, so they can finish. Swift does not need it: its
//! continuations resume a Swift task without a global interpreter lock.

use std::cell::Cell;
use std::sync::{Condvar, Mutex, PoisonError};

/// uniffi's continuation callback ABI: the callback data and the poll code.
pub type Continuation = extern "C" fn(u64, i8);

struct Gate {
    target: Option<Continuation>,
    in_flight: usize,
    closed: bool,
}

static GATE: Mutex<Gate> = Mutex::new(Gate {
    target: None,
    in_flight: 0,
    closed: false,
});
static IDLE: Condvar = Condvar::new();

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets the host callback [`crane_context_continuation`] forwards to (the
/// Python package passes uniffi's own continuation callback at import).
#[no_mangle]
pub extern "C" fn crane_context_set_continuation(target: Continuation) {
    gate().target = Some(target);
}

/// The continuation callback the Python package gives uniffi: forwards to
/// the registered host callback unless the gate is closed, counting the
/// calls in flight.
#[no_mangle]
pub extern "C" fn crane_context_continuation(data: u64, poll: i8) {
    let target = {
        let mut g = gate();
        match g.target {
            Some(t) if !g.closed => {
                g.in_flight += 1;
                t
            }
            _ => return,
        }
    };
    let outer = INSIDE.with(|i| i.replace(true));
    target(data, poll);
    INSIDE.with(|i| i.set(outer));
    let mut g = gate();
    g.in_flight -= 1;
    if g.in_flight == 0 {
        IDLE.notify_all();
    }
}

/// Closes the gate: no continuation reaches the host after this returns,
/// and those in flight have returned (except one the calling thread itself
/// is inside, which cannot be waited for). Idempotent.
#[no_mangle]
pub extern "C" fn crane_context_close_continuations() {
    let mut g = gate();
    g.closed = true;
    let own = usize::from(INSIDE.with(Cell::get));
    while g.in_flight > own {
        g = IDLE.wait(g).unwrap_or_else(PoisonError::into_inner);
    }
}

/// How many continuations are inside the host right now (for tests).
#[no_mangle]
pub extern "C" fn crane_context_continuations_in_flight() -> u64 {
    u64::try_from(gate().in_flight).unwrap_or(u64::MAX)
}
