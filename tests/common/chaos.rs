//! Support of the SIGKILL chaos test (`tests/crash.rs`): the ack file the
//! child writes and the parent reads, the emulator's control API, the
//! emulator itself (which an outage takes down and brings back), and the
//! random faults and time jumps injected between the child's lives.
//!
//! ## The ack file
//!
//! The child appends one line per step of a session lifecycle. The lines that
//! matter for the verdict are written *before* the step they announce
//! (`intent`: an `/eod` is about to be called, with the hash of its payload)
//! or *right after* the call returned (`ack`: the caller was told Delivered or
//! Queued), each followed by an fsync. A SIGKILL can tear the last line; the
//! parent only reads lines ending in `\n` and cuts a torn tail off the file
//! before the next child appends to it.
//!
//! Line formats (space separated, the message of an error is the rest of the line):
//!
//! ```text
//! sod <op> <track>
//! started <op> <session_id> <created|resumed|unknown>
//! start_err <op> <message>
//! update <op> <applied|queued|err> [message]
//! intent <op> <session_id> <payload_hash>
//! ack <op> delivered <session_id> <payload_hash> <hash the server answered>
//! ack <op> queued <session_id> <payload_hash> <local_id>
//! end_err <op> <message>
//! sync ok <delivered> <retrying> <dead> <pending> | sync err <message>
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};
use crane_context::engine::REHOME_META_KEY;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

/// Every `/eod` summary is this prefix and the op id; the stored handoff names its op.
pub const SUMMARY_PREFIX: &str = "chaos op ";
/// More than the engine's default 120 s lease (the chaos test's leases are
/// longer still, so only liveness frees them).
pub const PAST_LEASE_SECS: u64 = 121;
/// Past the server's 1 h idempotency window: a retry must confirm by hash.
pub const PAST_WINDOW_SECS: u64 = 3_700;
/// Share of lives that run under injected faults.
const FAULTY_LIFE_SHARE: f64 = 0.8;

/// The child's writer.
pub struct AckWriter {
    file: File,
}

impl AckWriter {
    /// Opens the file for appending (creating it).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self { file })
    }

    /// Appends one line with a single `write`, then fsyncs when `durable`.
    pub fn line(&mut self, text: &str, durable: bool) {
        let mut buf = one_line(text);
        buf.push('\n');
        self.file.write_all(buf.as_bytes()).expect("ack file write");
        if durable {
            self.file.sync_data().expect("ack file fsync");
        }
    }
}

/// `text` with line breaks replaced, so a message stays on its line.
pub fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// How the `/eod` call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acked {
    /// `EndOutcome::Delivered`, with the hash the server answered.
    Delivered { server_hash: String },
    /// `EndOutcome::Queued`, with the queue item's id.
    Queued { local_id: String },
}

/// Everything known about one logical operation (one session lifecycle).
#[derive(Debug, Clone, Default)]
pub struct Op {
    /// The child life (iteration) that ran it.
    pub life: usize,
    /// The session track it used.
    pub track: i64,
    /// The session `/sod` returned.
    pub session_id: Option<String>,
    /// Whether `/sod` resumed a live session.
    pub resumed: bool,
    /// Written before `/eod` was called: (session, payload hash).
    pub intent: Option<(String, String)>,
    /// Written right after `/eod` returned Delivered or Queued.
    pub ack: Option<Acked>,
    /// `/eod` returned an error.
    pub end_err: Option<String>,
    /// `/sod` returned an error.
    pub start_err: Option<String>,
}

/// Counts of the steps that are not part of the verdict, for the summary.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// `/update` outcomes: applied, queued, err.
    pub updates: [u64; 3],
    /// Explicit `sync()` calls that returned / failed.
    pub syncs: [u64; 2],
    /// Items delivered by explicit syncs, as they reported.
    pub synced_delivered: u64,
    /// Torn (partially written) last lines cut off after a kill.
    pub torn_lines: u64,
    /// Lines the parser did not understand (must stay 0).
    pub garbage: Vec<String>,
    /// `/update` error messages.
    pub update_errors: Vec<String>,
}

/// The parent's view of the ack file, read incrementally after each kill.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    offset: u64,
    /// Operations by id.
    pub ops: BTreeMap<u64, Op>,
    /// Other counts.
    pub tally: Tally,
}

impl Ledger {
    /// A ledger over the (possibly not yet existing) file at `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            offset: 0,
            ops: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// The next unused operation id.
    pub fn next_op(&self) -> u64 {
        self.ops.keys().next_back().map_or(1, |op| op + 1)
    }

