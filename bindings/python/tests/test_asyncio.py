"""Concurrent asyncio calls: they run on the SDK's threads, so the event
loop stays free and calls overlap."""

import asyncio
import time

import crane_context as cc

from conftest import end_request, start_request


async def test_many_concurrent_calls(client, emulator):
    agents = [f"py-conc-{i}" for i in range(8)]
    sessions = await asyncio.gather(
        *(client.start_session(start_request(a, auto_heartbeat=False)) for a in agents)
    )
    assert len({s.session_id() for s in sessions}) == len(agents)

    results = await asyncio.gather(
        *(client.health() for _ in range(5)),
        *(client.active_sessions(a, "vc", "venturecrane/crane-context") for a in agents),
        *(s.update(cc.UpdateRequest(branch=f"b{i}")) for i, s in enumerate(sessions)),
    )
    assert all(r.status == cc.HealthStatus.HEALTHY for r in results[:5])
    assert all(r.count == 1 for r in results[5 : 5 + len(agents)])
    assert all(r.is_applied() for r in results[5 + len(agents) :])

    outcomes = await asyncio.gather(
        *(s.end(end_request(f"end {i}", {"i": i})) for i, s in enumerate(sessions))
    )
    assert all(o.is_delivered() for o in outcomes)
    assert emulator.state()["handoffs_count"] == len(agents)


async def test_calls_overlap_and_the_loop_stays_free(client, emulator):
    emulator.fault(route="/health", mode="delay", delay_ms=600, count=4)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    reports = await asyncio.gather(*(client.health() for _ in range(4)))
    elapsed = time.monotonic() - started
    task.cancel()
    assert all(r.status == cc.HealthStatus.HEALTHY for r in reports)
    assert elapsed < 4 * 0.6, f"calls did not overlap ({elapsed:.2f}s)"
    assert ticks >= 5, "the event loop was blocked"


async def test_cancelled_awaitable_does_not_lose_the_end(client, emulator, recorder):
    session = await client.start_session(start_request("py-cancel", auto_heartbeat=False))
    emulator.fault(route="/eod", mode="delay", delay_ms=800, count=1)
    task = asyncio.ensure_future(session.end(end_request("cancelled caller")))
    await asyncio.sleep(0.2)
    task.cancel()
    # The end keeps running on the SDK's runtime and is stored once.
    sid = session.session_id()
    await asyncio.to_thread(
        recorder.wait_for,
        lambda ev: any(isinstance(e, cc.CraneEvent.HANDOFF_DELIVERED) and e.session_id == sid for e in ev),
        10,
    )
    assert len(emulator.handoffs_of(session.session_id())) == 1
    assert await client.pending_items() == []
