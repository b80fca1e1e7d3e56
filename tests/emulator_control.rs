//! The emulator's control API and server behaviour, over real loopback HTTP.
//!
//! The SDK's reliability tests lean on the emulator failing in precise ways:
//! a status with `Retry-After`, a connection cut before or after the request
//! is processed, a delay; on time passing (staleness, idempotency expiry); and
//! on the server going away and coming back with its data. Each test here pins
//! one of those behaviours so the tests built on top can trust them. Nothing
//! sleeps in place of a signal: time is moved through the control API, and
//! connection drops are observed as client errors.
#![cfg(feature = "emulator")]

use std::time::{Duration, Instant};

use crane_context::canonical::{sha256_hex, CanonicalPayload};
use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};

/// These tests pin the emulator's v1 behaviour (raw `/sod`, `/eod`, the
/// one-hour key TTL); its v2 mode is pinned by tests/emulator_v2.rs.
fn v1_config() -> EmulatorConfig {
    EmulatorConfig {
        protocol: Protocol::V1,
        ..EmulatorConfig::default()
    }
}
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

const KEY: &str = "test-relay-key-0123456789abcdef";

/// A live answer: status, headers, body as JSON and the exact bytes.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
    bytes: Vec<u8>,
}

struct Emu {
    handle: EmulatorHandle,
    http: reqwest::Client,
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

async fn start_with(config: EmulatorConfig) -> Emu {
    let handle = Emulator::start(config).await.expect("emulator starts");
    Emu {
        handle,
        http: http_client(),
    }
}

async fn start() -> Emu {
    start_with(v1_config()).await
}

impl Emu {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.url())
    }

    /// An authenticated API call; `Err` is a transport failure.
    async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("X-Relay-Key", KEY);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?.to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            body,
            bytes,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Answer {
        self.try_call(method, path, body, key)
            .await
            .expect("request answered")
    }

    async fn sod(&self, track: i64) -> String {
        let body = json!({"agent": "agent-x", "venture": "vc", "repo": "o/r", "track": track, "include_docs": false});
        let a = self.call(Method::POST, "/sod", Some(&body), None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["session_id"]
            .as_str()
            .expect("session id")
            .to_owned()
    }

    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(&format!("/__emulator/{path}")));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("control call");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn fault(&self, rule: Value) {
        let (status, body) = self.control(Method::POST, "faults", Some(rule)).await;
        assert_eq!((status, body), (200, json!({"ok": true})));
    }

    async fn advance(&self, seconds: u64) -> Value {
        let (status, body) = self
            .control(
                Method::POST,
                "clock",
                Some(json!({ "advance_seconds": seconds })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn state(&self) -> Value {
        let (status, body) = self.control(Method::GET, "state", None).await;
        assert_eq!(status, 200);
        body
    }
}

fn eod_body(session_id: &str, summary: &str) -> Value {
    json!({"session_id": session_id, "summary": summary, "payload": {"done": ["a", "b"], "n": 1.5}})
}

fn session_status(state: &Value, id: &str) -> String {
    state["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .and_then(|s| s["status"].as_str())
        .unwrap_or("<missing>")
        .to_owned()
}

#[tokio::test]
async fn status_fault_answers_with_retry_after_and_touches_nothing() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    emu.fault(
        json!({"route": "/eod", "mode": "status", "status": 503, "retry_after": 2, "count": 1}),
    )
    .await;
    let a = emu
        .call(Method::POST, "/eod", Some(&eod_body(&sid, "s")), None)
        .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.headers["retry-after"], "2");
    assert_eq!(a.body["error"], "Injected fault");
    assert_eq!(
        a.headers["x-correlation-id"].to_str().ok(),
        a.body["correlation_id"].as_str()
    );
    let state = emu.state().await;
    assert_eq!(state["handoffs_count"], 0);
    assert_eq!(session_status(&state, &sid), "active");
    let a = emu
        .call(Method::POST, "/eod", Some(&eod_body(&sid, "s")), None)
        .await;
    assert_eq!(a.status, 200, "the rule caught one request only");
}

#[tokio::test]
async fn drop_before_closes_the_connection_without_processing() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    emu.fault(json!({"route": "/eod", "mode": "drop_before"}))
        .await;
    let result = emu
        .try_call(Method::POST, "/eod", Some(&eod_body(&sid, "s")), None)
        .await;
    let err = result.err().expect("the client sees a connection error");
    assert!(!err.is_timeout(), "{err}");
    let state = emu.state().await;
    assert_eq!(state["handoffs_count"], 0, "nothing was stored");
    assert_eq!(session_status(&state, &sid), "active");
    let a = emu
        .call(Method::POST, "/eod", Some(&eod_body(&sid, "s")), None)
        .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn drop_after_commits_then_closes_and_a_retry_replays() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    let key = "0f8fad5b-d9cb-469f-a165-70867728950e";
    emu.fault(json!({"route": "/eod", "mode": "drop_after"}))
        .await;
    let result = emu
        .try_call(
            Method::POST,
            "/eod",
            Some(&eod_body(&sid, "after")),
            Some(key),
        )
        .await;
    assert!(result.is_err(), "the client sees a connection error");
    let state = emu.state().await;
    assert_eq!(state["handoffs_count"], 1, "the handoff was stored");
    assert_eq!(state["handoffs"][0]["summary"], "after");
    assert_eq!(state["handoffs"][0]["session_id"], sid.as_str());
    assert_eq!(session_status(&state, &sid), "ended");
    let a = emu
        .call(
            Method::POST,
            "/eod",
            Some(&eod_body(&sid, "after")),
            Some(key),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-idempotency-hit"], "true");
    assert_eq!(
        a.body["handoff"]["payload_hash"],
        state["handoffs"][0]["payload_hash"]
    );
}

#[tokio::test]
async fn drop_sends_no_bytes_and_keep_alive_otherwise_works() {
    let emu = start().await;
    let mut socket = tokio::net::TcpStream::connect(emu.handle.addr())
        .await
        .expect("connect");
    let request = b"GET /health HTTP/1.1\r\nHost: emulator\r\n\r\n";
    for _ in 0..2 {
        socket.write_all(request).await.expect("write");
        let head = read_head(&mut socket).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        let mut body = vec![0; length];
        socket.read_exact(&mut body).await.expect("body");
    }
    emu.fault(json!({"route": "/health", "mode": "drop_before"}))
        .await;
    socket.write_all(request).await.expect("write");
    // The server closes the socket: EOF, or a reset if it left input unread.
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest).await;
    assert!(
        rest.is_empty(),
        "no response bytes, got {:?}",
        String::from_utf8_lossy(&rest)
    );
}

