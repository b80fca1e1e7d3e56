"""Keeps the SDK's threads out of the interpreter while it finalizes.

An ``await`` on the SDK completes when one of the SDK's threads calls the
generated module's continuation callback, which takes the GIL and wakes the
event loop. If that thread has to hand the GIL back to the main thread while
still inside the callback, and the main thread runs on to the end of the
program, CPython ends the thread with ``pthread_exit`` when it takes the GIL
again during finalization; the unwind through the Rust frames aborts the
process after the program finished correctly (exit -6/-11 in a few percent of
``asyncio.run`` programs).

So the generated module is given the library's ``crane_context_continuation``
instead of its own callback: it forwards to the original while counting the
calls in flight. At exit (``atexit`` runs before finalization) the gate is
closed: no continuation enters Python any more, and the closing call, made
through ctypes with the GIL released, waits for those in flight to return.
See ``src/ffi/continuation.rs``.
"""

import atexit
import ctypes
from typing import Any

from ._native import crane_context as _gen

#: uniffi's own continuation callback; kept referenced, the library calls it.
_ORIGINAL: Any = _gen._uniffi_continuation_callback


def _install() -> None:
    lib = _gen._UniffiLib
    callback_type = _gen._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK
    lib.crane_context_set_continuation.argtypes = (callback_type,)
    lib.crane_context_set_continuation.restype = None
    lib.crane_context_close_continuations.argtypes = ()
    lib.crane_context_close_continuations.restype = None
    lib.crane_context_continuations_in_flight.argtypes = ()
    lib.crane_context_continuations_in_flight.restype = ctypes.c_uint64
    lib.crane_context_set_continuation(_ORIGINAL)
    # `_uniffi_rust_call_async` reads this global at every poll.
    _gen._uniffi_continuation_callback = ctypes.cast(lib.crane_context_continuation, callback_type)
    atexit.register(lib.crane_context_close_continuations)


_install()
