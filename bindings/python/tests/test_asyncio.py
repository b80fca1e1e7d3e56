"""Concurrent asyncio calls on `AsyncClient`: they run on the SDK's threads,
so the event loop stays free and calls overlap."""

import asyncio
import time

import crane_context as cc

from conftest import REPO, VENTURE


async def test_many_concurrent_calls(aclient, emulator):
    agents = [f"py-conc-{i}" for i in range(8)]
    sessions = await asyncio.gather(
        *(aclient.start_session(a, VENTURE, REPO, auto_heartbeat=False) for a in agents)
    )
    assert len({s.session_id for s in sessions}) == len(agents)

    healths = await asyncio.gather(*(aclient.health() for _ in range(5)))
    actives = await asyncio.gather(*(aclient.active_sessions(a, VENTURE, REPO) for a in agents))
    updates = await asyncio.gather(*(s.update(branch=f"b{i}") for i, s in enumerate(sessions)))
    assert all(r.healthy for r in healths)
    assert all(len(r) == 1 for r in actives)
    assert all(r.applied for r in updates)

    results = await asyncio.gather(*(s.end(f"end {i}", {"i": i}) for i, s in enumerate(sessions)))
    assert all(r.delivered for r in results)
    assert sorted(r.handoff.payload["i"] for r in results) == list(range(len(agents)))
    assert emulator.state()["handoffs_count"] == len(agents)


async def test_calls_overlap_and_the_loop_stays_free(aclient, emulator):
    emulator.fault(route="/health", mode="delay", delay_ms=600, count=4)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    reports = await asyncio.gather(*(aclient.health() for _ in range(4)))
    elapsed = time.monotonic() - started
    task.cancel()
    assert all(r.healthy for r in reports)
    assert elapsed < 4 * 0.6, f"calls did not overlap ({elapsed:.2f}s)"
    assert ticks >= 5, "the event loop was blocked"


async def test_cancelled_awaitable_does_not_lose_the_end(aclient, emulator, recorder):
    session = await aclient.start_session("py-cancel", VENTURE, REPO, auto_heartbeat=False)
    emulator.fault(route=emulator.end_route, mode="delay", delay_ms=800, count=1)
    task = asyncio.ensure_future(session.end("cancelled caller"))
    await asyncio.sleep(0.2)
    task.cancel()
    # The end keeps running on the SDK's runtime and is stored once.
    sid = session.session_id
    await asyncio.to_thread(
        recorder.wait_for,
        lambda ev: any(isinstance(e, cc.HandoffDelivered) and e.session_id == sid for e in ev),
        10,
    )
    assert len(emulator.handoffs_of(sid)) == 1
    assert await aclient.queue.pending() == []
