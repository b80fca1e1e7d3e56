"""The dead-letter path through `client.queue`: a permanent failure is kept
with its reason, can be retried (then delivered) or dropped, and is reported
as an event."""

import pytest

import crane_context as cc

from conftest import start


def test_dead_item_retried_then_delivered(client, emulator, recorder):
    session = start(client, "py-dead", auto_heartbeat=False)
    sid = session.session_id
    emulator.fault(route=emulator.end_route, mode="status", status=400, count=1)
    with pytest.raises(cc.ValidationError) as err:
        session.end("rejected once", {"next": "retry"})
    assert err.value.correlation_id

    (dead,) = client.queue.dead()
    assert (dead.kind, dead.session_id, dead.state) == ("end", sid, cc.ItemState.DEAD)
    assert dead.last_error and dead.last_correlation_id == err.value.correlation_id
    assert client.queue.pending() == []
    assert client.queue.counts().dead == 1
    (event,) = recorder.of(cc.ItemDeadLettered)
    assert event.local_id == dead.local_id
    assert event.error.kind == "validation" and event.error.correlation_id == err.value.correlation_id
    assert emulator.handoffs_of(sid) == []

    client.queue.retry(dead.local_id)
    recorder.wait_for(
        lambda ev: any(isinstance(e, cc.HandoffDelivered) and e.local_id == dead.local_id for e in ev),
        timeout=30,
    )
    assert client.queue.dead() == [] and client.queue.pending() == []
    (stored,) = emulator.handoffs_of(sid)
    assert stored["summary"] == "rejected once"


async def test_dead_item_dropped(aclient, emulator):
    session = await aclient.start_session("py-drop", "vc", "venturecrane/crane-context", auto_heartbeat=False)
    emulator.fault(route="/update", mode="status", status=400, count=1)
    with pytest.raises(cc.ValidationError):
        await session.update(branch="x")
    (dead,) = await aclient.queue.dead()
    assert dead.kind == "update"
    await aclient.queue.drop(dead.local_id)
    assert await aclient.queue.dead() == []
    assert (await aclient.queue.counts()).dead == 0
    with pytest.raises(cc.StoreError):
        await aclient.queue.retry(dead.local_id)
    # The session itself is unaffected.
    assert (await session.end("fine")).delivered
