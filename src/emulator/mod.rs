//! A protocol emulator: a real HTTP server that behaves like Crane Context.
//!
//! The SDK's hardest code — retries, idempotent replays, heartbeats, the
//! offline queue — only shows its bugs against a server that really answers,
//! really fails and really goes away. This module is that server. It speaks
//! the v2 wire contract (by default) or the v1 one over real TCP and HTTP/1.1
//! exactly as the recorded services do (every fixture of each generation
//! replays against it), keeps its data in SQLite (in memory, or in a file that survives a
//! restart), and adds a control API under `/__emulator/` through which a test
//! injects faults, moves the clock and inspects state.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crane_context::emulator::EmulatorError> {
//! use crane_context::emulator::{Emulator, EmulatorConfig};
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! println!("serving {} with key {}", emulator.url(), emulator.relay_key());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Guarantees: `/sod` (v2: `/sos`), `/update` and `/eod` (v2: `/eos`), with
//! their idempotency check and store, each run as one serialized SQLite
//! transaction, so racing duplicates
//! never both act; [`EmulatorHandle::shutdown`] returns only once the port is
//! closed and every connection is cut; dropping the handle also stops the
//! server. The emulator must be started inside a Tokio runtime.
//!
//! # Control API (same port, no relay key, never faulted)
//!
//! | request | effect | answer |
//! |---|---|---|
//! | `POST /__emulator/faults` `{"route","mode","status"?,"retry_after"?,"delay_ms"?,"count"?}` | queue a rule for the next `count` (default 1) requests to `route` (`"*"` = any API route) | `{"ok":true}`; 400 on a bad rule |
//! | `DELETE /__emulator/faults` | drop every pending rule | `{"ok":true}` |
//! | `GET /__emulator/faults` | list pending rules | `{"faults":[…]}` |
//! | `POST /__emulator/clock` `{"advance_seconds":N}` | move the clock forward (staleness, idempotency TTL, timestamps) | `{"now":"…"}` |
//! | `GET /__emulator/clock` | read the clock | `{"now":"…"}` |
//! | `POST /__emulator/docs` `{"scope","doc_name","content","title"?,"description"?}` | store a document for the v2 `/docs` routes and `/sos` blocks | `{"ok":true}` |
//! | `GET /__emulator/state` | inspect | `{"sessions_count","handoffs_count","requests_count":{path:n},"handoffs":[{"id","session_id","summary","payload_hash"}],"sessions":[{"id","status"}]}` |
//!
//! Fault modes: `status` answers `status` (default 503) with
//! `{"error":"Injected fault","correlation_id":…}` and `Retry-After` when
//! `retry_after` is given, touching nothing; `drop_before` closes the TCP
//! connection without processing and without a byte of response;
//! `drop_after` processes and commits, then closes without answering; `delay`
//! sleeps `delay_ms` (real time) and then processes. Each request uses one
//! count of the first pending rule that matches its path; `requests_count`
//! counts every API request received, faulted or not.

mod app;
mod clock;
mod control;
pub(crate) mod cursor;
mod docs;
mod faults;
mod handoffs;
mod idempotency;
pub(crate) mod input;
pub(crate) mod jsparse;
mod records;
mod reply;
mod schema;
mod server;
mod sessions;
mod v2;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The relay key the emulator accepts unless configured otherwise (the key the
/// fixtures were recorded with).
pub const DEFAULT_RELAY_KEY: &str = "test-relay-key-0123456789abcdef";

/// Which generation of the service's wire contract the emulator speaks.
///
/// [`Protocol::V2`] is the default: it is the service agents run against
/// today. [`Protocol::V1`] keeps the January worker reproducible (tests about
/// v1 behaviour pin it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// The January worker (`docs/contract/crane-context-api-v1.md`): `/sod`,
    /// `/eod`, and 404 for `/version`, `/ventures`, `/sos`, `/eos`, ….
    V1,
    /// The late-2026 worker (`docs/contract/crane-context-api-v2.md`): `/sos`,
    /// `/eos` (with `/sod`, `/eod` as aliases), checkpoints, notes, docs, ….
    #[default]
    V2,
}

