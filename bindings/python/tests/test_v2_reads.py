"""v2 reads from issue #14: the venture list (stored, stale offline), ``/active``
with its optional filters, and ``/handoffs`` date windows over every page,
blocking and asyncio, against the emulator."""

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import pytest

import crane_context as cc

from conftest import KEY, REPO, VENTURE, Emulator, make_async_client, make_client

DAY_MS = 24 * 3600 * 1000


def age_stored_ventures(store: Path, by_ms: int) -> None:
    """Moves the stored venture list's fetch time back, as if it had been fetched ``by_ms`` earlier."""
    with sqlite3.connect(store) as db:
        n = db.execute(
            "UPDATE server_info SET ventures_fetched_at_ms = ventures_fetched_at_ms - ? WHERE ventures_json IS NOT NULL",
            (by_ms,),
        ).rowcount
    assert n == 1


# --- ventures ---


def test_ventures_lists_the_catalog_then_answers_from_the_store_and_stale_when_the_server_is_down(
    emulator: Emulator, tmp_path: Path
) -> None:
    store = tmp_path / "c.db"
    with make_client(emulator.url, store) as c:
        first = c.ventures()
        assert not first.stale and first.age_seconds is None  # fetched just now
        assert {"ke", "vc"} <= set(first.codes)
        ke = first.get("ke")
        assert ke is not None and "ke-console" in ke.repos
        assert isinstance(ke.portfolio, (dict, type(None)))
        assert repr(ke).startswith("Venture(code='ke'")
        assert first.get("no-such-venture") is None

        emulator.stop()
        again = c.ventures()  # younger than a day: from the store, no request needed
        assert again.codes == first.codes and not again.stale and again.age_seconds is not None

    # Two days later, with the server still down: the stored list, marked stale.
    age_stored_ventures(store, 2 * DAY_MS)
    with make_client(emulator.url, store) as c:
        old = c.ventures()
        assert old.stale and old.codes == first.codes
        assert old.age_seconds is not None and old.age_seconds >= 2 * 24 * 3600
        assert "stale=True" in repr(old)


def test_ventures_with_nothing_stored_and_the_server_down_is_a_network_error(emulator: Emulator, tmp_path: Path) -> None:
    emulator.stop()
    with make_client(emulator.url, tmp_path / "c.db") as c:
        with pytest.raises(cc.NetworkError):
            c.ventures()


def test_ventures_on_a_v1_server_is_not_found(client_v1: cc.Client) -> None:
    with pytest.raises(cc.NotFound):
        client_v1.ventures()


async def test_ventures_async_and_stale_offline(emulator: Emulator, tmp_path: Path) -> None:
    store = tmp_path / "a.db"
    async with make_async_client(emulator.url, store) as c:
        listed = await c.ventures()
        assert {"ke", "vc"} <= set(listed.codes) and not listed.stale
    age_stored_ventures(store, 2 * DAY_MS)
    emulator.stop()
    async with make_async_client(emulator.url, store) as c:
        old = await c.ventures()
        assert old.stale and old.codes == listed.codes


async def test_ventures_async_on_a_v1_server_is_not_found(emulator_v1: Emulator, tmp_path: Path) -> None:
    async with make_async_client(emulator_v1.url, tmp_path / "a.db") as c:
        with pytest.raises(cc.NotFound):
            await c.ventures()


# --- /active with filters ---


def ids(sessions: List[cc.SessionInfo]) -> set:
    return {s.id for s in sessions}


def test_active_filters_select_sessions(client: cc.Client) -> None:
    a = client.start_session("py-active-a", VENTURE, REPO, track=1, auto_heartbeat=False)
    b = client.start_session("py-active-b", VENTURE, REPO, track=2, auto_heartbeat=False)
    both = {a.session_id, b.session_id}

    assert both <= ids(client.active())  # no filter: every active session
    assert ids(client.active(agent="py-active-a")) == {a.session_id}
    assert ids(client.active(venture=VENTURE, repo=REPO, track=2)) == {b.session_id}
    assert both <= ids(client.active(venture=VENTURE, repo=REPO))
    assert ids(client.active(agent="py-active-a", track=2)) == set()  # every filter must match
    assert ids(client.active(venture="ke")) & both == set()
    (listed,) = client.active(agent="py-active-b")
    assert listed.last_heartbeat_at.tzinfo is not None and listed.track == 2

    b.end("done")
    assert ids(client.active(venture=VENTURE, repo=REPO)) & both == {a.session_id}
    # The v1-shaped call is still there.
    assert ids(client.active_sessions("py-active-a", VENTURE, REPO, track=1)) == {a.session_id}


