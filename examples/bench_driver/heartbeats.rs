//! Item 5 — heartbeat scale: 10,000 live `SessionHandle`s in one process.
//!
//! The emulator runs as a separate process, so this process's CPU and memory
//! are the SDK's alone. Two phases, each with its own emulator and store:
//!
//! 1. **Idle** — the emulator proposes a one-hour interval, so no beat falls
//!    due: RSS per session (RSS after the 10,000 starts minus before) and the
//!    CPU the process burns with 10,000 sessions waiting (`/proc/self/stat`).
//! 2. **Beating** — the emulator proposes short intervals; jitter is set to 0
//!    so the scheduled time is exactly the server's `next_heartbeat_at`.
//!    Over a measurement window: CPU per heartbeat, and timer lateness per
//!    beat = the server's time at the beat (`next − interval` of its answer)
//!    minus the `next_heartbeat_at` the previous answer proposed — both
//!    server timestamps, in milliseconds, so no clock skew enters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crane_context::engine::Event;
use crane_context::model::StartSession;
use crane_context::{ClientConfig, Crane, CraneConfig, RelayKey, SessionHandle};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::common::{self, EmulatorProcess, KEY};

#[derive(Default)]
struct Beats {
    count: AtomicUsize,
    failed: AtomicUsize,
    recording: AtomicBool,
    /// session → the `next_heartbeat_at` (ms) its last answer proposed.
    last_next: Mutex<HashMap<String, i64>>,
    lateness_ms: Mutex<Vec<i64>>,
}

