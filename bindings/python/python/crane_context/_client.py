"""``Client``: the blocking API, for scripts and threads.

Each method is one call of the generated ``*_blocking`` function (which runs
on the SDK's own runtime) plus the conversion of its result; errors come out
as this package's exceptions. ``AsyncClient`` (``_async.py``) is the same API
for asyncio.
"""

from datetime import datetime
from types import TracebackType
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Type

from ._common import (
    Listener,
    StrPath,
    check_page_size,
    end_request,
    handoff_filter,
    latest_query,
    open_native,
    start_request,
    update_request,
)
from ._errors import call
from ._events import EventStream
from ._models import (
    CachedDocs,
    CachedHandoff,
    EndResult,
    Handoff,
    HealthReport,
    HeartbeatInfo,
    QueueCounts,
    QueueItem,
    SessionInfo,
    StartInfo,
    SyncReport,
    UpdateResult,
    opt_handoff,
    parse_time,
)

from ._pages import walk_handoffs
from ._v2args import TimeArg, checkpoint_request, non_negative
from ._v2models import Checkpoint, CheckpointCreated
from ._v2sync import Notes, V2Methods

__all__ = ["Client", "Session", "Queue"]


class SessionBase:
    """What :class:`Session` and ``AsyncSession`` share: the session's identity and heartbeat state."""

    def __init__(self, handle: Any, native: Any) -> None:
        self._h = handle
        self._c = native

    @property
    def session_id(self) -> str:
        """The session id (``sess_…``)."""
        return str(self._h.session_id())

    @property
    def info(self) -> SessionInfo:
        """The session record as of start (or as cached when re-attached)."""
        return SessionInfo._from(self._h.session())

    @property
    def start_info(self) -> Optional[StartInfo]:
        """The server's answer to the start (``created``/``resumed``, docs); ``None`` when re-attached."""
        info = self._h.start_info()
        return None if info is None else StartInfo._from(info)

    @property
    def next_heartbeat_at(self) -> datetime:
        """When the next heartbeat is due, per the server."""
        return parse_time(self._h.next_heartbeat_at())

    @property
    def is_beating(self) -> bool:
        """Whether automatic heartbeats are running."""
        return bool(self._h.is_beating())

    def stop(self) -> None:
        """Stops the automatic heartbeats (the session stays active on the server)."""
        self._h.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(session_id={self.session_id!r}, is_beating={self.is_beating})"


class Session(SessionBase):
    """A started, resumed or re-attached session. It heartbeats by itself until it is ended or stopped."""

    def update(
        self,
        *,
        branch: Optional[str] = None,
        commit_sha: Optional[str] = None,
        meta: Optional[Mapping[str, Any]] = None,
    ) -> UpdateResult:
        """Records progress; also refreshes the heartbeat. Offline, it is queued ahead of this session's end."""
        return UpdateResult._from(call(self._h.update_blocking, update_request(branch, commit_sha, meta)))

    def heartbeat(self) -> HeartbeatInfo:
        """Sends a heartbeat now and reschedules the next from the answer."""
        return HeartbeatInfo._from(call(self._h.heartbeat_now_blocking))

    def end(
        self,
        summary: str,
        payload: Optional[Mapping[str, Any]] = None,
        *,
        status_label: Optional[str] = None,
        to_agent: Optional[str] = None,
        keep_open: bool = False,
        last_activity_at: Optional[TimeArg] = None,
    ) -> EndResult:
        """Ends the session with a handoff whose ``payload`` is any JSON-serializable dict (default ``{}``).

        ``result.delivered`` with ``result.handoff``, or queued (``result.local_id``) when the
        server cannot be reached: then it is delivered later, automatically, exactly once.
        Heartbeats stop either way.

        On v2, ``keep_open=True`` writes the handoff and leaves the session
        active on the server (``result.ended_at`` is ``None``); a v1 server
        cannot, so it is refused there (``InvalidInput``). ``last_activity_at`` (an aware datetime or
        RFC 3339 text) tells the server when the agent last worked.
        """
        request = end_request(summary, payload, status_label, to_agent, keep_open, last_activity_at)
        return EndResult._from(call(self._h.end_blocking, request))

    def checkpoint(
        self,
        summary: str,
        *,
        done: Iterable[str] = (),
        blockers: Iterable[str] = (),
        next: Iterable[str] = (),
        notes: Optional[str] = None,
    ) -> CheckpointCreated:
        """Records a checkpoint of this session (v2): what is done, what blocks, what comes next.

        Never stored twice: the SDK resends only when the first attempt
        certainly did not reach the server. Not queued offline (unreachable,
        it raises ``NetworkError``/``Timeout``).
        """
        request = checkpoint_request(summary, done, blockers, next, notes)
        return CheckpointCreated._from(call(self._c.checkpoint_blocking, self.session_id, request))

    def checkpoints(self, *, limit: Optional[int] = None) -> List[Checkpoint]:
        """This session's checkpoints, newest first (v2)."""
        items = call(self._c.checkpoints_blocking, self.session_id, limit=non_negative("limit", limit))
        return [Checkpoint._from(c) for c in items]


