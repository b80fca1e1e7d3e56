"""What ``Client`` and ``AsyncClient`` share: opening, and keyword arguments turned into generated requests.

Nothing here decides anything the Rust library decides (validation, sizes,
retries): arguments are passed on as they are, and the library's
``InvalidInput`` names the field it rejects. The only checks here are about
the shape of the Python call itself (which keyword arguments go together).
"""

import atexit
import json
import os
import weakref
from typing import Any, Callable, Mapping, Optional, Tuple, Union

from . import _exitgate  # noqa: F401  (installs the exit gate at import)
from ._errors import InvalidInput, call
from ._events import Dispatcher, Event
from ._native import crane_context as _n
from ._v2args import TimeArg, time_text

#: A file-system path, as ``open`` takes it.
StrPath = Union[str, "os.PathLike[str]"]

#: A listener: called with each :class:`Event`, on one of the SDK's threads.
Listener = Callable[[Event], None]


def _millis(name: str, seconds: Optional[float]) -> Optional[int]:
    if seconds is None:
        return None
    if seconds < 0:
        raise InvalidInput(f"invalid {name}: must not be negative (got {seconds})", None, name)
    return int(round(seconds * 1000))


#: Every open generated client, so the interpreter's exit can detach their listeners.
_OPEN: "weakref.WeakSet[Any]" = weakref.WeakSet()


@atexit.register
def _detach_listeners() -> None:
    """Stops the SDK's threads from calling into Python before the interpreter finalizes.

    A thread that enters a finalizing interpreter is ended with ``pthread_exit``,
    which aborts the process while it unwinds through the Rust frames (exit
    code -6 after the program printed its result). ``close()`` detaches too;
    this covers clients that are never closed.
    """
    for native in list(_OPEN):
        native.detach_listener()


def open_native(
    url: Optional[str],
    key: Optional[str],
    *,
    store_path: Optional[StrPath],
    profile: Optional[str],
    listener: Optional[Listener],
    allow_insecure_http: bool,
    connect_timeout: Optional[float],
    request_timeout: Optional[float],
    heartbeat_jitter: Optional[float],
    max_queue_items: Optional[int],
    user_agent: Optional[str],
    rehome_abandoned: Optional[bool] = None,
) -> Tuple[Any, Dispatcher]:
    """Opens the generated client (explicit URL and key, or the environment) with a dispatcher as its listener."""
    if (url is None) != (key is None):
        missing = "key" if key is None else "url"
        raise InvalidInput(
            f"invalid {missing}: give both url and key, or neither (then CRANE_CONTEXT_URL, "
            "CRANE_CONTEXT_KEY or the config file's profile are used)",
            None,
            missing,
        )
    options = _n.ClientOptions(
        store_path=None if store_path is None else os.fspath(store_path),
        allow_insecure_http=allow_insecure_http,
        connect_timeout_ms=_millis("connect_timeout", connect_timeout),
        request_timeout_ms=_millis("request_timeout", request_timeout),
        heartbeat_jitter_ms=_millis("heartbeat_jitter", heartbeat_jitter),
        max_queue_items=max_queue_items,
        user_agent=user_agent,
        profile=profile,
        rehome_abandoned=rehome_abandoned,
    )
    dispatcher = Dispatcher(listener)
    if url is not None and key is not None:
        native = call(_n.CraneClient, url, key, options=options, listener=dispatcher)
    else:
        native = call(_n.CraneClient.from_env, options=options, listener=dispatcher)
    _OPEN.add(native)
    return native, dispatcher


def json_text(name: str, value: Optional[Mapping[str, Any]]) -> Optional[str]:
    """A mapping as JSON text; anything ``json`` cannot write is ``InvalidInput`` naming the argument."""
    return None if value is None else dumps(name, value)


def dumps(name: str, value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"invalid {name}: not JSON-serializable: {e}", None, name) from None


def start_request(
    agent: str,
    venture: str,
    repo: str,
    *,
    track: Optional[int],
    issue_number: Optional[int],
    branch: Optional[str],
    commit_sha: Optional[str],
    host: Optional[str],
    client_name: Optional[str],
    client_version: Optional[str],
    meta: Optional[Mapping[str, Any]],
    include_docs: bool,
    auto_heartbeat: bool,
    client_session_id: Optional[str] = None,
    session_group_id: Optional[str] = None,
) -> Any:
    return _n.StartRequest(
        agent=agent,
        venture=venture,
        repo=repo,
        track=track,
        issue_number=issue_number,
        branch=branch,
        commit_sha=commit_sha,
        host=host,
        client=client_name,
        client_version=client_version,
        meta_json=json_text("meta", meta),
        include_docs=include_docs,
        auto_heartbeat=auto_heartbeat,
        client_session_id=client_session_id,
        session_group_id=session_group_id,
    )


