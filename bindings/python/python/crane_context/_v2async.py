"""The v2 routes and ``verify``/``doctor`` on :class:`AsyncClient`, as a mixin.

One awaited generated call and a conversion per method, like the rest
of ``Client``. None of these writes is queued offline (the library's rule:
a checkpoint or note the server might store twice is not resent blindly);
unreachable, they raise ``NetworkError``/``Timeout``.
"""

from typing import Any, AsyncIterator, Iterable, List, Optional, Union

from ._common import check_page_size, window_filter
from ._errors import acall, call
from ._models import Handoff, SessionInfo
from ._pages import awalk_handoffs
from ._v2args import (
    TimeArg,
    active_filter,
    handoff_window,
    checkpoint_request,
    non_negative,
    note_request,
    note_update,
    notes_filter,
    status_label,
)
from ._v2models import (
    ActivityReport,
    Checkpoint,
    CheckpointCreated,
    Doc,
    DocAudit,
    DoctorReport,
    HandoffStatus,
    HistoryEntry,
    MemoryGate,
    Note,
    Sibling,
    VerifyReport,
)
from ._ventures import VentureList

__all__ = ["AsyncNotes", "AsyncV2Methods"]


class AsyncNotes:
    """Notes (v2, asyncio): ``client.notes.create/list/get/update/archive``."""

    def __init__(self, native: Any) -> None:
        self._c = native

    async def create(
        self,
        content: str,
        *,
        title: Optional[str] = None,
        tags: Iterable[str] = (),
        venture: Optional[str] = None,
        session_id: Optional[str] = None,
        source_hash: Optional[str] = None,
    ) -> Note:
        """Writes a note (global when ``venture`` is ``None``). Safe to repeat: the SDK makes it an upsert on its content."""
        request = note_request(content, title, tags, venture, session_id, source_hash)
        return Note._from(await acall(self._c.create_note(request)))

    def list(
        self,
        *,
        venture: Optional[str] = None,
        include_global: bool = False,
        tags: Iterable[str] = (),
        query: Optional[str] = None,
        include_archived: bool = False,
        page_size: Optional[int] = None,
    ) -> AsyncIterator[Note]:
        """Every matching note, newest first (``async for``), fetching pages as iteration needs them."""
        tag_list = list(tags)
        notes_filter(venture, include_global, tag_list, query, include_archived, page_size, None)

        async def walk() -> AsyncIterator[Note]:
            cursor: Optional[str] = None
            while True:
                f = notes_filter(venture, include_global, tag_list, query, include_archived, page_size, cursor)
                page = await acall(self._c.notes(f))
                for n in page.notes:
                    yield Note._from(n)
                cursor = page.next_cursor
                if cursor is None or not page.notes:
                    return

        return walk()

    async def get(self, note_id: str) -> Note:
        """One note by id (``NotFound`` if there is none)."""
        return Note._from(await acall(self._c.note(note_id)))

    async def update(
        self,
        note_id: str,
        *,
        title: Optional[str] = None,
        content: Optional[str] = None,
        tags: Optional[Iterable[str]] = None,
        venture: Optional[str] = None,
        make_global: bool = False,
    ) -> Note:
        """Changes the fields given (``make_global`` moves it out of its venture)."""
        update = note_update(title, content, tags, venture, make_global)
        return Note._from(await acall(self._c.update_note(note_id, update)))

    async def archive(self, note_id: str) -> Note:
        """Archives a note (listed again only with ``include_archived=True``)."""
        return Note._from(await acall(self._c.archive_note(note_id)))

    def __repr__(self) -> str:
        return "AsyncNotes()"


