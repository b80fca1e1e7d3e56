//! The SIGKILL chaos test: the evidence that a handoff is never lost and never
//! stored twice, whatever happens to the process that sends it.
//!
//! The test binary re-runs itself as a child (`child_main`, active only with
//! `CRANE_CHAOS_CHILD=1`). The child runs session lifecycles through [`Crane`]
//! against one in-process emulator (SQLite file) owned by the parent: `/sod`
//! (on a fresh track, or on one of a few shared tracks so the "flush before a
//! new `/sod`" rule is exercised), maybe `/update`, then `/eod` with a payload
//! carrying a unique logical op id. Before calling `/eod` it appends `intent
//! <op> <session> <hash>` to an ack file, right after the call returns `ack
//! <op> delivered|queued …`, each fsynced (see `common/chaos_ledger.rs`).
//!
//! The parent kills the child with SIGKILL at a random moment (seeded: the
//! seed is printed, `CRANE_CHAOS_SEED` replays it), injects random faults
//! through `/__emulator/faults` between lives, moves time forward (emulator
//! clock and the child's engine clock together: sometimes past the 120 s
//! lease, so a dead holder's items are taken over; sometimes past the 1 h
//! idempotency window), and restarts it on the same store file. After
//! `CRANE_CHAOS_KILLS` kills (default 200) it clears the faults, runs a final
//! sync and checks, per logical op, across all sessions:
//!
//! - every acknowledged op (Delivered or Queued) has exactly one handoff on
//!   the server, unless its queue item was dead-lettered for an injected
//!   permanent error (`lost` counts the others and must be 0);
//! - no op has more than one handoff (`duplicated` must be 0);
//! - every stored handoff belongs to an op the child announced, on the session
//!   it announced, with the payload hash the child computed;
//! - the queue holds nothing pending, and every dead item died of an injected
//!   fault; every `/eod` error was an injected fault too.
//!
//! Ops killed inside the `/eod` call (no ack) may be delivered at most once;
//! they are counted as `unacked_delivered`. Each kill is also classified by
//! where it landed (boot, idle, sync, `/sod`, `/update`, `/eod` before the
//! enqueue, in flight, after the server committed, after completion, while
//! writing the ack; and whether a drain held a lease at that instant).

#![cfg(feature = "emulator")]

mod common;
#[path = "common/chaos_ledger.rs"]
mod chaos_ledger;

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chaos_ledger::{one_line, Acked, AckWriter, Ledger};
use common::KEY;
use crane_context::emulator::{Emulator, EmulatorConfig};
use crane_context::engine::{Clock, Crane, CraneConfig};
use crane_context::model::{EndSession, SodStatus, StartSession, Update};
use crane_context::store::{ItemKind, ItemState, QueueItem, QueueLimits, Store, DB_FILE_NAME, HOME_ENV};
use crane_context::{ClientConfig, EndOutcome, RelayKey, RetryPolicy, UpdateOutcome};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const CHILD_ENV: &str = "CRANE_CHAOS_CHILD";
const URL_ENV: &str = "CRANE_CHAOS_URL";
const ACK_ENV: &str = "CRANE_CHAOS_ACK";
const PHASE_ENV: &str = "CRANE_CHAOS_PHASE";
const CHILD_SEED_ENV: &str = "CRANE_CHAOS_CHILD_SEED";
const OP_START_ENV: &str = "CRANE_CHAOS_OP_START";
const CLOCK_ENV: &str = "CRANE_CHAOS_CLOCK_OFFSET_MS";

