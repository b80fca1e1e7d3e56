"""The dead-letter path: a permanent failure is kept with its reason, can be
retried (then delivered) or dropped, and is reported to the listener."""

import pytest

import crane_context as cc

from conftest import end_request, start_request

Dead = cc.CraneEvent.ITEM_DEAD_LETTERED


def test_dead_item_retried_then_delivered(client, emulator, recorder):
    session = client.start_session_blocking(start_request("py-dead", auto_heartbeat=False))
    sid = session.session_id()
    emulator.fault(route="/eod", mode="status", status=400, count=1)
    with pytest.raises(cc.CraneError) as err:
        session.end_blocking(end_request("rejected once", {"next": "retry"}))
    assert not isinstance(err.value, (cc.CraneError.Network, cc.CraneError.Offline))
    assert err.value.correlation_id

    (dead,) = client.dead_items_blocking()
    assert (dead.kind, dead.session_id, dead.state) == ("end", sid, cc.ItemState.DEAD)
    assert dead.last_error and dead.last_correlation_id == err.value.correlation_id
    assert client.pending_items_blocking() == []
    assert client.queue_counts_blocking().dead == 1
    (event,) = recorder.of(Dead)
    assert event.local_id == dead.local_id
    assert event.error.kind == "validation" and event.error.correlation_id == err.value.correlation_id
    assert emulator.handoffs_of(sid) == []

    client.retry_dead_blocking(dead.local_id)
    recorder.wait_for(
        lambda ev: any(isinstance(e, cc.CraneEvent.HANDOFF_DELIVERED) and e.local_id == dead.local_id for e in ev),
        timeout=30,
    )
    assert client.dead_items_blocking() == [] and client.pending_items_blocking() == []
    (stored,) = emulator.handoffs_of(sid)
    assert stored["summary"] == "rejected once"


async def test_dead_item_dropped(client, emulator, recorder):
    session = await client.start_session(start_request("py-drop", auto_heartbeat=False))
    emulator.fault(route="/update", mode="status", status=400, count=1)
    with pytest.raises(cc.CraneError):
        await session.update(cc.UpdateRequest(branch="x"))
    (dead,) = await client.dead_items()
    assert dead.kind == "update"
    await client.drop_item(dead.local_id)
    assert await client.dead_items() == []
    assert (await client.queue_counts()).dead == 0
    with pytest.raises(cc.CraneError.Store):
        await client.retry_dead(dead.local_id)
    # The session itself is unaffected.
    assert (await session.end(end_request())).is_delivered()