impl Beats {
    fn on_event(&self, e: Event) {
        match e {
            Event::HeartbeatSent {
                session_id,
                next_heartbeat_at,
                interval_seconds,
            } => {
                self.count.fetch_add(1, Ordering::Relaxed);
                let next = next_heartbeat_at.as_millisecond();
                let server_now = next - i64::from(interval_seconds) * 1000;
                let prev = self
                    .last_next
                    .lock()
                    .expect("lock")
                    .insert(session_id, next);
                if let (Some(prev), true) = (prev, self.recording.load(Ordering::Relaxed)) {
                    self.lateness_ms
                        .lock()
                        .expect("lock")
                        .push(server_now - prev);
                }
            }
            Event::HeartbeatFailed { .. } | Event::SessionLost { .. } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

async fn open(
    url: &str,
    db: &std::path::Path,
    beats: Arc<Beats>,
    jitter: Option<Duration>,
) -> Crane {
    let client = ClientConfig::new(url, RelayKey::new(KEY).expect("key")).expect("config");
    let mut config = CraneConfig::new(client)
        .store_path(db)
        .listener(Arc::new(move |e: Event| beats.on_event(e)));
    if let Some(j) = jitter {
        config.heartbeat_jitter = j;
    }
    Crane::open(config).await.expect("open crane")
}

async fn start_all(crane: &Crane, prefix: &str, n: usize) -> Vec<SessionHandle> {
    start_all_from(crane, prefix, 0, n).await
}

async fn start_all_from(crane: &Crane, prefix: &str, from: usize, to: usize) -> Vec<SessionHandle> {
    stream::iter(from..to)
        .map(|i| {
            let crane = crane.clone();
            let req = StartSession::new(
                format!("hb-{prefix}-{i}"),
                "vc",
                format!("bench/{prefix}-{i}"),
            )
            .include_docs(false);
            async move { crane.start_session(req).await.expect("start session") }
        })
        .buffer_unordered(32)
        .collect()
        .await
}

pub struct Plan {
    pub sessions: usize,
    pub idle_secs: u64,
    pub interval: (u64, u64),
    pub window_secs: u64,
    /// Only the idle phase (the memory figures): `--idle-only`.
    pub idle_only: bool,
}

pub fn run(plan: Plan) -> Value {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(measure(plan))
}

async fn measure(plan: Plan) -> Value {
    let dir = common::disk_scratch("heartbeats");
    let n = plan.sessions;

    // Phase 1: idle.
    // `CRANE_BENCH_HB_PROTOCOL=v1`: the idle phase against a v1 server
    // (diagnostic: v2's `/sos` answer carries more for a handle to keep).
    let protocol = std::env::var("CRANE_BENCH_HB_PROTOCOL").unwrap_or_else(|_| "v2".into());
    let emu =
        EmulatorProcess::start(&["--heartbeat-interval", "3600-3600", "--protocol", &protocol]);
    let beats = Arc::new(Beats::default());
    let crane = open(&emu.url, &dir.join("idle.db"), beats.clone(), None).await;
    // Warm the runtime, the connection pool and the store before the baseline.
    let warm = start_all(&crane, "warm", 64).await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    crate::memory::enable();
    let mem_before = crate::memory::read();
    let rss_before = common::status_kib("VmRSS");
    let t = Instant::now();
    // RSS after the first tenth and after all: the difference over the other
    // nine tenths is the marginal cost of one more session, free of fixed
    // costs that fill once (SQLite's page cache, the connection pool).
    let first = n / 10;
    let mut handles = start_all(&crane, "idle", first).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_first = common::status_kib("VmRSS");
    let mem_first = crate::memory::read();
    handles.extend(start_all_from(&crane, "idle", first, n).await);
    let start_secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = common::status_kib("VmRSS");
    let mem_after = crate::memory::read();
    let split_marginal = crate::memory::per_session(mem_first, mem_after, n - first);
    let split_average = crate::memory::per_session(mem_before, mem_after, n);
    let rss_per_session_avg = (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / n as f64;
    let rss_per_session =
        (rss_after.saturating_sub(rss_first)) as f64 * 1024.0 / (n - first) as f64;
    let live = handles.iter().filter(|h| h.is_beating()).count();
    let (cpu0, t0) = (common::cpu_seconds(), Instant::now());
    tokio::time::sleep(Duration::from_secs(plan.idle_secs)).await;
    let idle_pct = (common::cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    eprintln!(
        "  idle: {n} sessions started in {start_secs:.1}s, {live} beating; RSS {rss_before} -> {rss_first} -> {rss_after} KiB = {rss_per_session:.0} B/session marginal, {rss_per_session_avg:.0} average; idle CPU {idle_pct:.3}% of a core"
    );
    eprintln!("  per session, marginal: {split_marginal}");
    eprintln!("  per session, average:  {split_average}");
    eprintln!("  readings (bytes): before {mem_before:?}\n    first tenth {mem_first:?}\n    after {mem_after:?}");
    let idle = json!({
        "emulator_interval_s": "3600-3600",
        "protocol": protocol,
        "start_seconds": common::round2(start_secs),
        "beating_handles": live,
        "rss_before_kib": rss_before, "rss_after_first_tenth_kib": rss_first, "rss_after_kib": rss_after,
        "rss_per_session_bytes": common::round2(rss_per_session),
        "rss_per_session_bytes_note": "marginal: (RSS after all - RSS after the first tenth) / (nine tenths)",
        "rss_per_session_avg_bytes": common::round2(rss_per_session_avg),
        "per_session_split_marginal": split_marginal,
        "per_session_split_average": split_average,
        "window_s": plan.idle_secs,
        "idle_cpu_pct_of_core": common::round3(idle_pct),
    });
    drop(handles);
    crane.shutdown();
    drop(crane);
    drop(emu);
    if plan.idle_only {
        return json!({
            "item": 5,
            "name": "heartbeat scale (idle phase only)",
            "sessions": n,
            "idle": idle,
            "loadavg": common::loadavg(),
        });
    }

    // Phase 2: beating.
    let (lo, hi) = plan.interval;
    let emu = EmulatorProcess::start(&["--heartbeat-interval", &format!("{lo}-{hi}")]);
    let beats = Arc::new(Beats::default());
    let crane = open(
        &emu.url,
        &dir.join("beat.db"),
        beats.clone(),
        Some(Duration::ZERO),
    )
    .await;
    let handles = start_all(&crane, "beat", n).await;
    // One full cycle so every session is on its server schedule.
    tokio::time::sleep(Duration::from_secs(hi + 1)).await;
    beats.recording.store(true, Ordering::Relaxed);
    let (cpu0, emu_cpu0, b0, t0) = (
        common::cpu_seconds(),
        emu.cpu_seconds(),
        beats.count.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs(plan.window_secs)).await;
    let (cpu1, emu_cpu1, b1, secs) = (
        common::cpu_seconds(),
        emu.cpu_seconds(),
        beats.count.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64(),
    );
    beats.recording.store(false, Ordering::Relaxed);
    let beats_n = b1 - b0;
    let cpu_per_beat_us = (cpu1 - cpu0) / beats_n.max(1) as f64 * 1e6;
    let mut late: Vec<f64> = beats
        .lateness_ms
        .lock()
        .expect("lock")
        .iter()
        .map(|&ms| ms as f64)
        .collect();
    late.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99, max) = (
        common::percentile(&late, 50.0),
        common::percentile(&late, 99.0),
        late.last().copied().unwrap_or(f64::NAN),
    );
    let rss_beating = common::status_kib("VmRSS");
    let failed = beats.failed.load(Ordering::Relaxed);
    eprintln!(
        "  beating ({lo}-{hi}s): {beats_n} beats in {secs:.1}s = {:.0}/s; SDK CPU {:.1}% of a core = {cpu_per_beat_us:.0} us/beat; emulator CPU {:.1}%; lateness p50 {p50} ms p99 {p99} ms max {max} ms; failures {failed}",
        beats_n as f64 / secs,
        (cpu1 - cpu0) / secs * 100.0,
        (emu_cpu1 - emu_cpu0) / secs * 100.0
    );
    drop(handles);
    crane.shutdown();

    json!({
        "item": 5,
        "name": "heartbeat scale",
        "sessions": n,
        "idle": idle,
        "beating": {
            "emulator_interval_s": format!("{lo}-{hi}"),
            "jitter": "0 (scheduled time = server next_heartbeat_at)",
            "window_s": common::round2(secs),
            "beats": beats_n,
            "beats_per_s": common::round2(beats_n as f64 / secs),
            "sdk_cpu_pct_of_core": common::round2((cpu1 - cpu0) / secs * 100.0),
            "cpu_per_beat_us": common::round2(cpu_per_beat_us),
            "emulator_cpu_pct_of_core": common::round2((emu_cpu1 - emu_cpu0) / secs * 100.0),
            "lateness_ms": {"n": late.len(), "p50": p50, "p99": p99, "max": max},
            "rss_kib": rss_beating,
            "failures": failed,
        },
        "targets": {"idle_cpu_pct": 1.0, "rss_per_session_bytes": 2048, "lateness_p99_ms": 50},
        "met": idle_pct < 1.0 && rss_per_session < 2048.0 && p99 < 50.0,
        "loadavg": common::loadavg(),
    })
}

/// Diagnostic: where a session handle's memory goes.
pub fn probe() -> Value {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = common::disk_scratch("hb-probe");
        let emu = EmulatorProcess::start(&["--heartbeat-interval", "3600-3600"]);
        let beats = Arc::new(Beats::default());
        let crane = open(&emu.url, &dir.join("p.db"), beats, None).await;
        drop(start_all(&crane, "warm", 64).await);
        let n = 3000;
        let mut out = serde_json::Map::new();
        out.insert(
            "size_of_SessionHandle".into(),
            json!(std::mem::size_of::<SessionHandle>()),
        );
        out.insert(
            "size_of_StartSessionResponse".into(),
            json!(std::mem::size_of::<
                crane_context::model::StartSessionResponse,
            >()),
        );
        out.insert(
            "size_of_Session".into(),
            json!(std::mem::size_of::<crane_context::model::Session>()),
        );
        out.insert(
            "size_of_Handoff".into(),
            json!(std::mem::size_of::<crane_context::model::Handoff>()),
        );
        for (label, auto) in [("no_heartbeat_task", false), ("with_heartbeat_task", true)] {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = common::status_kib("VmRSS");
            let handles: Vec<SessionHandle> = stream::iter(0..n)
                .map(|i| {
                    let crane = crane.clone();
                    let req = StartSession::new(
                        format!("p-{label}-{i}"),
                        "vc",
                        format!("bench/p-{label}-{i}"),
                    )
                    .include_docs(false);
                    async move { crane.start_session_with(req, auto).await.expect("start") }
                })
                .buffer_unordered(32)
                .collect()
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let per = (common::status_kib("VmRSS") - before) as f64 * 1024.0 / n as f64;
            eprintln!("  {label}: {per:.0} B/session");
            out.insert(label.into(), json!(per));
            std::mem::forget(handles);
        }
        Value::Object(out)
    })
}
