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


def print_event(event: cc.Event) -> None:
    """The listener: runs on an SDK thread, so it only prints."""
    print(f"  event: {event}", file=sys.stderr, flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--agent")
    p.add_argument("--venture")
    p.add_argument("--repo")
    p.add_argument("--track", type=int)
    p.add_argument("--issue", type=int)
    p.add_argument("--keepalive", action="store_true", help="stay running and heartbeat until Ctrl-C")
    args = p.parse_args()

    co = detect(args.agent, args.venture, args.repo)
    try:
        with cc.Client.from_env(listener=print_event if args.keepalive else None) as client:
            session = client.start_session(
                co.agent, co.venture, co.repo,
                track=args.track, issue_number=args.issue, branch=co.branch, commit_sha=co.commit_sha,
                host=co.host, client_name=co.client, include_docs=True, auto_heartbeat=args.keepalive,
            )
            info = session.start_info
            print(f"session {session.session_id} ({info.status if info else 'attached'})")
            print(f"  {co.agent} on {co.venture} {co.repo}" + (f" track {args.track}" if args.track else ""))
            print(f"  next heartbeat at {session.next_heartbeat_at:%Y-%m-%d %H:%M:%S %Z}")

            last = client.last_handoff(co.venture, co.repo, track=args.track)
            if last.handoff:
                h = last.handoff
                stale = f" (cached, {last.age_seconds or 0:.0f}s old)" if last.stale else ""
                print(f"last handoff{stale}: {h.summary!r} by {h.from_agent} at {h.created_at:%Y-%m-%d %H:%M}")
                print(f"  payload: {h.payload}")
            else:
                print("no handoff yet for this venture/repo/track")

            others = [s for s in client.active_sessions(co.agent, co.venture, co.repo) if s.id != session.session_id]
            print(f"other active sessions: {len(others)}")
            for s in others:
                print(f"  {s.id} track {s.track} last heartbeat {s.last_heartbeat_at:%H:%M:%S}")

            docs = client.cached_docs()
            if docs and docs.docs:
                print(f"docs cached in {client.store_path}: " + ", ".join(d.doc_name for d in docs.docs))

            if args.keepalive:
                print("heartbeating; Ctrl-C to stop (the session stays active)", flush=True)
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:
                    session.stop()
    except cc.CraneError as e:
        print(f"crane_sod: {type(e).__name__}: {e.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
