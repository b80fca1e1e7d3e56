//! Completing the Python bindings' awaited calls without the SDK's threads
//! entering the interpreter: a readiness fd per event loop.
//!
//! Why: uniffi completes an `await` by calling the host's continuation
//! callback on whichever SDK thread woke the call's future. In Python that
//! callback takes the GIL, runs Python code on the SDK thread and wakes the
//! event loop through `call_soon_threadsafe` (its self-pipe) — a GIL hand-over
//! and a second wake-up per call, and the reason for the exit gate
//! ([`super::continuation`]).
//!
//! Here the continuation is this module's own C function: called from an SDK
//! thread it records `(handle, poll code)` in the loop's channel and, if the
//! channel was not already signalled, writes one byte to a socket pair whose
//! read end the loop watches (`loop.add_reader`). The loop's reader then takes
//! the recorded entries ([`crane_context_fd_take`]) and completes the
//! awaiting futures on its own thread. No SDK thread ever takes the GIL, so
//! nothing of this path can be inside Python when the interpreter finalizes.
//!
//! The answer uniffi gives *inside* a poll (the future is already done: the
//! second poll of every call) never touches the channel:
//! [`crane_context_fd_poll`] polls on the caller's thread and returns that
//! answer directly, so the Python side needs no callback at all for it.
//!
//! Unix only (a `UnixStream` pair); elsewhere [`crane_context_fd_open`]
//! fails and the package keeps the callback path.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::continuation::Continuation;

/// uniffi's `rust_future_poll_*` scaffolding: the future's handle, the
/// continuation callback and the callback data.
type PollFn = extern "C" fn(u64, Continuation, u64);

/// Bit set in a [`crane_context_fd_take`] answer when more entries remain.
const MORE: u64 = 1 << 62;

struct Channel {
    #[cfg(unix)]
    tx: std::os::unix::net::UnixStream,
    #[cfg(unix)]
    rx: std::os::unix::net::UnixStream,
    /// `handle << 8 | poll code`, in arrival order.
    ready: Vec<u64>,
    /// A byte was written and not yet read back.
    signalled: bool,
}

static CHANNELS: Mutex<Option<HashMap<u32, Channel>>> = Mutex::new(None);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

thread_local! {
    /// The callback data of the poll this thread is inside, if any.
    static POLLING: Cell<Option<u64>> = const { Cell::new(None) };
    /// The poll code given inside that poll.
    static INLINE: Cell<Option<i8>> = const { Cell::new(None) };
}

fn channels() -> MutexGuard<'static, Option<HashMap<u32, Channel>>> {
    CHANNELS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Opens a channel for one event loop. Returns `id << 32 | fd`, the fd to
/// watch for reading, or -1 when no channel can be made (the package then
/// keeps the callback path).
#[no_mangle]
pub extern "C" fn crane_context_fd_open() -> i64 {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let Ok((tx, rx)) = std::os::unix::net::UnixStream::pair() else {
            return -1;
        };
        if tx.set_nonblocking(true).is_err() || rx.set_nonblocking(true).is_err() {
            return -1;
        }
        let fd = rx.as_raw_fd();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let channel = Channel {
            tx,
            rx,
            ready: Vec::new(),
            signalled: false,
        };
        channels()
            .get_or_insert_with(HashMap::new)
            .insert(id, channel);
        (i64::from(id) << 32) | i64::from(fd)
    }
    #[cfg(not(unix))]
    {
        -1
    }
}

/// Closes a channel and its fds (the loop must have stopped watching it).
/// Entries recorded for it later are dropped. Idempotent.
#[no_mangle]
pub extern "C" fn crane_context_fd_close(channel: u32) {
    let removed = channels().as_mut().and_then(|m| m.remove(&channel));
    drop(removed);
}

/// The continuation [`crane_context_fd_poll`] gives uniffi. The callback
/// data is `channel << 32 | handle`.
extern "C" fn fd_continuation(data: u64, poll: i8) {
    if POLLING.with(Cell::get) == Some(data) {
        INLINE.with(|i| i.set(Some(poll)));
        return;
    }
    let (channel, handle) = ((data >> 32) as u32, data & 0xFFFF_FFFF);
    let mut guard = channels();
    let Some(ch) = guard.as_mut().and_then(|m| m.get_mut(&channel)) else {
        return;
    };
    ch.ready.push((handle << 8) | u64::from(poll as u8));
    if !ch.signalled {
        ch.signalled = true;
        #[cfg(unix)]
        {
            use std::io::Write;
            // Cannot fail for want of room: at most one byte is unread.
            let _ = (&ch.tx).write(&[1]);
        }
    }
}

