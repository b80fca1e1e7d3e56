"""The records of the v2 routes (checkpoints, notes, siblings, history, docs) and of ``verify``/``doctor``.

Same rules as ``_models.py``: frozen dataclasses (a ``repr`` with the
fields, value equality), timestamps as timezone-aware datetimes where the
server sends RFC 3339, lists as lists. Enumerations are ``str`` enums so a
label compares equal to its wire text.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, List, Optional

from ._models import parse_time

__all__ = [
    "Checkpoint",
    "CheckpointCreated",
    "Note",
    "Sibling",
    "HistoryBlock",
    "HistoryEntry",
    "ActivityReport",
    "HandoffStatus",
    "Doc",
    "DocAudit",
    "MemoryGate",
    "StepResult",
    "VerifyStep",
    "VerifyReport",
    "CheckLevel",
    "DoctorCheck",
    "DoctorReport",
]


@dataclass(frozen=True)
class CheckpointCreated:
    """What ``session.checkpoint`` stored: its id and number within the session."""

    checkpoint_id: str
    checkpoint_number: int
    session_id: str
    created_at: datetime
    correlation_id: Optional[str] = None

    @classmethod
    def _from(cls, c: Any) -> "CheckpointCreated":
        return cls(c.checkpoint_id, c.checkpoint_number, c.session_id, parse_time(c.created_at), c.correlation_id)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint of a session (v2): progress recorded while it runs."""

    id: str
    checkpoint_number: int
    session_id: str
    venture: str
    repo: str
    created_at: datetime
    summary: Optional[str] = None
    done: List[str] = field(default_factory=list)
    """``work_completed`` on the wire."""
    blockers: List[str] = field(default_factory=list)
    next: List[str] = field(default_factory=list)
    """``next_actions`` on the wire."""
    notes: Optional[str] = None
    track: Optional[int] = None
    issue_number: Optional[int] = None
    branch: Optional[str] = None
    commit_sha: Optional[str] = None
    correlation_id: Optional[str] = None

    @classmethod
    def _from(cls, c: Any) -> "Checkpoint":
        return cls(
            id=c.id,
            checkpoint_number=c.checkpoint_number,
            session_id=c.session_id,
            venture=c.venture,
            repo=c.repo,
            created_at=parse_time(c.created_at),
            summary=c.summary,
            done=list(c.work_completed),
            blockers=list(c.blockers),
            next=list(c.next_actions),
            notes=c.notes,
            track=c.track,
            issue_number=c.issue_number,
            branch=c.branch,
            commit_sha=c.commit_sha,
            correlation_id=c.correlation_id,
        )


@dataclass(frozen=True)
class Note:
    """A note (v2): knowledge kept across sessions, global or of one venture."""

    id: str
    content: str
    created_at: datetime
    updated_at: datetime
    title: Optional[str] = None
    tags: List[str] = field(default_factory=list)
    venture: Optional[str] = None
    """``None``: a global note."""
    archived: bool = False
    injectable: bool = False
    authored_by_session_id: Optional[str] = None
    source_hash: Optional[str] = None

    @classmethod
    def _from(cls, n: Any) -> "Note":
        return cls(
            id=n.id,
            content=n.content,
            created_at=parse_time(n.created_at),
            updated_at=parse_time(n.updated_at),
            title=n.title,
            tags=list(n.tags),
            venture=n.venture,
            archived=n.archived,
            injectable=n.injectable,
            authored_by_session_id=n.authored_by_session_id,
            source_hash=n.source_hash,
        )


@dataclass(frozen=True)
class Sibling:
    """An active session of the same session group (v2)."""

    id: str
    agent: str
    venture: str
    repo: str
    last_heartbeat_at: datetime
    track: Optional[int] = None
    issue_number: Optional[int] = None
    branch: Optional[str] = None

    @classmethod
    def _from(cls, s: Any) -> "Sibling":
        return cls(
            s.id, s.agent, s.venture, s.repo, parse_time(s.last_heartbeat_at), s.track, s.issue_number, s.branch
        )


@dataclass(frozen=True)
class HistoryBlock:
    """A block of continuous work within a day."""

    start: str
    end: str
    session_count: int
    hosts: List[str]
    repos: List[str]
    branches: List[str]
    issues: List[int]

    @classmethod
    def _from(cls, b: Any) -> "HistoryBlock":
        return cls(b.start, b.end, b.session_count, list(b.hosts), list(b.repos), list(b.branches), list(b.issues))


