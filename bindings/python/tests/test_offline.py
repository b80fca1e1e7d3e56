"""Offline: the end is queued, and delivered exactly once when the emulator
comes back on the same port with the same data."""

import crane_context as cc

from conftest import KEY, Recorder, start


def delivered_to(sid):
    return lambda ev: any(isinstance(e, cc.HandoffDelivered) and e.session_id == sid for e in ev)


def test_offline_end_is_queued_then_delivered_exactly_once(client, emulator, recorder):
    session = start(client, "py-offline")
    sid = session.session_id
    emulator.stop()

    update = session.update(commit_sha="0ff1ine")
    assert update.queued and update.local_id
    result = session.end("written offline", {"next": "deliver me"})
    assert result.queued and not result.delivered and result.handoff is None
    assert not session.is_beating
    pending = client.queue.pending()
    assert [(i.kind, i.session_id) for i in pending] == [("update", sid), ("end", sid)]
    assert pending[1].local_id == result.local_id
    assert pending[1].state is cc.ItemState.PENDING
    assert pending[1].body["payload"] == {"next": "deliver me"}
    assert pending[1].created_at.tzinfo is not None
    assert client.queue.counts().pending == 2
    assert [e.local_id for e in recorder.of(cc.HandoffQueued)] == [result.local_id]

    emulator.restart()
    # The connectivity probe notices by itself and the drain delivers.
    events = recorder.wait_for(delivered_to(sid), timeout=60)
    delivered = [e for e in events if isinstance(e, cc.HandoffDelivered)]
    assert [e.local_id for e in delivered] == [result.local_id]
    assert len(recorder.of(cc.UpdateDelivered)) == 1

    stored = emulator.handoffs_of(sid)
    assert len(stored) == 1
    assert stored[0]["payload_hash"] == delivered[0].payload_hash
    assert stored[0]["summary"] == "written offline"
    assert client.latest_handoff(session_id=sid).payload == {"next": "deliver me"}

    # Nothing left; another sync delivers nothing and stores nothing twice.
    report = client.sync()
    assert (report.delivered, report.pending) == (0, 0)
    assert client.queue.pending() == []
    assert len(emulator.handoffs_of(sid)) == 1
    assert emulator.state()["requests_count"].get(emulator.end_route, 0) == 1


def test_sync_delivers_at_once_when_back(client, emulator, recorder):
    session = start(client, "py-sync", auto_heartbeat=False)
    sid = session.session_id
    emulator.stop()
    result = client.end_session(sid, "queued by id")
    assert result.queued
    emulator.restart()
    report = client.sync()
    # sync delivers it, unless the background drain (woken by the probe) is
    # already doing so; either way it arrives at once, and once.
    assert report.delivered <= 1 and report.dead == 0
    events = recorder.wait_for(delivered_to(sid), timeout=10)
    assert [e.local_id for e in events if isinstance(e, cc.HandoffDelivered)] == [result.local_id]
    assert len(emulator.handoffs_of(sid)) == 1
    assert client.sync().delivered == 0
    assert len(emulator.handoffs_of(sid)) == 1


def test_queued_end_survives_close_and_a_new_client_delivers_it(client, emulator, tmp_path):
    session = start(client, "py-close", auto_heartbeat=False)
    sid = session.session_id
    emulator.stop()
    result = client.end_session(sid, "after restart")
    assert result.queued
    client.close()

    emulator.restart()
    seen = Recorder()
    with cc.Client(emulator.url, KEY, store_path=tmp_path / "crane.db", listener=seen) as later:
        assert [i.local_id for i in later.queue.pending()] == [result.local_id]
        later.sync()
        seen.wait_for(
            lambda ev: any(isinstance(e, cc.HandoffDelivered) and e.local_id == result.local_id for e in ev),
            timeout=30,
        )
        assert later.queue.pending() == []
    assert len(emulator.handoffs_of(sid)) == 1
