"""``AsyncClient``: the same API as ``Client``, for asyncio.

Every network method is a coroutine awaiting the generated ``async`` form,
which runs on the SDK's own threads: the event loop stays free and many calls
can be in flight at once. A call whose task is cancelled still completes on
the SDK's side (an end already written to the queue is never cut in half).
"""

from types import TracebackType
from typing import Any, AsyncIterator, Iterable, List, Mapping, Optional, Type

from ._client import SessionBase
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
from ._errors import acall
from ._events import AsyncEventStream
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
    SyncReport,
    UpdateResult,
    opt_handoff,
)

from ._pages import awalk_handoffs
from ._v2args import TimeArg, checkpoint_request, non_negative
from ._v2async import AsyncNotes, AsyncV2Methods
from ._v2models import Checkpoint, CheckpointCreated

__all__ = ["AsyncClient", "AsyncSession", "AsyncQueue"]


class AsyncSession(SessionBase):
    """A started, resumed or re-attached session (asyncio). It heartbeats by itself until it is ended or stopped."""

    async def update(
        self,
        *,
        branch: Optional[str] = None,
        commit_sha: Optional[str] = None,
        meta: Optional[Mapping[str, Any]] = None,
    ) -> UpdateResult:
        """Records progress; also refreshes the heartbeat. Offline, it is queued ahead of this session's end."""
        return UpdateResult._from(await acall(self._h.update(update_request(branch, commit_sha, meta))))

    async def heartbeat(self) -> HeartbeatInfo:
        """Sends a heartbeat now and reschedules the next from the answer."""
        return HeartbeatInfo._from(await acall(self._h.heartbeat_now()))

    async def end(
        self,
        summary: str,
        payload: Optional[Mapping[str, Any]] = None,
        *,
        status_label: Optional[str] = None,
        to_agent: Optional[str] = None,
        keep_open: bool = False,
        last_activity_at: Optional[TimeArg] = None,
    ) -> EndResult:
        """Ends the session with a handoff whose ``payload`` is any JSON-serializable dict; see ``Session.end``."""
        request = end_request(summary, payload, status_label, to_agent, keep_open, last_activity_at)
        return EndResult._from(await acall(self._h.end(request)))

    async def checkpoint(
        self,
        summary: str,
        *,
        done: Iterable[str] = (),
        blockers: Iterable[str] = (),
        next: Iterable[str] = (),
        notes: Optional[str] = None,
    ) -> CheckpointCreated:
        """Records a checkpoint of this session (v2); see ``Session.checkpoint``. Not queued offline."""
        request = checkpoint_request(summary, done, blockers, next, notes)
        return CheckpointCreated._from(await acall(self._c.checkpoint(self.session_id, request)))

    async def checkpoints(self, *, limit: Optional[int] = None) -> List[Checkpoint]:
        """This session's checkpoints, newest first (v2)."""
        items = await acall(self._c.checkpoints(self.session_id, limit=non_negative("limit", limit)))
        return [Checkpoint._from(c) for c in items]


class AsyncQueue:
    """The local offline queue: ``client.queue`` (asyncio)."""

    def __init__(self, native: Any) -> None:
        self._c = native

    async def counts(self) -> QueueCounts:
        """How many items are pending and dead, and their bytes."""
        return QueueCounts._from(await acall(self._c.queue_counts()))

    async def pending(self) -> List[QueueItem]:
        """Items waiting to be delivered, oldest first."""
        return [QueueItem._from(i) for i in await acall(self._c.pending_items())]

    async def dead(self) -> List[QueueItem]:
        """Items that failed permanently (the dead-letter list), oldest first."""
        return [QueueItem._from(i) for i in await acall(self._c.dead_items())]

    async def retry(self, local_id: str) -> None:
        """Moves a dead item back to pending and wakes the delivery."""
        await acall(self._c.retry_dead(local_id))

    async def drop(self, local_id: str) -> None:
        """Deletes a queued item for good."""
        await acall(self._c.drop_item(local_id))

    def __repr__(self) -> str:
        return f"AsyncQueue(store_path={self._c.store_path()!r})"


