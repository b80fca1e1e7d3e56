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

It relies on names private to uniffi's generated module; :func:`install`
checks they are there and leaves the generated driver in place otherwise
(slower, still correct), and ``tests/test_asyncio.py`` fails if it was not
installed, so a uniffi upgrade that renames them is noticed.
"""

import asyncio
import itertools
import threading
from typing import Any, Callable, Dict, Tuple

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

def install(native: Any) -> bool:
    """Replaces ``native._uniffi_rust_call_async`` (the generated module) by the driver below; ``False`` if it cannot."""
    global installed
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

    async def rust_call_async(
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
    native._uniffi_rust_call_async = rust_call_async
    installed = True
    return True
