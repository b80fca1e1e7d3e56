"""The whole session lifecycle, blocking and asyncio, against the emulator."""

import hashlib
import json

import crane_context as cc

from conftest import end_request, start_request


def canonical_hash(payload: dict) -> str:
    # JCS for these simple payloads: sorted keys, no whitespace.
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_full_lifecycle_blocking(client, emulator):
    health = client.health_blocking()
    assert health.status == cc.HealthStatus.HEALTHY
    assert health.http_status == 200

    session = client.start_session_blocking(start_request(branch="main", meta_json='{"tool": "pytest"}'))
    sid = session.session_id()
    assert sid.startswith("sess_")
    info = session.start_info()
    assert info is not None and info.status == "created"
    assert info.heartbeat_interval_seconds > 0
    record = session.session()
    assert (record.id, record.status, record.branch) == (sid, "active", "main")
    assert record.created_at.endswith("Z")
    assert session.is_beating()

    updated = session.update_blocking(cc.UpdateRequest(branch="feature", commit_sha="abc1234"))
    assert updated.is_applied()
    beat = session.heartbeat_now_blocking()
    assert beat.session_id == sid

    payload = {"next": "write tests", "done": ["bindings"], "n": 3}
    outcome = session.end_blocking(end_request("done for today", payload, status_label="in-progress"))
    assert outcome.is_delivered(), outcome
    handoff = outcome.handoff
    assert handoff.session_id == sid
    assert handoff.summary == "done for today"
    assert handoff.status_label == "in-progress"
    assert handoff.payload_hash == canonical_hash(payload)
    assert json.loads(handoff.payload_json) == payload
    assert not session.is_beating()

    state = emulator.state()
    assert [h["id"] for h in emulator.handoffs_of(sid)] == [handoff.id]
    assert {"id": sid, "status": "ended"} in state["sessions"]
    assert client.pending_items_blocking() == []


async def test_full_lifecycle_async(client, emulator):
    assert (await client.health()).status == cc.HealthStatus.HEALTHY
    session = await client.start_session(start_request("py-async"))
    sid = session.session_id()
    assert (await session.update(cc.UpdateRequest(commit_sha="def5678"))).is_applied()
    assert (await session.update()).is_applied()  # all fields optional
    assert (await session.heartbeat_now()).session_id == sid
    outcome = await session.end(end_request(payload={"next": "ship"}))
    assert outcome.is_delivered()
    assert len(emulator.handoffs_of(sid)) == 1


def test_start_twice_resumes_and_ends_by_id(client, emulator):
    first = client.start_session_blocking(start_request(auto_heartbeat=False))
    second = client.start_session_blocking(start_request(auto_heartbeat=False))
    assert second.session_id() == first.session_id()
    assert second.start_info().status == "resumed"
    assert not first.is_beating()

    update = client.update_session_blocking(first.session_id(), cc.UpdateRequest(branch="b"))
    assert update.is_applied()
    outcome = client.end_session_blocking(first.session_id(), end_request())
    assert outcome.is_delivered()
    assert len(emulator.handoffs_of(first.session_id())) == 1


def test_attach_to_a_cached_session(client, tmp_path):
    session = client.start_session_blocking(start_request("py-attach", track=2))
    sid = session.session_id()
    session.stop()
    assert not session.is_beating()

    by_id = client.attach_by_id_blocking(sid)
    assert by_id is not None and by_id.session_id() == sid and by_id.is_beating()
    assert by_id.start_info() is None
    by_tuple = client.attach_blocking("py-attach", "vc", "venturecrane/crane-context", track=2)
    assert by_tuple is not None and by_tuple.session_id() == sid
    assert client.attach_by_id_blocking("sess_unknown") is None
    assert client.attach_blocking("nobody", "vc", "o/r") is None
    by_id.stop()
    by_tuple.stop()
