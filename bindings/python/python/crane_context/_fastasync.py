"""One event-loop round trip per awaited SDK call instead of two.

uniffi's generated coroutine drives a Rust future by polling it: each poll
hands Rust a callback, Rust calls it with "ready" or "wake me", and the
generated callback always resumes the coroutine through
``loop.call_soon_threadsafe`` — a write to the loop's self-pipe and one more
turn of the loop. For an SDK call that is two turns: the first poll finds
the work in flight (the callback comes later, from one of the SDK's
threads: a real wake-up, needed), the second finds it done and Rust calls
the callback *at once, on the loop's own thread, inside the poll* — and
that answer too went through the self-pipe and a loop turn (about a fifth
of an asyncio heartbeat's cost over loopback, see BENCHMARKS.md item 10).

This module replaces the generated driver (``_uniffi_rust_call_async``,
which every generated ``async`` method looks up when it is called) by the
same loop with one difference: a callback that arrives on the loop's
thread completes its future directly (``set_result`` from the loop's thread
is what ``call_soon_threadsafe`` would have done one turn later). A
callback from any other thread goes through ``call_soon_threadsafe`` as
before. Cancellation and error handling are the generated driver's: the Rust
future is freed in ``finally``, errors are lifted by the generated
converter.

Where the loop can watch an fd (``loop.add_reader``: every selector loop
on Unix), the SDK's threads do not call into Python at all: the call is
polled through the library's ``crane_context_fd_poll`` with its own C
continuation (``src/ffi/wakefd.rs``), which records the answer in the
loop's channel and writes one byte to a socket the loop watches; the
loop's reader takes the answers and completes the futures on the loop's
thread. The answer given inside a poll comes back as the poll's return
value. No GIL hand-over to an SDK thread, no ``call_soon_threadsafe``, and
nothing for the exit gate to wait for. A loop that cannot watch an fd (or
a library without the channel) uses the callback path above.

It relies on names private to uniffi's generated module; :func:`install`
checks they are there and leaves the generated driver in place otherwise
(slower, still correct), and ``tests/test_fast_paths.py`` fails if it was not
installed, so a uniffi upgrade that renames them is noticed.
"""

import asyncio
import ctypes
import itertools
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _exitgate

_REQUIRED = (
    "_UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK",
    "_UNIFFI_RUST_FUTURE_POLL_READY",
    "_uniffi_rust_call_with_error",
    "_uniffi_get_event_loop",
    "_uniffi_rust_call_async",
)

#: Whether :func:`install` replaced the generated driver.
installed = False

#: Whether awaited calls complete through the loop's fd (see above) where the loop allows it.
fd_path = False

#: Completions taken from a loop's channel so far (for tests).
fd_completions = 0


class _Channel:
    """One event loop's channel in the library: its id, fd and the futures waiting on it."""

    __slots__ = ("id", "fd", "waiting", "handles", "__weakref__")

    def __init__(self, ident: int, fd: int) -> None:
        self.id = ident
        self.fd = fd
        self.waiting: Dict[int, "asyncio.Future[int]"] = {}
        self.handles = itertools.count(1)


_lib: Any = None


def _native_lib() -> Any:
    """The native library as ctypes sees it, with ``crane_context_fd_channels`` declared (for tests)."""
    _lib.crane_context_fd_channels.argtypes, _lib.crane_context_fd_channels.restype = (), ctypes.c_uint64
    return _lib


def _fd_functions(native: Any) -> Optional[Tuple[Any, Any, Any, Any]]:
    """The library's channel functions (open, close, poll, take) with their ctypes signatures, or ``None``."""
    global _lib
    lib = _lib = native._UniffiLib
    try:
        fopen, fclose = lib.crane_context_fd_open, lib.crane_context_fd_close
        fpoll, ftake = lib.crane_context_fd_poll, lib.crane_context_fd_take
    except AttributeError:
        return None
    fopen.argtypes, fopen.restype = (), ctypes.c_int64
    fclose.argtypes, fclose.restype = (ctypes.c_uint32,), None
    fpoll.argtypes, fpoll.restype = (ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint64), ctypes.c_int8
    ftake.argtypes, ftake.restype = (ctypes.c_uint32,), ctypes.c_uint64
    return fopen, fclose, fpoll, ftake