/// Reads an HTTP response head byte by byte (up to the blank line).
async fn read_head(socket: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = socket.read(&mut byte).await.expect("read");
        assert_eq!(
            n,
            1,
            "connection closed mid-head: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn delay_fault_waits_then_processes() {
    let emu = start().await;
    emu.fault(json!({"route": "/health", "mode": "delay", "delay_ms": 300}))
        .await;
    let started = Instant::now();
    let a = emu.call(Method::GET, "/health", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "healthy");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn rules_count_down_match_wildcards_and_apply_in_order() {
    let emu = start().await;
    emu.fault(json!({"route": "*", "mode": "status", "status": 500, "count": 2}))
        .await;
    emu.fault(json!({"route": "/health", "mode": "status", "status": 429}))
        .await;
    let (_, pending) = emu.control(Method::GET, "faults", None).await;
    assert_eq!(pending["faults"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        emu.state().await["handoffs_count"],
        0,
        "control routes are never faulted"
    );
    assert_eq!(
        emu.call(Method::GET, "/health", None, None).await.status,
        500
    );
    assert_eq!(
        emu.call(Method::GET, "/active?agent=a&venture=v&repo=r", None, None)
            .await
            .status,
        500
    );
    let limited = emu.call(Method::GET, "/health", None, None).await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.get("retry-after").is_none());
    assert_eq!(
        emu.call(Method::GET, "/health", None, None).await.status,
        200
    );
}

#[tokio::test]
async fn deleting_faults_clears_the_queue() {
    let emu = start().await;
    for mode in ["drop_before", "drop_after", "status"] {
        emu.fault(json!({"route": "*", "mode": mode, "count": 5}))
            .await;
    }
    let (status, body) = emu.control(Method::DELETE, "faults", None).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    let (_, pending) = emu.control(Method::GET, "faults", None).await;
    assert_eq!(pending["faults"], json!([]));
    assert_eq!(
        emu.call(Method::GET, "/health", None, None).await.status,
        200
    );
}

#[tokio::test]
async fn bad_control_requests_are_rejected() {
    let emu = start().await;
    for body in [
        json!({"route": "/eod", "mode": "explode"}),
        json!({"route": "/eod"}),
        json!({"route": "eod", "mode": "status"}),
        json!({"route": "/eod", "mode": "status", "count": 0}),
        json!({"route": "/eod", "mode": "status", "status": 200}),
    ] {
        let (status, answer) = emu
            .control(Method::POST, "faults", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer["error"].is_string());
    }
    let raw = emu
        .http
        .post(emu.url("/__emulator/faults"))
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(raw.status(), 400);
    let (status, _) = emu
        .control(Method::POST, "clock", Some(json!({"advance_seconds": -5})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = emu.control(Method::GET, "nope", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn advancing_the_clock_makes_a_session_stale() {
    let emu = start().await;
    let first = emu.sod(7).await;
    emu.advance(44 * 60).await;
    assert_eq!(
        emu.sod(7).await,
        first,
        "44 minutes is not stale; the session resumes"
    );
    let now = emu.advance(46 * 60).await;
    let now = now["now"].as_str().expect("now").to_owned();
    let health = emu.call(Method::GET, "/health", None, None).await;
    assert!(health.body["timestamp"].as_str().expect("timestamp") >= now.as_str());
    let second = emu.sod(7).await;
    assert_ne!(second, first, "a stale session is replaced");
    let hb = emu
        .call(
            Method::POST,
            "/heartbeat",
            Some(&json!({"session_id": first})),
            None,
        )
        .await;
    assert_eq!(hb.status, 409);
    assert_eq!(hb.body["error"], "Session is not active");
    assert_eq!(
        hb.body["details"],
        json!({"session_id": first, "status": "abandoned"})
    );
    let state = emu.state().await;
    assert_eq!(session_status(&state, &first), "abandoned");
    assert_eq!(session_status(&state, &second), "active");
}

#[tokio::test]
async fn state_reports_counts_records_and_requests() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    let hb = emu
        .call(
            Method::POST,
            "/heartbeat",
            Some(&json!({"session_id": sid})),
            None,
        )
        .await;
    assert_eq!(hb.status, 200);
    let eod = emu
        .call(Method::POST, "/eod", Some(&eod_body(&sid, "done")), None)
        .await;
    assert_eq!(eod.status, 200);
    assert_eq!(emu.call(Method::GET, "/nope", None, None).await.status, 404);
    let state = emu.state().await;
    assert_eq!(state["sessions_count"], 1);
    assert_eq!(state["handoffs_count"], 1);
    assert_eq!(
        state["requests_count"],
        json!({"/sod": 1, "/heartbeat": 1, "/eod": 1, "/nope": 1})
    );
    assert_eq!(
        state["handoffs"],
        json!([{
            "id": eod.body["handoff_id"],
            "session_id": sid,
            "summary": "done",
            "payload_hash": eod.body["handoff"]["payload_hash"],
        }])
    );
    assert_eq!(
        state["sessions"],
        json!([{"id": sid, "status": "ended", "meta_json": null}])
    );
}

#[tokio::test]
async fn shutdown_refuses_connections_and_a_restart_keeps_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EmulatorConfig {
        db_path: Some(dir.path().join("emulator.db")),
        ..v1_config()
    };
    let emu = start_with(config.clone()).await;
    let addr = emu.handle.addr();
    let sid = emu.sod(1).await;
    let key = "restart-key-000000000000000001";
    let first = emu
        .call(
            Method::POST,
            "/eod",
            Some(&eod_body(&sid, "persisted")),
            Some(key),
        )
        .await;
    assert_eq!(first.status, 200);
    let Emu { handle, http } = emu;
    handle.shutdown().await;

    let refused = tokio::net::TcpStream::connect(addr).await;
    assert_eq!(
        refused.map(drop).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionRefused)
    );
    let pooled = http.get(format!("http://{addr}/health")).send().await;
    assert!(pooled.is_err(), "kept-alive connections were closed too");

    let emu = start_with(EmulatorConfig {
        bind: addr,
        ..config
    })
    .await;
    assert_eq!(emu.handle.addr(), addr);
    let latest = emu
        .call(
            Method::GET,
            &format!("/handoffs/latest?session_id={sid}"),
            None,
            None,
        )
        .await;
    assert_eq!(latest.body["handoff"]["id"], first.body["handoff_id"]);
    let replay = emu
        .call(
            Method::POST,
            "/eod",
            Some(&eod_body(&sid, "persisted")),
            Some(key),
        )
        .await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.headers["x-idempotency-hit"], "true");
    assert_eq!(
        replay.bytes, first.bytes,
        "the stored answer survives a restart"
    );
    assert_eq!(emu.state().await["handoffs_count"], 1);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn a_replay_of_a_64_kib_answer_is_a_truncated_409() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    let key = "ba262bf7-99ae-4a7a-9548-badccfde4f78";
    let body =
        json!({"session_id": sid, "summary": "big", "payload": {"blob": "y".repeat(70_000)}});
    let first = emu.call(Method::POST, "/eod", Some(&body), Some(key)).await;
    assert_eq!(first.status, 200);
    assert!(first.bytes.len() >= 65_536);
    let replay = emu.call(Method::POST, "/eod", Some(&body), Some(key)).await;
    assert_eq!(replay.status, 409);
    assert_eq!(replay.headers["x-idempotency-hit"], "true");
    assert_eq!(replay.headers["x-idempotency-truncated"], "true");
    assert!(replay.headers.get("x-correlation-id").is_none());
    assert_eq!(
        replay.body,
        json!({
            "idempotent": true,
            "response_status": 200,
            "response_hash": sha256_hex(&first.bytes),
            "response_size_bytes": first.bytes.len(),
            "message": "Response body was too large to cache. Original request succeeded.",
        })
    );
}

#[tokio::test]
async fn an_idempotency_key_expires_after_an_hour_of_emulator_time() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    let key = "ttl-key-0000000000000000000001";
    let body = eod_body(&sid, "ttl");
    assert_eq!(
        emu.call(Method::POST, "/eod", Some(&body), Some(key))
            .await
            .status,
        200
    );
    emu.advance(59 * 60).await;
    let replay = emu.call(Method::POST, "/eod", Some(&body), Some(key)).await;
    assert_eq!(replay.status, 200);
    assert_eq!(
        replay.headers["x-idempotency-hit"], "true",
        "still replayed after 59 minutes"
    );
    emu.advance(2 * 60).await;
    let late = emu.call(Method::POST, "/eod", Some(&body), Some(key)).await;
    assert_eq!(late.status, 409);
    assert_eq!(late.body["error"], "Session is not active");
    assert_eq!(
        late.body["details"],
        json!({"session_id": sid, "status": "ended"})
    );
    assert!(late.headers.get("x-idempotency-hit").is_none());
    assert!(late.headers.get("x-correlation-id").is_some());
    let latest = emu
        .call(
            Method::GET,
            &format!("/handoffs/latest?session_id={sid}"),
            None,
            None,
        )
        .await;
    let sent = CanonicalPayload::new(&body["payload"]).expect("canonical");
    assert_eq!(latest.body["handoff"]["payload_hash"], sent.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_duplicates_act_once() {
    let emu = std::sync::Arc::new(start().await);
    let sid = emu.sod(1).await;
    let key = "race-key-00000000000000000001";
    let body = eod_body(&sid, "race");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let emu = std::sync::Arc::clone(&emu);
            let body = body.clone();
            tokio::spawn(
                async move { emu.call(Method::POST, "/eod", Some(&body), Some(key)).await },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    assert!(answers.iter().all(|a| a.status == 200));
    let hits = answers
        .iter()
        .filter(|a| a.headers.contains_key("x-idempotency-hit"))
        .count();
    assert_eq!(hits, 7, "exactly one request acted");
    assert!(answers
        .iter()
        .all(|a| a.body["handoff_id"] == answers[0].body["handoff_id"]));
    assert_eq!(emu.state().await["handoffs_count"], 1);
}

#[tokio::test]
async fn heartbeat_intervals_follow_the_configured_range() {
    let emu = start_with(EmulatorConfig {
        heartbeat_interval_seconds: (1, 2),
        ..v1_config()
    })
    .await;
    let body = json!({"agent": "a", "venture": "v", "repo": "r"});
    for _ in 0..5 {
        let a = emu.call(Method::POST, "/sod", Some(&body), None).await;
        let interval = a.body["heartbeat_interval_seconds"]
            .as_i64()
            .expect("interval");
        assert!((1..=2).contains(&interval), "{interval}");
        let last: jiff::Timestamp = a.body["session"]["last_heartbeat_at"]
            .as_str()
            .expect("ts")
            .parse()
            .expect("parse");
        let next: jiff::Timestamp = a.body["next_heartbeat_at"]
            .as_str()
            .expect("ts")
            .parse()
            .expect("parse");
        assert_eq!(
            next.as_millisecond() - last.as_millisecond(),
            interval * 1000
        );
        assert_eq!(
            a.body["documentation"]["count"], 3,
            "docs are included by default"
        );
    }
}

#[tokio::test]
async fn an_oversized_request_body_is_413() {
    let emu = start().await;
    let sid = emu.sod(1).await;
    let body =
        json!({"session_id": sid, "summary": "huge", "payload": {"blob": "z".repeat(1_100_000)}});
    let a = emu.call(Method::POST, "/eod", Some(&body), None).await;
    assert_eq!(a.status, 413);
    assert_eq!(a.body["error"], "Request body too large");
    assert_eq!(emu.state().await["handoffs_count"], 0);
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_its_address_and_stops_on_sigterm() {
    let exe = env!("CARGO_BIN_EXE_crane-context-emulator");
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--port",
            "0",
            "--key",
            "binary-key",
            "--heartbeat-interval",
            "1-2",
            "--protocol",
            "v1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn emulator binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("the address line arrives")
    .expect("read stdout");
    let url = line
        .trim()
        .strip_prefix("crane-context-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = http_client();
    let sod = http
        .post(format!("{url}/sod"))
        .header("X-Relay-Key", "binary-key")
        .json(&json!({"agent": "a", "venture": "v", "repo": "r"}))
        .send()
        .await
        .expect("sod");
    assert_eq!(sod.status(), 200);
    let body: Value = sod.json().await.expect("json");
    assert!((1..=2).contains(&body["heartbeat_interval_seconds"].as_i64().unwrap_or(0)));

    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status:?}");

    let bad = tokio::process::Command::new(exe)
        .arg("--port=notaport")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .expect("run");
    assert_eq!(bad.code(), Some(2));
}