def update_request(branch: Optional[str], commit_sha: Optional[str], meta: Optional[Mapping[str, Any]]) -> Any:
    return _n.UpdateRequest(branch=branch, commit_sha=commit_sha, meta_json=json_text("meta", meta))


def end_request(
    summary: str,
    payload: Optional[Mapping[str, Any]],
    status_label: Optional[str],
    to_agent: Optional[str],
    keep_open: bool = False,
    last_activity_at: "Optional[TimeArg]" = None,
) -> Any:
    text = dumps("payload", {} if payload is None else payload)
    return _n.EndRequest(
        summary=summary,
        payload_json=text,
        status_label=status_label,
        to_agent=to_agent,
        keep_session_open=keep_open,
        last_activity_at=time_text("last_activity_at", last_activity_at),
    )


def _repo_scope(what: str, venture: Optional[str], repo: Optional[str]) -> Tuple[str, str]:
    if venture is None or repo is None:
        missing = "venture" if venture is None else "repo"
        raise InvalidInput(f"invalid {missing}: {what} needs both venture and repo", None, missing)
    return venture, repo


def _only(what: str, given: Mapping[str, object]) -> None:
    extra = [k for k, v in given.items() if v is not None]
    if extra:
        raise InvalidInput(f"invalid {extra[0]}: cannot be combined with {what}", None, extra[0])


def handoff_filter(
    session_id: Optional[str],
    from_agent: Optional[str],
    venture: Optional[str],
    repo: Optional[str],
    track: Optional[int],
    issue_number: Optional[int],
) -> Any:
    """Which handoffs to list: one session, one agent's, or a repo's (optionally one track or issue)."""
    F = _n.HandoffFilter
    if session_id is not None:
        _only("session_id", dict(from_agent=from_agent, venture=venture, repo=repo, track=track, issue_number=issue_number))
        return F.SESSION(session_id=session_id)
    if from_agent is not None:
        _only("from_agent", dict(venture=venture, repo=repo, track=track, issue_number=issue_number))
        return F.FROM_AGENT(agent=from_agent)
    if venture is None and repo is None and track is None and issue_number is None:
        raise InvalidInput(
            "invalid filter: give session_id, from_agent, or venture and repo (with track or issue_number)",
            None,
            "filter",
        )
    venture, repo = _repo_scope("listing a repo's handoffs", venture, repo)
    if track is not None and issue_number is not None:
        raise InvalidInput("invalid issue_number: give track or issue_number, not both", None, "issue_number")
    if track is not None:
        return F.TRACK(venture=venture, repo=repo, track=track)
    if issue_number is not None:
        return F.ISSUE(venture=venture, repo=repo, issue_number=issue_number)
    return F.REPO(venture=venture, repo=repo)


def window_filter(
    session_id: Optional[str],
    from_agent: Optional[str],
    venture: Optional[str],
    repo: Optional[str],
    track: Optional[int],
    issue_number: Optional[int],
) -> Any:
    """The filter of a date window's listing: ``None`` (by date alone) when none is given, else as ``handoffs``."""
    if all(v is None for v in (session_id, from_agent, venture, repo, track, issue_number)):
        return None
    return handoff_filter(session_id, from_agent, venture, repo, track, issue_number)


def latest_query(
    session_id: Optional[str],
    venture: Optional[str],
    repo: Optional[str],
    track: Optional[int],
    issue_number: Optional[int],
) -> Any:
    """Which handoff ``latest_handoff`` looks for: a session's, or a repo's track's or issue's."""
    Q = _n.LatestHandoffQuery
    if session_id is not None:
        _only("session_id", dict(venture=venture, repo=repo, track=track, issue_number=issue_number))
        return Q.SESSION(session_id=session_id)
    venture, repo = _repo_scope("the latest handoff of a repo", venture, repo)
    if track is not None and issue_number is None:
        return Q.TRACK(venture=venture, repo=repo, track=track)
    if issue_number is not None and track is None:
        return Q.ISSUE(venture=venture, repo=repo, issue_number=issue_number)
    raise InvalidInput(
        "invalid track: the latest handoff of a repo needs exactly one of track or issue_number", None, "track"
    )


def check_page_size(page_size: Optional[int]) -> Optional[int]:
    # The library validates the range (1–100); this only keeps a negative
    # number from failing the u32 conversion with a less useful message.
    if page_size is not None and page_size < 0:
        raise InvalidInput(f"invalid limit: must be between 1 and 100 (got {page_size})", None, "limit")
    return page_size
