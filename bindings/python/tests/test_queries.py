"""Every query: health, active sessions, latest handoff, pages, the pager,
offline-capable reads and the queue inspection calls."""

import crane_context as cc

from conftest import end_request, start_request

VENTURE, REPO = "vc", "venturecrane/crane-context"


def make_handoffs(client, n, agent="py-query", track=None, issue_number=None):
    """Ends `n` sessions of one tuple; returns their handoffs, oldest first."""
    handoffs = []
    for i in range(n):
        session = client.start_session_blocking(
            start_request(agent, track=track, issue_number=issue_number, auto_heartbeat=False)
        )
        outcome = session.end_blocking(end_request(f"handoff {i}", {"i": i}))
        assert outcome.is_delivered()
        handoffs.append(outcome.handoff)
    return handoffs


def test_health_report(client):
    report = client.health_blocking()
    assert report.status == cc.HealthStatus.HEALTHY
    assert report.raw_json.startswith("{")


def test_active_sessions(client):
    assert client.active_sessions_blocking("py-active", VENTURE, REPO).count == 0
    one = client.start_session_blocking(start_request("py-active", track=1, auto_heartbeat=False))
    two = client.start_session_blocking(start_request("py-active", track=2, auto_heartbeat=False))
    active = client.active_sessions_blocking("py-active", VENTURE, REPO)
    assert active.count == 2
    assert {s.id for s in active.sessions} == {one.session_id(), two.session_id()}
    only_two = client.active_sessions_blocking("py-active", VENTURE, REPO, track=2)
    assert [s.id for s in only_two.sessions] == [two.session_id()]


def test_latest_handoff_in_every_mode(client):
    (by_track,) = make_handoffs(client, 1, track=7)
    (by_issue,) = make_handoffs(client, 1, agent="py-issue", issue_number=42)
    q = cc.LatestHandoffQuery
    assert client.latest_handoff_blocking(q.SESSION(session_id=by_track.session_id)) == by_track
    assert client.latest_handoff_blocking(q.TRACK(venture=VENTURE, repo=REPO, track=7)) == by_track
    assert client.latest_handoff_blocking(q.ISSUE(venture=VENTURE, repo=REPO, issue_number=42)) == by_issue
    assert client.latest_handoff_blocking(q.TRACK(venture=VENTURE, repo=REPO, track=99)) is None


def test_one_page_and_the_pager_walk_every_handoff(client):
    made = make_handoffs(client, 5)
    newest_first = [h.id for h in reversed(made)]
    f = cc.HandoffFilter.FROM_AGENT(agent="py-query")

    page = client.handoffs_blocking(f, limit=2)
    assert [h.id for h in page.handoffs] == newest_first[:2]
    assert page.has_more and page.next_cursor
    following = client.handoffs_blocking(f, limit=2, cursor=page.next_cursor)
    assert [h.id for h in following.handoffs] == newest_first[2:4]

    pager = client.handoff_pager(f, limit=2)
    sizes, ids = [], []
    while (p := pager.next_page_blocking()) is not None:
        sizes.append(p.count)
        ids += [h.id for h in p.handoffs]
    assert sizes == [2, 2, 1]
    assert ids == newest_first
    assert pager.next_page_blocking() is None

    repo_filter = cc.HandoffFilter.REPO(venture=VENTURE, repo=REPO)
    assert client.handoffs_blocking(repo_filter).count == 5
    session_filter = cc.HandoffFilter.SESSION(session_id=made[0].session_id)
    assert [h.id for h in client.handoffs_blocking(session_filter).handoffs] == [made[0].id]


async def test_async_pager(client):
    made = make_handoffs(client, 3, agent="py-pager")
    pager = client.handoff_pager(cc.HandoffFilter.FROM_AGENT(agent="py-pager"), limit=1)
    ids = []
    while (p := await pager.next_page()) is not None:
        ids += [h.id for h in p.handoffs]
    assert ids == [h.id for h in reversed(made)]


def test_cached_reads_answer_offline(client, emulator):
    assert client.cached_docs_blocking() is None
    (made,) = make_handoffs(client, 1, track=3)
    live = client.last_handoff_blocking(VENTURE, REPO, track=3)
    assert live.handoff == made and not live.stale and live.age_seconds is None
    docs = client.cached_docs_blocking()
    assert docs is not None and docs.age_seconds is not None
    assert all(d.doc_name for d in docs.docs)

    emulator.stop()
    cached = client.last_handoff_blocking(VENTURE, REPO, track=3)
    assert cached.stale and cached.handoff == made and cached.age_seconds >= 0
    try:
        client.last_handoff_blocking(VENTURE, REPO, track=4)
    except (cc.CraneError.Network, cc.CraneError.Offline, cc.CraneError.Timeout):
        pass
    else:
        raise AssertionError("a read with nothing cached must fail offline")


def test_queue_inspection_when_empty(client):
    assert client.pending_items_blocking() == []
    assert client.dead_items_blocking() == []
    counts = client.queue_counts_blocking()
    assert (counts.pending, counts.dead) == (0, 0)
    report = client.sync_blocking()
    assert (report.delivered, report.pending) == (0, 0)
    assert client.url().startswith("http://127.0.0.1:")
    assert client.store_path().endswith("crane.db")