/// Polls a uniffi future with the fd continuation: returns the poll code if
/// uniffi answered inside the poll, -1 if the answer will come through the
/// channel (`data` is `channel << 32 | handle`).
///
/// `poll` must be the address of one of this library's
/// `ffi_crane_context_rust_future_poll_*` functions (the Python package
/// passes the one the generated code would have called); `future` is the
/// handle the generated code got from the async export.
#[no_mangle]
pub extern "C" fn crane_context_fd_poll(poll: usize, future: u64, data: u64) -> i8 {
    // SAFETY: `poll` is the address of a uniffi `rust_future_poll_*`
    // function of this library (contract above), whose ABI is `PollFn`.
    let poll = unsafe { std::mem::transmute::<usize, PollFn>(poll) };
    let outer = POLLING.with(|p| p.replace(Some(data)));
    INLINE.with(|i| i.set(None));
    poll(future, fd_continuation, data);
    POLLING.with(|p| p.set(outer));
    INLINE.with(Cell::take).unwrap_or(-1)
}

/// Takes the oldest entry recorded for `channel`: `handle << 8 | poll code`
/// (the code as an unsigned byte), with bit 62 set when more remain; 0 when
/// there is none. Reading the last one re-arms the fd.
#[no_mangle]
pub extern "C" fn crane_context_fd_take(channel: u32) -> u64 {
    let mut guard = channels();
    let Some(ch) = guard.as_mut().and_then(|m| m.get_mut(&channel)) else {
        return 0;
    };
    if ch.ready.is_empty() {
        return 0;
    }
    let entry = ch.ready.remove(0);
    if !ch.ready.is_empty() {
        return entry | MORE;
    }
    if ch.signalled {
        ch.signalled = false;
        #[cfg(unix)]
        {
            use std::io::Read;
            let mut buf = [0u8; 16];
            let _ = (&ch.rx).read(&mut buf);
        }
    }
    entry
}

/// How many channels are open (for tests).
#[no_mangle]
pub extern "C" fn crane_context_fd_channels() -> u64 {
    channels()
        .as_ref()
        .map_or(0, |m| u64::try_from(m.len()).unwrap_or(u64::MAX))
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::{ErrorKind, Read};

    use super::*;

    /// What a stand-in for uniffi's poll does with the continuation.
    static MODE: Mutex<u8> = Mutex::new(0);

    /// Stands in for uniffi's `rust_future_poll_*`: answers inside the poll
    /// (mode 0), from two other threads (mode 1), or not at all (mode 2).
    extern "C" fn fake_poll(_future: u64, continuation: Continuation, data: u64) {
        match *MODE.lock().unwrap() {
            0 => continuation(data, 0),
            1 => {
                std::thread::spawn(move || continuation(data, 1))
                    .join()
                    .unwrap();
                std::thread::spawn(move || continuation(data + 1, 0))
                    .join()
                    .unwrap();
            }
            _ => {}
        }
    }

    fn poll_with(mode: u8, data: u64) -> i8 {
        *MODE.lock().unwrap() = mode;
        crane_context_fd_poll(fake_poll as *const () as usize, 7, data)
    }

    /// Reads what is waiting on the channel's fd (how many bytes).
    fn unread(channel: u32) -> usize {
        let guard = channels();
        let ch = guard.as_ref().unwrap().get(&channel).unwrap();
        let mut buf = [0u8; 16];
        match (&ch.rx).read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn answers_inside_the_poll_and_from_other_threads_take_their_own_paths() {
        let opened = crane_context_fd_open();
        assert!(opened >= 0);
        let channel = (opened >> 32) as u32;
        let base = u64::from(channel) << 32;

        // Inside the poll: the poll's return value, nothing on the channel.
        assert_eq!(poll_with(0, base | 1), 0);
        assert_eq!(crane_context_fd_take(channel), 0);
        assert_eq!(unread(channel), 0);

        // From other threads: recorded in order, the fd written once.
        assert_eq!(poll_with(1, base | 2), -1);
        assert_eq!(crane_context_fd_take(channel), (2 << 8 | 1) | MORE);
        assert_eq!(crane_context_fd_take(channel), 3 << 8);
        assert_eq!(crane_context_fd_take(channel), 0);
        assert_eq!(unread(channel), 0, "the last take read the byte back");

        // Re-armed: the next answer writes the fd again.
        assert_eq!(poll_with(1, base | 4), -1);
        assert_eq!(unread(channel), 1);

        // Not answered yet: -1, and nothing recorded.
        assert_eq!(poll_with(2, base | 9), -1);

        // A closed channel drops later answers and takes nothing.
        crane_context_fd_close(channel);
        assert_eq!(poll_with(1, base | 5), -1);
        assert_eq!(crane_context_fd_take(channel), 0);
        crane_context_fd_close(channel);
    }
}
