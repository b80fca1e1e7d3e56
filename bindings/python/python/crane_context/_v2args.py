"""Keyword arguments of the v2 methods turned into generated requests (shared by ``Client`` and ``AsyncClient``).

As in ``_common.py``, nothing is decided here: the library validates and
its ``InvalidInput`` names the field.
"""

from datetime import datetime, timezone
from typing import Any, Iterable, Optional, Union

from ._errors import InvalidInput
from ._native import crane_context as _n
from ._v2models import HandoffStatus

#: A time given to the SDK: an aware ``datetime`` or RFC 3339 text.
TimeArg = Union[datetime, str]


def time_text(name: str, value: Optional[TimeArg]) -> Optional[str]:
    """RFC 3339 text for a datetime (which must be timezone-aware) or the text given."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise InvalidInput(f"invalid {name}: a datetime needs a timezone (e.g. timezone.utc)", None, name)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def checkpoint_request(
    summary: str, done: Iterable[str], blockers: Iterable[str], next: Iterable[str], notes: Optional[str]
) -> Any:
    return _n.CheckpointRequest(
        summary=summary,
        work_completed=list(done),
        blockers=list(blockers),
        next_actions=list(next),
        notes=notes,
    )


def note_request(
    content: str,
    title: Optional[str],
    tags: Iterable[str],
    venture: Optional[str],
    session_id: Optional[str],
    source_hash: Optional[str],
) -> Any:
    return _n.NoteRequest(
        content=content,
        title=title,
        tags=list(tags),
        venture=venture,
        authored_by_session_id=session_id,
        source_hash=source_hash,
    )


def note_update(
    title: Optional[str],
    content: Optional[str],
    tags: Optional[Iterable[str]],
    venture: Optional[str],
    make_global: bool,
) -> Any:
    if make_global and venture is not None:
        raise InvalidInput("invalid venture: give venture or make_global, not both", None, "venture")
    return _n.NoteUpdate(
        title=title,
        content=content,
        tags=None if tags is None else list(tags),
        venture=venture,
        make_global=make_global,
    )


def notes_filter(
    venture: Optional[str],
    include_global: bool,
    tags: Iterable[str],
    query: Optional[str],
    include_archived: bool,
    page_size: Optional[int],
    cursor: Optional[str],
) -> Any:
    if page_size is not None and page_size < 0:
        raise InvalidInput(f"invalid limit: must not be negative (got {page_size})", None, "limit")
    return _n.NotesFilter(
        venture=venture,
        include_global=include_global,
        tags=list(tags),
        query=query,
        include_archived=include_archived,
        limit=page_size,
        cursor=cursor,
    )


def status_label(label: Union[HandoffStatus, str]) -> Any:
    try:
        status = HandoffStatus(label)
    except ValueError:
        choices = ", ".join(s.value for s in HandoffStatus)
        raise InvalidInput(f"invalid label: must be one of {choices} (got {label!r})", None, "label") from None
    return getattr(_n.HandoffStatusLabel, status.name)


def non_negative(name: str, value: Optional[int]) -> Optional[int]:
    if value is not None and value < 0:
        raise InvalidInput(f"invalid {name}: must not be negative (got {value})", None, name)
    return value


def active_filter(agent: Optional[str], venture: Optional[str], repo: Optional[str], track: Optional[int]) -> Any:
    """``GET /active``'s filters (v2: any subset, or none)."""
    return _n.ActiveFilter(agent=agent, venture=venture, repo=repo, track=track)


def handoff_window(created_after: Optional[TimeArg], created_before: Optional[TimeArg]) -> Any:
    """A ``/handoffs`` date window; the library checks the bounds (``InvalidInput`` naming the field)."""
    return _n.HandoffWindow(
        created_after=time_text("created_after", created_after),
        created_before=time_text("created_before", created_before),
    )
