"""The exception hierarchy, and its one conversion from the generated errors.

Every error the SDK raises is a :class:`CraneError`; each actionable kind of
the Rust ``Error`` is its own subclass, so ``except`` can pick what to handle
(``except crane_context.Unauthorized``). Every instance has ``.message`` (the
full text of the Rust error, correlation id included) and ``.correlation_id``
(the server's id to quote in a bug report, ``None`` when the server did not
answer), plus the fields the Rust variant carries.

``Offline`` and ``Timeout`` are kinds of ``NetworkError``: all three mean "no
usable answer from the server", so one ``except NetworkError`` covers them.
"""

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Type, TypeVar

from ._native import crane_context as _n

__all__ = [
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


class CraneError(Exception):
    """Root of every error the SDK raises."""

    def __init__(self, message: str, correlation_id: Optional[str] = None) -> None:
        super().__init__(message)
        #: The full, actionable message (it names the correlation id when there is one).
        self.message: str = message
        #: The server's correlation id, ``None`` when the server did not answer.
        self.correlation_id: Optional[str] = correlation_id

    def _fields(self) -> Dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        fields = {"message": self.message, "correlation_id": self.correlation_id, **self._fields()}
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{type(self).__name__}({inner})"


class Unauthorized(CraneError):
    """The relay key is missing or wrong (HTTP 401/403)."""


class NotFound(CraneError):
    """The session (or route) does not exist (HTTP 404)."""


class SessionNotActive(CraneError):
    """The session has ended or was abandoned (HTTP 409)."""

    def __init__(self, message: str, correlation_id: Optional[str] = None, status: Optional[str] = None) -> None:
        super().__init__(message, correlation_id)
        #: ``"ended"`` or ``"abandoned"``, when the server said.
        self.status = status

    def _fields(self) -> Dict[str, Any]:
        return {"status": self.status}


class PayloadTooLarge(CraneError):
    """The payload or request is over the server's limit (checked locally before sending)."""


@dataclass(frozen=True)
class FieldError:
    """A field the server (or local validation) rejected."""

    field: str
    message: str


class ValidationError(CraneError):
    """The server rejected fields of the request (HTTP 400)."""

    def __init__(
        self, message: str, correlation_id: Optional[str] = None, fields: Optional[List[FieldError]] = None
    ) -> None:
        super().__init__(message, correlation_id)
        #: The rejected fields.
        self.fields: List[FieldError] = list(fields or [])

    def _fields(self) -> Dict[str, Any]:
        return {"fields": self.fields}


class RateLimited(CraneError):
    """Too many requests (HTTP 429)."""

    def __init__(self, message: str, correlation_id: Optional[str] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message, correlation_id)
        #: The server's ``Retry-After``, seconds.
        self.retry_after = retry_after

    def _fields(self) -> Dict[str, Any]:
        return {"retry_after": self.retry_after}


class ServerError(CraneError):
    """The server failed (HTTP 5xx, a redirect, or an unexpected status)."""

    def __init__(
        self,
        message: str,
        correlation_id: Optional[str] = None,
        status: int = 0,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message, correlation_id)
        #: The HTTP status.
        self.status = status
        #: The server's ``Retry-After``, seconds (e.g. a 503 during maintenance).
        self.retry_after = retry_after

    def _fields(self) -> Dict[str, Any]:
        return {"status": self.status, "retry_after": self.retry_after}


class NetworkError(CraneError):
    """The server could not be reached, or the connection broke."""


class Timeout(NetworkError):
    """The server did not answer in time."""


class Offline(NetworkError):
    """The client knows the server is unreachable and did not try."""


class DecodeError(CraneError):
    """The server's answer could not be read (not JSON, truncated, wrong shape, too large)."""

    def __init__(self, message: str, correlation_id: Optional[str] = None, status: int = 0) -> None:
        super().__init__(message, correlation_id)
        #: The HTTP status of the answer.
        self.status = status

    def _fields(self) -> Dict[str, Any]:
        return {"status": self.status}


class InvalidInput(CraneError, ValueError):
    """The caller's input is invalid; nothing was sent or queued."""

    def __init__(self, message: str, correlation_id: Optional[str] = None, field: str = "") -> None:
        super().__init__(message, correlation_id)
        #: The offending argument or setting, e.g. ``"payload"``.
        self.field = field

    def _fields(self) -> Dict[str, Any]:
        return {"field": self.field}


class HandoffConflict(CraneError):
    """The session already ended with a different handoff (or has a different end queued)."""

    def __init__(
        self,
        message: str,
        correlation_id: Optional[str] = None,
        session_id: str = "",
        local_hash: str = "",
        server_hash: Optional[str] = None,
    ) -> None:
        super().__init__(message, correlation_id)
        #: The session.
        self.session_id = session_id
        #: Hash of the payload this call sent.
        self.local_hash = local_hash
        #: Hash of the handoff the server holds, if known.
        self.server_hash = server_hash

    def _fields(self) -> Dict[str, Any]:
        return {"session_id": self.session_id, "local_hash": self.local_hash, "server_hash": self.server_hash}


class StoreError(CraneError):
    """The local store (queue and cache file) failed; the message names the file."""


class QueueFull(CraneError):
    """The local queue is full; the work was not queued."""


class InternalError(CraneError):
    """The binding layer itself failed (a runtime that cannot start, a task that panicked). Worth a bug report."""


def from_native(e: Any) -> CraneError:
    """The exception for one generated ``CraneError`` variant."""
    name = type(e).__name__
    message: str = getattr(e, "message", str(e))
    corr: Optional[str] = getattr(e, "correlation_id", None)
    if name == "SessionNotActive":
        return SessionNotActive(message, corr, e.status)
    if name == "Validation":
        return ValidationError(message, corr, [FieldError(f.field, f.message) for f in e.fields])
    if name == "RateLimited":
        return RateLimited(message, corr, e.retry_after_seconds)
    if name == "Server":
        return ServerError(message, corr, e.status, e.retry_after_seconds)
    if name == "Decode":
        return DecodeError(message, corr, e.status)
    if name == "InvalidInput":
        return InvalidInput(message, corr, e.field)
    if name == "HandoffConflict":
        return HandoffConflict(message, corr, e.session_id, e.local_hash, e.server_hash)
    simple: Dict[str, Type[CraneError]] = {
        "Unauthorized": Unauthorized,
        "NotFound": NotFound,
        "PayloadTooLarge": PayloadTooLarge,
        "Network": NetworkError,
        "Timeout": Timeout,
        "Offline": Offline,
        "Store": StoreError,
        "QueueFull": QueueFull,
    }
    return simple.get(name, InternalError)(message, corr)


T = TypeVar("T")

#: The generated module's error base class (an ``Exception``).
NativeError: Type[BaseException] = _n.CraneError


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Calls a generated function, raising this module's exceptions instead of the generated ones."""
    try:
        return fn(*args, **kwargs)
    except NativeError as e:
        raise from_native(e) from None


async def acall(awaitable: Awaitable[T]) -> T:
    """Awaits a generated coroutine, raising this module's exceptions instead of the generated ones."""
    try:
        return await awaitable
    except NativeError as e:
        raise from_native(e) from None