/// Kills in a default (CI) run; `CRANE_CHAOS_KILLS` overrides.
const DEFAULT_KILLS: usize = 200;
/// Longest wait between the child's readiness and its kill.
const MAX_KILL_DELAY_MS: u64 = 150;
/// Share of kills timed from the spawn instead (0–200 ms: process start-up,
/// store open, the first drain and the first calls).
const EARLY_KILL_SHARE: f64 = 0.1;
const EARLY_KILL_WINDOW_MS: u64 = 200;
/// Share of lifecycles on one of a few shared tracks (resume / flush-before-sod).
const SHARED_TRACK_SHARE: f64 = 0.3;
const SHARED_TRACKS: i64 = 6;
const SHARED_TRACK_BASE: i64 = 1_000_000_000;
/// More than the engine's 120 s lease: a dead holder's items are free again.
const PAST_LEASE_SECS: u64 = 121;
/// Share of lives that run under injected faults.
const FAULTY_LIFE_SHARE: f64 = 0.8;
/// A child that is never killed (the parent died) stops by itself.
const CHILD_MAX_LIFE: Duration = Duration::from_secs(60);
/// The final sync must empty the queue within this, or the engine hangs.
const FINAL_SYNC_DEADLINE: Duration = Duration::from_secs(60);
/// The message of every status the emulator injects: how a failure is attributed.
const INJECTED: &str = "Injected fault";
const SUMMARY_PREFIX: &str = "chaos op ";

/// Where the child is, written as one byte at offset 0 of the phase file
/// (the page cache outlives a SIGKILL, so the parent reads the last value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Boot = b'B',
    Idle = b'R',
    Sync = b'Y',
    Sod = b'S',
    Update = b'U',
    Eod = b'E',
    Ack = b'A',
}

impl Phase {
    fn from_byte(b: u8) -> Option<Self> {
        [Self::Boot, Self::Idle, Self::Sync, Self::Sod, Self::Update, Self::Eod, Self::Ack]
            .into_iter()
            .find(|p| *p as u8 == b)
    }
}

struct PhaseFile(File);

impl PhaseFile {
    fn set(&self, phase: Phase) {
        self.0.write_all_at(&[phase as u8], 0).expect("phase write");
    }
}

fn client_config(url: &str) -> ClientConfig {
    ClientConfig::new(url, RelayKey::new(KEY).expect("key"))
        .expect("client config")
        .timeouts(Duration::from_secs(1), Duration::from_secs(2))
}

/// Short direct retries: the queue is the long-term retry, and lives are short.
fn direct_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        deadline: Duration::from_secs(4),
        max_retry_after: Duration::from_secs(2),
    }
}

/// The engine's configuration; `store: None` = the default path under `$CRANE_HOME`.
fn engine_config(url: &str, store: Option<&Path>, clock_offset_ms: u64) -> CraneConfig {
    let clock = Clock::system();
    clock.jump(Duration::from_millis(clock_offset_ms));
    let mut cfg = CraneConfig::new(client_config(url));
    cfg.store_path = store.map(Path::to_path_buf);
    cfg.direct_retry = direct_retry();
    cfg.clock = clock;
    cfg
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

// ---------------------------------------------------------------- the child

/// The child process: runs lifecycles until it is killed. A no-op unless
/// `CRANE_CHAOS_CHILD` is set (so a normal test run passes over it).
#[test]
fn child_main() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(child_run());
}

async fn child_run() {
    let born = Instant::now();
    let phase_file = OpenOptions::new().write(true).open(env(PHASE_ENV)).expect("phase file");
    let phase = PhaseFile(phase_file);
    phase.set(Phase::Boot);
    let mut log = AckWriter::open(Path::new(&env(ACK_ENV))).expect("ack file");
    let seed: u64 = env(CHILD_SEED_ENV).parse().expect("seed");
    let mut op: u64 = env(OP_START_ENV).parse().expect("op start");
    let offset: u64 = env(CLOCK_ENV).parse().expect("clock offset");
    // The store is found through `CRANE_HOME`, as an agent CLI finds it.
    let cfg = engine_config(&env(URL_ENV), None, offset);
    let crane = Crane::open(cfg).await.expect("engine opens on the shared store");
    phase.set(Phase::Idle);
    let mut rng = StdRng::seed_from_u64(seed);
    if rng.random_bool(0.3) {
        phase.set(Phase::Sync);
        match crane.sync().await {
            Ok(r) => log.line(&format!("sync ok {} {} {} {}", r.delivered, r.retrying, r.dead, r.pending), false),
            Err(e) => log.line(&format!("sync err {e}"), false),
        }
        phase.set(Phase::Idle);
    }
    loop {
        if born.elapsed() > CHILD_MAX_LIFE {
            // Nobody killed us: the parent is gone. Do not linger.
            std::process::exit(3);
        }
        lifecycle(&crane, &mut rng, &mut log, &phase, op, seed).await;
        phase.set(Phase::Idle);
        op += 1;
    }
}