@dataclass(frozen=True)
class HistoryEntry:
    """Ended sessions of one venture on one day (``client.history``)."""

    venture: str
    work_date: str
    """``YYYY-MM-DD``."""
    total_sessions: int
    blocks: List[HistoryBlock]

    @classmethod
    def _from(cls, e: Any) -> "HistoryEntry":
        return cls(e.venture, e.work_date, e.total_sessions, [HistoryBlock._from(b) for b in e.blocks])


@dataclass(frozen=True)
class ActivityReport:
    """What ``client.record_activity`` stored: minutes recorded and skipped."""

    recorded: int
    skipped: int
    skipped_out_of_window: int

    @classmethod
    def _from(cls, r: Any) -> "ActivityReport":
        return cls(r.recorded, r.skipped, r.skipped_out_of_window)


class HandoffStatus(str, enum.Enum):
    """A handoff's status label (``client.set_handoff_status``)."""

    DONE = "done"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    READY = "ready"


@dataclass(frozen=True)
class Doc:
    """A document of the service's docs (global or of a venture); ``content`` is empty in lists."""

    scope: str
    doc_name: str
    content: str = field(default="", repr=False)
    title: Optional[str] = None
    version: Optional[int] = None
    content_hash: Optional[str] = None
    description: Optional[str] = None

    @classmethod
    def _from(cls, d: Any) -> "Doc":
        return cls(d.scope, d.doc_name, d.content, d.title, d.version, d.content_hash, d.description)


@dataclass(frozen=True)
class DocAudit:
    """A venture's documentation audit: which required documents are missing or stale."""

    venture: str
    venture_name: str
    status: str
    summary: str
    missing: List[str]
    stale: List[str]
    present: List[str]

    @classmethod
    def _from(cls, a: Any) -> "DocAudit":
        return cls(a.venture, a.venture_name, a.status, a.summary, list(a.missing), list(a.stale), list(a.present))


class MemoryGate(str, enum.Enum):
    """Which notes the server injects into sessions (``GET /config/memory-gate``)."""

    CAPTAIN_APPROVED = "captain_approved"
    INJECTABLE = "injectable"
    EITHER = "either"
    BOTH = "both"
    UNKNOWN = "unknown"


class StepResult(str, enum.Enum):
    """How a verification step came out."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class VerifyStep:
    """One step of ``client.verify()``."""

    name: str
    result: StepResult
    detail: str
    latency_ms: Optional[int] = None

    @property
    def passed(self) -> bool:
        return self.result is StepResult.PASS


@dataclass(frozen=True)
class VerifyReport:
    """What ``client.verify()`` found: a throwaway session through every route, each step timed."""

    url: str
    passed: bool
    venture: str
    repo: str
    steps: List[VerifyStep]
    generation: Optional[str] = None
    """``"v1"`` or ``"v2"``, when it could be told."""

    def __bool__(self) -> bool:
        return self.passed

    @classmethod
    def _from(cls, r: Any) -> "VerifyReport":
        steps = [VerifyStep(s.name, StepResult(s.result.name.lower()), s.detail, s.latency_ms) for s in r.steps]
        return cls(r.url, r.passed, r.venture, r.repo, steps, r.generation)


class CheckLevel(str, enum.Enum):
    """How a doctor check came out."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class DoctorCheck:
    """One check of ``client.doctor()``."""

    name: str
    level: CheckLevel
    detail: str


@dataclass(frozen=True)
class DoctorReport:
    """What ``client.doctor()`` found: server, clock, key, generation, queue, and the venture of a repo."""

    ok: bool
    checks: List[DoctorCheck]
    generation: Optional[str] = None
    """``"v1"`` or ``"v2"``, when it could be told."""
    server_commit: Optional[str] = None
    schema_version: Optional[int] = None
    venture: Optional[str] = None
    venture_reason: Optional[str] = None

    @classmethod
    def _from(cls, r: Any) -> "DoctorReport":
        checks = [DoctorCheck(c.name, CheckLevel(c.level.name.lower()), c.detail) for c in r.checks]
        return cls(r.ok, checks, r.generation, r.server_commit, r.schema_version, r.venture, r.venture_reason)

