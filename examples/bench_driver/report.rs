//! Collects the result files into `target/bench-results.json` and renders
//! the tables of BENCHMARKS.md into `target/bench-tables.md`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::common;

fn load(dir: &Path, name: &str) -> Value {
    std::fs::read_to_string(dir.join(format!("{name}.json")))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn yes(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "**met**",
        Some(false) => "**not met**",
        None => "n/a",
    }
}

fn f(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.digits$}"),
        None => "—".into(),
    }
}

/// Criterion medians of the canonical bench: (label, bytes, jcs ns, crate ns, plain ns).
fn canonical(target: &Path) -> Value {
    let base = target.join("criterion").join("canonical");
    let read = |func: &str, label: &str, file: &str| -> Value {
        std::fs::read_to_string(base.join(func).join(label).join("new").join(file))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    let mut rows = Vec::new();
    for label in ["1KiB", "64KiB", "800KiB"] {
        let bytes = read("jcs_sha256", label, "benchmark.json")["throughput"]["Bytes"].as_f64();
        let med =
            |func: &str| read(func, label, "estimates.json")["median"]["point_estimate"].as_f64();
        let (Some(bytes), Some(jcs), Some(plain)) =
            (bytes, med("jcs_sha256"), med("to_vec_sha256"))
        else {
            continue;
        };
        let mbs = |ns: f64| bytes / (ns * 1e-9) / 1e6;
        let crate_ns = med("jcs_crate_sha256");
        rows.push(json!({
            "payload": label, "bytes": bytes,
            "jcs_sha256_median_ns": jcs, "jcs_sha256_mb_s": common::round2(mbs(jcs)),
            "to_vec_sha256_median_ns": plain, "to_vec_sha256_mb_s": common::round2(mbs(plain)),
            "ratio_throughput_jcs_over_plain": common::round3(plain / jcs),
            "reference_crate_median_ns": crate_ns, "reference_crate_mb_s": crate_ns.map(|n| common::round2(mbs(n))),
        }));
    }
    json!({"item": 6, "name": "canonical JSON + hash", "rows": rows})
}

pub fn run() {
    let dir = common::out_dir();
    let target = common::target_dir();
    let all = json!({
        "machine": load(&dir, "machine"),
        "calls": load(&dir, "calls"),
        "cli": load(&dir, "cli"),
        "enqueue": load(&dir, "enqueue"),
        "drain": load(&dir, "drain"),
        "heartbeats": load(&dir, "heartbeats"),
        "canonical": canonical(&target),
    });
    let path = target.join("bench-results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&all).expect("json"))
        .expect("write results");
    eprintln!("wrote {}", path.display());
    let md = tables(&all);
    let path = target.join("bench-tables.md");
    std::fs::write(&path, &md).expect("write tables");
    eprintln!("wrote {}", path.display());
    print!("{md}");
}

fn tables(all: &Value) -> String {
    let mut s = String::new();
    let m = &all["machine"];
    let _ = writeln!(s, "### Machine and run\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    for (k, label) in [
        ("date", "date (UTC)"),
        ("cpu", "CPU"),
        ("cores", "cores (`nproc`)"),
        ("memory", "memory (`free -h`)"),
        ("disk", "disk (`df -h /work`)"),
        ("kernel", "kernel"),
        ("load_before", "load average before"),
        ("load_after", "load average after"),
        ("git", "commit"),
    ] {
        let _ = writeln!(
            s,
            "| {label} | {} |",
            m[k].as_str().unwrap_or("—").replace('\n', " ")
        );
    }

    let c = &all["calls"];
    let _ = writeln!(
        s,
        "\n### 1. Per-call overhead (SDK `Client` vs bare reqwest, same emulator, interleaved)\n"
    );
    let _ = writeln!(s, "| call | SDK p50 µs | bare p50 µs | ratio p50 (≤ 1.10) | SDK p99 µs | bare p99 µs | ratio p99 (≤ 1.25) | n per side | target |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for op in c["ops"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            op["op"].as_str().unwrap_or("?"),
            f(&op["sdk"]["p50_us"], 1),
            f(&op["bare"]["p50_us"], 1),
            f(&op["ratio_p50"], 3),
            f(&op["sdk"]["p99_us"], 1),
            f(&op["bare"]["p99_us"], 1),
            f(&op["ratio_p99"], 3),
            op["sdk"]["n"],
            yes(&op["met"]),
        );
    }

    let cli = &all["cli"];
    let _ = writeln!(
        s,
        "\n### 2. The command an agent runs (whole processes, hyperfine)\n"
    );
    if cli.is_null() || cli["skipped"].is_string() {
        let _ = writeln!(
            s,
            "Not measured in this run: {}",
            cli["skipped"].as_str().unwrap_or("no result file")
        );
    } else {
        let _ = writeln!(
            s,
            "| command | `crane` median ms | pipeline median ms | ratio (< 1.0) | target |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        for r in cli["pairs"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} |",
                r["name"].as_str().unwrap_or("?"),
                f(&r["crane_median_ms"], 2),
                f(&r["pipeline_median_ms"], 2),
                f(&r["ratio"], 3),
                yes(&r["met"]),
            );
        }
        let st = &cli["status"];
        let _ = writeln!(
            s,
            "| `crane status` (local only) | {} | — | target < 5 ms | {} |",
            f(&st["median_ms"], 2),
            yes(&st["met"])
        );
    }

    let e = &all["enqueue"];
    let _ = writeln!(s, "\n### 3. Durable enqueue (offline `Crane::end_session` until on disk) vs raw SQLite commits, same disk, same settings\n");
    let _ = writeln!(
        s,
        "Durability: {}.\n",
        e["durability"].as_str().unwrap_or("—")
    );
    let _ = writeln!(
        s,
        "| measure | SDK | machine limit (raw commit) | ratio (≤ 2) |"
    );
    let _ = writeln!(s, "|---|---|---|---|");
    let si = &e["single"];
    let _ = writeln!(
        s,
        "| single item p50 | {} µs | {} µs | {} |",
        f(&si["sdk"]["p50_us"], 0),
        f(&si["raw_commit"]["p50_us"], 0),
        f(&si["ratio_p50"], 3)
    );
    let _ = writeln!(
        s,
        "| single item p99 | {} µs | {} µs | {} |",
        f(&si["sdk"]["p99_us"], 0),
        f(&si["raw_commit"]["p99_us"], 0),
        f(&si["ratio_p99"], 3)
    );
    let su = &e["sustained"];
    let _ = writeln!(
        s,
        "| sustained, {} producers | {} /s | {} /s (best of 1 and 4 writers) | {} (limit ÷ SDK) |",
        su["producers"],
        f(&su["sdk_mean_per_s"], 0),
        f(&su["limit_per_s"], 0),
        f(&su["ratio_limit_over_sdk"], 3)
    );
    let _ = writeln!(s, "\nTarget within 2×: {}.", yes(&e["met"]));

    let d = &all["drain"];
    let _ = writeln!(s, "\n### 4. Drain ({} queued handoffs) vs the emulator's maximum `/eod` rate (bare concurrent reqwest)\n", d["main_items"]);
    let _ = writeln!(s, "| | rate /s |\n|---|---|");
    for b in d["bare"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| bare reqwest, {} in flight ({} the drain; emulator {} µs CPU per `/eod`) | {} |",
            b["concurrency"],
            b["when"].as_str().unwrap_or(""),
            f(&b["emulator_cpu_us_per_eod"], 0),
            f(&b["rate_per_s"], 0)
        );
    }
    let main = d["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["items"] == d["main_items"])
        .cloned()
        .unwrap_or(Value::Null);
    let _ = writeln!(
        s,
        "| **SDK drain** (emulator {} µs CPU per `/eod`) | **{}** |",
        f(&main["emulator_cpu_us_per_eod"], 0),
        f(&d["drain_per_s"], 0)
    );
    let _ = writeln!(
        s,
        "\nEmulator maximum (best level, mean of its runs before and after): {} /s. Ratio drain ÷ emulator maximum: **{}** (target ≥ 0.80): {}.\n",
        f(&d["emulator_max_per_s"], 0),
        f(&d["ratio"], 3),
        yes(&d["met"])
    );
    let _ = writeln!(s, "| queued items | drain rate /s | elapsed s | peak RSS (VmHWM) MiB | drain process CPU µs/item | emulator CPU µs/item |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in d["runs"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r["items"],
            f(&r["rate_per_s"], 0),
            f(&r["elapsed_s"], 2),
            r["vmhwm_kib"]
                .as_f64()
                .map(|k| format!("{:.1}", k / 1024.0))
                .unwrap_or_default(),
            f(
                &Value::from(
                    r["cpu_s"].as_f64().unwrap_or(f64::NAN) / r["items"].as_f64().unwrap_or(1.0)
                        * 1e6
                ),
                0
            ),
            f(&r["emulator_cpu_us_per_eod"], 0),
        );
    }
    let _ = writeln!(s, "\nPeak RSS independent of queue length (10× the queue, {} → {} items, raises VmHWM by < 10 %): {}.",
        sizes_at(d, 2), sizes_at(d, 1), yes(&d["rss_flat"]));

    let h = &all["heartbeats"];
    let (i, b) = (&h["idle"], &h["beating"]);
    let _ = writeln!(
        s,
        "\n### 5. Heartbeat scale ({} live `SessionHandle`s in one process)\n",
        h["sessions"]
    );
    let _ = writeln!(s, "| measure | value | target | |\n|---|---|---|---|");
    let _ = writeln!(
        s,
        "| idle CPU (no beat due, {} s window) | {} % of one core | < 1 % | {} |",
        i["window_s"],
        f(&i["idle_cpu_pct_of_core"], 3),
        yes(&Value::Bool(
            i["idle_cpu_pct_of_core"].as_f64().is_some_and(|x| x < 1.0)
        ))
    );
    let _ = writeln!(
        s,
        "| RSS per session, marginal (average incl. fixed costs: {} B) | {} bytes | < 2048 | {} |",
        f(&i["rss_per_session_avg_bytes"], 0),
        f(&i["rss_per_session_bytes"], 0),
        yes(&Value::Bool(
            i["rss_per_session_bytes"]
                .as_f64()
                .is_some_and(|x| x < 2048.0)
        ))
    );
    let _ = writeln!(
        s,
        "| timer lateness p50 / p99 / max | {} / {} / {} ms | p99 < 50 ms | {} |",
        f(&b["lateness_ms"]["p50"], 0),
        f(&b["lateness_ms"]["p99"], 0),
        f(&b["lateness_ms"]["max"], 0),
        yes(&Value::Bool(
            b["lateness_ms"]["p99"].as_f64().is_some_and(|x| x < 50.0)
        ))
    );
    let _ = writeln!(
        s,
        "| CPU per heartbeat | {} µs | — | |",
        f(&b["cpu_per_beat_us"], 0)
    );
    let _ = writeln!(
        s,
        "| beats measured | {} in {} s ({} /s, intervals {} s) | — | |",
        b["beats"],
        f(&b["window_s"], 1),
        f(&b["beats_per_s"], 0),
        b["emulator_interval_s"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        s,
        "| SDK / emulator CPU while beating | {} % / {} % of one core | — | |",
        f(&b["sdk_cpu_pct_of_core"], 1),
        f(&b["emulator_cpu_pct_of_core"], 1)
    );

    let k = &all["canonical"];
    let _ = writeln!(s, "\n### 6. Canonical JSON (RFC 8785) + SHA-256 vs `serde_json::to_vec` + SHA-256 (criterion medians)\n");
    let _ = writeln!(s, "| payload | bytes | canonical + hash MB/s | to_vec + hash MB/s | ratio (canonical ÷ plain throughput) | `serde_json_canonicalizer` called directly, MB/s |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in k["rows"].as_array().into_iter().flatten() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r["payload"].as_str().unwrap_or("?"),
            r["bytes"],
            f(&r["jcs_sha256_mb_s"], 0),
            f(&r["to_vec_sha256_mb_s"], 0),
            f(&r["ratio_throughput_jcs_over_plain"], 3),
            f(&r["reference_crate_mb_s"], 0),
        );
    }
    s
}

/// The item count of the `k`-th run from the end.
fn sizes_at(d: &Value, k: usize) -> String {
    let runs = d["runs"].as_array().cloned().unwrap_or_default();
    runs.len()
        .checked_sub(k)
        .and_then(|i| runs.get(i))
        .map(|r| r["items"].to_string())
        .unwrap_or_default()
}