def install(native: Any) -> bool:
    """Replaces ``native._uniffi_rust_call_async`` (the generated module) by the driver below; ``False`` if it cannot."""
    global installed, fd_path
    if installed:
        return True
    if not all(hasattr(native, name) for name in _REQUIRED):
        return False

    ready = native._UNIFFI_RUST_FUTURE_POLL_READY
    call_with_error = native._uniffi_rust_call_with_error
    get_loop = native._uniffi_get_event_loop
    # handle -> (loop, future, the loop's thread id); dict operations are atomic under the GIL.
    waiting: Dict[int, Tuple[asyncio.AbstractEventLoop, "asyncio.Future[int]", int]] = {}
    handles = itertools.count(1)

    def resume(future: "asyncio.Future[int]", poll_code: int) -> None:
        if not future.cancelled():
            future.set_result(poll_code)

    @native._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK  # type: ignore[untyped-decorator]
    def continuation(handle: int, poll_code: int) -> None:
        loop, future, loop_thread = waiting.pop(handle)
        if threading.get_ident() == loop_thread:
            resume(future, poll_code)  # inside the poll, on the loop's thread: no turn of the loop needed
        else:
            loop.call_soon_threadsafe(resume, future, poll_code)

    async def callback_call_async(
        rust_future: Any,
        ffi_poll: Callable[..., None],
        ffi_complete: Callable[..., Any],
        ffi_free: Callable[[Any], None],
        lift_func: Callable[[Any], Any],
        error_ffi_converter: Any,
    ) -> Any:
        try:
            loop = get_loop()
            thread = threading.get_ident()
            while True:
                future: "asyncio.Future[int]" = loop.create_future()
                handle = next(handles)
                waiting[handle] = (loop, future, thread)
                ffi_poll(rust_future, gated, handle)
                # Returns at once when the callback already completed it.
                if await future == ready:
                    break
            return lift_func(call_with_error(error_ffi_converter, ffi_complete, rust_future))
        finally:
            ffi_free(rust_future)

    # Through the exit gate (see _exitgate): no SDK thread is inside this
    # callback when the interpreter finalizes. `route` keeps it referenced.
    gated = _exitgate.route(continuation)
    native._fast_continuation = continuation

    fns = _fd_functions(native)
    if fns is None:
        native._uniffi_rust_call_async = callback_call_async
        installed = True
        return True
    fopen, fclose, fpoll, ftake = fns
    # loop -> its channel, or None when the loop cannot watch an fd.
    channels: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Optional[_Channel]]" = weakref.WeakKeyDictionary()
    # id(the generated poll function) -> (it, its address)
    poll_addresses: Dict[int, Tuple[Any, int]] = {}
    # The loop of the previous call and its channel, as one tuple so that a
    # thread reads both in one step (loops may run in several threads).
    last: List[Tuple[Any, Optional[_Channel]]] = [(None, None)]
    opening = threading.Lock()

    def drain(ch: _Channel) -> None:
        global fd_completions
        waiting = ch.waiting
        while True:
            entry = ftake(ch.id)
            if not entry:
                return
            future = waiting.pop((entry >> 8) & 0xFFFFFFFF, None)
            if future is not None and not future.done():
                fd_completions += 1
                future.set_result(entry & 0xFF)
            if not entry >> 62:
                return

    def channel_of(loop: asyncio.AbstractEventLoop) -> Optional[_Channel]:
        cached = last[0]
        if cached[0] is loop:
            return cached[1]
        with opening:
            ch = channels[loop] if loop in channels else open_channel(loop)
        last[0] = (loop, ch)
        return ch

    def open_channel(loop: asyncio.AbstractEventLoop) -> Optional[_Channel]:
        """The loop's channel, watched by the loop; ``None`` (remembered) when the loop cannot watch an fd."""
        ch: Optional[_Channel] = None
        opened = fopen()
        if opened >= 0:
            ch = _Channel(opened >> 32, opened & 0xFFFFFFFF)
            try:
                loop.add_reader(ch.fd, drain, ch)
            except (NotImplementedError, RuntimeError, ValueError, OSError):
                fclose(ch.id)
                ch = None
            else:
                # The fd dies with the loop (a closed loop's selector no longer watches it).
                weakref.finalize(loop, fclose, ch.id)
        channels[loop] = ch
        return ch

    async def rust_call_async(
        rust_future: Any,
        ffi_poll: Callable[..., None],
        ffi_complete: Callable[..., Any],
        ffi_free: Callable[[Any], None],
        lift_func: Callable[[Any], Any],
        error_ffi_converter: Any,
    ) -> Any:
        loop = get_loop()
        ch = channel_of(loop)
        if ch is None:
            return await callback_call_async(
                rust_future, ffi_poll, ffi_complete, ffi_free, lift_func, error_ffi_converter
            )
        try:
            known = poll_addresses.get(id(ffi_poll))  # ctypes functions are not hashable
            if known is None or known[0] is not ffi_poll:
                known = poll_addresses[id(ffi_poll)] = (ffi_poll, ctypes.cast(ffi_poll, ctypes.c_void_p).value or 0)  # type: ignore[arg-type]
            address = known[1]
            base = ch.id << 32
            while True:
                handle = next(ch.handles) & 0xFFFFFFFF or 1
                code = fpoll(address, rust_future, base | handle)
                if code < 0:
                    # The answer comes through the channel, read on this loop's thread only
                    # after this task yields: registering now is not late.
                    future: "asyncio.Future[int]" = loop.create_future()
                    ch.waiting[handle] = future
                    try:
                        code = await future
                    finally:
                        ch.waiting.pop(handle, None)
                if code == ready:
                    break
            return lift_func(call_with_error(error_ffi_converter, ffi_complete, rust_future))
        finally:
            ffi_free(rust_future)

    native._uniffi_rust_call_async = rust_call_async
    fd_path = True
    installed = True
    return True
