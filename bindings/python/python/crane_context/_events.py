"""Background events: typed records, the fan-out, and the event streams.

The engine reports heartbeats, queueing and deliveries from its own threads
through one listener. Every client installs a :class:`Dispatcher` as that
listener: it converts each event once and hands it to the caller's
``listener`` callable (still on the SDK's thread) and to every open stream.

A stream (``client.events()``) sees the events that happen after it was
opened, in order. It buffers without bound until read, so read it or close
it; it ends (``StopIteration`` / ``StopAsyncIteration``) when it is closed
or when its client is closed.
"""

import asyncio
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Iterator, List, Optional, Union

from ._models import parse_time
from ._native import crane_context as _n

__all__ = [
    "Event",
    "EventError",
    "HeartbeatSent",
    "HeartbeatFailed",
    "SessionLost",
    "UpdateQueued",
    "HandoffQueued",
    "UpdateDelivered",
    "HandoffDelivered",
    "HandoffRehomed",
    "ItemDeadLettered",
    "UpdateDropped",
    "ConnectivityChanged",
    "EventStream",
    "AsyncEventStream",
]


@dataclass(frozen=True)
class EventError:
    """An error as carried inside an event."""

    kind: str
    """The Rust ``Error::kind``: ``network``, ``timeout``, ``server``, ``session_not_active``, ``validation``, …"""
    message: str
    correlation_id: Optional[str] = None


@dataclass(frozen=True)
class Event:
    """Base of every background event."""


@dataclass(frozen=True)
class HeartbeatSent(Event):
    """A heartbeat was accepted; the next one is scheduled."""

    session_id: str
    next_heartbeat_at: datetime
    interval_seconds: int


@dataclass(frozen=True)
class HeartbeatFailed(Event):
    """A heartbeat failed; it will be retried."""

    session_id: str
    error: EventError
    attempt: int


@dataclass(frozen=True)
class SessionLost(Event):
    """The session ended or was abandoned elsewhere; its heartbeats stopped."""

    session_id: str
    error: EventError


@dataclass(frozen=True)
class UpdateQueued(Event):
    """An update could not be delivered now and waits in the offline queue."""

    session_id: str
    local_id: str


@dataclass(frozen=True)
class HandoffQueued(Event):
    """A handoff could not be delivered now and waits in the offline queue."""

    session_id: str
    local_id: str


@dataclass(frozen=True)
class UpdateDelivered(Event):
    """A queued update reached the server."""

    session_id: str
    local_id: str


@dataclass(frozen=True)
class HandoffDelivered(Event):
    """A handoff reached the server (directly or from the queue)."""

    session_id: str
    local_id: str
    handoff_id: str
    payload_hash: str


@dataclass(frozen=True)
class HandoffRehomed(Event):
    """A handoff whose session ended or was abandoned without it was delivered in a new session.

    The new session is of the same agent/venture/repo/track and was ended by
    the handoff (whose ``meta`` names the original session); a
    :class:`HandoffDelivered` for the new session follows. Only with
    ``rehome_abandoned=True``.
    """

    local_id: str
    from_session_id: str
    to_session_id: str
    handoff_id: str


@dataclass(frozen=True)
class ItemDeadLettered(Event):
    """A queued item failed permanently and moved to the dead-letter list."""

    session_id: str
    local_id: str
    error: EventError


@dataclass(frozen=True)
class UpdateDropped(Event):
    """A queued update was dropped because its session is gone; nothing is dead-lettered."""

    session_id: str
    local_id: str
    error: EventError


@dataclass(frozen=True)
class ConnectivityChanged(Event):
    """The server became reachable (``online``) or unreachable."""

    online: bool


def _err(e: Any) -> EventError:
    return EventError(kind=e.kind, message=e.message, correlation_id=e.correlation_id)


