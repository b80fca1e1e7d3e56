"""Crane Context SDK for Python agents.

Sessions that heartbeat by themselves, updates and handoffs written to a
local SQLite queue before they are sent (and delivered exactly once when the
network returns), reads that answer from a local cache when offline, and
typed errors carrying the server's correlation id — the Rust library's
engine, through uniffi::

    import crane_context

    with crane_context.Client(url, key) as client:
        session = client.start_session(agent="my-agent", venture="vc", repo="owner/repo")
        session.update(branch="main", commit_sha="abc1234")
        result = session.end(summary="done for today", payload={"next": "tests"})
        print(result.handoff.payload if result.delivered else f"queued as {result.local_id}")

``AsyncClient`` is the same API for asyncio (``async with``, ``await``,
``async for``). The generated bindings live in ``crane_context._native`` and
are not part of the public API.
"""

from . import _fastasync, _fastbuf, _native
from ._async import AsyncClient, AsyncQueue, AsyncSession
from ._client import Client, Queue, Session
from ._v2async import AsyncNotes
from ._v2sync import Notes
from ._errors import (
    CraneError,
    DecodeError,
    FieldError,
    HandoffConflict,
    InternalError,
    InvalidInput,
    NetworkError,
    NotFound,
    Offline,
    PayloadTooLarge,
    QueueFull,
    RateLimited,
    ServerError,
    SessionNotActive,
    StoreError,
    Timeout,
    Unauthorized,
    ValidationError,
)
from ._events import (
    AsyncEventStream,
    ConnectivityChanged,
    Event,
    EventError,
    EventStream,
    HandoffDelivered,
    HandoffQueued,
    HandoffRehomed,
    HeartbeatFailed,
    HeartbeatSent,
    ItemDeadLettered,
    SessionLost,
    UpdateDelivered,
    UpdateDropped,
    UpdateQueued,
)
from ._models import (
    CachedDocs,
    CachedHandoff,
    DocItem,
    EndResult,
    Handoff,
    HealthReport,
    HealthStatus,
    HeartbeatInfo,
    ItemState,
    JSONObject,
    QueueCounts,
    QueueItem,
    SessionInfo,
    StartInfo,
    SyncReport,
    UpdateResult,
)
from ._ventures import Venture, VentureList
from ._v2models import (
    ActivityReport,
    CheckLevel,
    Checkpoint,
    CheckpointCreated,
    Doc,
    DocAudit,
    DoctorCheck,
    DoctorReport,
    HandoffStatus,
    HistoryBlock,
    HistoryEntry,
    MemoryGate,
    Note,
    Sibling,
    StepResult,
    VerifyReport,
    VerifyStep,
)

__all__ = [
    # clients
    "Client",
    "AsyncClient",
    "Session",
    "AsyncSession",
    "Queue",
    "AsyncQueue",
    "Notes",
    "AsyncNotes",
    # records
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
    "JSONObject",
    # v2 records and diagnostics
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
    "Venture",
    "VentureList",
    # events
    "Event",
    "EventError",
    "EventStream",
    "AsyncEventStream",
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
    # errors
    "CraneError",
    "Unauthorized",
    "NotFound",
    "SessionNotActive",
    "PayloadTooLarge",
    "ValidationError",
    "FieldError",
    "RateLimited",
    "ServerError",
    "NetworkError",
    "Timeout",
    "Offline",
    "DecodeError",
    "InvalidInput",
    "HandoffConflict",
    "StoreError",
    "QueueFull",
    "InternalError",
]

# Awaited calls complete in one turn of the event loop instead of two (see _fastasync).
_fastasync.install(_native.crane_context)
# Arguments and results cross the FFI without a ctypes operation per field (see _fastbuf).
_fastbuf.install(_native.crane_context)

# Public classes say they come from this package (help(), tracebacks, pickling),
# not from the private modules they are defined in.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
