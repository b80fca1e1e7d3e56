#!/usr/bin/env python3
"""Per-call cost of the Python binding next to Python's own HTTP clients.

Item 10 of BENCHMARKS.md. The same requests (heartbeat, update, end,
latest handoff) through the binding — blocking and asyncio — and through
`http.client.HTTPConnection` (keep-alive), `httpx.Client` and
`httpx.AsyncClient`, against one emulator, interleaved call by call (the
order of the sides rotates every round). The binding's update and end are
persisted before they are sent (one SQLite commit with an fsync), so for
them a fourth side does what the binding promises, by hand:
`http.client` plus one `sqlite3` commit of the body in WAL mode with
`synchronous=FULL`.

    python bindings/python/bench_calls.py --url http://127.0.0.1:PORT [--quick] [--out FILE]

`scripts/bench.sh` starts the emulator and runs this in a venv with the
release wheel (`pip install ./bindings/python`) and httpx installed.

Two binding sides run in every round: "sdk" is the module uniffi
generates (`crane_context._native`, through the adapter `Sdk`) and
"wrapper" is the package's public API over it (`crane_context.Client` and
`crane_context.AsyncClient`, through `Wrapper`: keyword arguments, `dict`
payloads, result dataclasses), each with its own store file. `--sdk
module:Class` replaces the "sdk" side by a class with `Sdk`'s methods.
"""

import argparse
import asyncio
import http.client
import importlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid

KEY = "test-relay-key-0123456789abcdef"
BRANCH = "feature/bench"
SHA = "0123456789abcdef0123456789abcdef01234567"


def payload_of(size=1024):
    tasks, i, n = [], 0, 64
    while n < size:
        t = {"id": i, "title": f"Refactor módulo {i}: split the handler and add tests",
             "done": i % 3 == 0, "estimate_h": i * 0.25 + 0.5,
             "files": [f"src/area_{i % 17}/mod.rs", f"tests/t_{i}.rs"],
             "notes": {"blocker": None, "owner": f"agent-{i % 5}", "ß": "naïve café ✓"}}
        n += len(json.dumps(t)) + 1
        tasks.append(t)
        i += 1
    return {"summary_md": "## State\nWork continues.", "next": ["review", "ship"],
            "tasks": tasks, "version": 3}


class Sdk:
    """The module uniffi generates, as the package's wrapper calls it."""

    def __init__(self, url, key, store_path):
        import crane_context._native as cc
        self.cc = cc
        self.client = cc.CraneClient(url, key, options=cc.ClientOptions(store_path=store_path))

    def start(self, agent, repo):
        req = self.cc.StartRequest(agent=agent, venture="vc", repo=repo,
                                   include_docs=False, auto_heartbeat=False)
        return self.client.start_session_blocking(req)

    # blocking
    def heartbeat(self, h):
        return h.heartbeat_now_blocking()

    def update(self, h):
        return h.update_blocking(self.cc.UpdateRequest(branch=BRANCH, commit_sha=SHA))

    def end(self, h, payload_json):
        return h.end_blocking(self.cc.EndRequest(summary="bench handoff", payload_json=payload_json))

    def latest(self, session_id):
        return self.client.latest_handoff_blocking(self.cc.LatestHandoffQuery.SESSION(session_id=session_id))

    # asyncio
    async def aheartbeat(self, h):
        return await h.heartbeat_now()

    async def aupdate(self, h):
        return await h.update(self.cc.UpdateRequest(branch=BRANCH, commit_sha=SHA))

    async def aend(self, h, payload_json):
        return await h.end(self.cc.EndRequest(summary="bench handoff", payload_json=payload_json))

    async def alatest(self, session_id):
        return await self.client.latest_handoff(self.cc.LatestHandoffQuery.SESSION(session_id=session_id))

    def close(self):
        self.client.close_blocking()


