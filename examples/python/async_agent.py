#!/usr/bin/env python3
"""An asyncio agent: one session, its events as they happen, and the repo's handoffs.

    export CRANE_CONTEXT_URL=... CRANE_CONTEXT_KEY=...
    python examples/python/async_agent.py --agent my-agent --venture vc --repo owner/repo

Starts a session with `AsyncClient`, prints the client's background events
from an `async for` task, records progress, ends the session with a dict
payload (queued and delivered later when the server is unreachable), then
walks every handoff of the repo, newest first, page by page.
"""

import argparse
import asyncio
import sys
from typing import List

import crane_context as cc


async def watch(events: cc.AsyncEventStream, seen: List[cc.Event]) -> None:
    async for event in events:
        seen.append(event)
        print(f"  event: {event}", flush=True)


async def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--agent", default="async-agent")
    p.add_argument("--venture", default="vc")
    p.add_argument("--repo", required=True)
    p.add_argument("--limit", type=int, default=5, help="how many of the repo's handoffs to print")
    args = p.parse_args()

    seen: List[cc.Event] = []
    try:
        async with cc.AsyncClient.from_env() as client:
            watcher = asyncio.create_task(watch(client.events(), seen))
            session = await client.start_session(args.agent, args.venture, args.repo)
            print(f"session {session.session_id}")
            await session.update(branch="main", meta={"step": "tests"})
            result = await session.end(
                summary="async agent done", payload={"next": "review", "files": ["src/lib.rs"]}
            )
            if result.handoff is not None:
                print(f"handoff {result.handoff.id}: {result.handoff.payload}")
            else:
                print(f"queued as {result.local_id}; it is delivered when the server is back")

            print(f"newest handoffs of {args.venture} {args.repo}:")
            count = 0
            async for h in client.handoffs(venture=args.venture, repo=args.repo, page_size=2):
                print(f"  {h.created_at:%Y-%m-%d %H:%M:%S} {h.from_agent}: {h.summary!r} {h.payload}")
                count += 1
                if count == args.limit:
                    break
        await watcher  # the stream ends when the client closes
    except cc.CraneError as e:
        print(f"async_agent: {type(e).__name__}: {e.message}", file=sys.stderr)
        return 1
    print(f"{len(seen)} events")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