class AsyncV2Methods:
    """The v2 routes and the diagnostics of :class:`AsyncClient`."""

    _native: Any

    async def checkpoint(
        self,
        session_id: str,
        summary: str,
        *,
        done: Iterable[str] = (),
        blockers: Iterable[str] = (),
        next: Iterable[str] = (),
        notes: Optional[str] = None,
    ) -> CheckpointCreated:
        """Records a checkpoint of a live session (v2); see ``Session.checkpoint``. Not queued offline."""
        request = checkpoint_request(summary, done, blockers, next, notes)
        return CheckpointCreated._from(await acall(self._native.checkpoint(session_id, request)))

    async def checkpoints(self, session_id: str, *, limit: Optional[int] = None) -> List[Checkpoint]:
        """A session's checkpoints, newest first (v2)."""
        items = await acall(self._native.checkpoints(session_id, limit=non_negative("limit", limit)))
        return [Checkpoint._from(c) for c in items]

    async def prior(
        self,
        agent: str,
        venture: str,
        repo: str,
        *,
        track: Optional[int] = None,
        within_hours: Optional[int] = None,
    ) -> Optional[SessionInfo]:
        """The newest ended or abandoned session of the tuple within ``within_hours`` (default 48); ``None`` if none (v2)."""
        hours = non_negative("within_hours", within_hours)
        s = await acall(self._native.prior_session(agent, venture, repo, track=track, within_hours=hours))
        return None if s is None else SessionInfo._from(s)

    async def siblings(self, session_group_id: str, *, exclude_session_id: Optional[str] = None) -> List[Sibling]:
        """The active sessions of a session group (v2)."""
        items = await acall(self._native.siblings(session_group_id, exclude_session_id=exclude_session_id))
        return [Sibling._from(s) for s in items]

    async def history(self, *, days: Optional[int] = None) -> List[HistoryEntry]:
        """Ended sessions per venture and day over the last ``days`` (v2)."""
        items = await acall(self._native.session_history(days=non_negative("days", days)))
        return [HistoryEntry._from(e) for e in items]

    async def record_activity(self, session_id: str, times: Iterable[str], *, source: Optional[str] = None) -> ActivityReport:
        """Records the minutes an agent worked (RFC 3339 times); each minute is stored once (v2)."""
        return ActivityReport._from(await acall(self._native.record_activity(session_id, list(times), source=source)))

    async def set_handoff_status(self, handoff_id: str, label: Union[HandoffStatus, str]) -> Handoff:
        """Sets a handoff's status label (``done``, ``in_progress``, ``blocked``, ``ready``) (v2)."""
        return Handoff._from(await acall(self._native.set_handoff_status(handoff_id, status_label(label))))

    async def docs(self, venture: str) -> List[Doc]:
        """The global documents and the venture's, without content (v2)."""
        return [Doc._from(d) for d in await acall(self._native.docs(venture))]

    async def doc(self, scope: str, name: str) -> Doc:
        """One document with its content (v2)."""
        return Doc._from(await acall(self._native.doc(scope, name)))

    async def doc_audits(self, venture: Optional[str] = None) -> List[DocAudit]:
        """The documentation audit of one venture, or of every venture (v2)."""
        return [DocAudit._from(a) for a in await acall(self._native.doc_audits(venture=venture))]

    async def memory_gate(self) -> MemoryGate:
        """Which notes the server injects into sessions (v2)."""
        return MemoryGate((await acall(self._native.memory_gate())).name.lower())

    async def verify(self, *, venture: Optional[str] = None) -> VerifyReport:
        """Verifies the deployment with a throwaway session through every route (``crane verify``); a report, not an error."""
        return VerifyReport._from(await acall(self._native.verify(venture=venture)))

    async def doctor(self, *, repo: Optional[str] = None, venture: Optional[str] = None) -> DoctorReport:
        """Diagnoses server, clock, key, generation and queue; for ``repo`` (``owner/name``) the venture chosen and why."""
        return DoctorReport._from(await acall(self._native.doctor(repo=repo, venture=venture)))

    async def ventures(self) -> VentureList:
        """The server's ventures (v2), kept in the local store for a day; see ``Client.ventures``."""
        return VentureList._from(await acall(self._native.ventures()))

    async def active(
        self,
        *,
        agent: Optional[str] = None,
        venture: Optional[str] = None,
        repo: Optional[str] = None,
        track: Optional[int] = None,
    ) -> List[SessionInfo]:
        """The active sessions matching every filter given, or all of them (v2); see ``Client.active``."""
        found = await acall(self._native.active(active_filter(agent, venture, repo, track)))
        return [SessionInfo._from(s) for s in found.sessions]

    def handoffs_in_window(
        self,
        *,
        created_after: Optional[TimeArg] = None,
        created_before: Optional[TimeArg] = None,
        session_id: Optional[str] = None,
        from_agent: Optional[str] = None,
        venture: Optional[str] = None,
        repo: Optional[str] = None,
        track: Optional[int] = None,
        issue_number: Optional[int] = None,
        page_size: Optional[int] = None,
    ) -> AsyncIterator[Handoff]:
        """A date window's handoffs, newest first, as an async iterator; see ``Client.handoffs_in_window``."""
        pager = call(
            self._native.handoff_window_pager,
            window_filter(session_id, from_agent, venture, repo, track, issue_number),
            handoff_window(created_after, created_before),
            limit=check_page_size(page_size),
        )

        return awalk_handoffs(pager)
