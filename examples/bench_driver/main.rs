//! The benchmark driver for the figures criterion cannot take: per-call
//! latency distributions (p50/p99) with both sides interleaved, durable
//! enqueue against the disk's own commit rate, queue drain against the
//! emulator's maximum, and heartbeat scale. `scripts/bench.sh` runs them all
//! and then `report`, which writes `target/bench-results.json` and the
//! tables of BENCHMARKS.md (`target/bench-tables.md`).
//!
//! `bench_driver <calls|enqueue|drain|heartbeats|open|engine|report|probe-calls> [--quick]`
//! (`drain-child` is the drain's own subprocess).

mod calls;
mod common;
mod drain;
mod engine;
mod enqueue;
mod heartbeats;
mod hostcall;
mod memory;
mod open;
mod payload;
mod report;

/// Counts live Rust heap bytes while item 5 asks (see `memory.rs`).
#[global_allocator]
static ALLOC: memory::Counting = memory::Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let Some(cmd) = args.first() else {
        eprintln!(
            "usage: bench_driver <calls|enqueue|drain|heartbeats|open|engine|hostcall|report|probe-calls> [--quick]"
        );
        std::process::exit(2);
    };
    match cmd.as_str() {
        "calls" => {
            let plan = if quick {
                calls::Plan {
                    warmup: 100,
                    heartbeat: 500,
                    update: 500,
                    end: 200,
                }
            } else {
                calls::Plan {
                    warmup: 500,
                    heartbeat: 6000,
                    update: 6000,
                    end: 2500,
                }
            };
            common::write_result("calls", &calls::run(plan));
        }
        "probe-calls" => common::write_result("probe-calls", &calls::probe()),
        "probe-store" => common::write_result("probe-store", &enqueue::probe_store()),
        "enqueue" => common::write_result("enqueue", &enqueue::run(quick)),
        "hostcall" => common::write_result("hostcall", &hostcall::run(quick)),
        "drain" => common::write_result("drain", &drain::run(quick)),
        "drain-child" => drain::child(&args[1..]),
        "heartbeats" => {
            let idle_only = args.iter().any(|a| a == "--idle-only");
            // `--sessions N` overrides the count (diagnostic runs).
            let sessions = args
                .iter()
                .position(|a| a == "--sessions")
                .and_then(|i| args.get(i + 1))
                .and_then(|n| n.parse::<usize>().ok());
            let mut plan = if quick {
                heartbeats::Plan {
                    sessions: 2000,
                    idle_secs: 5,
                    interval: (2, 4),
                    window_secs: 8,
                    idle_only,
                }
            } else {
                heartbeats::Plan {
                    sessions: 10_000,
                    idle_secs: 20,
                    interval: (2, 4),
                    window_secs: 30,
                    idle_only,
                }
            };
            if let Some(n) = sessions {
                plan.sessions = n;
            }
            common::write_result("heartbeats", &heartbeats::run(plan));
        }
        "probe-heartbeats" => common::write_result("probe-heartbeats", &heartbeats::probe()),
        "open" => common::write_result("open", &open::run(quick)),
        "engine" => {
            let plan = if quick {
                engine::Plan {
                    warmup: 100,
                    heartbeat: 500,
                    update: 300,
                    end: 150,
                    read: 300,
                }
            } else {
                engine::Plan {
                    warmup: 300,
                    heartbeat: 3000,
                    update: 1500,
                    end: 800,
                    read: 2000,
                }
            };
            common::write_result("engine", &engine::run(plan));
        }
        "open-child" => open::child(&args[1..]),
        "report" => report::run(),
        other => {
            eprintln!("unknown command {other}");
            std::process::exit(2);
        }
    }
}
