#!/usr/bin/env python3
"""Start of day: start or resume this checkout's session (like `crane sod`).

    export CRANE_CONTEXT_URL=<the emulator's printed URL: it runs with --port 0> CRANE_CONTEXT_KEY=test-relay-key-0123456789abcdef
    python examples/python/crane_sod.py [--track N] [--keepalive]

Prints the session (created or resumed), the last handoff for this
venture/repo/track, the other active sessions and the cached docs. Queued work
of this tuple is delivered first. With `--keepalive` it stays running and
heartbeats (printing each beat) until Ctrl-C; otherwise the session stays
active on the server until `crane_eod.py` ends it (or it goes stale).
"""

from __future__ import annotations

import argparse
import sys
import threading

import crane_context as cc

from agent_context import detect


class Printer(cc.CraneListener):
    """Runs on an SDK thread: only prints."""

    def on_event(self, event: cc.CraneEvent) -> None:
        print(f"  event: {event}", file=sys.stderr, flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agent")
    p.add_argument("--venture")
    p.add_argument("--repo")
    p.add_argument("--track", type=int)
    p.add_argument("--issue", type=int)
    p.add_argument("--keepalive", action="store_true", help="stay running and heartbeat until Ctrl-C")
    args = p.parse_args()

    co = detect(args.agent, args.venture, args.repo)
    try:
        client = cc.CraneClient.from_env(listener=Printer() if args.keepalive else None)
        session = client.start_session_blocking(
            cc.StartRequest(
                agent=co.agent, venture=co.venture, repo=co.repo, track=args.track,
                issue_number=args.issue, branch=co.branch, commit_sha=co.commit_sha,
                host=co.host, client=co.client, auto_heartbeat=args.keepalive,
            )
        )
        info = session.start_info()
        print(f"session {session.session_id()} ({info.status if info else 'attached'})")
        print(f"  {co.agent} on {co.venture} {co.repo}" + (f" track {args.track}" if args.track else ""))
        print(f"  next heartbeat at {session.next_heartbeat_at()}")

        last = client.last_handoff_blocking(co.venture, co.repo, track=args.track)
        if last.handoff:
            h = last.handoff
            stale = f" (cached, {last.age_seconds:.0f}s old)" if last.stale else ""
            print(f"last handoff{stale}: {h.summary!r} by {h.from_agent} at {h.created_at}")
            print(f"  payload: {h.payload_json}")
        else:
            print("no handoff yet for this venture/repo/track")

        active = client.active_sessions_blocking(co.agent, co.venture, co.repo)
        others = [s for s in active.sessions if s.id != session.session_id()]
        print(f"other active sessions: {len(others)}")
        for s in others:
            print(f"  {s.id} track {s.track} last heartbeat {s.last_heartbeat_at}")

        docs = client.cached_docs_blocking()
        if docs and docs.docs:
            print(f"docs cached in {client.store_path()}: " + ", ".join(d.doc_name for d in docs.docs))
    except cc.CraneError as e:
        corr = f" (correlation id {e.correlation_id})" if e.correlation_id else ""
        print(f"crane_sod: {type(e).__name__}: {e.message}{corr}", file=sys.stderr)
        return 1

    if args.keepalive:
        print("heartbeating; Ctrl-C to stop (the session stays active)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            session.stop()
    client.close_blocking()
    return 0


if __name__ == "__main__":
    sys.exit(main())