    /// Reads the lines appended since the last call by the child of `life`
    /// (which is dead), cutting off a torn last line so the next child
    /// appends after a clean line end.
    pub fn catch_up(&mut self, life: usize) -> std::io::Result<()> {
        let mut file = match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            self.tally.torn_lines += 1;
            file.set_len(self.offset + complete as u64)?;
            file.sync_all()?;
        }
        let text = String::from_utf8_lossy(&bytes[..complete]).into_owned();
        for line in text.lines() {
            self.apply(line, life);
        }
        self.offset += complete as u64;
        Ok(())
    }

    /// The operation whose `/eod` was called in `life` and had not returned
    /// when the child died: (op id, session id, payload hash).
    pub fn open_intent(&self, life: usize) -> Option<(u64, String, String)> {
        let (op, rec) = self.ops.iter().next_back()?;
        if rec.life != life || rec.ack.is_some() || rec.end_err.is_some() {
            return None;
        }
        let (sid, hash) = rec.intent.clone()?;
        Some((*op, sid, hash))
    }

    fn apply(&mut self, line: &str, life: usize) {
        let mut words = line.splitn(3, ' ');
        let (kind, a, rest) = (
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
        );
        if kind == "sync" {
            let fields: Vec<&str> = rest.split(' ').collect();
            if a == "ok" {
                self.tally.syncs[0] += 1;
                self.tally.synced_delivered += fields
                    .first()
                    .and_then(|d| d.parse::<u64>().ok())
                    .unwrap_or(0);
            } else {
                self.tally.syncs[1] += 1;
            }
            return;
        }
        let Ok(op) = a.parse::<u64>() else {
            self.tally.garbage.push(line.to_owned());
            return;
        };
        let rec = self.ops.entry(op).or_insert_with(|| Op {
            life,
            ..Op::default()
        });
        let fields: Vec<&str> = rest.split(' ').collect();
        let ok = match (kind, fields.as_slice()) {
            ("sod", [track]) => track.parse().map(|t| rec.track = t).is_ok(),
            ("started", [sid, status]) => {
                rec.session_id = Some((*sid).to_owned());
                rec.resumed = *status == "resumed";
                true
            }
            ("start_err", _) => {
                rec.start_err = Some(rest.to_owned());
                true
            }
            ("update", [outcome, ..]) => {
                let i = match *outcome {
                    "applied" => 0,
                    "queued" => 1,
                    _ => 2,
                };
                self.tally.updates[i] += 1;
                if i == 2 {
                    self.tally.update_errors.push(rest.to_owned());
                }
                true
            }
            ("intent", [sid, hash]) => {
                rec.intent = Some(((*sid).to_owned(), (*hash).to_owned()));
                true
            }
            ("ack", ["delivered", _sid, _hash, server_hash]) => {
                rec.ack = Some(Acked::Delivered {
                    server_hash: (*server_hash).to_owned(),
                });
                true
            }
            ("ack", ["queued", _sid, _hash, local_id]) => {
                rec.ack = Some(Acked::Queued {
                    local_id: (*local_id).to_owned(),
                });
                true
            }
            ("end_err", _) => {
                rec.end_err = Some(rest.to_owned());
                true
            }
            _ => false,
        };
        if !ok {
            self.tally.garbage.push(line.to_owned());
        }
    }
}

// ------------------------------------------------------- the emulator side

/// What was injected.
#[derive(Debug, Default)]
pub struct FaultStats {
    /// Fault rules queued.
    pub rules: u64,
    /// Uses those rules allowed.
    pub uses: u64,
    /// Rules answering a permanent status (400).
    pub permanent_rules: u64,
    /// Uses still queued when the next life's rules replaced them.
    pub unused: u64,
    /// Rules by kind.
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Time jumps past the engine's lease.
    pub clock_jumps_past_lease: u64,
    /// Time jumps past the idempotency window.
    pub clock_jumps_past_window: u64,
}

impl FaultStats {
    /// Injected faults that hit a request.
    pub fn fired(&self) -> u64 {
        self.uses - self.unused
    }
}

/// The emulator's control API through one HTTP client (building a client per
/// call costs tens of milliseconds in a debug build).
pub struct Control {
    http: reqwest::Client,
    url: String,
}

impl Control {
    /// A controller of the emulator at `url`.
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/__emulator/{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control call");
        assert!(
            resp.status().is_success(),
            "control {path}: {}",
            resp.status()
        );
        resp.json().await.unwrap_or(Value::Null)
    }

