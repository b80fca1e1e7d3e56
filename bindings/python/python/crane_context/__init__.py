"""Crane Context SDK for Python agents.

A thin re-export of the bindings that uniffi generates from the Rust library
(``crane_context::ffi``): every class, record, enum and error lives in
``crane_context._native.crane_context`` and is importable from here.

    import crane_context as cc

    client = cc.CraneClient(os.environ["CRANE_CONTEXT_URL"], os.environ["CRANE_CONTEXT_KEY"])
    session = client.start_session_blocking(cc.StartRequest(agent="a", venture="vc", repo="o/r"))
    outcome = session.end_blocking(cc.EndRequest(summary="done", payload_json='{"next": "tests"}'))

Every network method has an ``async`` form (an awaitable for asyncio) and a
``*_blocking`` form. Listener callbacks (``CraneListener.on_event``) run on the
SDK's own threads: hand events to your loop with ``loop.call_soon_threadsafe``.
"""

from ._native.crane_context import *  # noqa: F401,F403
from ._native.crane_context import __all__ as _generated_all

__all__ = list(_generated_all)