/// One logical op: start, maybe update, end with a handoff naming `op`.
async fn lifecycle(crane: &Crane, rng: &mut StdRng, log: &mut AckWriter, phase: &PhaseFile, op: u64, seed: u64) {
    let track = if rng.random_bool(SHARED_TRACK_SHARE) {
        SHARED_TRACK_BASE + rng.random_range(0..SHARED_TRACKS)
    } else {
        i64::try_from(op).expect("op fits i64")
    };
    log.line(&format!("sod {op} {track}"), false);
    phase.set(Phase::Sod);
    let sod = StartSession::new("cc-chaos", "vc", "chaos/repo")
        .track(track)
        .include_docs(rng.random_bool(0.2));
    let session = match crane.start_session(sod).await {
        Ok(s) => s,
        Err(e) => {
            log.line(&format!("start_err {op} {e}"), false);
            return;
        }
    };
    let sid = session.session_id().to_owned();
    let status = match session.start_response().map(|r| r.status) {
        Some(SodStatus::Created) => "created",
        Some(SodStatus::Resumed) => "resumed",
        _ => "unknown",
    };
    log.line(&format!("started {op} {sid} {status}"), false);
    if rng.random_bool(0.5) {
        phase.set(Phase::Update);
        let up = Update::new(&sid).branch(format!("chaos/{op}"));
        let text = match session.update(up).await {
            Ok(UpdateOutcome::Applied(_)) => "applied".to_owned(),
            Ok(UpdateOutcome::Queued { .. }) => "queued".to_owned(),
            Err(e) => format!("err {e}"),
        };
        log.line(&format!("update {op} {text}"), false);
    }
    // Some payloads are big enough (> 64 KiB answer) that a lost response is
    // replayed as the truncated 409, resolved by reading the handoff back.
    let blob_len = if rng.random_bool(0.05) { 70_000 } else { rng.random_range(0..512) };
    let payload = json!({
        "op": op,
        "seed": seed,
        "note": "relève: tests à finir",
        "small": 1.5e-7,
        "steps": [op % 7, op % 11, {"done": rng.random_bool(0.5)}],
        "blob": "x".repeat(blob_len),
    });
    let end = EndSession::new(&sid, format!("{SUMMARY_PREFIX}{op}"), &payload).expect("valid end request");
    let hash = end.payload.hash().to_owned();
    log.line(&format!("intent {op} {sid} {hash}"), true);
    phase.set(Phase::Eod);
    // Mostly through the handle; sometimes by id, as a later CLI call would
    // (the engine then finds the session's tuple in its cache).
    let outcome = if rng.random_bool(0.2) {
        crane.end_session(end).await
    } else {
        session.end(end).await
    };
    phase.set(Phase::Ack);
    match outcome {
        Ok(EndOutcome::Delivered(r)) => {
            log.line(&format!("ack {op} delivered {sid} {hash} {}", r.handoff.payload_hash), true);
        }
        Ok(EndOutcome::Queued { local_id }) => {
            log.line(&format!("ack {op} queued {sid} {hash} {local_id}"), true);
        }
        Err(e) => log.line(&format!("end_err {op} {e}"), true),
    }
}

// --------------------------------------------------------------- the parent

/// Kills and reaps the child if the parent unwinds (a failed assertion).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An `/eod` call cut by a kill, as the parent found it right after.
#[derive(Debug, Clone, Copy)]
struct Interrupted {
    state: &'static str,
    /// Its item was durably in the queue: it must be delivered (or dead-lettered
    /// for an injected fault), though the caller never heard back.
    enqueued: bool,
}

/// Where kills landed.
#[derive(Default)]
struct KillStats {
    by_class: BTreeMap<&'static str, u64>,
    drain_in_flight: u64,
    /// Ops whose `/eod` call was cut by the kill, by op id.
    interrupted: BTreeMap<u64, Interrupted>,
    /// Spawn-to-ready times of the lives that got ready, for the timing line.
    ready: Vec<Duration>,
}