def from_native(e: Any) -> Event:
    """The typed event for one generated ``CraneEvent``."""
    E = _n.CraneEvent
    if isinstance(e, E.HEARTBEAT_SENT):
        return HeartbeatSent(e.session_id, parse_time(e.next_heartbeat_at), e.interval_seconds)
    if isinstance(e, E.HEARTBEAT_FAILED):
        return HeartbeatFailed(e.session_id, _err(e.error), e.attempt)
    if isinstance(e, E.SESSION_LOST):
        return SessionLost(e.session_id, _err(e.error))
    if isinstance(e, E.UPDATE_QUEUED):
        return UpdateQueued(e.session_id, e.local_id)
    if isinstance(e, E.HANDOFF_QUEUED):
        return HandoffQueued(e.session_id, e.local_id)
    if isinstance(e, E.UPDATE_DELIVERED):
        return UpdateDelivered(e.session_id, e.local_id)
    if isinstance(e, E.HANDOFF_DELIVERED):
        return HandoffDelivered(e.session_id, e.local_id, e.handoff_id, e.payload_hash)
    if isinstance(e, E.HANDOFF_REHOMED):
        return HandoffRehomed(e.local_id, e.from_session_id, e.to_session_id, e.handoff_id)
    if isinstance(e, E.ITEM_DEAD_LETTERED):
        return ItemDeadLettered(e.session_id, e.local_id, _err(e.error))
    if isinstance(e, E.UPDATE_DROPPED):
        return UpdateDropped(e.session_id, e.local_id, _err(e.error))
    if isinstance(e, E.CONNECTIVITY_CHANGED):
        return ConnectivityChanged(e.online)
    raise TypeError(f"unknown event {e!r}")


#: What a stream's buffer carries: an event, or the end marker.
_END = object()


class _Sink:
    """One subscriber of a :class:`Dispatcher`."""

    def put(self, item: object) -> None:
        raise NotImplementedError


class Dispatcher(_n.CraneListener):
    """The listener every client installs: converts each event once and fans it out."""

    def __init__(self, listener: Optional[Callable[[Event], None]]) -> None:
        self._listener = listener
        self._lock = threading.Lock()
        self._sinks: List[_Sink] = []
        self._closed = False

    def on_event(self, event: Any) -> None:
        typed = from_native(event)
        with self._lock:
            sinks = list(self._sinks)
        for sink in sinks:
            sink.put(typed)
        if self._listener is not None:
            self._listener(typed)

    def subscribe(self, sink: _Sink) -> None:
        with self._lock:
            if not self._closed:
                self._sinks.append(sink)
                return
        sink.put(_END)

    def unsubscribe(self, sink: _Sink) -> None:
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)
        sink.put(_END)

    def close(self) -> None:
        """Ends every stream (the client is closing)."""
        with self._lock:
            self._closed = True
            sinks, self._sinks = self._sinks, []
        for sink in sinks:
            sink.put(_END)


class EventStream(_Sink):
    """The client's events, from the moment the stream was opened: ``for event in client.events(): ...``.

    Iteration blocks until the next event and stops when the stream or its
    client is closed. ``get(timeout=...)`` waits at most ``timeout`` seconds.
    Also a context manager that closes the stream.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._queue: "queue.Queue[object]" = queue.Queue()
        self._dispatcher = dispatcher
        self._ended = False
        dispatcher.subscribe(self)

    def put(self, item: object) -> None:
        self._queue.put(item)

    def get(self, timeout: Optional[float] = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` seconds, ``StopIteration`` once closed."""
        if self._ended:
            raise StopIteration
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no event within {timeout} s") from None
        if item is _END:
            self._ended = True
            raise StopIteration
        assert isinstance(item, Event)
        return item

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        return self.get()

    def close(self) -> None:
        """Stops receiving events; iteration ends after the ones already buffered."""
        self._dispatcher.unsubscribe(self)

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEventStream(_Sink):
    """The client's events for asyncio: ``async for event in client.events(): ...``.

    Events are handed to the loop that opened the stream
    (``call_soon_threadsafe``), so awaiting never blocks the loop. Also an
    async context manager that closes the stream.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: "asyncio.Queue[object]" = asyncio.Queue()
        self._dispatcher = dispatcher
        self._ended = False
        dispatcher.subscribe(self)

    def put(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody can read any more
            pass

    async def get(self, timeout: Optional[float] = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` seconds, ``StopAsyncIteration`` once closed."""
        if self._ended:
            raise StopAsyncIteration
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no event within {timeout} s") from None
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        assert isinstance(item, Event)
        return item

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    def close(self) -> None:
        """Stops receiving events; iteration ends after the ones already buffered."""
        self._dispatcher.unsubscribe(self)

    async def __aenter__(self) -> "AsyncEventStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


AnyEventStream = Union[EventStream, AsyncEventStream]