class Wrapper:
    """The package's public API: `crane_context.Client` (blocking) and
    `crane_context.AsyncClient` (asyncio), each on its own store file."""

    def __init__(self, url, key, store_path):
        import crane_context
        self.url, self.key, self.store_path = url, key, store_path
        self.client = crane_context.Client(url, key, store_path=store_path)
        self.aclient = None

    def start(self, agent, repo):
        return self.client.start_session(agent, "vc", repo, auto_heartbeat=False)

    async def astart(self, agent, repo):
        if self.aclient is None:
            import crane_context
            self.aclient = crane_context.AsyncClient(self.url, self.key, store_path=self.store_path + "-async")
        return await self.aclient.start_session(agent, "vc", repo, auto_heartbeat=False)

    def heartbeat(self, s):
        return s.heartbeat()

    def update(self, s):
        return s.update(branch=BRANCH, commit_sha=SHA)

    def end(self, s, payload):
        return s.end("bench handoff", payload)

    def latest(self, session_id):
        return self.client.latest_handoff(session_id=session_id)

    async def aheartbeat(self, s):
        return await s.heartbeat()

    async def aupdate(self, s):
        return await s.update(branch=BRANCH, commit_sha=SHA)

    async def aend(self, s, payload):
        return await s.end("bench handoff", payload)

    async def alatest(self, session_id):
        return await self.aclient.latest_handoff(session_id=session_id)

    async def aclose(self):
        if self.aclient is not None:
            await self.aclient.close()

    def close(self):
        self.client.close()


