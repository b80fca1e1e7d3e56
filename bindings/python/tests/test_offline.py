"""Offline: the end is queued, and delivered exactly once when the emulator
comes back on the same port with the same data."""


import crane_context as cc

from conftest import KEY, Recorder, end_request, start_request

Delivered = cc.CraneEvent.HANDOFF_DELIVERED


def test_offline_end_is_queued_then_delivered_exactly_once(client, emulator, recorder):
    session = client.start_session_blocking(start_request("py-offline"))
    sid = session.session_id()
    emulator.stop()

    update = session.update_blocking(cc.UpdateRequest(commit_sha="0ff1ine"))
    assert update.is_queued()
    outcome = session.end_blocking(end_request("written offline", {"next": "deliver me"}))
    assert outcome.is_queued(), outcome
    assert not session.is_beating()
    pending = client.pending_items_blocking()
    assert [(i.kind, i.session_id) for i in pending] == [("update", sid), ("end", sid)]
    assert pending[1].local_id == outcome.local_id
    assert pending[1].state == cc.ItemState.PENDING
    assert client.queue_counts_blocking().pending == 2
    queued = recorder.of(cc.CraneEvent.HANDOFF_QUEUED)
    assert [e.local_id for e in queued] == [outcome.local_id]

    emulator.restart()
    # The connectivity probe notices by itself and the drain delivers.
    events = recorder.wait_for(
        lambda ev: any(isinstance(e, Delivered) and e.session_id == sid for e in ev), timeout=60
    )
    delivered = [e for e in events if isinstance(e, Delivered)]
    assert [e.local_id for e in delivered] == [outcome.local_id]
    assert len(recorder.of(cc.CraneEvent.UPDATE_DELIVERED)) == 1

    stored = emulator.handoffs_of(sid)
    assert len(stored) == 1
    assert stored[0]["payload_hash"] == delivered[0].payload_hash
    assert stored[0]["summary"] == "written offline"

    # Nothing left; another sync delivers nothing and stores nothing twice.
    report = client.sync_blocking()
    assert (report.delivered, report.pending) == (0, 0)
    assert client.pending_items_blocking() == []
    assert len(emulator.handoffs_of(sid)) == 1
    assert emulator.state()["requests_count"].get("/eod", 0) == 1


def test_sync_delivers_at_once_when_back(client, emulator, recorder):
    session = client.start_session_blocking(start_request("py-sync", auto_heartbeat=False))
    sid = session.session_id()
    emulator.stop()
    outcome = client.end_session_blocking(sid, end_request())
    assert outcome.is_queued()
    emulator.restart()
    report = client.sync_blocking()
    # sync delivers it, unless the background drain (woken by the probe) is
    # already doing so; either way it arrives at once, and once.
    assert report.delivered <= 1 and report.dead == 0
    events = recorder.wait_for(lambda ev: any(isinstance(e, Delivered) for e in ev), timeout=10)
    assert [e.local_id for e in events if isinstance(e, Delivered)] == [outcome.local_id]
    assert len(emulator.handoffs_of(sid)) == 1
    assert client.sync_blocking().delivered == 0
    assert len(emulator.handoffs_of(sid)) == 1


def test_queued_end_survives_close_and_a_new_client_delivers_it(client, emulator, tmp_path):
    session = client.start_session_blocking(start_request("py-close", auto_heartbeat=False))
    sid = session.session_id()
    emulator.stop()
    outcome = client.end_session_blocking(sid, end_request("after restart"))
    assert outcome.is_queued()
    client.close_blocking()

    emulator.restart()
    seen = Recorder()
    later = cc.CraneClient(
        emulator.url, KEY, options=cc.ClientOptions(store_path=str(tmp_path / "crane.db")), listener=seen
    )
    assert [i.local_id for i in later.pending_items_blocking()] == [outcome.local_id]
    later.sync_blocking()
    seen.wait_for(
        lambda ev: any(
            isinstance(e, cc.CraneEvent.HANDOFF_DELIVERED) and e.local_id == outcome.local_id for e in ev
        ),
        timeout=30,
    )
    assert later.pending_items_blocking() == []
    assert len(emulator.handoffs_of(sid)) == 1
    later.close_blocking()