#[derive(Default)]
struct FaultStats {
    rules: u64,
    uses: u64,
    permanent_rules: u64,
    /// Uses still queued when the next life's rules replaced them.
    unused: u64,
    by_kind: BTreeMap<&'static str, u64>,
    clock_jumps_past_lease: u64,
    clock_jumps_past_window: u64,
}

/// The emulator's control API through one HTTP client (building a client per
/// call costs tens of milliseconds in a debug build).
struct Control {
    http: reqwest::Client,
    url: String,
}

impl Control {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}/__emulator/{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control call");
        assert!(resp.status().is_success(), "control {path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    async fn fault(&self, rule: Value) {
        self.call(reqwest::Method::POST, "faults", Some(rule)).await;
    }

    async fn clear_faults(&self) {
        self.call(reqwest::Method::DELETE, "faults", None).await;
    }

    /// Uses left in the queued fault rules.
    async fn pending_fault_uses(&self) -> u64 {
        let listed = self.call(reqwest::Method::GET, "faults", None).await;
        listed["faults"]
            .as_array()
            .map(|rules| rules.iter().map(|r| r["count"].as_u64().unwrap_or(1)).sum())
            .unwrap_or(0)
    }

    /// API requests the emulator received, per route.
    async fn requests(&self) -> Value {
        self.call(reqwest::Method::GET, "state", None).await["requests_count"].take()
    }

    async fn advance_clock(&self, secs: u64) {
        self.call(reqwest::Method::POST, "clock", Some(json!({"advance_seconds": secs}))).await;
    }

