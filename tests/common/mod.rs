//! Shared helpers of the integration tests: a real emulator over loopback,
//! engines on temporary SQLite files, and an event recorder to await signals.
#![allow(dead_code)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod hostile;
pub mod recorded;

use std::sync::Arc;
use std::time::Duration;

use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};
use crane_context::engine::{Clock, Crane, CraneConfig, Event};
use crane_context::{Client, ClientConfig, RelayKey, RetryPolicy};
use serde_json::Value;
use tokio::sync::mpsc;

pub const KEY: &str = "test-relay-key-0123456789abcdef";

pub async fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts")
}

pub async fn emulator_with(
    db: Option<std::path::PathBuf>,
    addr: Option<std::net::SocketAddr>,
) -> EmulatorHandle {
    emulator_speaking(db, addr, EmulatorConfig::default().protocol).await
}

/// An emulator of the given generation.
pub async fn emulator_of(protocol: Protocol) -> EmulatorHandle {
    emulator_speaking(None, None, protocol).await
}

/// Both generations, for tests that must hold against each.
pub const PROTOCOLS: [Protocol; 2] = [Protocol::V1, Protocol::V2];

/// The route ending a session on `protocol` (fault rules name it).
pub fn end_route(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::V2 => "/eos",
        _ => "/eod",
    }
}

/// The route starting a session on `protocol`.
pub fn start_route(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::V2 => "/sos",
        _ => "/sod",
    }
}

pub async fn emulator_speaking(
    db: Option<std::path::PathBuf>,
    addr: Option<std::net::SocketAddr>,
    protocol: Protocol,
) -> EmulatorHandle {
    let defaults = EmulatorConfig::default();
    let cfg = EmulatorConfig {
        db_path: db,
        bind: addr.unwrap_or(defaults.bind),
        protocol,
        ..defaults
    };
    Emulator::start(cfg).await.expect("emulator starts")
}

/// Fast retries so fault tests run in milliseconds of backoff.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        deadline: Duration::from_secs(20),
        max_retry_after: Duration::from_secs(2),
    }
}

pub fn client_config(url: &str) -> ClientConfig {
    ClientConfig::new(url, RelayKey::new(KEY).unwrap())
        .unwrap()
        .timeouts(Duration::from_secs(2), Duration::from_secs(3))
        .retry(fast_retry())
}

pub fn client(url: &str) -> Client {
    Client::with_config(client_config(url)).unwrap()
}

/// Records events; tests await them instead of sleeping.
pub struct Recorder {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Recorder {
    /// Waits for the first event matching `pred` (failing after `within`).
    pub async fn wait_for(&mut self, within: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        tokio::time::timeout(within, async {
            loop {
                match self.rx.recv().await {
                    Some(e) if pred(&e) => return e,
                    Some(_) => continue,
                    None => panic!("event channel closed"),
                }
            }
        })
        .await
        .expect("expected event did not arrive in time")
    }

    /// Waits for a handoff delivery (or fails on a dead letter).
    pub async fn wait_for_delivery(&mut self, within: Duration) -> Event {
        let e = self
            .wait_for(within, |e| {
                matches!(
                    e,
                    Event::HandoffDelivered { .. } | Event::ItemDeadLettered { .. }
                )
            })
            .await;
        assert!(matches!(e, Event::HandoffDelivered { .. }), "{e:?}");
        e
    }
}

pub struct Engine {
    pub crane: Crane,
    pub events: Recorder,
    pub dir: Arc<tempfile::TempDir>,
}

impl Engine {
    /// Marks the engine's connection down (`why` shows in its state), so
    /// its writes are queued instead of sent.
    pub fn go_offline(&self, why: &str) {
        self.crane.client().connectivity().mark_offline(why);
    }
}

pub async fn engine(url: &str) -> Engine {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    engine_at(url, dir, Clock::system()).await
}

pub async fn engine_at(url: &str, dir: Arc<tempfile::TempDir>, clock: Clock) -> Engine {
    engine_with(url, dir, clock, |c| c).await
}

/// An engine whose configuration `tweak` adjusts last.
pub async fn engine_with(
    url: &str,
    dir: Arc<tempfile::TempDir>,
    clock: Clock,
    tweak: impl FnOnce(CraneConfig) -> CraneConfig,
) -> Engine {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut cfg = CraneConfig::new(client_config(url)).store_path(dir.path().join("crane.db"));
    cfg.direct_retry = fast_retry();
    cfg.heartbeat_jitter = Duration::ZERO;
    cfg.clock = clock;
    cfg.listener = Arc::new(move |e: Event| {
        let _ = tx.send(e);
    });
    let crane = Crane::open(tweak(cfg)).await.expect("engine opens");
    Engine {
        crane,
        events: Recorder { rx },
        dir,
    }
}

pub async fn control(url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{url}/__emulator/{path}"));
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

pub async fn fault(url: &str, body: Value) {
    control(url, reqwest::Method::POST, "faults", Some(body)).await;
}

pub async fn state(url: &str) -> Value {
    control(url, reqwest::Method::GET, "state", None).await
}

pub async fn advance_clock(url: &str, secs: u64) {
    control(
        url,
        reqwest::Method::POST,
        "clock",
        Some(serde_json::json!({"advance_seconds": secs})),
    )
    .await;
}

/// Handoffs the emulator holds for a session.
pub async fn handoffs_for(url: &str, session_id: &str) -> Vec<Value> {
    state(url).await["handoffs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h["session_id"] == session_id)
        .collect()
}

/// Makes `async fn $name(protocol: Protocol)` two tests, `$name::v1` and
/// `$name::v2`, one per generation the emulator speaks; the arguments after
/// the name go to `#[tokio::test(…)]`.
#[macro_export]
macro_rules! both_generations {
    ($name:ident $(, $($arg:tt)+)?) => {
        mod $name {
            #[tokio::test$(($($arg)+))?]
            async fn v1() {
                super::$name(crane_context::emulator::Protocol::V1).await
            }
            #[tokio::test$(($($arg)+))?]
            async fn v2() {
                super::$name(crane_context::emulator::Protocol::V2).await
            }
        }
    };
}
