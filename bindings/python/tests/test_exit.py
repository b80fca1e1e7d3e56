"""A program that awaits the SDK exits cleanly even when an SDK thread is
still inside the continuation callback as the interpreter finalizes.

The race (fixed by the exit gate, ``crane_context/_exitgate.py``): the SDK
thread that completes an ``await`` wakes the event loop from inside a
callback that holds the GIL; if it must give the GIL back before returning
and the main thread runs on to the end of the program, CPython kills the
thread when it takes the GIL again during finalization and the process
aborts. It hit a few percent of ``asyncio.run`` programs. Here the callback
is made to stay inside for a while after waking the loop (the loop's
``call_soon_threadsafe`` is wrapped), which makes the race certain: without the
gate the program ends (or aborts) with a callback still inside.

Awaited calls on a loop that can watch an fd no longer enter Python from an
SDK thread at all (``_fastasync``'s fd path, ``src/ffi/wakefd.rs``); the
callback path, and so the gate, remains for loops that cannot
(``add_reader`` not implemented), which is what the program below runs on.
"""

import subprocess
import sys

from conftest import KEY

PROGRAM = r"""
import asyncio, os, sys, threading, time
import crane_context

log = sys.argv[1]
main_thread = threading.get_ident()


def stays_inside(wake):
    # The loop's own call_soon_threadsafe, as the continuation calls it.
    def call_soon_threadsafe(*args):
        wake(*args)
        if threading.get_ident() != main_thread:
            with open(log, "a") as f:
                f.write("entered\n")
            time.sleep(0.3)  # GIL released: the main thread runs on meanwhile
            with open(log, "a") as f:
                f.write("returned\n")
    return call_soon_threadsafe


async def main():
    loop = asyncio.get_running_loop()
    loop.call_soon_threadsafe = stays_inside(loop.call_soon_threadsafe)
    async with crane_context.AsyncClient(os.environ["CRANE_CONTEXT_URL"], os.environ["CRANE_CONTEXT_KEY"]) as client:
        print((await client.health()).status)


class LoopWithoutReaders(asyncio.SelectorEventLoop):
    def add_reader(self, *args):
        raise NotImplementedError  # e.g. a proactor loop: completions take the callback path


loop = LoopWithoutReaders()
asyncio.set_event_loop(loop)
loop.run_until_complete(main())
loop.close()
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
    from crane_context import _exitgate, _fastasync
    from crane_context._native import crane_context as gen

    # Both drivers hand the library its gated callback, never their own.
    assert gen._uniffi_continuation_callback is _exitgate.GATED
    assert _fastasync.installed and _exitgate._ROUTED[-1] is gen._fast_continuation
    assert _exitgate.in_flight() == 0