class AsyncClient(AsyncV2Methods):
    """A crash-safe, offline-safe Crane Context client for asyncio: ``async with AsyncClient(url, key) as client``.

    Takes the same arguments as ``Client`` (``AsyncClient()`` reads the
    environment or the ``crane`` CLI's config file). Opening reads the local
    store file and does no network I/O; :meth:`close` (or leaving the
    ``async with``) lets deliveries in flight finish.
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
        self.queue = AsyncQueue(self._native)
        #: Notes (v2): ``create``, ``list`` (``async for``), ``get``, ``update``, ``archive``.
        self.notes = AsyncNotes(self._native)

    @classmethod
    def from_env(
        cls,
        *,
        store_path: Optional[StrPath] = None,
        profile: Optional[str] = None,
        listener: Optional[Listener] = None,
    ) -> "AsyncClient":
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

    async def start_session(
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
    ) -> AsyncSession:
        """Starts or resumes the session of (agent, venture, repo, track); see ``Client.start_session``."""
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
        return AsyncSession(await acall(self._native.start_session(request)), self._native)

    async def attach(self, agent: str, venture: str, repo: str, *, track: Optional[int] = None) -> Optional[AsyncSession]:
        """Re-attaches (heartbeating) to the session of a tuple started earlier on this machine; ``None`` if none is cached."""
        handle = await acall(self._native.attach(agent, venture, repo, track=track))
        return None if handle is None else AsyncSession(handle, self._native)

    async def attach_by_id(self, session_id: str, *, auto_heartbeat: bool = True) -> Optional[AsyncSession]:
        """Re-attaches to a cached session by id; ``None`` if it is not cached."""
        handle = await acall(self._native.attach_by_id(session_id, auto_heartbeat=auto_heartbeat))
        return None if handle is None else AsyncSession(handle, self._native)

    async def end_session(
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
        """Ends any session by id with a handoff; see ``Session.end``."""
        request = end_request(summary, payload, status_label, to_agent, keep_open, last_activity_at)
        return EndResult._from(await acall(self._native.end_session(session_id, request)))

    async def update_session(
        self,
        session_id: str,
        *,
        branch: Optional[str] = None,
        commit_sha: Optional[str] = None,
        meta: Optional[Mapping[str, Any]] = None,
    ) -> UpdateResult:
        """Records progress on any session by id: applied, or queued."""
        request = update_request(branch, commit_sha, meta)
        return UpdateResult._from(await acall(self._native.update_session(session_id, request)))

    # --- reads ---

    async def health(self) -> HealthReport:
        """``GET /health``. An unhealthy server is a report, not an error."""
        return HealthReport._from(await acall(self._native.health()))

    async def active_sessions(
        self, agent: str, venture: str, repo: str, *, track: Optional[int] = None
    ) -> List[SessionInfo]:
        """Active sessions of an agent on a repo."""
        active = await acall(self._native.active_sessions(agent, venture, repo, track=track))
        return [SessionInfo._from(s) for s in active.sessions]

    async def latest_handoff(
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
        return opt_handoff(await acall(self._native.latest_handoff(query)))

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
    ) -> AsyncIterator[Handoff]:
        """Every matching handoff, newest first, as an async iterator: ``async for h in client.handoffs(...)``.

        Same filters as ``Client.handoffs``; pages are fetched as iteration needs them.
        """
        pager = self._native.handoff_pager(
            handoff_filter(session_id, from_agent, venture, repo, track, issue_number),
            limit=check_page_size(page_size),
        )

        return awalk_handoffs(pager)

    async def last_handoff(self, venture: str, repo: str, *, track: Optional[int] = None) -> CachedHandoff:
        """The newest handoff of a venture/repo (track), from the server or, offline, from the local cache (``stale``)."""
        return CachedHandoff._from(await acall(self._native.last_handoff(venture, repo, track=track)))

    async def cached_docs(self) -> Optional[CachedDocs]:
        """The docs delivered by the last session start, from the local cache."""
        docs = await acall(self._native.cached_docs())
        return None if docs is None else CachedDocs._from(docs)

    # --- queue and lifecycle ---

    async def sync(self) -> SyncReport:
        """Delivers every queued item now and reports what happened."""
        return SyncReport._from(await acall(self._native.sync()))

    def events(self) -> AsyncEventStream:
        """An async iterator over the background events from now on (call it inside the event loop)."""
        return AsyncEventStream(self._dispatcher)

    def wake(self) -> None:
        """Wakes the queue delivery (e.g. when the host knows the network is back)."""
        self._native.wake()

    async def close(self) -> None:
        """Closes gracefully (see ``Client.close``). Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            await acall(self._native.close())
        finally:
            self._dispatcher.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.url!r}, store_path={self.store_path!r}, closed={self._closed})"
