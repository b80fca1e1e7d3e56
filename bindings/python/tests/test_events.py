"""Background events: the listener callable (on the SDK's threads), the
`client.events()` iterator and the `async for` stream, with the emulator
proposing 1–2 second heartbeat intervals."""

import asyncio
import sys
import threading

import pytest

import crane_context as cc

from conftest import Recorder, make_async_client, make_client, native_thread_name, start


def test_heartbeats_follow_the_server_schedule(fast_emulator, tmp_path):
    recorder = Recorder()
    with make_client(fast_emulator.url, tmp_path / "c.db", recorder) as client:
        session = start(client, "py-beat")
        sid = session.session_id

        events = recorder.wait_for(lambda ev: len([e for e in ev if isinstance(e, cc.HeartbeatSent)]) >= 3, timeout=15)
        beats = [e for e in events if isinstance(e, cc.HeartbeatSent)]
        assert all(b.session_id == sid for b in beats)
        assert all(1 <= b.interval_seconds <= 2 for b in beats)
        assert len({b.next_heartbeat_at for b in beats}) == len(beats)
        assert all(b.next_heartbeat_at.tzinfo is not None for b in beats)
        # Called on the SDK's own threads, never on this one.
        assert native_thread_name() not in recorder.threads
        if sys.platform == "linux":  # thread names are truncated to 15 bytes
            assert all(name.startswith("crane-context") for name in recorder.threads), recorder.threads

        session.stop()
        assert not session.is_beating


def test_events_iterator_sees_what_happens_after_it_opens(fast_emulator, tmp_path):
    with make_client(fast_emulator.url, tmp_path / "c.db") as client:
        with client.events() as events:
            session = start(client, "py-iter")
            seen = []
            for event in events:
                seen.append(event)
                if len([e for e in seen if isinstance(e, cc.HeartbeatSent)]) == 2:
                    break
        beats = [e for e in seen if isinstance(e, cc.HeartbeatSent)]
        assert [b.session_id for b in beats] == [session.session_id] * 2
        assert "HeartbeatSent(session_id=" in repr(beats[0])
        session.stop()


def test_event_streams_end_when_the_client_closes(emulator, tmp_path):
    client = make_client(emulator.url, tmp_path / "c.db")
    events = client.events()
    ended = threading.Event()

    def drain():
        for _ in events:
            pass
        ended.set()

    reader = threading.Thread(target=drain)
    reader.start()
    client.close()
    reader.join(timeout=10)
    assert ended.is_set(), "iteration must stop when the client closes"
    with pytest.raises(StopIteration):
        client.events().get(timeout=1)  # a stream opened after close is already over


def test_get_with_a_timeout(emulator, tmp_path):
    with make_client(emulator.url, tmp_path / "c.db") as client:
        with client.events() as events:
            with pytest.raises(TimeoutError):
                events.get(timeout=0.2)


def test_offline_end_is_seen_on_the_stream(emulator, tmp_path):
    with make_client(emulator.url, tmp_path / "c.db") as client:
        session = start(client, "py-stream-q", auto_heartbeat=False)
        emulator.stop()
        with client.events() as events:
            result = session.end("queued", {"k": 1})
            assert result.queued
            queued = next(e for e in events if isinstance(e, cc.HandoffQueued))
        assert (queued.session_id, queued.local_id) == (session.session_id, result.local_id)


async def test_async_event_stream(fast_emulator, tmp_path):
    async with make_async_client(fast_emulator.url, tmp_path / "c.db") as client:
        async with client.events() as events:
            session = await client.start_session("py-aiter", "vc", "o/r")
            async for event in events:
                if isinstance(event, cc.HeartbeatSent):
                    assert event.session_id == session.session_id
                    break
        session.stop()


async def test_async_stream_ends_on_close_and_the_loop_stays_free(emulator, tmp_path):
    client = make_async_client(emulator.url, tmp_path / "c.db")
    events = client.events()

    async def drain():
        return [e async for e in events]

    task = asyncio.ensure_future(drain())
    await asyncio.sleep(0)
    await client.close()
    assert await asyncio.wait_for(task, timeout=10) == []


def test_a_raising_listener_does_not_stop_heartbeats(fast_emulator, tmp_path):
    class Raising(Recorder):
        def __call__(self, event):
            super().__call__(event)
            raise RuntimeError("listener bug")

    raising = Raising()
    with make_client(fast_emulator.url, tmp_path / "c.db", raising) as client:
        session = start(client, "py-raise")
        calls = raising.wait_for(lambda ev: len([e for e in ev if isinstance(e, cc.HeartbeatSent)]) >= 2, timeout=15)
        assert len([e for e in calls if isinstance(e, cc.HeartbeatSent)]) >= 2
        assert session.is_beating
        session.stop()


def test_session_lost_when_ended_elsewhere(fast_emulator, tmp_path, recorder):
    with make_client(fast_emulator.url, tmp_path / "c.db", recorder) as client:
        session = start(client, "py-lost")
        with make_client(fast_emulator.url, tmp_path / "other.db") as other:
            other.end_session(session.session_id, "elsewhere")
        events = recorder.wait_for(lambda ev: any(isinstance(e, cc.SessionLost) for e in ev), timeout=15)
        lost = [e for e in events if isinstance(e, cc.SessionLost)][0]
        assert lost.session_id == session.session_id
        assert lost.error.kind in ("session_not_active", "not_found")
        # Beats stop before the event is sent.
        assert not session.is_beating
