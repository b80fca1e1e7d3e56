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
//! <op> delivered|queued …`, each fsynced (see `common/chaos.rs`).
//!
//! The parent kills the child with SIGKILL at a random moment (seeded: the
//! seed is printed, `CRANE_CHAOS_SEED` replays it), injects random faults
//! through `/__emulator/faults` between lives (500, 503, 429 with
//! `Retry-After`, `drop_before`, `drop_after`, delays, a few timeouts and
//! attributable permanent 400s), sometimes lets "another agent" abandon the
//! session of a queued end (time past the 45-minute window, a `/sod` of the
//! same tuple from the parent, whose session is ended at once or one life
//! later: the end is re-homed, or waits for it), sometimes takes the server down before the
//! kill (connections cut, then refused), moves time forward (emulator clock
//! and the child's engine clock together: sometimes past the 1 h idempotency
//! window), and restarts the child on the same store (`$CRANE_HOME`).
//!
//! Every engine here leases for [`HUGE_LEASE`], so no lease ever expires by
//! time: only the liveness of its holder (an OS lock the dead child no longer
//! holds) can free it. Right after each kill, before any time passes, the
//! parent opens an engine on the store and syncs: every item the dead child
//! held must be taken over at once (delivered, dead-lettered or rescheduled
//! by the new engine), never left leased to the dead process. After
//! `CRANE_CHAOS_KILLS` kills (default 200) it clears the faults, runs a final
//! sync and checks, per logical op, across all sessions:
//!
//! - every acknowledged op (Delivered or Queued) has exactly one handoff on
//!   the server, unless its queue item was dead-lettered for an injected
//!   permanent error (`lost` counts the others and must be 0);
//! - no op has more than one handoff (`duplicated` must be 0);
//! - every stored handoff belongs to an op the child announced, on the session
//!   it announced (or on a re-home session whose meta names that session),
//!   with the payload hash the child computed;
//! - the queue holds nothing pending, and every dead item died of an injected
//!   fault; every `/eod` error was an injected fault too.
//!
//! Ops killed inside the `/eod` call (no ack) may be delivered at most once;
//! they are counted as `unacked_delivered` — but one whose item was already
//! in the queue when the child died must be delivered (or dead-lettered for an
//! injected fault), or it counts as lost. Each kill is also classified by
//! where it landed (boot, idle, sync, `/sod`, `/update`, `/eod` before the
//! enqueue, in flight, after the server committed, after completion, while
//! writing the ack; and whether a drain held a lease at that instant).

#![cfg(feature = "emulator")]

#[path = "common/chaos.rs"]
mod chaos;
mod common;