class Raw:
    """http.client keep-alive, httpx sync/async, and a durable sqlite3 commit."""

    def __init__(self, url, db_path):
        import httpx
        u = urllib.parse.urlsplit(url)
        self.url = url
        self.conn = http.client.HTTPConnection(u.hostname, u.port)
        self.hx = httpx.Client(base_url=url)
        self.ahx = None
        self.db = sqlite3.connect(db_path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS q (id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT)")

    def headers(self, idem):
        h = {"X-Relay-Key": KEY, "Content-Type": "application/json"}
        if idem:
            h["Idempotency-Key"] = str(uuid.uuid4())
        return h

    def post(self, path, body, idem):
        self.conn.request("POST", path, json.dumps(body), self.headers(idem))
        r = self.conn.getresponse()
        data = r.read()
        assert 200 <= r.status < 300, (path, r.status, data[:200])
        return json.loads(data)

    def get(self, path):
        self.conn.request("GET", path, headers={"X-Relay-Key": KEY})
        r = self.conn.getresponse()
        data = r.read()
        assert r.status == 200, (path, r.status)
        return json.loads(data)

    def commit(self, body):
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO q (key, body) VALUES (?, ?)", (str(uuid.uuid4()), json.dumps(body)))
        self.db.execute("COMMIT")

    def hx_post(self, path, body, idem):
        r = self.hx.post(path, content=json.dumps(body), headers=self.headers(idem))
        r.raise_for_status()
        return r.json()

    def hx_get(self, path):
        r = self.hx.get(path, headers={"X-Relay-Key": KEY})
        r.raise_for_status()
        return r.json()

    async def ahx_post(self, path, body, idem):
        r = await self.ahx.post(path, content=json.dumps(body), headers=self.headers(idem))
        r.raise_for_status()
        return r.json()

    async def ahx_get(self, path):
        r = await self.ahx.get(path, headers={"X-Relay-Key": KEY})
        r.raise_for_status()
        return r.json()

    def sod(self, agent, repo):
        return self.post("/sod", {"agent": agent, "venture": "vc", "repo": repo,
                                  "include_docs": False, "schema_version": "1.0"}, True)["session_id"]


def stats(samples):
    s = sorted(samples)
    pick = lambda p: s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
    return {"n": len(s), "p50_us": round(pick(50) * 1e6, 1), "p99_us": round(pick(99) * 1e6, 1)}


def rounds_of(sides, n, warmup):
    """Calls every side once per round, order rotated; returns samples per side."""
    out = {name: [] for name, _ in sides}
    for i in range(warmup + n):
        k = i % len(sides)
        for name, fn in sides[k:] + sides[:k]:
            t = time.perf_counter()
            fn()
            d = time.perf_counter() - t
            if i >= warmup:
                out[name].append(d)
    return out


async def arounds_of(sides, n, warmup):
    out = {name: [] for name, _, _ in sides}
    for i in range(warmup + n):
        k = i % len(sides)
        for name, fn, is_async in sides[k:] + sides[:k]:
            t = time.perf_counter()
            if is_async:
                await fn()
            else:
                fn()
            d = time.perf_counter() - t
            if i >= warmup:
                out[name].append(d)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--sdk", help="module:Class with Sdk's methods (default: the generated module)")
    args = ap.parse_args()
    n = {"hb": 300, "up": 200, "end": 100, "latest": 300, "warm": 30} if args.quick else \
        {"hb": 1500, "up": 800, "end": 400, "latest": 1500, "warm": 100}
    sdk_cls = Sdk
    if args.sdk:
        mod, cls = args.sdk.split(":")
        sdk_cls = getattr(importlib.import_module(mod), cls)

    with tempfile.TemporaryDirectory(dir=os.environ.get("CRANE_BENCH_TMP")) as d:
        sdk = sdk_cls(args.url, KEY, os.path.join(d, "crane.db"))
        raw = Raw(args.url, os.path.join(d, "raw.db"))
        payload = payload_of()
        payload_json = json.dumps(payload)
        h = sdk.start("py-bench-sdk", "bench/py")
        wr = Wrapper(args.url, KEY, os.path.join(d, "wrapper.db"))
        wh = wr.start("py-bench-wrapper", "bench/py")
        raw_sid = raw.sod("py-bench-raw", "bench/py")
        hx_sid = raw.sod("py-bench-hx", "bench/py")
        total_ends = (n["end"] + n["warm"]) * 2
        sdk_ends = iter([sdk.start(f"py-end-sdk-{i}", "bench/py-end") for i in range(total_ends)])
        wr_ends = iter([wr.start(f"py-end-wrapper-{i}", "bench/py-end") for i in range(total_ends // 2)])
        raw_ends = iter([raw.sod(f"py-end-raw-{i}", "bench/py-end") for i in range(total_ends * 4)])
        ended = {"sid": None}

        def sdk_end():
            e = sdk.end(next(sdk_ends), payload_json)
            return e

        def raw_end_body():
            return {"session_id": next(raw_ends), "summary": "bench handoff", "payload": payload,
                    "schema_version": "1.0"}

        def durable_post(path, body):
            raw.commit(body)
            return raw.post(path, body, True)

        upd = lambda sid: {"session_id": sid, "branch": BRANCH, "commit_sha": SHA, "schema_version": "1.0"}
        # A session with a handoff, for the latest-handoff read.
        ended["sid"] = raw.sod("py-latest", "bench/py-latest")
        raw.post("/eod", {"session_id": ended["sid"], "summary": "latest", "payload": payload,
                          "schema_version": "1.0"}, True)
        latest_path = "/handoffs/latest?" + urllib.parse.urlencode({"session_id": ended["sid"]})

        results = {}
        blocking = {
            "heartbeat": [("sdk", lambda: sdk.heartbeat(h)),
                          ("wrapper", lambda: wr.heartbeat(wh)),
                          ("http.client", lambda: raw.post("/heartbeat", {"session_id": raw_sid}, False)),
                          ("httpx", lambda: raw.hx_post("/heartbeat", {"session_id": hx_sid}, False))],
            "update": [("sdk", lambda: sdk.update(h)),
                       ("wrapper", lambda: wr.update(wh)),
                       ("http.client", lambda: raw.post("/update", upd(raw_sid), True)),
                       ("httpx", lambda: raw.hx_post("/update", upd(hx_sid), True)),
                       ("http.client + sqlite3 commit", lambda: durable_post("/update", upd(raw_sid)))],
            "end": [("sdk", sdk_end),
                    ("wrapper", lambda: wr.end(next(wr_ends), payload)),
                    ("http.client", lambda: raw.post("/eod", raw_end_body(), True)),
                    ("httpx", lambda: raw.hx_post("/eod", raw_end_body(), True)),
                    ("http.client + sqlite3 commit", lambda: durable_post("/eod", raw_end_body()))],
            "latest handoff": [("sdk", lambda: sdk.latest(ended["sid"])),
                               ("wrapper", lambda: wr.latest(ended["sid"])),
                               ("http.client", lambda: raw.get(latest_path)),
                               ("httpx", lambda: raw.hx_get(latest_path))],
        }
        counts = {"heartbeat": n["hb"], "update": n["up"], "end": n["end"], "latest handoff": n["latest"]}
        for op, sides in blocking.items():
            res = rounds_of(sides, counts[op], n["warm"] if op != "end" else n["warm"] // 2)
            results[f"blocking {op}"] = {k: stats(v) for k, v in res.items()}
            print(f"blocking {op}: " + ", ".join(f"{k} p50 {stats(v)['p50_us']}us" for k, v in res.items()),
                  file=sys.stderr)

        async def run_async():
            import httpx
            raw.ahx = httpx.AsyncClient(base_url=args.url)
            awh = await wr.astart("py-bench-wrapper-async", "bench/py")
            awr_ends = iter([await wr.astart(f"py-aend-wrapper-{i}", "bench/py-end")
                             for i in range(total_ends // 2)])
            loop = asyncio.get_running_loop()
            # The least any call that does not block the loop pays: the same
            # http.client exchange on another thread, its result handed back.
            off_loop = lambda f: loop.run_in_executor(None, f)
            asides = {
                "heartbeat": [("sdk", lambda: sdk.aheartbeat(h), True),
                              ("wrapper", lambda: wr.aheartbeat(awh), True),
                              ("http.client", lambda: raw.post("/heartbeat", {"session_id": raw_sid}, False), False),
                              ("httpx async", lambda: raw.ahx_post("/heartbeat", {"session_id": hx_sid}, False), True),
                              ("http.client off the loop", lambda: off_loop(
                                  lambda: raw.post("/heartbeat", {"session_id": raw_sid}, False)), True)],
                "update": [("sdk", lambda: sdk.aupdate(h), True),
                           ("wrapper", lambda: wr.aupdate(awh), True),
                           ("http.client", lambda: raw.post("/update", upd(raw_sid), True), False),
                           ("httpx async", lambda: raw.ahx_post("/update", upd(hx_sid), True), True),
                           ("http.client + sqlite3 commit", lambda: durable_post("/update", upd(raw_sid)), False)],
                "end": [("sdk", lambda: sdk.aend(next(sdk_ends), payload_json), True),
                        ("wrapper", lambda: wr.aend(next(awr_ends), payload), True),
                        ("http.client", lambda: raw.post("/eod", raw_end_body(), True), False),
                        ("httpx async", lambda: raw.ahx_post("/eod", raw_end_body(), True), True),
                        ("http.client + sqlite3 commit", lambda: durable_post("/eod", raw_end_body()), False)],
                "latest handoff": [("sdk", lambda: sdk.alatest(ended["sid"]), True),
                                   ("wrapper", lambda: wr.alatest(ended["sid"]), True),
                                   ("http.client", lambda: raw.get(latest_path), False),
                                   ("httpx async", lambda: raw.ahx_get(latest_path), True),
                                   ("http.client off the loop", lambda: off_loop(lambda: raw.get(latest_path)), True)],
            }
            for op, sides in asides.items():
                res = await arounds_of(sides, counts[op], n["warm"] if op != "end" else n["warm"] // 2)
                results[f"asyncio {op}"] = {k: stats(v) for k, v in res.items()}
                print(f"asyncio {op}: " + ", ".join(f"{k} p50 {stats(v)['p50_us']}us" for k, v in res.items()),
                      file=sys.stderr)
            await raw.ahx.aclose()
            await wr.aclose()

        asyncio.run(run_async())
        sdk.close()
        wr.close()

    for name, sides in results.items():
        ref = sides["http.client"]
        for k, v in sides.items():
            v["ratio_p50_vs_http_client"] = round(v["p50_us"] / ref["p50_us"], 3)
            v["ratio_p99_vs_http_client"] = round(v["p99_us"] / ref["p99_us"], 3)
        if "http.client + sqlite3 commit" in sides:
            durable = sides["http.client + sqlite3 commit"]
            for side in ("sdk", "wrapper"):
                sides[side]["ratio_p50_vs_durable"] = round(sides[side]["p50_us"] / durable["p50_us"], 3)
    report = {"item": 10, "python": sys.version.split()[0], "results": results,
              "loadavg": open("/proc/loadavg").read().split()[:3]}
    text = json.dumps(report, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