    /// Queues one fault rule.
    pub async fn fault(&self, rule: Value) {
        self.call(reqwest::Method::POST, "faults", Some(rule)).await;
    }

    /// Removes every queued fault rule.
    pub async fn clear_faults(&self) {
        self.call(reqwest::Method::DELETE, "faults", None).await;
    }

    /// Uses left in the queued fault rules.
    pub async fn pending_fault_uses(&self) -> u64 {
        let listed = self.call(reqwest::Method::GET, "faults", None).await;
        listed["faults"]
            .as_array()
            .map(|rules| rules.iter().map(|r| r["count"].as_u64().unwrap_or(1)).sum())
            .unwrap_or(0)
    }

    /// API requests the emulator received, per route.
    pub async fn requests(&self) -> Value {
        self.call(reqwest::Method::GET, "state", None).await["requests_count"].take()
    }

    /// Moves the emulator's clock forward.
    pub async fn advance_clock(&self, secs: u64) {
        self.call(
            reqwest::Method::POST,
            "clock",
            Some(json!({"advance_seconds": secs})),
        )
        .await;
    }

    /// Stored handoffs as (op named by the summary, session, payload hash);
    /// an unparseable summary gives op `u64::MAX`.
    /// Re-home sessions (their meta carries the re-home marker): each one's
    /// id → the session its handoff was written for.
    pub async fn rehomed(&self) -> HashMap<String, String> {
        let st = self.call(reqwest::Method::GET, "state", None).await;
        st["sessions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|s| {
                let meta: Value = serde_json::from_str(s["meta_json"].as_str()?).ok()?;
                let from = meta[REHOME_META_KEY]["from_session_id"].as_str()?;
                Some((s["id"].as_str()?.to_owned(), from.to_owned()))
            })
            .collect()
    }

    pub async fn handoffs(&self) -> Vec<(u64, String, String)> {
        let st = self.call(reqwest::Method::GET, "state", None).await;
        st["handoffs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|h| {
                let op = h["summary"]
                    .as_str()
                    .and_then(op_of_summary)
                    .unwrap_or(u64::MAX);
                let sid = h["session_id"].as_str().unwrap_or_default().to_owned();
                let hash = h["payload_hash"].as_str().unwrap_or_default().to_owned();
                (op, sid, hash)
            })
            .collect()
    }
}

/// The emulator, which an outage shuts down (every connection cut, the port
/// refused) and brings back on the same address and database file.
pub struct Server {
    handle: Option<EmulatorHandle>,
    /// The address it serves on, across restarts.
    pub addr: SocketAddr,
    db: PathBuf,
    /// Requests counted by emulators already shut down, per route.
    pub requests: BTreeMap<String, u64>,
    /// Outages so far.
    pub outages: u64,
    /// The generation it speaks (across restarts).
    pub protocol: Protocol,
}

