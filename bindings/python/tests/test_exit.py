"""A program that awaits the SDK exits cleanly even when an SDK thread is
still inside the continuation callback as the interpreter finalizes.

The race (fixed by the exit gate, ``crane_context/_exitgate.py``): the SDK
thread that completes an ``await`` wakes the event loop from inside a
callback that holds the GIL; if it must give the GIL back before returning
and the main thread runs on to the end of the program, CPython kills the
thread when it takes the GIL again during finalization and the process
aborts. It hit a few percent of ``asyncio.run`` programs. Here the callback
is made to stay inside for a while after waking the loop (the generated
module's handle map is wrapped), which makes the race certain: without the
gate the program ends (or aborts) with a callback still inside.
"""

import subprocess
import sys

from conftest import KEY

PROGRAM = r"""
import asyncio, os, sys, threading, time
import crane_context
from crane_context._native import crane_context as gen

log = sys.argv[1]
main_thread = threading.get_ident()
original_remove = gen._UniffiContinuationHandleMap.remove


class StaysInside:
    # The event loop as the continuation callback sees it.
    def __init__(self, loop):
        self._loop = loop

    def call_soon_threadsafe(self, *args):
        self._loop.call_soon_threadsafe(*args)
        if threading.get_ident() != main_thread:
            with open(log, "a") as f:
                f.write("entered\n")
            time.sleep(0.3)  # GIL released: the main thread runs on meanwhile
            with open(log, "a") as f:
                f.write("returned\n")


def remove(handle):
    loop, future = original_remove(handle)
    return StaysInside(loop), future


gen._UniffiContinuationHandleMap.remove = remove


async def main():
    async with crane_context.AsyncClient(os.environ["CRANE_CONTEXT_URL"], os.environ["CRANE_CONTEXT_KEY"]) as client:
        print((await client.health()).status)


asyncio.run(main())
print("finished")
"""


def test_exit_waits_for_sdk_threads_inside_callbacks(emulator, tmp_path):
    log = tmp_path / "callbacks.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "CRANE_HOME": str(tmp_path / "home"),
        "CRANE_CONTEXT_URL": emulator.url,
        "CRANE_CONTEXT_KEY": KEY,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(log)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout.splitlines()[-1] == "finished", done.stdout
    lines = log.read_text().splitlines()
    # At least one await was completed from an SDK thread, and every
    # callback that entered Python returned before the process ended.
    assert lines.count("entered") >= 1, lines
    assert lines.count("entered") == lines.count("returned"), lines


def test_exit_gate_is_installed_and_idle():
    import crane_context
    from crane_context import _exitgate
    from crane_context._native import crane_context as gen

    assert crane_context.Client is not None
    lib = gen._UniffiLib
    assert gen._uniffi_continuation_callback is not _exitgate._ORIGINAL
    assert lib.crane_context_continuations_in_flight() == 0
