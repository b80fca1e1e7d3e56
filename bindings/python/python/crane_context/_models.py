"""The records the SDK returns, as frozen dataclasses, and their conversions.

The generated records carry timestamps as ISO 8601 text and JSON as text, so
that every host language can read them; here timestamps become timezone-aware
:class:`datetime.datetime` values (UTC) and JSON becomes ``dict`` (the raw
text stays available, e.g. ``Handoff.payload_json``, whose bytes the
``payload_hash`` covers). Dataclasses give every record a ``repr`` showing
its fields and value equality.
"""

import enum
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type, TypeVar

from ._errors import InternalError

__all__ = [
    "JSONObject",
    "SessionInfo",
    "Handoff",
    "DocItem",
    "StartInfo",
    "HeartbeatInfo",
    "EndResult",
    "UpdateResult",
    "HealthStatus",
    "HealthReport",
    "CachedHandoff",
    "CachedDocs",
    "ItemState",
    "QueueItem",
    "QueueCounts",
    "SyncReport",
]

#: A JSON object, as ``json.loads`` returns it.
JSONObject = Dict[str, Any]

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$")


#: ``datetime.fromisoformat`` reads every RFC 3339 form from Python 3.11 on
#: (``Z``, any number of fractional digits, truncated to microseconds like
#: the fallback below) and is about thirty times cheaper than the fallback.
_FROMISO = sys.version_info >= (3, 11)


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp (any number of fractional digits, ``Z`` or an offset) as an aware datetime.

    The pattern decides what is accepted (``fromisoformat`` alone would also
    take a date without a time, or no offset); the parsing is
    ``datetime.fromisoformat`` where it can, since this runs for every
    timestamp of every record.
    """
    m = _ISO.match(text)
    if m is None:
        raise InternalError(f"the SDK returned a timestamp that is not RFC 3339: {text!r}")
    if _FROMISO:
        return datetime.fromisoformat(text)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micros = int((m.group(7) or "0").ljust(6, "0")[:6])
    zone = m.group(8)
    if zone == "Z":
        tz = timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)


R = TypeVar("R")


def record(cls: Type[R], **fields: Any) -> R:
    """An instance of a frozen dataclass from its fields, without running its ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` (it must get past the frozen ``__setattr__``),
    which is most of the cost of building a record; the SDK's records are
    built once per call, so this writes the instance's ``__dict__`` at once.
    The result is the same object ``cls(**fields)`` would be (no record has
    a ``__post_init__``); fields left out must have a plain default.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def parse_opt_time(text: Optional[str]) -> Optional[datetime]:
    return parse_time(text) if text else None


def maybe_time(text: Optional[str]) -> Optional[datetime]:
    """A timestamp some servers send in other formats: parsed when it is RFC 3339, else ``None``."""
    if text and _ISO.match(text):
        return parse_time(text)
    return None


def parse_object(text: Optional[str]) -> Optional[JSONObject]:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


@dataclass(frozen=True)
class SessionInfo:
    """A work session as the server reports it."""

    id: str
    agent: str
    venture: str
    repo: str
    status: str
    """``active``, ``ended``, ``abandoned`` (``unknown`` for a newer server's value)."""
    created_at: datetime
    started_at: datetime
    last_heartbeat_at: datetime
    track: Optional[int] = None
    issue_number: Optional[int] = None
    branch: Optional[str] = None
    commit_sha: Optional[str] = None
    client: Optional[str] = None
    client_version: Optional[str] = None
    host: Optional[str] = None
    ended_at: Optional[datetime] = None
    end_reason: Optional[str] = None
    meta: Optional[JSONObject] = None
    actor_key_id: Optional[str] = None
    creation_correlation_id: Optional[str] = None
    client_session_id: Optional[str] = None
    """The caller's own id for the session (v2)."""
    session_group_id: Optional[str] = None
    """The group of parallel sessions it belongs to (v2, see ``client.siblings``)."""
    last_activity_at: Optional[datetime] = None
    """When the agent last worked in it, as reported at its end (v2)."""

    @classmethod
    def _from(cls, s: Any) -> "SessionInfo":
        return record(
            cls,
            id=s.id,
            agent=s.agent,
            venture=s.venture,
            repo=s.repo,
            status=s.status,
            created_at=parse_time(s.created_at),
            started_at=parse_time(s.started_at),
            last_heartbeat_at=parse_time(s.last_heartbeat_at),
            track=s.track,
            issue_number=s.issue_number,
            branch=s.branch,
            commit_sha=s.commit_sha,
            client=s.client,
            client_version=s.client_version,
            host=s.host,
            ended_at=parse_opt_time(s.ended_at),
            end_reason=s.end_reason,
            meta=parse_object(s.meta_json),
            actor_key_id=s.actor_key_id,
            creation_correlation_id=s.creation_correlation_id,
            client_session_id=s.client_session_id,
            session_group_id=s.session_group_id,
            last_activity_at=maybe_time(s.last_activity_at),
        )


@dataclass(frozen=True)
class Handoff:
    """A stored handoff: what one agent leaves for the next."""

    id: str
    session_id: str
    venture: str
    repo: str
    from_agent: str
    summary: str
    payload: JSONObject
    """The payload, parsed."""
    payload_hash: str
    """Lowercase hex SHA-256 of ``payload_json``."""
    created_at: datetime
    track: Optional[int] = None
    issue_number: Optional[int] = None
    branch: Optional[str] = None
    commit_sha: Optional[str] = None
    to_agent: Optional[str] = None
    status_label: Optional[str] = None
    payload_size_bytes: int = 0
    creation_correlation_id: Optional[str] = None
    payload_json: str = field(default="{}", repr=False)
    """The payload as the canonical (RFC 8785) JSON text the hash covers."""

    if not TYPE_CHECKING:  # (so that mypy still rejects unknown attributes)

        def __getattr__(self, name: str) -> Any:
            # Only reached for an attribute that is not set: ``payload`` of a
            # handoff the SDK returned is parsed from ``payload_json`` on first
            # use (a caller that reads only the summary never pays for it).
            if name == "payload":
                value = parse_object(self.__dict__["payload_json"]) or {}
                self.__dict__["payload"] = value
                return value
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def _from(cls, h: Any) -> "Handoff":
        return record(
            cls,
            id=h.id,
            session_id=h.session_id,
            venture=h.venture,
            repo=h.repo,
            from_agent=h.from_agent,
            summary=h.summary,
            payload_hash=h.payload_hash,
            created_at=parse_time(h.created_at),
            track=h.track,
            issue_number=h.issue_number,
            branch=h.branch,
            commit_sha=h.commit_sha,
            to_agent=h.to_agent,
            status_label=h.status_label,
            payload_size_bytes=h.payload_size_bytes,
            creation_correlation_id=h.creation_correlation_id,
            payload_json=h.payload_json,
        )


def opt_handoff(h: Any) -> Optional[Handoff]:
    return None if h is None else Handoff._from(h)


@dataclass(frozen=True)
class DocItem:
    """One documentation item delivered at session start."""

    doc_name: str
    content: str = field(repr=False)
    scope: Optional[str] = None
    title: Optional[str] = None
    description: Optional[str] = None
    content_hash: Optional[str] = None

    @classmethod
    def _from(cls, d: Any) -> "DocItem":
        return cls(
            doc_name=d.doc_name,
            content=d.content,
            scope=d.scope,
            title=d.title,
            description=d.description,
            content_hash=d.content_hash,
        )


@dataclass(frozen=True)
class StartInfo:
    """What the server answered when the session started or resumed."""

    status: str
    """``created`` or ``resumed``."""
    next_heartbeat_at: datetime
    heartbeat_interval_seconds: int
    docs: List[DocItem]
    last_handoff: Optional[Handoff] = None
    correlation_id: Optional[str] = None

    @classmethod
    def _from(cls, i: Any) -> "StartInfo":
        return cls(
            status=i.status,
            next_heartbeat_at=parse_time(i.next_heartbeat_at),
            heartbeat_interval_seconds=i.heartbeat_interval_seconds,
            docs=[DocItem._from(d) for d in i.docs],
            last_handoff=opt_handoff(i.last_handoff),
            correlation_id=i.correlation_id,
        )


@dataclass(frozen=True)
class HeartbeatInfo:
    """The answer to a heartbeat."""

    session_id: str
    last_heartbeat_at: datetime
    next_heartbeat_at: datetime
    heartbeat_interval_seconds: int
    correlation_id: Optional[str] = None

    @classmethod
    def _from(cls, b: Any) -> "HeartbeatInfo":
        return record(
            cls,
            session_id=b.session_id,
            last_heartbeat_at=parse_time(b.last_heartbeat_at),
            next_heartbeat_at=parse_time(b.next_heartbeat_at),
            heartbeat_interval_seconds=b.heartbeat_interval_seconds,
            correlation_id=b.correlation_id,
        )


@dataclass(frozen=True)
class EndResult:
    """How an end went: ``delivered`` (with the stored ``handoff``), or queued (with its ``local_id``).

    A queued handoff is safe in the local store and is delivered later,
    automatically and exactly once.
    """

    delivered: bool
    handoff: Optional[Handoff] = None
    local_id: Optional[str] = None
    ended_at: Optional[datetime] = None
    """When the session ended; ``None`` when queued, or when a v2 server kept it open (``keep_open=True``)."""
    correlation_id: Optional[str] = None

    @property
    def queued(self) -> bool:
        return not self.delivered

    @classmethod
    def _from(cls, o: Any) -> "EndResult":
        if o.is_delivered():
            return record(
                cls,
                delivered=True,
                handoff=Handoff._from(o.handoff),
                ended_at=parse_opt_time(o.ended_at),
                correlation_id=o.correlation_id,
            )
        return record(cls, delivered=False, local_id=o.local_id)


@dataclass(frozen=True)
class UpdateResult:
    """How an update went: ``applied`` now, or queued (ahead of the session's end) with its ``local_id``."""

    applied: bool
    local_id: Optional[str] = None
    updated_at: Optional[datetime] = None
    next_heartbeat_at: Optional[datetime] = None
    correlation_id: Optional[str] = None

    @property
    def queued(self) -> bool:
        return not self.applied

    @classmethod
    def _from(cls, o: Any) -> "UpdateResult":
        if o.is_applied():
            return record(
                cls,
                applied=True,
                updated_at=parse_time(o.updated_at),
                next_heartbeat_at=parse_time(o.next_heartbeat_at),
                correlation_id=o.correlation_id,
            )
        return record(cls, applied=False, local_id=o.local_id)


class HealthStatus(str, enum.Enum):
    """Overall health of the server."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class HealthReport:
    """What ``GET /health`` said (an unhealthy server is a report, not an error)."""

    status: HealthStatus
    http_status: int
    checks: Dict[str, bool]
    service: Optional[str] = None
    version: Optional[str] = None
    timestamp: Optional[datetime] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @property
    def healthy(self) -> bool:
        return self.status is HealthStatus.HEALTHY

    @classmethod
    def _from(cls, r: Any) -> "HealthReport":
        return cls(
            status=HealthStatus(r.status.name.lower()),
            http_status=r.http_status,
            checks={c.name: c.ok for c in r.checks},
            service=r.service,
            version=r.version,
            timestamp=maybe_time(r.timestamp),
            raw=parse_object(r.raw_json) or {},
        )


@dataclass(frozen=True)
class CachedHandoff:
    """A handoff read that still answers offline: ``stale`` when it came from the local cache."""

    handoff: Optional[Handoff]
    stale: bool
    age_seconds: Optional[float] = None

    @classmethod
    def _from(cls, c: Any) -> "CachedHandoff":
        return cls(handoff=opt_handoff(c.handoff), stale=c.stale, age_seconds=c.age_seconds)


@dataclass(frozen=True)
class CachedDocs:
    """The docs of the last session start, from the local cache."""

    docs: List[DocItem]
    age_seconds: Optional[float] = None

    @classmethod
    def _from(cls, c: Any) -> "CachedDocs":
        return cls(docs=[DocItem._from(d) for d in c.docs], age_seconds=c.age_seconds)


class ItemState(str, enum.Enum):
    """Where a queued item stands."""

    PENDING = "pending"
    """Waiting to be (re)sent."""
    DEAD = "dead"
    """Failed permanently; kept with its reason until retried or dropped."""


@dataclass(frozen=True)
class QueueItem:
    """An update or handoff in the local offline queue."""

    local_id: str
    kind: str
    """``update`` or ``end``."""
    session_id: str
    agent: str
    venture: str
    repo: str
    state: ItemState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    track: Optional[int] = None
    payload_hash: Optional[str] = None
    last_error: Optional[str] = None
    last_correlation_id: Optional[str] = None
    idempotency_key: str = field(default="", repr=False)
    body: JSONObject = field(default_factory=dict, repr=False)
    """The exact request body, parsed."""
    body_json: str = field(default="{}", repr=False)

    @classmethod
    def _from(cls, q: Any) -> "QueueItem":
        try:
            body = parse_object(q.body_json) or {}
        except ValueError:  # a quarantined row whose bytes are not JSON: kept as text only
            body = {}
        return cls(
            local_id=q.local_id,
            kind=q.kind,
            session_id=q.session_id,
            agent=q.agent,
            venture=q.venture,
            repo=q.repo,
            state=ItemState(q.state.name.lower()),
            attempts=q.attempts,
            created_at=parse_time(q.created_at),
            next_attempt_at=parse_time(q.next_attempt_at),
            track=q.track,
            payload_hash=q.payload_hash,
            last_error=q.last_error,
            last_correlation_id=q.last_correlation_id,
            idempotency_key=q.idempotency_key,
            body=body,
            body_json=q.body_json,
        )


@dataclass(frozen=True)
class QueueCounts:
    """How many items the local queue holds."""

    pending: int
    dead: int
    bytes: int

    @classmethod
    def _from(cls, c: Any) -> "QueueCounts":
        return cls(pending=c.pending, dead=c.dead, bytes=c.bytes)


@dataclass(frozen=True)
class SyncReport:
    """What one ``sync()`` did."""

    delivered: int
    retrying: int
    dead: int
    dropped: int
    """Queued updates dropped because their session is gone."""
    pending: int
    """Items still pending after the pass."""

    @classmethod
    def _from(cls, r: Any) -> "SyncReport":
        return cls(delivered=r.delivered, retrying=r.retrying, dead=r.dead, dropped=r.dropped, pending=r.pending)