impl Server {
    /// Starts an emulator keeping its data in `db`.
    pub async fn start(db: PathBuf, protocol: Protocol) -> Self {
        let handle = Emulator::start(EmulatorConfig {
            db_path: Some(db.clone()),
            protocol,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        Self {
            addr: handle.addr(),
            handle: Some(handle),
            db,
            requests: BTreeMap::new(),
            outages: 0,
            protocol,
        }
    }

    /// Adds an emulator's request counts (from [`Control::requests`]).
    pub fn count_requests(&mut self, counts: &Value) {
        for (route, n) in counts.as_object().into_iter().flatten() {
            *self.requests.entry(route.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
    }

    /// Shuts the emulator down: connections cut, the port refused.
    pub async fn down(&mut self, ctl: &Control) {
        let counts = ctl.requests().await;
        self.count_requests(&counts);
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
        self.outages += 1;
    }

    /// Back on the same address and file; its clock set to where the old one was.
    pub async fn up(&mut self, ctl: &Control, clock_advance_secs: u64) {
        if self.handle.is_some() {
            return;
        }
        let config = EmulatorConfig {
            db_path: Some(self.db.clone()),
            bind: self.addr,
            protocol: self.protocol,
            ..EmulatorConfig::default()
        };
        // While the port was free, a client's connect could (rarely) have
        // taken it as its own ephemeral port; that socket dies with the child.
        let mut tries = 0;
        let handle = loop {
            match Emulator::start(config.clone()).await {
                Ok(h) => break h,
                Err(e) if tries < 40 => {
                    tries += 1;
                    eprintln!(
                        "chaos: emulator restart on {} failed ({e}); retrying",
                        self.addr
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("emulator cannot restart on {}: {e}", self.addr),
            }
        };
        self.handle = Some(handle);
        ctl.advance_clock(clock_advance_secs).await;
    }

    /// Shuts the emulator down for good.
    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

/// A v1 route's name on `protocol` (the session routes are renamed on v2).
fn on(protocol: Protocol, route: &'static str) -> &'static str {
    match route {
        "/eod" if protocol == Protocol::V2 => "/eos",
        "/sod" if protocol == Protocol::V2 => "/sos",
        other => other,
    }
}

/// One random fault rule: (body, kind, uses, permanent).
fn random_fault(rng: &mut StdRng, protocol: Protocol) -> (Value, &'static str, u64, bool) {
    const ROUTES: [&str; 10] = [
        "/eod",
        "/eod",
        "/eod",
        "/eod",
        "/sod",
        "/sod",
        "/update",
        "/handoffs/latest",
        "/health",
        "*",
    ];
    let route = on(protocol, ROUTES[rng.random_range(0..ROUTES.len())]);
    // Up to 4 uses: more than the 3 direct attempts, so some ends are Queued.
    let count: u64 = rng.random_range(1..=4);
    let roll = rng.random_range(0..100);
    let (body, kind, permanent) = match roll {
        0..18 => (
            json!({"route": route, "mode": "status", "status": 500, "count": count}),
            "500",
            false,
        ),
        18..36 => (
            json!({"route": route, "mode": "status", "status": 503, "count": count}),
            "503",
            false,
        ),
        36..50 => {
            let retry_after = rng.random_range(0..=2);
            (
                json!({"route": route, "mode": "status", "status": 429, "retry_after": retry_after, "count": count}),
                "429",
                false,
            )
        }
        50..65 => (
            json!({"route": route, "mode": "drop_before", "count": count}),
            "drop_before",
            false,
        ),
        65..82 => (
            json!({"route": route, "mode": "drop_after", "count": count}),
            "drop_after",
            false,
        ),
        82..95 => {
            let ms = rng.random_range(20..=400);
            (
                json!({"route": route, "mode": "delay", "delay_ms": ms, "count": count}),
                "delay",
                false,
            )
        }
        // Longer than the 2 s request timeout: the engine goes offline.
        95..97 => (
            json!({"route": route, "mode": "delay", "delay_ms": 2_500, "count": 1}),
            "timeout",
            false,
        ),
        _ => {
            const PERMANENT_ROUTES: [&str; 3] = ["/eod", "/update", "/sod"];
            let route = on(
                protocol,
                PERMANENT_ROUTES[rng.random_range(0..PERMANENT_ROUTES.len())],
            );
            (
                json!({"route": route, "mode": "status", "status": 400, "count": 1}),
                "400",
                true,
            )
        }
    };
    let uses = body["count"].as_u64().unwrap_or(1);
    (body, kind, uses, permanent)
}

/// Replaces the fault rules for the next life: the previous life's unused
/// uses are counted out, then 0–3 fresh rules are queued.
pub async fn inject_faults(
    ctl: &Control,
    rng: &mut StdRng,
    stats: &mut FaultStats,
    protocol: Protocol,
) {
    stats.unused += ctl.pending_fault_uses().await;
    ctl.clear_faults().await;
    if !rng.random_bool(FAULTY_LIFE_SHARE) {
        return;
    }
    for _ in 0..rng.random_range(1..=3) {
        let (body, kind, uses, permanent) = random_fault(rng, protocol);
        ctl.fault(body).await;
        stats.rules += 1;
        stats.uses += uses;
        stats.permanent_rules += u64::from(permanent);
        *stats.by_kind.entry(kind).or_default() += 1;
    }
}

/// Time passing between two lives, on the emulator and (through `offset_ms`,
/// the child engine's clock offset) the engine together: mostly past the
/// lease, sometimes a little, sometimes past the idempotency window.
pub async fn pass_time(
    ctl: &Control,
    rng: &mut StdRng,
    offset_ms: &mut u64,
    stats: &mut FaultStats,
) {
    let secs = match rng.random_range(0..100) {
        0..70 => {
            stats.clock_jumps_past_lease += 1;
            PAST_LEASE_SECS
        }
        70..95 => rng.random_range(1..=30),
        _ => {
            stats.clock_jumps_past_window += 1;
            PAST_WINDOW_SECS
        }
    };
    ctl.advance_clock(secs).await;
    *offset_ms += secs * 1000;
}

/// The summary of a stored `/eod`'s request body names its op.
pub fn op_of_summary(summary: &str) -> Option<u64> {
    summary.strip_prefix(SUMMARY_PREFIX)?.parse().ok()
}
