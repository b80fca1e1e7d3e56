"""The per-call shortcuts of issue #13 keep the behaviour they replace: awaited
calls resume in one turn of the event loop, a handoff's payload is parsed on
first use, and timestamps parse as before."""

import asyncio
import copy
import dataclasses
import gc
import pickle
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, List

import pytest

import crane_context as cc
from crane_context import _exitgate, _fastasync, _fastbuf
from crane_context._models import parse_time

from conftest import KEY, REPO, VENTURE, make_async_client


class _Wakeups:
    """Counts the loop's ``call_soon_threadsafe`` calls while installed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.count = loop, 0
        self.real = loop.call_soon_threadsafe

    def __enter__(self) -> "_Wakeups":
        def counting(*args: Any, **kw: Any) -> Any:
            self.count += 1
            return self.real(*args, **kw)

        self.loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        del self.loop.call_soon_threadsafe  # type: ignore[misc]


class _LoopWithoutReaders(asyncio.SelectorEventLoop):
    def add_reader(self, *args: Any, **kw: Any) -> None:
        raise NotImplementedError


def test_an_awaited_call_resumes_the_loop_once_not_twice(emulator, tmp_path):
    # The callback path (a loop that cannot watch the library's fd).
    assert _fastasync.installed, "the generated driver's private names changed: see _fastasync.py"
    calls = 20

    async def main() -> int:
        async with make_async_client(emulator.url, tmp_path / "a.db") as c:
            session = await c.start_session("py-turns", VENTURE, REPO, auto_heartbeat=False)
            with _Wakeups(asyncio.get_running_loop()) as wakeups:
                for _ in range(calls):
                    beat = await session.heartbeat()
                    assert beat.session_id == session.session_id
            return wakeups.count

    loop = _LoopWithoutReaders()
    try:
        wakeups = loop.run_until_complete(main())
    finally:
        loop.close()
    # uniffi's own driver wakes the loop from the SDK's thread when the work
    # is done and again for the "ready" answer given inside the next poll.
    assert 0 < wakeups <= calls, wakeups


async def test_errors_cancellation_and_concurrency_through_the_driver(emulator, tmp_path):
    async with make_async_client(emulator.url, tmp_path / "a.db") as c:
        with pytest.raises(cc.NotFound):
            await c.doc("global", "no-such-doc")
        emulator.fault(route="/health", mode="delay", delay_ms=2000, count=1)
        with pytest.raises(asyncio.TimeoutError):  # the awaiting task is cancelled mid-call
            await asyncio.wait_for(c.health(), timeout=0.1)
        assert (await c.health()).healthy
        sessions = await asyncio.gather(*(c.start_session(f"py-drv-{i}", VENTURE, REPO, auto_heartbeat=False) for i in range(10)))
        beats = await asyncio.gather(*(s.heartbeat() for s in sessions for _ in range(3)))
        assert sorted({b.session_id for b in beats}) == sorted(s.session_id for s in sessions)


async def test_awaited_calls_complete_through_the_loops_fd_not_through_python_on_sdk_threads(emulator, tmp_path):
    assert _fastasync.fd_path, "the library's fd channel (src/ffi/wakefd.rs) was not found"
    async with make_async_client(emulator.url, tmp_path / "a.db") as c:
        session = await c.start_session("py-fd", VENTURE, REPO, auto_heartbeat=False)
        before = _fastasync.fd_completions
        with _Wakeups(asyncio.get_running_loop()) as wakeups:
            calls = 20
            for _ in range(calls):
                beat = await session.heartbeat()
                assert beat.session_id == session.session_id
            assert (await asyncio.gather(*(session.heartbeat() for _ in range(5))))[4].session_id == session.session_id
        # The calls waiting for the network were completed by the loop's
        # reader (one answered while still being polled needs no completion),
        # and no SDK thread scheduled anything on the loop.
        assert _fastasync.fd_completions > before
        assert wakeups.count == 0, wakeups.count
        assert _exitgate.in_flight() == 0


def test_a_loop_that_cannot_watch_an_fd_completes_calls_through_the_callback(emulator, tmp_path):
    async def main() -> None:
        async with make_async_client(emulator.url, tmp_path / "a.db") as c:
            session = await c.start_session("py-nofd", VENTURE, REPO, auto_heartbeat=False)
            beats = await asyncio.gather(*(session.heartbeat() for _ in range(5)))
            assert {b.session_id for b in beats} == {session.session_id}

    before = _fastasync.fd_completions
    loop = _LoopWithoutReaders()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert _fastasync.fd_completions == before


def test_loops_in_several_threads_each_get_their_own_completions(emulator, tmp_path):
    import threading

    results: List[Any] = []

    def run(i: int) -> None:
        async def main() -> None:
            async with make_async_client(emulator.url, tmp_path / f"t{i}.db") as c:
                session = await c.start_session(f"py-thread-{i}", VENTURE, REPO, auto_heartbeat=False)
                for _ in range(10):
                    beats = await asyncio.gather(session.heartbeat(), c.health())
                    assert beats[0].session_id == session.session_id
                results.append(i)

        asyncio.run(main())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == [0, 1, 2]


def test_a_loops_channel_is_closed_with_the_loop(emulator, tmp_path):
    lib = _fastasync._native_lib()
    before = lib.crane_context_fd_channels()
    for i in range(4):
        loop = asyncio.new_event_loop()

        async def main() -> None:
            async with make_async_client(emulator.url, tmp_path / f"l{i}.db") as c:
                assert (await c.health()).healthy

        loop.run_until_complete(main())
        loop.close()
        del loop
        gc.collect()
    # At most the last loop is still remembered (the driver's one-entry cache).
    assert lib.crane_context_fd_channels() <= before + 1


def test_arguments_and_results_cross_the_ffi_unchanged_through_the_fast_converters(client):
    assert _fastbuf.installed, "the generated converters' private names changed: see _fastbuf.py"
    summary = "Ünïcödé ✓ summary — 日本語 " + "x" * 5000  # larger than any first buffer, multi-byte
    payload = {"": "", "naïve": ["café", 1.5, -(2**40), None, True], "deep": {"ß": {"✓": []}}, "big": "y" * 70000}
    session = client.start_session("py-buffers", VENTURE, REPO, auto_heartbeat=False)
    session.end(summary, payload)
    h = client.latest_handoff(session_id=session.session_id)
    assert h is not None and h.summary == summary and h.payload == payload
    assert client.latest_handoff(session_id="sess_nope") is None  # an empty optional
    with pytest.raises(cc.NotFound) as caught:  # an error record lifted from its buffer
        client.update_session("sess_01HZZZZZZZZZZZZZZZZZZZZZZZ", branch="ü")
    assert caught.value.correlation_id and caught.value.message


def test_a_returned_handoff_parses_its_payload_on_first_use(client):
    payload = {"next": ["tests", "docs"], "n": 3, "nested": {"ok": True}}
    session = client.start_session("py-lazy", VENTURE, REPO, auto_heartbeat=False)
    session.end("lazy", payload)
    h = client.latest_handoff(session_id=session.session_id)
    assert h is not None
    assert "payload" not in vars(h)  # not parsed yet
    assert h.payload == payload and "payload" in vars(h)
    assert h.payload is h.payload  # parsed once

    again = client.latest_handoff(session_id=session.session_id)
    assert again == h  # equality parses it as needed
    assert "payload={'n': 3" in repr(client.latest_handoff(session_id=session.session_id))
    for other in (pickle.loads(pickle.dumps(again)), copy.deepcopy(client.latest_handoff(session_id=session.session_id))):
        assert other == h and other.payload == payload
    assert dataclasses.asdict(client.latest_handoff(session_id=session.session_id))["payload"] == payload  # type: ignore[arg-type]
    changed = dataclasses.replace(h, summary="changed")
    assert changed.payload == payload and changed.summary == "changed"
    with pytest.raises(AttributeError):
        h.no_such_field  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.summary = "x"  # type: ignore[misc]
    built = cc.Handoff(
        id="ho_1", session_id="s", venture="vc", repo="o/r", from_agent="a", summary="s",
        payload={"a": 1}, payload_hash="0" * 64, created_at=datetime.now(timezone.utc),
    )
    assert built.payload == {"a": 1}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-27T03:10:00Z", datetime(2026, 11, 27, 3, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-27T03:10:00.1Z", datetime(2026, 11, 27, 3, 10, 0, 100000, tzinfo=timezone.utc)),
        ("2026-11-27T03:10:00.123456789Z", datetime(2026, 11, 27, 3, 10, 0, 123456, tzinfo=timezone.utc)),
        ("2026-11-27 03:10:00.5+05:30", datetime(2026, 11, 27, 3, 10, 0, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        ("2026-11-27T03:10:00-0130", datetime(2026, 11, 27, 3, 10, 0, tzinfo=timezone(-timedelta(hours=1, minutes=30)))),
    ],
)
def test_timestamps_parse_to_the_same_aware_datetimes(text, expected):
    got = parse_time(text)
    assert got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["2026-11-27", "2026-11-27T03:10:00", "20261127T031000Z", "2026-11-27t03:10:00Z", ""])
def test_timestamps_that_are_not_rfc3339_are_refused(text):
    with pytest.raises(cc.InternalError):
        parse_time(text)


EXITS_AFTER_A_CLOSE = """
import asyncio, sys, crane_context as cc
async def main():
    async with cc.AsyncClient(sys.argv[1], sys.argv[2], store_path=sys.argv[3]) as c:
        try:
            await c.start_session("a1", "vc", "o/r")  # refused: not a v2 agent name
        except cc.InvalidInput:
            pass
asyncio.run(main())
"""


def test_a_process_that_closes_an_async_client_exits_cleanly(emulator, tmp_path):
    # The last continuation of close() ran on an SDK thread that could still be
    # waiting for the GIL when the interpreter finalized: the process then
    # aborted ("FATAL: exception not rethrown", exit -6) after finishing its
    # work, in about a third of the runs. Fifteen runs, each must exit 0.
    for i in range(15):
        done = subprocess.run(
            [sys.executable, "-c", EXITS_AFTER_A_CLOSE, emulator.url, KEY, str(tmp_path / f"exit-{i}.db")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode, done.stderr) == (0, ""), f"run {i}: {done.returncode} {done.stderr}"
