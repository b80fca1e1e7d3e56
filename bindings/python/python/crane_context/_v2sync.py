"""The v2 routes and ``verify``/``doctor`` on :class:`Client` (blocking), as a mixin.

One generated ``*_blocking`` call and a conversion per method, like the rest
of ``Client``. None of these writes is queued offline (the library's rule:
a checkpoint or note the server might store twice is not resent blindly);
unreachable, they raise ``NetworkError``/``Timeout``.
"""

from typing import Any, Iterable, Iterator, List, Optional, Union

from ._common import check_page_size, window_filter
from ._errors import call
from ._models import Handoff, SessionInfo
from ._pages import walk_handoffs
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

__all__ = ["Notes", "V2Methods"]


class Notes:
    """Notes (v2): ``client.notes.create/list/get/update/archive``."""

    def __init__(self, native: Any) -> None:
        self._c = native

    def create(
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
        return Note._from(call(self._c.create_note_blocking, request))

    def list(
        self,
        *,
        venture: Optional[str] = None,
        include_global: bool = False,
        tags: Iterable[str] = (),
        query: Optional[str] = None,
        include_archived: bool = False,
        page_size: Optional[int] = None,
    ) -> Iterator[Note]:
        """Every matching note, newest first, fetching pages as iteration needs them."""
        tag_list = list(tags)
        notes_filter(venture, include_global, tag_list, query, include_archived, page_size, None)

        def walk() -> Iterator[Note]:
            cursor: Optional[str] = None
            while True:
                f = notes_filter(venture, include_global, tag_list, query, include_archived, page_size, cursor)
                page = call(self._c.notes_blocking, f)
                for n in page.notes:
                    yield Note._from(n)
                cursor = page.next_cursor
                if cursor is None or not page.notes:
                    return

        return walk()

    def get(self, note_id: str) -> Note:
        """One note by id (``NotFound`` if there is none)."""
        return Note._from(call(self._c.note_blocking, note_id))

    def update(
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
        return Note._from(call(self._c.update_note_blocking, note_id, update))

    def archive(self, note_id: str) -> Note:
        """Archives a note (listed again only with ``include_archived=True``)."""
        return Note._from(call(self._c.archive_note_blocking, note_id))

    def __repr__(self) -> str:
        return "Notes()"


class V2Methods:
    """The v2 routes and the diagnostics of :class:`Client`."""

    _native: Any

    def checkpoint(
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
        return CheckpointCreated._from(call(self._native.checkpoint_blocking, session_id, request))

    def checkpoints(self, session_id: str, *, limit: Optional[int] = None) -> List[Checkpoint]:
        """A session's checkpoints, newest first (v2)."""
        items = call(self._native.checkpoints_blocking, session_id, limit=non_negative("limit", limit))
        return [Checkpoint._from(c) for c in items]

    def prior(
        self,
        agent: str,
        venture: str,
        repo: str,
        *,
        track: Optional[int] = None,
        within_hours: Optional[int] = None,
    ) -> Optional[SessionInfo]:
        """The newest ended or abandoned session of the tuple within ``within_hours`` (default 48); ``None`` if none (v2)."""
        s = call(
            self._native.prior_session_blocking,
            agent,
            venture,
            repo,
            track=track,
            within_hours=non_negative("within_hours", within_hours),
        )
        return None if s is None else SessionInfo._from(s)

    def siblings(self, session_group_id: str, *, exclude_session_id: Optional[str] = None) -> List[Sibling]:
        """The active sessions of a session group (v2)."""
        items = call(self._native.siblings_blocking, session_group_id, exclude_session_id=exclude_session_id)
        return [Sibling._from(s) for s in items]

    def history(self, *, days: Optional[int] = None) -> List[HistoryEntry]:
        """Ended sessions per venture and day over the last ``days`` (v2)."""
        items = call(self._native.session_history_blocking, days=non_negative("days", days))
        return [HistoryEntry._from(e) for e in items]

    def record_activity(self, session_id: str, times: Iterable[str], *, source: Optional[str] = None) -> ActivityReport:
        """Records the minutes an agent worked (RFC 3339 times); each minute is stored once (v2)."""
        return ActivityReport._from(call(self._native.record_activity_blocking, session_id, list(times), source=source))

    def set_handoff_status(self, handoff_id: str, label: Union[HandoffStatus, str]) -> Handoff:
        """Sets a handoff's status label (``done``, ``in_progress``, ``blocked``, ``ready``) (v2)."""
        return Handoff._from(call(self._native.set_handoff_status_blocking, handoff_id, status_label(label)))

    def docs(self, venture: str) -> List[Doc]:
        """The global documents and the venture's, without content (v2)."""
        return [Doc._from(d) for d in call(self._native.docs_blocking, venture)]

    def doc(self, scope: str, name: str) -> Doc:
        """One document with its content (v2)."""
        return Doc._from(call(self._native.doc_blocking, scope, name))

    def doc_audits(self, venture: Optional[str] = None) -> List[DocAudit]:
        """The documentation audit of one venture, or of every venture (v2)."""
        return [DocAudit._from(a) for a in call(self._native.doc_audits_blocking, venture=venture)]

    def memory_gate(self) -> MemoryGate:
        """Which notes the server injects into sessions (v2)."""
        return MemoryGate(call(self._native.memory_gate_blocking).name.lower())

    def verify(self, *, venture: Optional[str] = None) -> VerifyReport:
        """Verifies the deployment with a throwaway session through every route (``crane verify``); a report, not an error."""
        return VerifyReport._from(call(self._native.verify_blocking, venture=venture))

    def doctor(self, *, repo: Optional[str] = None, venture: Optional[str] = None) -> DoctorReport:
        """Diagnoses server, clock, key, generation and queue; for ``repo`` (``owner/name``) the venture chosen and why."""
        return DoctorReport._from(call(self._native.doctor_blocking, repo=repo, venture=venture))

    def ventures(self) -> VentureList:
        """The server's ventures (v2 ``GET /ventures``), kept in the local store for a day.

        Unreachable, the stored list answers (``stale=True``, however old);
        with none stored it raises ``NetworkError``/``Timeout``. A v1 server
        has no venture list: ``NotFound``.
        """
        return VentureList._from(call(self._native.ventures_blocking))

    def active(
        self,
        *,
        agent: Optional[str] = None,
        venture: Optional[str] = None,
        repo: Optional[str] = None,
        track: Optional[int] = None,
    ) -> List[SessionInfo]:
        """The active sessions matching every filter given, or all of them (v2 ``GET /active``).

        A stale session is listed too (see ``last_heartbeat_at``). A v1 server
        needs agent, venture and repo: use :meth:`active_sessions` there.
        """
        found = call(self._native.active_blocking, active_filter(agent, venture, repo, track))
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
    ) -> Iterator[Handoff]:
        """Every handoff created at or after ``created_after`` and before ``created_before``, newest first (v2).

        Bounds are aware datetimes or RFC 3339 text. The filters are those of
        :meth:`handoffs`, all optional: with none, handoffs are listed by date
        alone, which needs ``created_after``. Pages (of ``page_size``, 1–100)
        are fetched as iteration needs them; arguments are checked at once.
        """
        pager = call(
            self._native.handoff_window_pager,
            window_filter(session_id, from_agent, venture, repo, track, issue_number),
            handoff_window(created_after, created_before),
            limit=check_page_size(page_size),
        )

        return walk_handoffs(pager)