async def test_active_filters_async(aclient: cc.AsyncClient) -> None:
    a = await aclient.start_session("py-aactive-a", VENTURE, REPO, auto_heartbeat=False)
    b = await aclient.start_session("py-aactive-b", VENTURE, REPO, auto_heartbeat=False)
    assert ids(await aclient.active(agent="py-aactive-b")) == {b.session_id}
    assert {a.session_id, b.session_id} <= ids(await aclient.active())
    assert ids(await aclient.active(agent="py-aactive-a", venture="ke")) == set()


# --- /handoffs date windows ---


def end_two_an_hour_apart(client: cc.Client, emulator: Emulator) -> List[cc.Handoff]:
    """Two handoffs of one repo, the second created an hour after the first (emulator clock)."""
    made = []
    for i in range(2):
        if i:
            emulator.control("POST", "clock", {"advance_seconds": 3600})
        s = client.start_session(f"py-window-{i}", VENTURE, REPO, auto_heartbeat=False)
        r = s.end(f"window {i}", {"i": i})
        assert r.delivered and r.handoff is not None
        made.append(r.handoff)
    assert made[1].created_at - made[0].created_at >= timedelta(minutes=59)
    return made


def test_handoffs_in_window_include_and_exclude_by_creation_time(client: cc.Client, emulator: Emulator) -> None:
    first, second = end_two_an_hour_apart(client, emulator)
    between = first.created_at + timedelta(minutes=30)

    def window(**kw: object) -> List[str]:
        return [h.id for h in client.handoffs_in_window(**kw)]

    assert window(created_after=first.created_at - timedelta(minutes=1)) == [second.id, first.id]
    assert window(created_after=between) == [second.id]  # by date alone
    assert window(created_after=first.created_at - timedelta(minutes=1), created_before=between) == [first.id]
    assert window(created_after=between, venture=VENTURE, repo=REPO) == [second.id]
    assert window(created_before=between, from_agent="py-window-1") == []
    # RFC 3339 text works as well as a datetime.
    text = between.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert window(created_before=text, venture=VENTURE, repo=REPO) == [first.id]


def test_handoffs_in_window_walks_every_page(client: cc.Client, emulator: Emulator) -> None:
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    made = []
    for i in range(5):
        s = client.start_session(f"py-pages-{i}", VENTURE, REPO, auto_heartbeat=False)
        made.append(s.end(f"page {i}").handoff.id)  # type: ignore[union-attr]
    got = [h.id for h in client.handoffs_in_window(created_after=start, venture=VENTURE, repo=REPO, page_size=2)]
    assert sorted(got) == sorted(made) and len(got) == 5
    assert emulator.state()["requests_count"]["/handoffs"] == 3  # 2 + 2 + 1


def test_handoffs_in_window_checks_its_arguments_at_once(client: cc.Client) -> None:
    with pytest.raises(cc.InvalidInput) as e:
        client.handoffs_in_window(created_before=datetime.now(timezone.utc))  # by date alone needs created_after
    assert e.value.field == "created_after"
    with pytest.raises(cc.InvalidInput) as e:
        client.handoffs_in_window(created_after=datetime(2026, 1, 1))  # naive
    assert e.value.field == "created_after"
    with pytest.raises(cc.InvalidInput) as e:
        client.handoffs_in_window(created_after="yesterday")
    assert e.value.field == "created_after"
    now = datetime.now(timezone.utc)
    with pytest.raises(cc.InvalidInput) as e:
        client.handoffs_in_window(created_after=now, created_before=now - timedelta(hours=1))
    assert e.value.field == "created_before"
    with pytest.raises(cc.InvalidInput) as e:
        client.handoffs_in_window(created_after=now, page_size=0)
    assert e.value.field == "limit"


async def test_handoffs_in_window_async(emulator: Emulator, tmp_path: Path) -> None:
    with make_client(emulator.url, tmp_path / "c.db") as c:
        first, second = end_two_an_hour_apart(c, emulator)
    between = first.created_at + timedelta(minutes=30)
    async with make_async_client(emulator.url, tmp_path / "a.db") as c:
        late = [h.id async for h in c.handoffs_in_window(created_after=between)]
        early = [h.id async for h in c.handoffs_in_window(created_after=first.created_at, created_before=between, page_size=1)]
        assert (late, early) == ([second.id], [first.id])
        with pytest.raises(cc.InvalidInput):
            c.handoffs_in_window(created_before=between)
