#!/usr/bin/env python3
"""End of day: end this checkout's session with a handoff (like `crane eod`).

    python examples/python/crane_eod.py --summary "what I did" [--payload-file F | --payload -]
                                        [--status-label L] [--to-agent A] [--require-delivery]

The session is the one `crane_sod.py` started for this checkout (found in the
local cache). Offline, the handoff is queued in the local store and delivered
later by any client on this machine (e.g. `client.sync_blocking()`); this
still exits 0 unless `--require-delivery` is given.
"""

from __future__ import annotations

import argparse
import json
import sys

import crane_context as cc

from agent_context import detect


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summary", required=True)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--payload-file", help="a file holding a JSON object")
    src.add_argument("--payload", help="'-' to read the JSON object from stdin")
    p.add_argument("--status-label")
    p.add_argument("--to-agent")
    p.add_argument("--agent")
    p.add_argument("--venture")
    p.add_argument("--repo")
    p.add_argument("--track", type=int)
    p.add_argument("--require-delivery", action="store_true")
    args = p.parse_args()

    if args.payload_file:
        with open(args.payload_file, encoding="utf-8") as f:
            payload_json = f.read()
    elif args.payload == "-":
        payload_json = sys.stdin.read()
    else:
        payload_json = json.dumps({"summary": args.summary})

    co = detect(args.agent, args.venture, args.repo)
    try:
        client = cc.CraneClient.from_env()
        session = client.attach_blocking(co.agent, co.venture, co.repo, track=args.track)
        if session is None:
            print("crane_eod: no session for this checkout; run crane_sod.py first", file=sys.stderr)
            return 1
        outcome = session.end_blocking(
            cc.EndRequest(
                summary=args.summary, payload_json=payload_json,
                status_label=args.status_label, to_agent=args.to_agent,
            )
        )
        client.close_blocking()
    except cc.CraneError as e:
        corr = f" (correlation id {e.correlation_id})" if e.correlation_id else ""
        print(f"crane_eod: {type(e).__name__}: {e.message}{corr}", file=sys.stderr)
        return 1

    if outcome.is_delivered():
        h = outcome.handoff
        print(f"handoff {h.id} stored for session {h.session_id} (payload {h.payload_hash[:12]}…)")
        return 0
    print(f"offline: handoff queued locally as {outcome.local_id}; it will be delivered when the server is back")
    return 2 if args.require_delivery else 0


if __name__ == "__main__":
    sys.exit(main())
