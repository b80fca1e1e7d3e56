"""The whole session lifecycle, blocking and asyncio, against the emulator:
keyword arguments in, dict payloads in and out, aware datetimes, records
that show their fields."""

import hashlib
import json
from datetime import datetime, timezone

import pytest

import crane_context as cc

from conftest import KEY, REPO, VENTURE, start


def canonical_hash(payload: dict) -> str:
    # JCS for these simple payloads: sorted keys, no whitespace.
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_done_when_start_update_end_read_back_and_wrong_key(emulator, tmp_path):
    """The issue's acceptance path, exactly as a new user writes it."""
    payload = {"next": "write tests", "done": ["bindings"], "n": 3, "nested": {"ok": True}}
    with cc.Client(emulator.url, KEY, store_path=tmp_path / "c.db") as c:
        session = c.start_session(agent="py-done", venture="vc", repo="owner/repo")
        assert session.update(branch="main", commit_sha="abc1234").applied
        result = session.end(summary="done for today", payload=payload)
        assert result.delivered and result.local_id is None
        assert result.handoff is not None and result.handoff.payload == payload
        back = c.latest_handoff(session_id=session.session_id)
        assert back is not None and back.payload == payload and isinstance(back.payload, dict)
        assert back.summary == "done for today"
    try:
        with cc.Client(emulator.url, "wrong-key-0123456789", store_path=tmp_path / "w.db") as wrong:
            wrong.start_session(agent="py-done", venture="vc", repo="owner/repo")
    except cc.Unauthorized as e:
        assert e.correlation_id and e.correlation_id in e.message
    else:
        raise AssertionError("a wrong key must raise crane_context.Unauthorized")


@pytest.mark.parametrize("protocol", ["v2", "v1"])
def test_full_lifecycle(protocol, request):
    client = request.getfixturevalue("client" if protocol == "v2" else "client_v1")
    emulator = request.getfixturevalue("emulator" if protocol == "v2" else "emulator_v1")
    health = client.health()
    assert health.status is cc.HealthStatus.HEALTHY and health.healthy
    assert health.http_status == 200

    session = start(client, branch="main", meta={"tool": "pytest"}, include_docs=True)
    sid = session.session_id
    assert sid.startswith("sess_")
    info = session.start_info
    assert info is not None and info.status == "created"
    assert info.heartbeat_interval_seconds > 0
    if protocol == "v1":  # v1's documentation bundle; v2 answers with a doc index instead
        assert info.docs
    record = session.info
    assert (record.id, record.status, record.branch, record.meta) == (sid, "active", "main", {"tool": "pytest"})
    assert record.created_at.tzinfo is not None and record.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - record.created_at).total_seconds()) < 300
    assert session.next_heartbeat_at > record.created_at
    assert session.is_beating

    updated = session.update(branch="feature", commit_sha="abc1234", meta={"step": 2})
    assert updated.applied and not updated.queued and updated.updated_at is not None
    beat = session.heartbeat()
    assert beat.session_id == sid and beat.next_heartbeat_at > beat.last_heartbeat_at

    payload = {"next": "write tests", "done": ["bindings"], "n": 3}
    result = session.end("done for today", payload, status_label="in-progress", to_agent="review-agent")
    assert result.delivered and result.ended_at is not None
    handoff = result.handoff
    assert handoff is not None
    assert (handoff.session_id, handoff.summary, handoff.status_label, handoff.to_agent) == (
        sid, "done for today", "in-progress", "review-agent")
    assert handoff.payload == payload
    assert handoff.payload_hash == canonical_hash(payload)
    assert json.loads(handoff.payload_json) == payload
    assert handoff.created_at.tzinfo is not None
    assert not session.is_beating

    state = emulator.state()
    assert [h["id"] for h in emulator.handoffs_of(sid)] == [handoff.id]
    assert [s["status"] for s in state["sessions"] if s["id"] == sid] == ["ended"]
    assert client.queue.pending() == []


def test_end_without_payload_sends_an_empty_object(client, emulator):
    result = start(client, auto_heartbeat=False).end("no payload")
    assert result.delivered and result.handoff is not None and result.handoff.payload == {}


def test_records_show_their_fields(client):
    session = start(client, "py-repr", auto_heartbeat=False)
    handoff = session.end("shown", {"k": "v"}).handoff
    text = repr(handoff)
    assert text.startswith("Handoff(") and "summary='shown'" in text and "payload={'k': 'v'}" in text
    assert "created_at=datetime.datetime(" in text and "tzinfo=datetime.timezone.utc" in text
    info = client.active_sessions("nobody", VENTURE, REPO)
    assert info == []
    live = start(client, "py-repr2", auto_heartbeat=False)
    (record,) = client.active_sessions("py-repr2", VENTURE, REPO)
    assert "agent='py-repr2'" in repr(record) and f"id='{live.session_id}'" in repr(record)
    assert repr(live) == f"Session(session_id='{live.session_id}', is_beating=False)"
    assert "pending=0" in repr(client.queue.counts())
    assert "status=<HealthStatus.HEALTHY" in repr(client.health())
    assert "delivered=0" in repr(client.sync())


async def test_full_lifecycle_async(aclient, emulator):
    assert (await aclient.health()).healthy
    session = await aclient.start_session("py-async", VENTURE, REPO)
    sid = session.session_id
    assert isinstance(session, cc.AsyncSession)
    assert (await session.update(commit_sha="def5678")).applied
    assert (await session.update()).applied  # every field optional
    assert (await session.heartbeat()).session_id == sid
    result = await session.end(summary="async", payload={"next": "ship"})
    assert result.delivered and result.handoff is not None and result.handoff.payload == {"next": "ship"}
    assert len(emulator.handoffs_of(sid)) == 1


def test_start_twice_resumes_and_ends_by_id(client, emulator):
    first = start(client, auto_heartbeat=False)
    second = start(client, auto_heartbeat=False)
    assert second.session_id == first.session_id
    assert second.start_info is not None and second.start_info.status == "resumed"
    assert not first.is_beating

    assert client.update_session(first.session_id, branch="b").applied
    result = client.end_session(first.session_id, "by id", {"k": 1})
    assert result.delivered
    assert len(emulator.handoffs_of(first.session_id)) == 1


def test_attach_to_a_cached_session(client):
    session = start(client, "py-attach", track=2)
    sid = session.session_id
    session.stop()
    assert not session.is_beating

    by_id = client.attach_by_id(sid)
    assert by_id is not None and by_id.session_id == sid and by_id.is_beating
    assert by_id.start_info is None
    by_tuple = client.attach("py-attach", VENTURE, REPO, track=2)
    assert by_tuple is not None and by_tuple.session_id == sid
    assert client.attach_by_id("sess_unknown") is None
    assert client.attach("nobody", "vc", "o/r") is None
    by_id.stop()
    by_tuple.stop()


def test_close_is_idempotent_and_the_context_manager_closes(emulator, tmp_path):
    c = cc.Client(emulator.url, KEY, store_path=tmp_path / "c.db")
    with c as entered:
        assert entered is c
        assert "closed=False" in repr(c)
    assert "closed=True" in repr(c)
    c.close()