use crane_context::emulator::Protocol;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chaos::{
    inject_faults, one_line, op_of_summary, pass_time, AckWriter, Acked, Control, FaultStats,
    Ledger, Server, PAST_LEASE_SECS, SUMMARY_PREFIX,
};
use common::KEY;
use crane_context::engine::{Clock, Crane, CraneConfig};
use crane_context::model::{EndSession, SodStatus, StartSession, Update};
use crane_context::store::{
    ItemKind, ItemState, QueueItem, QueueLimits, Store, DB_FILE_NAME, HOME_ENV,
};
use crane_context::{Client, ClientConfig, EndOutcome, RelayKey, RetryPolicy, UpdateOutcome};
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
/// Share of lives during which the server goes down before the kill.
const OUTAGE_SHARE: f64 = 0.05;
/// Share of lives before which, when an end of an op's own (unshared) track
/// is queued, another agent's `/sod` abandons its session.
const ABANDON_SHARE: f64 = 0.5;
/// Emulator time that makes a session stale (past the 45-minute window).
const STALE_SECS: u64 = 46 * 60;
/// A child that is never killed (the parent died) stops by itself.
const CHILD_MAX_LIFE: Duration = Duration::from_secs(60);
/// The final sync must empty the queue within this, or the engine hangs.
const FINAL_SYNC_DEADLINE: Duration = Duration::from_secs(60);
/// Every engine's lease: longer than the run, so only liveness frees one.
const HUGE_LEASE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// The message of every status the emulator injects: how a failure is attributed.
const INJECTED: &str = "Injected fault";

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
        [
            Self::Boot,
            Self::Idle,
            Self::Sync,
            Self::Sod,
            Self::Update,
            Self::Eod,
            Self::Ack,
        ]
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
    cfg.lease = HUGE_LEASE;
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
    let phase_file = OpenOptions::new()
        .write(true)
        .open(env(PHASE_ENV))
        .expect("phase file");
    let phase = PhaseFile(phase_file);
    phase.set(Phase::Boot);
    let mut log = AckWriter::open(Path::new(&env(ACK_ENV))).expect("ack file");
    let seed: u64 = env(CHILD_SEED_ENV).parse().expect("seed");
    let mut op: u64 = env(OP_START_ENV).parse().expect("op start");
    let offset: u64 = env(CLOCK_ENV).parse().expect("clock offset");
    // The store is found through `CRANE_HOME`, as an agent CLI finds it.
    let cfg = engine_config(&env(URL_ENV), None, offset);
    let crane = Crane::open(cfg)
        .await
        .expect("engine opens on the shared store");
    phase.set(Phase::Idle);
    let mut rng = StdRng::seed_from_u64(seed);
    if rng.random_bool(0.3) {
        phase.set(Phase::Sync);
        match crane.sync().await {
            Ok(r) => log.line(
                &format!(
                    "sync ok {} {} {} {}",
                    r.delivered, r.retrying, r.dead, r.pending
                ),
                false,
            ),
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
async fn lifecycle(
    crane: &Crane,
    rng: &mut StdRng,
    log: &mut AckWriter,
    phase: &PhaseFile,
    op: u64,
    seed: u64,
) {
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
            // An agent whose start failed does not retry in a hot loop.
            tokio::time::sleep(Duration::from_millis(20)).await;
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
    let blob_len = if rng.random_bool(0.05) {
        70_000
    } else {
        rng.random_range(0..512)
    };
    let payload = json!({
        "op": op,
        "seed": seed,
        "note": "relève: tests à finir",
        "small": 1.5e-7,
        "steps": [op % 7, op % 11, {"done": rng.random_bool(0.5)}],
        "blob": "x".repeat(blob_len),
    });
    let end = EndSession::new(&sid, format!("{SUMMARY_PREFIX}{op}"), &payload)
        .expect("valid end request");
    let hash = end.payload.hash().unwrap().to_owned();
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
            log.line(
                &format!("ack {op} delivered {sid} {hash} {}", r.handoff.payload_hash),
                true,
            );
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
    /// Items the killed child held, taken over by the immediate restart.
    taken_over: u64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
async fn classify_kill(
    ctl: &Control,
    store: &Store,
    ledger: &Ledger,
    k: Killed,
    stats: &mut KillStats,
) {
    let Killed {
        life,
        pid,
        phase,
        clock_offset_ms,
    } = k;
    let items = store.list(None).expect("queue readable");
    let open = ledger.open_intent(life);
    let now_ms =
        jiff::Timestamp::now().as_millisecond() + i64::try_from(clock_offset_ms).unwrap_or(0);
    let holder = format!("{pid}-");
    let draining = items.iter().any(|i| {
        i.state == ItemState::Pending
            && i.lease_holder
                .as_deref()
                .is_some_and(|h| h.starts_with(&holder))
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
        stats.interrupted.insert(
            *op,
            Interrupted {
                state,
                enqueued: item.is_some(),
            },
        );
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

/// The files of one run, in a temporary directory.
struct Paths {
    dir: PathBuf,
    store: PathBuf,
    ack: PathBuf,
    phase: PathBuf,
    child_log: PathBuf,
}

impl Paths {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            store: dir.join("home").join(DB_FILE_NAME),
            ack: dir.join("acks.log"),
            phase: dir.join("phase"),
            child_log: dir.join("children.log"),
        }
    }

    fn phase(&self) -> Option<u8> {
        std::fs::read(&self.phase)
            .ok()
            .and_then(|b| b.first().copied())
    }
}

/// The parent's state across lives.
struct Chaos {
    paths: Paths,
    url: String,
    ctl: Control,
    server: Server,
    store: Store,
    exe: PathBuf,
    rng: StdRng,
    ledger: Ledger,
    kills: KillStats,
    faults: FaultStats,
    /// Time moved forward so far, on the emulator and in every child engine.
    clock_offset_ms: u64,
    abandon: AbandonStats,
}

/// The parent playing another agent of a queued end's tuple.
#[derive(Default)]
struct AbandonStats {
    /// The parent's `/sod`s for the tuple of a queued end, past the stale
    /// window (each abandons that end's session unless it had in fact
    /// ended already, its handoff stored but not yet known locally).
    abandoned: u64,
    /// The sessions abandoned (each once).
    sessions: std::collections::HashSet<String>,
    /// Sessions the parent started (their handoffs belong to no op).
    newcomers: std::collections::HashSet<String>,
    /// A newcomer left working for one life (a re-home must wait for it).
    live: Option<String>,
    /// Of the abandonments, those whose newcomer worked on for a life.
    kept_live: u64,
}

impl Chaos {
    async fn new(dir: &Path, seed: u64, protocol: Protocol) -> Self {
        let paths = Paths::new(dir);
        let server = Server::start(paths.dir.join("emulator.db"), protocol).await;
        let url = format!("http://{}", server.addr);
        Self {
            ctl: Control::new(&url),
            url,
            server,
            store: Store::open(&paths.store, QueueLimits::default()).expect("store opens"),
            exe: std::env::current_exe().expect("test binary path"),
            rng: StdRng::seed_from_u64(seed),
            ledger: Ledger::new(&paths.ack),
            kills: KillStats::default(),
            faults: FaultStats::default(),
            clock_offset_ms: 0,
            abandon: AbandonStats::default(),
            paths,
        }
    }

    fn raw_client(&self) -> Client {
        Client::with_config(client_config(&self.url).retry(direct_retry())).expect("client")
    }

    /// Ends the newcomer left working in the previous life.
    async fn end_live_newcomer(&mut self) {
        let Some(sid) = self.abandon.live.take() else {
            return;
        };
        let end = EndSession::new(&sid, "chaos newcomer", &json!({})).expect("end request");
        if let Err(e) = self.raw_client().end_session(&end).await {
            panic!("the newcomer session {sid} could not be ended: {e}");
        }
    }

    /// Another agent of the tuple of a queued end (one of an op's own
    /// track, which no child starts again) comes after the 45-minute window:
    /// its `/sod` abandons the session, and the queued end must be re-homed.
    /// Faults are cleared first (counted as unused): they are for the child.
    async fn maybe_abandon(&mut self) {
        let live = self.abandon.live.is_some();
        let candidate = self
            .store
            .list(Some(ItemState::Pending))
            .expect("queue readable")
            .into_iter()
            .find(|i| {
                i.kind == ItemKind::End
                    && !i.tuple.agent.is_empty()
                    && !self.abandon.sessions.contains(&i.session_id)
                    && i.tuple.track.is_some_and(|t| t < SHARED_TRACK_BASE)
            });
        let abandon = candidate.is_some() && self.rng.random_bool(ABANDON_SHARE);
        if !live && !abandon {
            return;
        }
        self.faults.unused += self.ctl.pending_fault_uses().await;
        self.ctl.clear_faults().await;
        self.end_live_newcomer().await;
        let Some(item) = candidate.filter(|_| abandon) else {
            return;
        };
        self.ctl.advance_clock(STALE_SECS).await;
        self.clock_offset_ms += STALE_SECS * 1000;
        let t = &item.tuple;
        let mut sod = StartSession::new(&t.agent, &t.venture, &t.repo).include_docs(false);
        sod.track = t.track;
        let fresh = self
            .raw_client()
            .start_session(&sod)
            .await
            .expect("the parent's /sod");
        if fresh.status != SodStatus::Created {
            return; // its session had already ended (or been abandoned)
        }
        self.abandon.abandoned += 1;
        self.abandon.sessions.insert(item.session_id.clone());
        self.abandon.newcomers.insert(fresh.session_id.clone());
        self.abandon.live = Some(fresh.session_id);
        if self.rng.random_bool(0.5) {
            self.abandon.kept_live += 1;
        } else {
            self.end_live_newcomer().await;
        }
    }

    fn spawn_child(&mut self) -> ChildGuard {
        std::fs::write(&self.paths.phase, [Phase::Boot as u8]).expect("phase file");
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.paths.child_log)
            .expect("child log");
        let child = Command::new(&self.exe)
            .args(["--exact", "child_main", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env(URL_ENV, &self.url)
            .env(HOME_ENV, self.paths.store.parent().expect("store dir"))
            .env(ACK_ENV, &self.paths.ack)
            .env(PHASE_ENV, &self.paths.phase)
            .env(CHILD_SEED_ENV, self.rng.random::<u64>().to_string())
            .env(OP_START_ENV, self.ledger.next_op().to_string())
            .env(CLOCK_ENV, self.clock_offset_ms.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("child spawns");
        ChildGuard(child)
    }

    /// How long the child lives: from its spawn (early kills), else from the
    /// moment its engine is open.
    async fn kill_delay(&mut self, life: usize, child: &mut ChildGuard) -> Duration {
        let spawned = Instant::now();
        if self.rng.random_bool(EARLY_KILL_SHARE) {
            return Duration::from_millis(self.rng.random_range(0..EARLY_KILL_WINDOW_MS));
        }
        let ready_by = spawned + Duration::from_secs(20);
        while self.paths.phase() == Some(Phase::Boot as u8) {
            if let Some(status) = child.0.try_wait().expect("child status") {
                panic!(
                    "life {life}: child exited during start-up ({status}):\n{}",
                    tail(&self.paths.child_log)
                );
            }
            assert!(
                Instant::now() < ready_by,
                "life {life}: child not ready after 20 s (hang at open?)"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.kills.ready.push(spawned.elapsed());
        Duration::from_millis(self.rng.random_range(0..=MAX_KILL_DELAY_MS))
    }

    /// One life: faults and time for it, spawn, wait, maybe an outage, SIGKILL,
    /// then read what the child wrote and where the kill landed.
    async fn life(&mut self, life: usize) {
        if life > 0 {
            pass_time(
                &self.ctl,
                &mut self.rng,
                &mut self.clock_offset_ms,
                &mut self.faults,
            )
            .await;
            self.maybe_abandon().await;
        }
        inject_faults(
            &self.ctl,
            &mut self.rng,
            &mut self.faults,
            self.server.protocol,
        )
        .await;
        let mut child = self.spawn_child();
        let pid = child.0.id();
        let delay = self.kill_delay(life, &mut child).await;
        // Sometimes the server goes away before the kill (connections cut, then refused).
        if self.rng.random_bool(OUTAGE_SHARE) {
            let before = delay.mul_f64(self.rng.random_range(0.0..1.0));
            tokio::time::sleep(before).await;
            self.server.down(&self.ctl).await;
            tokio::time::sleep(delay.saturating_sub(before)).await;
        } else {
            tokio::time::sleep(delay).await;
        }
        if let Some(status) = child.0.try_wait().expect("child status") {
            panic!(
                "life {life}: child exited by itself ({status}) instead of being killed:\n{}",
                tail(&self.paths.child_log)
            );
        }
        child.0.kill().expect("SIGKILL");
        child.0.wait().expect("reap child");
        drop(child);
        self.server.up(&self.ctl, self.clock_offset_ms / 1000).await;
        let phase = self.paths.phase().and_then(Phase::from_byte);
        self.ledger.catch_up(life).expect("ack file readable");
        let killed = Killed {
            life,
            pid,
            phase,
            clock_offset_ms: self.clock_offset_ms,
        };
        classify_kill(
            &self.ctl,
            &self.store,
            &self.ledger,
            killed,
            &mut self.kills,
        )
        .await;
        self.restart_at_once(life, pid).await;
    }

    /// A new engine, opened right after the kill with no time passing, must
    /// take over every item the dead child held: its lease never expires
    /// ([`HUGE_LEASE`]), so only the child's death can free it.
    async fn restart_at_once(&mut self, life: usize, pid: u32) {
        let dead_holder = format!("{pid}-");
        let held_by_dead = |store: &Store| -> Vec<String> {
            store
                .list(Some(ItemState::Pending))
                .expect("queue readable")
                .into_iter()
                .filter(|i| {
                    i.lease_holder
                        .as_deref()
                        .is_some_and(|h| h.starts_with(&dead_holder))
                })
                .map(|i| i.local_id)
                .collect()
        };
        let held = held_by_dead(&self.store);
        if held.is_empty() {
            return;
        }
        let cfg = engine_config(&self.url, Some(&self.paths.store), self.clock_offset_ms);
        let crane = Crane::open(cfg).await.expect("restart engine opens");
        let report = crane.sync().await;
        crane.close().await.expect("restart engine closes");
        drop(crane);
        let still = held_by_dead(&self.store);
        assert!(
            still.is_empty(),
            "life {life}: items {still:?} are still leased to the killed process {pid} \
             after a restart and a sync ({report:?}): a dead holder's lease must be free at once"
        );
        self.kills.taken_over += held.len() as u64;
    }

    /// No more faults: a new engine on the same store must deliver everything
    /// left, within the deadline (time moves past the old 120 s lease too,
    /// which frees nothing here: every lease is [`HUGE_LEASE`]).
    async fn final_sync(&mut self) -> FinalSync {
        self.faults.unused += self.ctl.pending_fault_uses().await;
        self.ctl.clear_faults().await;
        self.end_live_newcomer().await;
        self.ctl.advance_clock(PAST_LEASE_SECS).await;
        self.clock_offset_ms += PAST_LEASE_SECS * 1000;
        let before = self.store.counts().expect("queue counts");
        let delivered_before = self.store.stats().expect("queue stats").delivered_total;
        let cfg = engine_config(&self.url, Some(&self.paths.store), self.clock_offset_ms);
        let crane = Crane::open(cfg).await.expect("final engine opens");
        let deadline = Instant::now() + FINAL_SYNC_DEADLINE;
        let mut by_sync = 0;
        loop {
            let report = crane.sync().await.expect("final sync");
            by_sync += report.delivered;
            if report.pending == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "final sync still has {} pending after {FINAL_SYNC_DEADLINE:?} (hang?): {report:?}",
                report.pending
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        crane.close().await.expect("final engine closes");
        FinalSync {
            pending_before: before.pending,
            dead_before: before.dead,
            delivered: self.store.stats().expect("queue stats").delivered_total - delivered_before,
            by_sync,
        }
    }
}

/// What the final sync found and did.
struct FinalSync {
    pending_before: u64,
    dead_before: u64,
    /// Delivered by the new engine (its opening drain and `sync()`).
    delivered: u64,
    /// Of which `sync()` itself reported.
    by_sync: u32,
}

/// Runs against each generation in turn (the same seed for both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_chaos_loses_and_duplicates_nothing() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let kills_wanted: usize = env_or("CRANE_CHAOS_KILLS", DEFAULT_KILLS);
    let seed: u64 = env_or("CRANE_CHAOS_SEED", rand::random());
    for protocol in [Protocol::V1, Protocol::V2] {
        chaos_run(protocol, seed, kills_wanted).await;
    }
}

async fn chaos_run(protocol: Protocol, seed: u64, kills_wanted: usize) {
    let started = Instant::now();
    println!("chaos ({protocol:?}): seed={seed} kills={kills_wanted} (replay with CRANE_CHAOS_SEED={seed})");
    let tmp = tempfile::Builder::new()
        .prefix("crane-chaos-")
        .tempdir()
        .expect("temp dir");
    let mut chaos = Chaos::new(tmp.path(), seed, protocol).await;
    for life in 0..kills_wanted {
        chaos.life(life).await;
    }
    let chaos_time = started.elapsed();
    let last = chaos.final_sync().await;
    let counts = chaos.ctl.requests().await;
    chaos.server.count_requests(&counts);
    let verdict = verify(
        &chaos.ctl,
        &chaos.store,
        &chaos.ledger,
        &chaos.kills.interrupted,
        &chaos.abandon.newcomers,
    )
    .await;
    report(&chaos, &verdict, &last, kills_wanted);
    let ready = &chaos.kills.ready;
    let ready_avg = ready.iter().sum::<Duration>() / u32::try_from(ready.len().max(1)).unwrap_or(1);
    println!(
        "chaos: time chaos={chaos_time:.1?} total={:.1?}, child spawn-to-ready avg {ready_avg:.1?}",
        started.elapsed()
    );
    if !verdict.problems.is_empty() {
        let kept = tmp.keep();
        panic!(
            "chaos run ({protocol:?}, seed {seed}) failed; files kept in {}:\n{}",
            kept.display(),
            verdict.problems.join("\n")
        );
    }
    chaos.server.stop().await;
}

/// The summary line the lead quotes, then the details behind it.
fn report(chaos: &Chaos, v: &Verdict, last: &FinalSync, iterations: usize) {
    let (ops, t, kills, faults) = (
        &chaos.ledger.ops,
        &chaos.ledger.tally,
        &chaos.kills,
        &chaos.faults,
    );
    println!(
        "chaos: iterations={iterations} kills={} faults={} acked={} delivered={} unacked_delivered={} lost={} duplicated={} dead={} rehomed={}",
        kills.by_class.values().sum::<u64>(),
        faults.fired(),
        v.acked,
        v.delivered,
        v.unacked_delivered,
        v.lost.len(),
        v.duplicated.len(),
        v.dead_items,
        v.rehomed,
    );
    println!(
        "chaos: another agent's /sod for the tuple of a queued end, past the stale window: {} (its session kept working for a life: {}); op handoffs stored in a re-home session: {}",
        chaos.abandon.abandoned, chaos.abandon.kept_live, v.rehomed
    );
    println!(
        "chaos: ops={} sod_ok={} resumed={} start_errors={} eods_called={} acked_delivered={} acked_queued={} \
         acked_dead={} eod_errors={} unacked_not_delivered={} updates(applied/queued/err)={:?} syncs(ok/err)={:?} torn_lines={}",
        ops.len(),
        ops.values().filter(|o| o.session_id.is_some()).count(),
        ops.values().filter(|o| o.resumed).count(),
        ops.values().filter(|o| o.start_err.is_some()).count(),
        ops.values().filter(|o| o.intent.is_some()).count(),
        v.acked_delivered_outcome,
        v.acked - v.acked_delivered_outcome,
        v.acked_dead,
        v.eod_errors,
        v.unacked_not_delivered,
        t.updates,
        t.syncs,
        t.torn_lines,
    );
    println!(
        "chaos: final sync: {} pending + {} dead before, {} delivered (by the new engine's opening drain and sync(); sync() itself {})",
        last.pending_before, last.dead_before, last.delivered, last.by_sync
    );
    println!(
        "chaos: requests received by the emulator {:?}, server outages {}",
        chaos.server.requests, chaos.server.outages
    );
    println!(
        "chaos: kills by phase {:?}, drain holding a lease at the kill: {}, items taken over at once from a killed holder: {}",
        kills.by_class, kills.drain_in_flight, kills.taken_over
    );
    println!(
        "chaos: faults = injected faults that hit a request ({} of {} uses queued by {} rules {:?}; {} permanent rules), \
         clock jumps past lease {}, past idempotency window {}",
        faults.fired(),
        faults.uses,
        faults.rules,
        faults.by_kind,
        faults.permanent_rules,
        faults.clock_jumps_past_lease,
        faults.clock_jumps_past_window,
    );
    println!(
        "chaos: start errors {:?}; unacked and never delivered, by where the kill found them: {:?}",
        v.start_error_kinds, v.unacked_not_delivered_by_state
    );
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
    /// Op handoffs stored in a re-home session.
    rehomed: u64,
    lost: Vec<u64>,
    duplicated: Vec<u64>,
    start_error_kinds: BTreeMap<String, u64>,
    problems: Vec<String>,
}

/// Checks the final state against the ledger.
async fn verify(
    ctl: &Control,
    store: &Store,
    ledger: &Ledger,
    interrupted: &BTreeMap<u64, Interrupted>,
    newcomers: &std::collections::HashSet<String>,
) -> Verdict {
    let mut v = Verdict::default();
    let mut problems = Vec::new();
    if !ledger.tally.garbage.is_empty() {
        problems.push(format!("unreadable ack lines: {:?}", ledger.tally.garbage));
    }

    // Every stored handoff: a known op, its announced session (or a
    // re-home session whose meta names it), its hash. The parent's own
    // newcomer sessions end with handoffs of no op.
    let rehomed = ctl.rehomed().await;
    let mut per_op: HashMap<u64, u64> = HashMap::new();
    for (op, sid, hash) in ctl.handoffs().await {
        if newcomers.contains(&sid) {
            continue;
        }
        *per_op.entry(op).or_default() += 1;
        match ledger.ops.get(&op).and_then(|o| o.intent.as_ref()) {
            None => problems.push(format!(
                "handoff for op {op} that was never announced (session {sid})"
            )),
            Some((isid, ihash)) => {
                let home = rehomed.get(&sid);
                v.rehomed += u64::from(home.is_some());
                if *isid != sid && home != Some(isid) {
                    problems.push(format!(
                        "op {op}: handoff on session {sid}, announced on {isid}"
                    ));
                }
                if *ihash != hash {
                    problems.push(format!(
                        "op {op}: stored payload_hash {hash} != computed {ihash}"
                    ));
                }
            }
        }
    }

    // The queue: nothing pending, every dead item killed by an injected fault.
    let counts = store.counts().expect("queue counts");
    if counts.pending > 0 {
        problems.push(format!(
            "{} items still pending after the final sync: {counts:?}",
            counts.pending
        ));
    }
    let dead = store.list(Some(ItemState::Dead)).expect("dead items");
    v.dead_items = dead.len() as u64;
    let mut dead_ops = std::collections::HashSet::new();
    for item in &dead {
        let why = item.last_error.as_deref().unwrap_or("");
        if !why.contains(INJECTED) {
            problems.push(format!(
                "dead item {} ({:?}, session {}) not caused by an injected fault: {why}",
                item.local_id, item.kind, item.session_id
            ));
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
                problems.push(format!(
                    "op {op}: /eod failed without an injected cause: {e}"
                ));
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
                problems.push(format!(
                    "op {op}: Delivered with server hash {server_hash} != computed {computed}"
                ));
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
