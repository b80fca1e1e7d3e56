#!/usr/bin/env python3
"""Per-call overhead of the Python binding vs the Rust API.

Times `queue_counts` (a local SQLite read: no network, so the binding's own
cost dominates) through the generated module (`crane_context._native`) and
through the public API over it (`Client.queue.counts()`), blocking and awaited. Compare with the
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
from crane_context._native import crane_context as native

N = 5000
URL, KEY = "http://127.0.0.1:9", "test-relay-key-0123456789abcdef"


def per_call(fn) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(N):
        fn()
    return (time.perf_counter() - t) / N * 1e6


async def per_await(fn) -> float:
    await fn()
    t = time.perf_counter()
    for _ in range(N):
        await fn()
    return (time.perf_counter() - t) / N * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        raw = native.CraneClient(URL, KEY, options=native.ClientOptions(store_path=f"{d}/raw.db"))
        raw_blocking = per_call(raw.queue_counts_blocking)
        raw_async = asyncio.run(per_await(raw.queue_counts))
        raw.shutdown()
        with cc.Client(URL, KEY, store_path=f"{d}/api.db") as client:
            api_blocking = per_call(client.queue.counts)

        async def api() -> float:
            async with cc.AsyncClient(URL, KEY, store_path=f"{d}/async.db") as aclient:
                return await per_await(aclient.queue.counts)

        api_async = asyncio.run(api())
    print(f"queue_counts from Python ({sys.version.split()[0]}), µs/call: "
          f"generated blocking {raw_blocking:.1f}, asyncio {raw_async:.1f}; "
          f"Client {api_blocking:.1f}, AsyncClient {api_async:.1f}")


if __name__ == "__main__":
    main()