    /// Stored handoffs as (op named by the summary, session, payload hash);
    /// an unparseable summary gives op `u64::MAX`.
    async fn handoffs(&self) -> Vec<(u64, String, String)> {
        let st = self.call(reqwest::Method::GET, "state", None).await;
        st["handoffs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|h| {
                let op = h["summary"].as_str().and_then(op_of_summary).unwrap_or(u64::MAX);
                let sid = h["session_id"].as_str().unwrap_or_default().to_owned();
                let hash = h["payload_hash"].as_str().unwrap_or_default().to_owned();
                (op, sid, hash)
            })
            .collect()
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One random fault rule: (body, kind, uses, permanent).
fn random_fault(rng: &mut StdRng) -> (Value, &'static str, u64, bool) {
    const ROUTES: [&str; 10] = ["/eod", "/eod", "/eod", "/eod", "/sod", "/sod", "/update", "/handoffs/latest", "/health", "*"];
    let route = ROUTES[rng.random_range(0..ROUTES.len())];
    // Up to 4 uses: more than the 3 direct attempts, so some ends are Queued.
    let count: u64 = rng.random_range(1..=4);
    let roll = rng.random_range(0..100);
    let (body, kind, permanent) = match roll {
        0..18 => (json!({"route": route, "mode": "status", "status": 500, "count": count}), "500", false),
        18..36 => (json!({"route": route, "mode": "status", "status": 503, "count": count}), "503", false),
        36..50 => {
            let retry_after = rng.random_range(0..=2);
            (json!({"route": route, "mode": "status", "status": 429, "retry_after": retry_after, "count": count}), "429", false)
        }
        50..65 => (json!({"route": route, "mode": "drop_before", "count": count}), "drop_before", false),
        65..82 => (json!({"route": route, "mode": "drop_after", "count": count}), "drop_after", false),
        82..95 => {
            let ms = rng.random_range(20..=400);
            (json!({"route": route, "mode": "delay", "delay_ms": ms, "count": count}), "delay", false)
        }
        // Longer than the 2 s request timeout: the engine goes offline.
        95..97 => (json!({"route": route, "mode": "delay", "delay_ms": 2_500, "count": 1}), "timeout", false),
        _ => {
            const PERMANENT_ROUTES: [&str; 3] = ["/eod", "/update", "/sod"];
            let route = PERMANENT_ROUTES[rng.random_range(0..PERMANENT_ROUTES.len())];
            (json!({"route": route, "mode": "status", "status": 400, "count": 1}), "400", true)
        }
    };
    let uses = body["count"].as_u64().unwrap_or(1);
    (body, kind, uses, permanent)
}

/// Replaces the fault rules for the next life: the previous life's unused
/// uses are counted out, then 0–3 fresh rules are queued.
async fn inject_faults(ctl: &Control, rng: &mut StdRng, stats: &mut FaultStats) {
    stats.unused += ctl.pending_fault_uses().await;
    ctl.clear_faults().await;
    if !rng.random_bool(FAULTY_LIFE_SHARE) {
        return;
    }
    for _ in 0..rng.random_range(1..=3) {
        let (body, kind, uses, permanent) = random_fault(rng);
        ctl.fault(body).await;
        stats.rules += 1;
        stats.uses += uses;
        stats.permanent_rules += u64::from(permanent);
        *stats.by_kind.entry(kind).or_default() += 1;
    }
}

/// Time passing between two lives, on the emulator and the engine together.
async fn pass_time(ctl: &Control, rng: &mut StdRng, offset_ms: &mut u64, stats: &mut FaultStats) {
    let secs = match rng.random_range(0..100) {
        0..70 => {
            stats.clock_jumps_past_lease += 1;
            PAST_LEASE_SECS
        }
        70..95 => rng.random_range(1..=30),
        _ => {
            stats.clock_jumps_past_window += 1;
            3_700
        }
    };
    ctl.advance_clock(secs).await;
    *offset_ms += secs * 1000;
}

/// The summary of a stored `/eod`'s request body names its op.
fn op_of_summary(summary: &str) -> Option<u64> {
    summary.strip_prefix(SUMMARY_PREFIX)?.parse().ok()
}

fn op_of_item(item: &QueueItem) -> Option<u64> {
    if item.kind != ItemKind::End {
        return None;
    }
    let body: Value = serde_json::from_str(&item.body_json).ok()?;
    op_of_summary(body["summary"].as_str()?)
}

/// What the parent knows about a child it just killed.
struct Killed {
    life: usize,
    pid: u32,
    /// The last phase the child wrote.
    phase: Option<Phase>,
    /// The child's engine clock offset.
    clock_offset_ms: u64,
}

/// Where the kill of `k.pid` landed.
async fn classify_kill(ctl: &Control, store: &Store, ledger: &Ledger, k: Killed, stats: &mut KillStats) {
    let Killed { life, pid, phase, clock_offset_ms } = k;
    let items = store.list(None).expect("queue readable");
    let open = ledger.open_intent(life);
    let now_ms = jiff::Timestamp::now().as_millisecond() + i64::try_from(clock_offset_ms).unwrap_or(0);
    let holder = format!("{pid}-");
    let draining = items.iter().any(|i| {
        i.state == ItemState::Pending
            && i.lease_holder.as_deref().is_some_and(|h| h.starts_with(&holder))
            && i.lease_until_ms.is_some_and(|t| t > now_ms)
            && open.as_ref().is_none_or(|(_, sid, _)| *sid != i.session_id)
    });
    stats.drain_in_flight += u64::from(draining);
    // Where the interrupted `/eod` (if any) stood: in the queue, on the server.
    let mut eod_state = None;
    if let Some((op, sid, hash)) = &open {
        let item = items
            .iter()
            .find(|i| i.session_id == *sid && i.payload_hash.as_deref() == Some(hash.as_str()));
        let stored = ctl.handoffs().await.iter().any(|(o, _, _)| o == op);
        let state = match (item.map(|i| i.state), stored) {
            (None, false) => "eod:before-enqueue",
            (Some(ItemState::Pending), false) => "eod:in-flight",
            (Some(ItemState::Pending), true) => "eod:committed-unsettled",
            (Some(ItemState::Dead), _) => "eod:dead-lettered",
            (None, true) => "eod:completed-unacked",
        };
        eod_state = Some(state);
        stats.interrupted.insert(*op, Interrupted { state, enqueued: item.is_some() });
    }
    let class = match phase {
        None | Some(Phase::Boot) => "boot",
        Some(Phase::Idle) => "idle",
        Some(Phase::Sync) => "sync",
        Some(Phase::Sod) => "sod",
        Some(Phase::Update) => "update",
        Some(Phase::Ack) => "ack-write",
        Some(Phase::Eod) => eod_state.unwrap_or("eod"),
    };
    *stats.by_class.entry(class).or_default() += 1;
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

struct Paths {
    dir: PathBuf,
    store: PathBuf,
    ack: PathBuf,
    phase: PathBuf,
    child_log: PathBuf,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_chaos_loses_and_duplicates_nothing() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let started = Instant::now();
    let kills_wanted: usize = env_or("CRANE_CHAOS_KILLS", DEFAULT_KILLS);
    let seed: u64 = env_or("CRANE_CHAOS_SEED", rand::random());
    println!("chaos: seed={seed} kills={kills_wanted} (replay with CRANE_CHAOS_SEED={seed})");
    let tmp = tempfile::Builder::new().prefix("crane-chaos-").tempdir().expect("temp dir");
    let paths = Paths {
        dir: tmp.path().to_path_buf(),
        store: tmp.path().join("home").join(DB_FILE_NAME),
        ack: tmp.path().join("acks.log"),
        phase: tmp.path().join("phase"),
        child_log: tmp.path().join("children.log"),
    };
    let emu = Emulator::start(EmulatorConfig {
        db_path: Some(paths.dir.join("emulator.db")),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let url = emu.url();
    let ctl = Control {
        http: reqwest::Client::new(),
        url: url.clone(),
    };
    let store = Store::open(&paths.store, QueueLimits::default()).expect("store opens");
    let exe = std::env::current_exe().expect("test binary path");

    let mut rng = StdRng::seed_from_u64(seed);
    let mut ledger = Ledger::new(&paths.ack);
    let mut kills = KillStats::default();
    let mut faults = FaultStats::default();
    let mut clock_offset_ms = 0u64;
    for life in 0..kills_wanted {
        if life > 0 {
            pass_time(&ctl, &mut rng, &mut clock_offset_ms, &mut faults).await;
        }
        inject_faults(&ctl, &mut rng, &mut faults).await;
        std::fs::write(&paths.phase, [Phase::Boot as u8]).expect("phase file");
        let stderr = OpenOptions::new().create(true).append(true).open(&paths.child_log).expect("child log");
        let child = Command::new(&exe)
            .args(["--exact", "child_main", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env(URL_ENV, &url)
            .env(HOME_ENV, paths.store.parent().expect("store dir"))
            .env(ACK_ENV, &paths.ack)
            .env(PHASE_ENV, &paths.phase)
            .env(CHILD_SEED_ENV, rng.random::<u64>().to_string())
            .env(OP_START_ENV, ledger.next_op().to_string())
            .env(CLOCK_ENV, clock_offset_ms.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("child spawns");
        let mut child = ChildGuard(child);
        let pid = child.0.id();
        let spawned = Instant::now();
        if rng.random_bool(EARLY_KILL_SHARE) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..EARLY_KILL_WINDOW_MS))).await;
        } else {
            let ready_by = Instant::now() + Duration::from_secs(20);
            while std::fs::read(&paths.phase).ok().and_then(|b| b.first().copied()) == Some(Phase::Boot as u8) {
                if let Some(status) = child.0.try_wait().expect("child status") {
                    panic!("life {life}: child exited during start-up ({status}):\n{}", tail(&paths.child_log));
                }
                assert!(Instant::now() < ready_by, "life {life}: child not ready after 20 s (hang at open?)");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            kills.ready.push(spawned.elapsed());
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..=MAX_KILL_DELAY_MS))).await;
        }
        if let Some(status) = child.0.try_wait().expect("child status") {
            panic!("life {life}: child exited by itself ({status}) instead of being killed:\n{}", tail(&paths.child_log));
        }
        child.0.kill().expect("SIGKILL");
        child.0.wait().expect("reap child");
        drop(child);
        let phase = std::fs::read(&paths.phase).ok().and_then(|b| b.first().copied()).and_then(Phase::from_byte);
        ledger.catch_up(life).expect("ack file readable");
        let killed = Killed { life, pid, phase, clock_offset_ms };
        classify_kill(&ctl, &store, &ledger, killed, &mut kills).await;
    }
    let chaos_time = started.elapsed();

    // The final sync: no more faults, leases of the dead expired.
    faults.unused += ctl.pending_fault_uses().await;
    ctl.clear_faults().await;
    ctl.advance_clock(PAST_LEASE_SECS).await;
    clock_offset_ms += PAST_LEASE_SECS * 1000;
    let before_final = store.counts().expect("queue counts");
    let delivered_before = store.stats().expect("queue stats").delivered_total;
    let crane = Crane::open(engine_config(&url, Some(&paths.store), clock_offset_ms)).await.expect("final engine");
    let sync_deadline = Instant::now() + FINAL_SYNC_DEADLINE;
    let mut final_delivered = 0;
    loop {
        let report = crane.sync().await.expect("final sync");
        final_delivered += report.delivered;
        if report.pending == 0 {
            break;
        }
        assert!(Instant::now() < sync_deadline, "final sync still has {} pending after {FINAL_SYNC_DEADLINE:?}: {report:?}", report.pending);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    crane.shutdown();
    let final_delivered_total = store.stats().expect("queue stats").delivered_total - delivered_before;

    let requests = ctl.requests().await;
    let verdict = verify(&ctl, &store, &ledger, &kills.interrupted).await;
    let total = started.elapsed();
    let t = &ledger.tally;
    println!(
        "chaos: iterations={} kills={} faults={} acked={} delivered={} unacked_delivered={} lost={} duplicated={} dead={}",
        kills_wanted,
        kills.by_class.values().sum::<u64>(),
        faults.uses - faults.unused,
        verdict.acked,
        verdict.delivered,
        verdict.unacked_delivered,
        verdict.lost.len(),
        verdict.duplicated.len(),
        verdict.dead_items,
    );
    println!(
        "chaos: ops={} sod_ok={} resumed={} start_errors={} eods_called={} acked_delivered={} acked_queued={} acked_dead={} \
         eod_errors={} unacked_not_delivered={} updates(applied/queued/err)={:?} syncs(ok/err)={:?} torn_lines={}",
        ledger.ops.len(),
        ledger.ops.values().filter(|o| o.session_id.is_some()).count(),
        ledger.ops.values().filter(|o| o.resumed).count(),
        ledger.ops.values().filter(|o| o.start_err.is_some()).count(),
        ledger.ops.values().filter(|o| o.intent.is_some()).count(),
        verdict.acked_delivered_outcome,
        verdict.acked - verdict.acked_delivered_outcome,
        verdict.acked_dead,
        verdict.eod_errors,
        verdict.unacked_not_delivered,
        t.updates,
        t.syncs,
        t.torn_lines,
    );
    println!(
        "chaos: final sync: {} pending + {} dead before, {} delivered (by the opening drain and sync(), sync() itself {})",
        before_final.pending, before_final.dead, final_delivered_total, final_delivered
    );
    println!("chaos: requests received by the emulator {requests}");
    println!("chaos: kills by phase {:?}, drain holding a lease at the kill: {}", kills.by_class, kills.drain_in_flight);
    println!(
        "chaos: faults = injected faults that hit a request ({} of {} uses queued by {} rules {:?}; {} permanent rules), \
         clock jumps past lease {}, past idempotency window {}",
        faults.uses - faults.unused, faults.uses, faults.rules, faults.by_kind, faults.permanent_rules, faults.clock_jumps_past_lease, faults.clock_jumps_past_window,
    );
    println!(
        "chaos: start errors {:?}; unacked and never delivered, by where the kill found them: {:?}",
        verdict.start_error_kinds, verdict.unacked_not_delivered_by_state
    );
    let ready_avg = kills.ready.iter().sum::<Duration>() / u32::try_from(kills.ready.len().max(1)).unwrap_or(1);
    println!("chaos: time chaos={chaos_time:.1?} total={total:.1?}, child spawn-to-ready avg {ready_avg:.1?}");

    if !verdict.problems.is_empty() {
        let kept = tmp.keep();
        panic!(
            "chaos run (seed {seed}) failed; files kept in {}:\n{}",
            kept.display(),
            verdict.problems.join("\n")
        );
    }
    emu.shutdown().await;
}

#[derive(Default)]
struct Verdict {
    acked: u64,
    acked_delivered_outcome: u64,
    delivered: u64,
    acked_dead: u64,
    unacked_delivered: u64,
    unacked_not_delivered: u64,
    unacked_not_delivered_by_state: BTreeMap<&'static str, u64>,
    eod_errors: u64,
    dead_items: u64,
    lost: Vec<u64>,
    duplicated: Vec<u64>,
    start_error_kinds: BTreeMap<String, u64>,
    problems: Vec<String>,
}

/// Checks the final state against the ledger.
async fn verify(ctl: &Control, store: &Store, ledger: &Ledger, interrupted: &BTreeMap<u64, Interrupted>) -> Verdict {
    let mut v = Verdict::default();
    let mut problems = Vec::new();
    if !ledger.tally.garbage.is_empty() {
        problems.push(format!("unreadable ack lines: {:?}", ledger.tally.garbage));
    }

    // Every stored handoff: a known op, its announced session, its hash.
    let mut per_op: HashMap<u64, u64> = HashMap::new();
    for (op, sid, hash) in ctl.handoffs().await {
        *per_op.entry(op).or_default() += 1;
        match ledger.ops.get(&op).and_then(|o| o.intent.as_ref()) {
            None => problems.push(format!("handoff for op {op} that was never announced (session {sid})")),
            Some((isid, ihash)) => {
                if *isid != sid {
                    problems.push(format!("op {op}: handoff on session {sid}, announced on {isid}"));
                }
                if *ihash != hash {
                    problems.push(format!("op {op}: stored payload_hash {hash} != computed {ihash}"));
                }
            }
        }
    }

    // The queue: nothing pending, every dead item killed by an injected fault.
    let counts = store.counts().expect("queue counts");
    if counts.pending > 0 {
        problems.push(format!("{} items still pending after the final sync: {counts:?}", counts.pending));
    }
    let dead = store.list(Some(ItemState::Dead)).expect("dead items");
    v.dead_items = dead.len() as u64;
    let mut dead_ops = std::collections::HashSet::new();
    for item in &dead {
        let why = item.last_error.as_deref().unwrap_or("");
        if !why.contains(INJECTED) {
            problems.push(format!("dead item {} ({:?}, session {}) not caused by an injected fault: {why}", item.local_id, item.kind, item.session_id));
        }
        if let Some(op) = op_of_item(item) {
            dead_ops.insert(op);
        }
    }

    for (op, rec) in &ledger.ops {
        let n = per_op.get(op).copied().unwrap_or(0);
        if n > 1 {
            v.duplicated.push(*op);
            problems.push(format!("op {op}: {n} handoffs stored (duplicated)"));
        }
        if let Some(e) = &rec.start_err {
            let kind = e.split(':').next().unwrap_or(e).to_owned();
            *v.start_error_kinds.entry(kind).or_default() += 1;
        }
        if let Some(e) = &rec.end_err {
            v.eod_errors += 1;
            if !e.contains(INJECTED) {
                problems.push(format!("op {op}: /eod failed without an injected cause: {e}"));
            }
        }
        let Some(ack) = &rec.ack else {
            if rec.intent.is_some() && rec.end_err.is_none() {
                let cut = interrupted.get(op);
                let state = cut.map_or("unknown", |c| c.state);
                if n >= 1 {
                    v.unacked_delivered += 1;
                } else {
                    v.unacked_not_delivered += 1;
                    *v.unacked_not_delivered_by_state.entry(state).or_default() += 1;
                    if cut.is_some_and(|c| c.enqueued) && !dead_ops.contains(op) {
                        v.lost.push(*op);
                        problems.push(format!("op {op}: its /eod was durably queued ({state}) when the child died, yet it was never delivered nor dead-lettered (lost)"));
                    }
                }
            }
            continue;
        };
        v.acked += 1;
        if let Acked::Delivered { server_hash } = ack {
            v.acked_delivered_outcome += 1;
            let computed = rec.intent.as_ref().map(|(_, h)| h.as_str()).unwrap_or("");
            if server_hash != computed {
                problems.push(format!("op {op}: Delivered with server hash {server_hash} != computed {computed}"));
            }
        }
        if n >= 1 {
            v.delivered += 1;
        } else if dead_ops.contains(op) {
            v.acked_dead += 1;
        } else {
            v.lost.push(*op);
            problems.push(format!("op {op}: acknowledged as {ack:?} but no handoff stored and not dead-lettered (lost)"));
        }
    }
    for p in &problems {
        eprintln!("chaos problem: {}", one_line(p));
    }
    v.problems = problems;
    v
}
