"""Every query: health, active sessions, the latest handoff, `handoffs()`
walking every page (sync and async), offline-capable reads, and the queue."""

import crane_context as cc

from conftest import REPO, VENTURE, start


def make_handoffs(client, n, agent="py-query", track=None, issue_number=None):
    """Ends `n` sessions of one tuple; returns their handoffs, oldest first."""
    handoffs = []
    for i in range(n):
        session = start(client, agent, track=track, issue_number=issue_number, auto_heartbeat=False, include_docs=True)
        result = session.end(f"handoff {i}", {"i": i})
        assert result.delivered and result.handoff is not None
        handoffs.append(result.handoff)
    return handoffs


def test_health_report(client):
    report = client.health()
    assert report.status is cc.HealthStatus.HEALTHY and report.status == "healthy"
    assert isinstance(report.raw, dict) and report.raw
    assert all(isinstance(ok, bool) for ok in report.checks.values())


def test_active_sessions(client):
    assert client.active_sessions("py-active", VENTURE, REPO) == []
    one = start(client, "py-active", track=1, auto_heartbeat=False)
    two = start(client, "py-active", track=2, auto_heartbeat=False)
    active = client.active_sessions("py-active", VENTURE, REPO)
    assert {s.id for s in active} == {one.session_id, two.session_id}
    assert all(isinstance(s, cc.SessionInfo) and s.status == "active" for s in active)
    only_two = client.active_sessions("py-active", VENTURE, REPO, track=2)
    assert [s.id for s in only_two] == [two.session_id]


def test_latest_handoff_in_every_mode(client):
    (by_track,) = make_handoffs(client, 1, track=7)
    (by_issue,) = make_handoffs(client, 1, agent="py-issue", issue_number=42)
    assert client.latest_handoff(session_id=by_track.session_id) == by_track
    assert client.latest_handoff(venture=VENTURE, repo=REPO, track=7) == by_track
    assert client.latest_handoff(venture=VENTURE, repo=REPO, issue_number=42) == by_issue
    assert client.latest_handoff(venture=VENTURE, repo=REPO, track=99) is None


def test_handoffs_iterates_over_every_page(client, emulator):
    made = make_handoffs(client, 5)
    newest_first = [h.id for h in reversed(made)]

    assert [h.id for h in client.handoffs(from_agent="py-query", page_size=2)] == newest_first
    # Three pages of 2, 2 and 1: one request each, fetched as iteration goes.
    before = emulator.state()["requests_count"].get("/handoffs", 0)
    it = client.handoffs(from_agent="py-query", page_size=2)
    assert emulator.state()["requests_count"].get("/handoffs", 0) == before  # nothing fetched yet
    first = next(it)
    assert first.id == newest_first[0] and first.payload == {"i": 4}
    assert emulator.state()["requests_count"].get("/handoffs", 0) == before + 1
    assert [h.id for h in it] == newest_first[1:]
    assert emulator.state()["requests_count"].get("/handoffs", 0) == before + 3

    assert len(list(client.handoffs(venture=VENTURE, repo=REPO))) == 5
    assert [h.id for h in client.handoffs(session_id=made[0].session_id)] == [made[0].id]


def test_handoffs_by_track_and_issue(client):
    (t,) = make_handoffs(client, 1, agent="py-t", track=3)
    (i,) = make_handoffs(client, 1, agent="py-i", issue_number=9)
    assert [h.id for h in client.handoffs(venture=VENTURE, repo=REPO, track=3)] == [t.id]
    assert [h.id for h in client.handoffs(venture=VENTURE, repo=REPO, issue_number=9)] == [i.id]


async def test_async_handoffs(aclient):
    made = []
    for i in range(3):
        session = await aclient.start_session("py-pager", VENTURE, REPO, auto_heartbeat=False)
        made.append((await session.end(f"h{i}", {"i": i})).handoff)
    ids = [h.id async for h in aclient.handoffs(from_agent="py-pager", page_size=1)]
    assert ids == [h.id for h in reversed(made)]
    latest = await aclient.latest_handoff(session_id=made[-1].session_id)
    assert latest is not None and latest.payload == {"i": 2}


def test_cached_reads_answer_offline(client_v1, emulator_v1):
    # On v1, where a session start delivers the documentation bundle it caches.
    client, emulator = client_v1, emulator_v1
    assert client.cached_docs() is None
    (made,) = make_handoffs(client, 1, track=3)
    live = client.last_handoff(VENTURE, REPO, track=3)
    assert live.handoff == made and not live.stale and live.age_seconds is None
    docs = client.cached_docs()
    assert docs is not None and docs.age_seconds is not None
    assert docs.docs and all(d.doc_name for d in docs.docs)
    assert "content=" not in repr(docs.docs[0])  # long texts stay out of repr

    emulator.stop()
    cached = client.last_handoff(VENTURE, REPO, track=3)
    assert cached.stale and cached.handoff == made and cached.age_seconds is not None and cached.age_seconds >= 0
    try:
        client.last_handoff(VENTURE, REPO, track=4)
    except cc.NetworkError:
        pass
    else:
        raise AssertionError("a read with nothing cached must fail offline")


def test_queue_inspection_when_empty(client):
    assert client.queue.pending() == []
    assert client.queue.dead() == []
    counts = client.queue.counts()
    assert (counts.pending, counts.dead) == (0, 0)
    report = client.sync()
    assert (report.delivered, report.pending) == (0, 0)
    assert client.url.startswith("http://127.0.0.1:")
    assert client.store_path.endswith("crane.db")
