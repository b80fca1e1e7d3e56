#!/usr/bin/env python3
"""Per-call overhead of the Python binding vs the Rust API.

Times `queue_counts` (a local SQLite read: no network, so the binding's own
cost dominates) through the binding, blocking and awaited. Compare with the
Rust API's figures for the same call (the Rust async API, and the blocking
FFI call made from Rust), from the criterion benchmark:

    cargo bench --features ffi --bench ffi_overhead
    python bindings/python/bench_overhead.py

`cargo bench` builds release; `bindings/test.sh` installs a dev build of the
binding, so install it with a plain `pip install ./bindings/python` (release)
before comparing the two.
"""

import asyncio
import sys
import tempfile
import time

import crane_context as cc

N = 5000


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        client = cc.CraneClient(
            "http://127.0.0.1:9", "test-relay-key-0123456789abcdef",
            options=cc.ClientOptions(store_path=f"{d}/crane.db"),
        )
        client.queue_counts_blocking()
        t = time.perf_counter()
        for _ in range(N):
            client.queue_counts_blocking()
        blocking = (time.perf_counter() - t) / N * 1e6

        async def awaited() -> float:
            await client.queue_counts()
            t = time.perf_counter()
            for _ in range(N):
                await client.queue_counts()
            return (time.perf_counter() - t) / N * 1e6

        asynced = asyncio.run(awaited())
        client.shutdown()
    print(f"queue_counts from Python ({sys.version.split()[0]}): "
          f"blocking {blocking:.1f} µs/call, asyncio {asynced:.1f} µs/call")


if __name__ == "__main__":
    main()
