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

On loops that can watch an fd the package's driver (``_fastasync``) does not
use a callback at all (SDK threads write a socket the loop watches); the gate
covers the callback path that remains for other loops.
"""

import atexit
import ctypes
from typing import Any, List

from ._native import crane_context as _gen

#: The continuation callbacks routed through the gate; kept referenced (the
#: library holds their addresses).
_ROUTED: List[Any] = []
_lib = _gen._UniffiLib
_callback_type = _gen._UNIFFI_RUST_FUTURE_CONTINUATION_CALLBACK
_lib.crane_context_set_continuation.argtypes = (_callback_type,)
_lib.crane_context_set_continuation.restype = None
_lib.crane_context_close_continuations.argtypes = ()
_lib.crane_context_close_continuations.restype = None
_lib.crane_context_continuations_in_flight.argtypes = ()
_lib.crane_context_continuations_in_flight.restype = ctypes.c_uint64

#: The library's gated continuation, as the callback type ``ffi_poll`` takes.
GATED: Any = ctypes.cast(_lib.crane_context_continuation, _callback_type)


def route(callback: Any) -> Any:
    """Makes ``callback`` (a continuation callback) the one the gate forwards to; returns the gated callback to hand ``ffi_poll`` instead."""
    _ROUTED.append(callback)
    _lib.crane_context_set_continuation(callback)
    return GATED


def in_flight() -> int:
    """How many continuations are inside Python right now."""
    return int(_lib.crane_context_continuations_in_flight())


# uniffi's own driver reads this global at every poll; the package's faster
# driver (``_fastasync``) routes its own callback later, replacing this one.
_gen._uniffi_continuation_callback = route(_gen._uniffi_continuation_callback)
atexit.register(_lib.crane_context_close_continuations)