impl std::str::FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" | "1" => Ok(Self::V1),
            "v2" | "2" => Ok(Self::V2),
            other => Err(format!("unknown protocol {other:?} (want v1 or v2)")),
        }
    }
}

/// How to start an emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    /// The `X-Relay-Key` the server accepts (default [`DEFAULT_RELAY_KEY`]).
    pub relay_key: String,
    /// Address to listen on (default `127.0.0.1:0`: loopback, a free port).
    pub bind: SocketAddr,
    /// SQLite file to keep data in; `None` keeps it in memory for this run.
    pub db_path: Option<PathBuf>,
    /// Inclusive range, in seconds, the proposed heartbeat interval is drawn
    /// from (default `(480, 720)` like the service; tests use e.g. `(1, 2)`).
    pub heartbeat_interval_seconds: (u64, u64),
    /// Which wire contract to speak (default [`Protocol::V2`]).
    pub protocol: Protocol,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            relay_key: DEFAULT_RELAY_KEY.to_owned(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_path: None,
            heartbeat_interval_seconds: (480, 720),
            protocol: Protocol::V2,
        }
    }
}

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened or initialized.
    #[error("cannot open emulator database {}: {message}", path.as_ref().map_or("(in memory)".into(), |p| p.display().to_string()))]
    Db {
        /// The file, or `None` for an in-memory database.
        path: Option<PathBuf>,
        /// SQLite's (or the schema check's) reason.
        message: String,
    },
    /// The configuration is inconsistent (e.g. an empty heartbeat range).
    #[error("invalid emulator configuration: {0}")]
    Config(String),
}

/// Starts emulators.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emulator;

impl Emulator {
    /// Opens the database, binds the address and starts serving in the
    /// background of the current Tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let (min, max) = config.heartbeat_interval_seconds;
        if min > max {
            return Err(EmulatorError::Config(format!(
                "heartbeat interval minimum {min} is above maximum {max}"
            )));
        }
        if config.relay_key.is_empty() {
            return Err(EmulatorError::Config("the relay key is empty".into()));
        }
        let conn = schema::open(config.db_path.as_deref()).map_err(|e| EmulatorError::Db {
            path: config.db_path.clone(),
            message: e.to_string(),
        })?;
        let listener = server::bind(config.bind).map_err(|source| EmulatorError::Bind {
            addr: config.bind,
            source,
        })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: config.bind,
                source,
            })?;
        let actor_key_id = crate::config::actor_key_id_of(&config.relay_key);
        let app = Arc::new(app::App {
            relay_key: config.relay_key.clone(),
            actor_key_id: actor_key_id.clone(),
            heartbeat_range: (min, max),
            protocol: config.protocol,
            started_at: std::time::SystemTime::now(),
            db: Mutex::new(conn),
            clock: clock::Clock::default(),
            faults: faults::Faults::default(),
            requests: Mutex::new(BTreeMap::new()),
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server::run(listener, app, stopped));
        Ok(EmulatorHandle {
            addr,
            relay_key: config.relay_key,
            actor_key_id,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server (abruptly); prefer
/// [`EmulatorHandle::shutdown`], which waits until the port is released.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    relay_key: String,
    actor_key_id: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The address actually bound (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for clients, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The relay key the server accepts.
    pub fn relay_key(&self) -> &str {
        &self.relay_key
    }

    /// The `actor_key_id` the server stamps on records: the first 16 hex
    /// characters of SHA-256 of the relay key.
    pub fn actor_key_id(&self) -> &str {
        &self.actor_key_id
    }

    /// Stops accepting, closes every open connection and releases the port;
    /// once this returns, connecting to [`EmulatorHandle::addr`] is refused
    /// and a new emulator may bind it (and reopen the same database file).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
