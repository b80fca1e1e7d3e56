#!/usr/bin/env python3
"""Tables for BENCHMARKS.md items 7-12 (issue 13) from target/bench/*.json.

    python3 scripts/bench_report13.py [target/bench] > target/bench-tables-13.md

`scripts/bench.sh` runs it after the driver's own report.
"""

import json
import os
import sys

out_dir = sys.argv[1] if len(sys.argv) > 1 else "target/bench"


def load(name):
    try:
        with open(os.path.join(out_dir, f"{name}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


lines = []
m = load("machine")
if m:
    lines += [f"Run: {m.get('date')}, commit `{m.get('git')}`, {m.get('cpu')}, {m.get('cores')} cores, "
              f"load before {m.get('load_before')}, after {m.get('load_after', '?')}.", ""]

o = load("open")
if o:
    lines += ["### 7. Store open (open + close, from this process, file in the page cache)", "",
              "| queued items | file MiB | after a clean close p50 ms | p99 ms | after a killed opener p50 ms (= every open before) | target ≤ 10 ms at 100k |",
              "|---|---|---|---|---|---|"]
    for r in o["sizes"]:
        lines.append(f"| {r['queued']:,} | {r['file_mib']:.1f} | {r['clean']['p50_us'] / 1000:.2f} | "
                     f"{r['clean']['p99_us'] / 1000:.2f} | {r['after_unclean']['p50_us'] / 1000:.1f} | "
                     f"{'**met**' if r['met'] else '**not met**'} |")
    lines.append("")

p = load("procs")
if p and "runs" in p:
    runs, rat = p["runs"], p["ratios"]
    lines += ["### 8. `crane` as a whole process vs curl and vs doing nothing (hyperfine -N, interleaved rounds)", "",
              "| command | median ms | reference | reference median ms | ratio | target |", "|---|---|---|---|---|---|"]
    def row(cmd, ref, ratio, target):
        met = "" if target is None else ("**met**" if ratio <= target else "**not met**")
        tgt = "—" if target is None else f"≤ {target}"
        lines.append(f"| `{cmd}` | {runs[cmd]['median_ms']:.2f} | {ref} | {runs[ref]['median_ms']:.2f} | "
                     f"{ratio:.2f} | {tgt} {met} |")
    row("crane heartbeat", "curl heartbeat", rat["heartbeat_vs_curl"], 1.0)
    row("crane update", "curl update", rat["update_vs_curl"], None)
    row("crane eod", "curl eod", rat["eod_vs_curl"], None)
    row("crane --version", "/bin/true", rat["version_vs_true"], 1.2)
    row("crane status", "/bin/true", rat["status_vs_true"], 2.0)
    if "status_vs_floor" in rat:
        row("status floor", "/bin/true", rat["floor_vs_true"], None)
        row("crane status", "status floor", rat["status_vs_floor"], None)
    row("empty Rust program", "/bin/true", rat["empty_rust_vs_true"], None)
    quiet = runs.get("status floor", {}).get("n")
    lines += ["", f"Rounds: {runs['crane heartbeat']['n']} (eod: {runs['crane eod']['n']}"
              + (f"; `crane status`, the floor, `--version`, `/bin/true` and the empty program: {quiet} rounds of 10 runs each, "
                 "medians of the rounds' medians" if quiet else "")
              + f"); load after: {p.get('load_after')}.",
              "`status floor` is examples/status_floor.rs: SQLite opening the store read-only and running `crane status`'s three statements, nothing else, built like `crane`.",
              f"The `crane` measured (scripts/build-crane.sh): {p.get('crane_binary', 'not recorded')}.", ""]

e = load("engine")
if e:
    lines += ["### 9. Engine path vs bare reqwest (and + one durable SQLite commit)", "",
              "| call | vs | engine p50 µs | reference p50 µs | ratio p50 | engine p99 µs | reference p99 µs | ratio p99 | target p50 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for op in e["ops"]:
        tgt = op.get("target_p50")
        t = "—" if tgt is None else f"≤ {tgt} {'**met**' if op['met'] else '**not met**'}"
        lines.append(f"| {op['op']} | {op['vs']} | {op['engine']['p50_us']:.0f} | {op['bare']['p50_us']:.0f} | "
                     f"{op['ratio_p50']:.3f} | {op['engine']['p99_us']:.0f} | {op['bare']['p99_us']:.0f} | "
                     f"{op['ratio_p99']:.3f} | {t} |")
    lines.append("")

en = load("enqueue")
if en and "single" in en:
    s1 = en["single"]
    lines += [f"Durable enqueue, single item (item 3, same run): SDK p50 {s1['sdk']['p50_us']:.0f} µs, "
              f"raw commit p50 {s1['raw_commit']['p50_us']:.0f} µs, ratio p50 **{s1['ratio_p50']:.3f}** "
              f"(target ≤ 2: {'met' if s1['ratio_p50'] <= 2 else 'NOT met'}); p99 ratio {s1['ratio_p99']:.3f}.", ""]

hb = load("heartbeats")
if hb and "idle" in hb:
    i = hb["idle"]
    lines += [f"Live sessions (item 5, same run): {hb['sessions']:,} sessions, RSS per session marginal "
              f"**{i['rss_per_session_bytes']:.0f} B**, average including fixed costs {i['rss_per_session_avg_bytes']:.0f} B "
              f"(target < 2,048: {'met' if i['rss_per_session_bytes'] < 2048 else 'NOT met'}).", ""]

py = load("python")
if py:
    lines += [f"### 10. Python {py['python']} (the wheel `pip install ./bindings/python` builds) vs `http.client` keep-alive and httpx", "",
              "| mode / call | side | p50 µs | p99 µs | ÷ http.client p50 | ÷ http.client p99 | sdk ÷ (http.client + sqlite3 commit) p50 |",
              "|---|---|---|---|---|---|---|"]
    for name, sides in py["results"].items():
        for side, v in sides.items():
            lines.append(f"| {name} | {side} | {v['p50_us']:.0f} | {v['p99_us']:.0f} | "
                         f"{v['ratio_p50_vs_http_client']:.3f} | {v['ratio_p99_vs_http_client']:.3f} | "
                         f"{fmt(v.get('ratio_p50_vs_durable'), 3)} |")
    lines += ["", "`http.client off the loop` (asyncio rows): the same `http.client` exchange run with "
              "`loop.run_in_executor`, the least any asyncio call that does not block the event loop pays "
              "(another thread does the exchange and wakes the loop with its result).", "",
              f"Load during the Python run: {' '.join(py['loadavg'])}.", ""]

sw = load("swift")
if sw and "calls" in sw:
    lines += ["### 11. Swift (release library and package) vs URLSession keep-alive", "",
              "| call | SDK p50 µs | URLSession p50 µs | ratio p50 | SDK p99 µs | URLSession p99 µs | ratio p99 |",
              "|---|---|---|---|---|---|---|"]
    for c in sw["calls"]:
        lines.append(f"| {c['call']} | {c['sdk']['p50_us']:.0f} | {c['urlsession']['p50_us']:.0f} | {c['ratio_p50']:.3f} | "
                     f"{c['sdk']['p99_us']:.0f} | {c['urlsession']['p99_us']:.0f} | {c['ratio_p99']:.3f} |")
    lines.append("")
elif sw:
    lines += ["### 11. Swift", "", f"Not run: {sw.get('skipped')}.", ""]

hc = load("hostcall")
if hc:
    lines += ["### 12. The stack's own floor for a call from a host thread (heartbeat, one process, rotated call by call)", "",
              "| side | p50 µs | p99 µs | ÷ ureq p50 | ÷ ureq p99 |", "|---|---|---|---|---|"]
    ureq = hc["sides"]["ureq (caller thread)"]
    for side, v in hc["sides"].items():
        lines.append(f"| {side} | {v['p50_us']:.0f} | {v['p99_us']:.0f} | {v['p50_us'] / ureq['p50_us']:.3f} | "
                     f"{v['p99_us'] / ureq['p99_us']:.3f} |")
    lines += ["", "reqwest on a multi-thread runtime entered with `block_on` from a host thread is how the bindings' "
              "blocking calls that may start background work run (start, attach, update, end, sync); a blocking "
              "heartbeat or read runs the current-thread way, on the calling thread's own runtime and connections "
              "(change 36). ureq does the exchange on the calling thread, as `http.client` does.", ""]

print("\n".join(lines))