class Queue:
    """The local offline queue: ``client.queue``."""

    def __init__(self, native: Any) -> None:
        self._c = native

    def counts(self) -> QueueCounts:
        """How many items are pending and dead, and their bytes."""
        return QueueCounts._from(call(self._c.queue_counts_blocking))

    def pending(self) -> List[QueueItem]:
        """Items waiting to be delivered, oldest first."""
        return [QueueItem._from(i) for i in call(self._c.pending_items_blocking)]

    def dead(self) -> List[QueueItem]:
        """Items that failed permanently (the dead-letter list), oldest first."""
        return [QueueItem._from(i) for i in call(self._c.dead_items_blocking)]

    def retry(self, local_id: str) -> None:
        """Moves a dead item back to pending and wakes the delivery."""
        call(self._c.retry_dead_blocking, local_id)

    def drop(self, local_id: str) -> None:
        """Deletes a queued item for good."""
        call(self._c.drop_item_blocking, local_id)

    def __repr__(self) -> str:
        return f"Queue(store_path={self._c.store_path()!r})"


class Client(V2Methods):
    """A crash-safe, offline-safe Crane Context client (blocking calls).

    ``Client(url, key)`` talks to that server; ``Client()`` (or
    ``Client.from_env()``) reads ``CRANE_CONTEXT_URL``/``CRANE_CONTEXT_KEY``,
    else the ``crane`` CLI's config file (``profile`` picks one of its
    profiles). Use it as a context manager, or call :meth:`close` before the
    process exits: it lets deliveries in flight finish. Open one client per
    process and share it between threads.

    ``listener`` is called with every background :class:`Event` on one of the
    SDK's threads (return quickly); :meth:`events` is the same as an iterator.
    Durations are in seconds. ``rehome_abandoned=True`` delivers a queued
    handoff whose session was abandoned in a new session of the same tuple
    (default: ``CRANE_REHOME`` or the config file). The client speaks v1 and
    v2 servers (detected); checkpoints, notes, prior session, siblings,
    history and docs are v2 routes.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        key: Optional[str] = None,
        *,
        store_path: Optional[StrPath] = None,
        profile: Optional[str] = None,
        listener: Optional[Listener] = None,
        allow_insecure_http: bool = False,
        connect_timeout: Optional[float] = None,
        request_timeout: Optional[float] = None,
        heartbeat_jitter: Optional[float] = None,
        max_queue_items: Optional[int] = None,
        user_agent: Optional[str] = None,
        rehome_abandoned: Optional[bool] = None,
    ) -> None:
        self._native, self._dispatcher = open_native(
            url,
            key,
            store_path=store_path,
            profile=profile,
            listener=listener,
            allow_insecure_http=allow_insecure_http,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            heartbeat_jitter=heartbeat_jitter,
            max_queue_items=max_queue_items,
            user_agent=user_agent,
            rehome_abandoned=rehome_abandoned,
        )
        self._closed = False
        #: The local offline queue.
        self.queue = Queue(self._native)
        #: Notes (v2): ``create``, ``list``, ``get``, ``update``, ``archive``.
        self.notes = Notes(self._native)

    @classmethod
    def from_env(
        cls,
        *,
        store_path: Optional[StrPath] = None,
        profile: Optional[str] = None,
        listener: Optional[Listener] = None,
    ) -> "Client":
        """A client configured the way the ``crane`` CLI is (environment, then config file)."""
        return cls(store_path=store_path, profile=profile, listener=listener)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return str(self._native.url())

    @property
    def store_path(self) -> str:
        """The local queue/cache file."""
        return str(self._native.store_path())

    # --- sessions ---

    def start_session(
        self,
        agent: str,
        venture: str,
        repo: str,
        *,
        track: Optional[int] = None,
        issue_number: Optional[int] = None,
        branch: Optional[str] = None,
        commit_sha: Optional[str] = None,
        host: Optional[str] = None,
        client_name: Optional[str] = None,
        client_version: Optional[str] = None,
        meta: Optional[Mapping[str, Any]] = None,
        include_docs: bool = False,
        auto_heartbeat: bool = True,
        client_session_id: Optional[str] = None,
        session_group_id: Optional[str] = None,
    ) -> Session:
        """Starts or resumes the session of (agent, venture, repo, track), first delivering queued work of it.

        The session heartbeats by itself until it is ended or stopped
        (``auto_heartbeat=False`` leaves that to the caller). ``include_docs``
        asks the server for the documentation bundle (``session.start_info.docs``).
        On v2, ``client_session_id`` is the caller's own id for the session and
        ``session_group_id`` groups parallel sessions (see :meth:`siblings`).
        """
        request = start_request(
            agent,
            venture,
            repo,
            track=track,
            issue_number=issue_number,
            branch=branch,
            commit_sha=commit_sha,
            host=host,
            client_name=client_name,
            client_version=client_version,
            meta=meta,
            include_docs=include_docs,
            auto_heartbeat=auto_heartbeat,
            client_session_id=client_session_id,
            session_group_id=session_group_id,
        )
        return Session(call(self._native.start_session_blocking, request), self._native)

    def attach(self, agent: str, venture: str, repo: str, *, track: Optional[int] = None) -> Optional[Session]:
        """Re-attaches (heartbeating) to the session of a tuple started earlier on this machine; ``None`` if none is cached."""
        handle = call(self._native.attach_blocking, agent, venture, repo, track=track)
        return None if handle is None else Session(handle, self._native)

    def attach_by_id(self, session_id: str, *, auto_heartbeat: bool = True) -> Optional[Session]:
        """Re-attaches to a cached session by id; ``None`` if it is not cached."""
        handle = call(self._native.attach_by_id_blocking, session_id, auto_heartbeat=auto_heartbeat)
        return None if handle is None else Session(handle, self._native)

    def end_session(
        self,
        session_id: str,
        summary: str,
        payload: Optional[Mapping[str, Any]] = None,
        *,
        status_label: Optional[str] = None,
        to_agent: Optional[str] = None,
        keep_open: bool = False,
        last_activity_at: Optional[TimeArg] = None,
    ) -> EndResult:
        """Ends any session by id with a handoff (no :class:`Session` needed); see :meth:`Session.end`."""
        request = end_request(summary, payload, status_label, to_agent, keep_open, last_activity_at)
        return EndResult._from(call(self._native.end_session_blocking, session_id, request))

    def update_session(
        self,
        session_id: str,
        *,
        branch: Optional[str] = None,
        commit_sha: Optional[str] = None,
        meta: Optional[Mapping[str, Any]] = None,
    ) -> UpdateResult:
        """Records progress on any session by id: applied, or queued."""
        request = update_request(branch, commit_sha, meta)
        return UpdateResult._from(call(self._native.update_session_blocking, session_id, request))

    # --- reads ---

    def health(self) -> HealthReport:
        """``GET /health``. An unhealthy server is a report, not an error."""
        return HealthReport._from(call(self._native.health_blocking))

    def active_sessions(self, agent: str, venture: str, repo: str, *, track: Optional[int] = None) -> List[SessionInfo]:
        """Active sessions of an agent on a repo (a stale one is listed too: see ``last_heartbeat_at``)."""
        active = call(self._native.active_sessions_blocking, agent, venture, repo, track=track)
        return [SessionInfo._from(s) for s in active.sessions]

    def latest_handoff(
        self,
        *,
        session_id: Optional[str] = None,
        venture: Optional[str] = None,
        repo: Optional[str] = None,
        track: Optional[int] = None,
        issue_number: Optional[int] = None,
    ) -> Optional[Handoff]:
        """The handoff that ended a session, or the newest of a repo's track or issue; ``None`` if there is none."""
        query = latest_query(session_id, venture, repo, track, issue_number)
        return opt_handoff(call(self._native.latest_handoff_blocking, query))

    def handoffs(
        self,
        *,
        session_id: Optional[str] = None,
        from_agent: Optional[str] = None,
        venture: Optional[str] = None,
        repo: Optional[str] = None,
        track: Optional[int] = None,
        issue_number: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> Iterator[Handoff]:
        """Every matching handoff, newest first, fetching pages (of ``page_size``, 1–100) as iteration needs them.

        Filter by ``session_id``, by ``from_agent``, or by ``venture`` and
        ``repo`` (optionally one ``track`` or ``issue_number``). Arguments are
        checked at once; the first page is fetched on the first ``next()``.
        """
        pager = self._native.handoff_pager(
            handoff_filter(session_id, from_agent, venture, repo, track, issue_number),
            limit=check_page_size(page_size),
        )

        return walk_handoffs(pager)

    def last_handoff(self, venture: str, repo: str, *, track: Optional[int] = None) -> CachedHandoff:
        """The newest handoff of a venture/repo (track): from the server, or from the local cache (``stale``) when offline."""
        return CachedHandoff._from(call(self._native.last_handoff_blocking, venture, repo, track=track))

    def cached_docs(self) -> Optional[CachedDocs]:
        """The docs delivered by the last session start, from the local cache."""
        docs = call(self._native.cached_docs_blocking)
        return None if docs is None else CachedDocs._from(docs)

    # --- queue and lifecycle ---

    def sync(self) -> SyncReport:
        """Delivers every queued item now (one real attempt even when believed offline) and reports what happened."""
        return SyncReport._from(call(self._native.sync_blocking))

    def events(self) -> EventStream:
        """An iterator over the background events from now on; it ends when closed or when the client closes."""
        return EventStream(self._dispatcher)

    def wake(self) -> None:
        """Wakes the queue delivery (e.g. when the host knows the network is back)."""
        self._native.wake()

    def close(self) -> None:
        """Closes gracefully: starts no new delivery, lets deliveries in flight finish briefly, ends event streams.

        Queued items stay on disk and are delivered by the next client on this machine.
        Closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        try:
            call(self._native.close_blocking)
        finally:
            self._dispatcher.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, store_path={self.store_path!r}, closed={self._closed})"
