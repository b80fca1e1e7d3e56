#!/usr/bin/env python3
"""End of day: end this checkout's session with a handoff (like `crane eod`).

    python examples/python/crane_eod.py --summary "what I did" [--payload-file F | --payload -]
                                        [--status-label L] [--to-agent A] [--require-delivery]

The session is the one `crane_sod.py` started for this checkout (found in the
local cache). Offline, the handoff is queued in the local store and delivered
later by any client on this machine (e.g. `client.sync()`); this
still exits 0 unless `--require-delivery` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict

import crane_context as cc

from agent_context import detect


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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

    payload: Dict[str, Any] = {"summary": args.summary}
    if args.payload_file:
        with open(args.payload_file, encoding="utf-8") as f:
            payload = json.load(f)
    elif args.payload == "-":
        payload = json.load(sys.stdin)

    co = detect(args.agent, args.venture, args.repo)
    try:
        with cc.Client.from_env() as client:
            session = client.attach(co.agent, co.venture, co.repo, track=args.track)
            if session is None:
                print("crane_eod: no session for this checkout; run crane_sod.py first", file=sys.stderr)
                return 1
            result = session.end(
                args.summary, payload, status_label=args.status_label, to_agent=args.to_agent
            )
    except cc.CraneError as e:
        print(f"crane_eod: {type(e).__name__}: {e.message}", file=sys.stderr)
        return 1

    if result.handoff is not None:
        h = result.handoff
        print(f"handoff {h.id} stored for session {h.session_id} (payload {h.payload_hash[:12]}…)")
        return 0
    print(f"offline: handoff queued locally as {result.local_id}; it will be delivered when the server is back")
    return 2 if args.require_delivery else 0


if __name__ == "__main__":
    sys.exit(main())
