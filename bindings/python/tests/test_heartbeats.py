"""Automatic heartbeats, observed through the listener, with the emulator
proposing 1–2 second intervals."""

import asyncio
import sys
import time

import crane_context as cc

from conftest import Recorder, make_client, native_thread_name, start_request

Sent = cc.CraneEvent.HEARTBEAT_SENT


def test_heartbeats_follow_the_server_schedule(fast_emulator, tmp_path):
    recorder = Recorder()
    client = make_client(fast_emulator.url, tmp_path / "c.db", recorder)
    session = client.start_session_blocking(start_request("py-beat"))
    sid = session.session_id()

    events = recorder.wait_for(lambda ev: len([e for e in ev if isinstance(e, Sent)]) >= 3, timeout=15)
    beats = [e for e in events if isinstance(e, Sent)]
    assert all(b.session_id == sid for b in beats)
    assert all(1 <= b.interval_seconds <= 2 for b in beats)
    assert len({b.next_heartbeat_at for b in beats}) == len(beats)
    # Called on the SDK's own threads, never on this one.
    assert native_thread_name() not in recorder.threads
    if sys.platform == "linux":  # thread names are truncated to 15 bytes
        assert all(name.startswith("crane-context") for name in recorder.threads), recorder.threads

    session.stop()
    time.sleep(0.5)
    count = len(recorder.of(Sent))
    time.sleep(2.5)
    assert len(recorder.of(Sent)) == count, "no heartbeat after stop()"
    client.shutdown()


async def test_listener_hands_events_to_the_asyncio_loop(fast_emulator, tmp_path):
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    class ToLoop(cc.CraneListener):
        def on_event(self, event):
            loop.call_soon_threadsafe(queue.put_nowait, event)

    client = make_client(fast_emulator.url, tmp_path / "c.db", ToLoop())
    session = await client.start_session(start_request("py-loop"))
    event = await asyncio.wait_for(queue.get(), timeout=10)
    assert isinstance(event, Sent) and event.session_id == session.session_id()
    session.stop()
    client.shutdown()


def test_a_raising_listener_does_not_stop_heartbeats(fast_emulator, tmp_path):
    class Raising(Recorder):
        def on_event(self, event):
            super().on_event(event)
            raise RuntimeError("listener bug")

    raising = Raising()
    client = make_client(fast_emulator.url, tmp_path / "c.db", raising)
    session = client.start_session_blocking(start_request("py-raise"))
    calls = raising.wait_for(lambda ev: len([e for e in ev if isinstance(e, Sent)]) >= 2, timeout=15)
    assert len([e for e in calls if isinstance(e, Sent)]) >= 2
    assert session.is_beating()
    session.stop()
    client.shutdown()


def test_session_lost_when_ended_elsewhere(fast_emulator, tmp_path, recorder):
    client = make_client(fast_emulator.url, tmp_path / "c.db", recorder)
    session = client.start_session_blocking(start_request("py-lost"))
    other = make_client(fast_emulator.url, tmp_path / "other.db")
    other.end_session_blocking(session.session_id(), cc.EndRequest(summary="elsewhere", payload_json="{}"))
    events = recorder.wait_for(
        lambda ev: any(isinstance(e, cc.CraneEvent.SESSION_LOST) for e in ev), timeout=15
    )
    lost = [e for e in events if isinstance(e, cc.CraneEvent.SESSION_LOST)][0]
    assert lost.session_id == session.session_id()
    assert lost.error.kind in ("session_not_active", "not_found")
    # Beats stop before the event is sent.
    assert not session.is_beating()
    other.shutdown()
    client.shutdown()
