//! The emulator's v2 mode beyond what a recording shows: the protocol switch,
//! faults and the clock on v2 routes, and the lifecycle rules of the v2
//! contract that a fixture replay checks only by shape (lazy staleness,
//! resume, `keep_session_open`, shared idempotency scopes, non-idempotent
//! checkpoints, note upserts, the size limits).
#![cfg(feature = "emulator")]

use std::time::Duration;

use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};
use serde_json::{json, Value};

const KEY: &str = "test-relay-key-0123456789abcdef";
const AGENT: &str = "crane-mcp-test-host-0001";

struct Emu {
    handle: EmulatorHandle,
    http: reqwest::Client,
}

impl Emu {
    async fn start(protocol: Protocol) -> Self {
        let handle = Emulator::start(EmulatorConfig {
            relay_key: KEY.into(),
            protocol,
            ..EmulatorConfig::default()
        })
        .await
        .expect("emulator starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        Self { handle, http }
    }

    /// Sends a request with the relay key (and `idem` as Idempotency-Key).
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.handle.url()))
            .header("X-Relay-Key", KEY);
        if let Some(key) = idem {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn control(&self, path: &str, body: Value) {
        let resp = self
            .http
            .post(format!("{}/__emulator/{path}", self.handle.url()))
            .json(&body)
            .send()
            .await
            .expect("control request");
        assert!(resp.status().is_success(), "control {path}");
    }

    async fn sos(&self, extra: Value) -> Value {
        let mut body = json!({"agent": AGENT, "venture": "vc", "repo": "owner/repo", "track": 1});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, _, answer) = self.call("POST", "/sos", Some(body), None).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

#[tokio::test]
async fn v2_is_the_default_and_v1_knows_no_v2_routes() {
    assert_eq!(EmulatorConfig::default().protocol, Protocol::V2);
    let emu = Emu::start(Protocol::V1).await;
    for (method, path) in [("GET", "/version"), ("GET", "/ventures"), ("POST", "/sos")] {
        let (status, _, body) = emu.call(method, path, Some(json!({})), None).await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(
            body["error"],
            format!("Endpoint not found: {method} {path}")
        );
    }
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_v2_routes() {
    let emu = Emu::start(Protocol::V2).await;
    emu.control(
        "faults",
        json!({"route": "/sos", "mode": "status", "status": 503, "retry_after": 7}),
    )
    .await;
    let body = json!({"agent": AGENT, "venture": "vc", "repo": "owner/repo"});
    let (status, headers, _) = emu.call("POST", "/sos", Some(body.clone()), None).await;
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "7");
    let (status, _, _) = emu.call("POST", "/sos", Some(body), None).await;
    assert_eq!(status, 200);
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn staleness_is_lazy_and_enforced_only_by_sos() {
    let emu = Emu::start(Protocol::V2).await;
    let first = emu.sos(json!({})).await;
    let id = str_at(&first, "/session_id").to_owned();
    emu.control("clock", json!({"advance_seconds": 46 * 60}))
        .await;
    // Still listed and still accepted: nobody replaced it.
    let (_, _, active) = emu.call("GET", "/active?venture=vc", None, None).await;
    assert_eq!(active["count"], 1);
    let (status, _, revived) = emu
        .call("POST", "/heartbeat", Some(json!({"session_id": id})), None)
        .await;
    assert_eq!(status, 200, "heartbeat revives a stale session");
    let heartbeat = str_at(&revived, "/last_heartbeat_at").to_owned();
    emu.control("clock", json!({"advance_seconds": 46 * 60}))
        .await;
    let second = emu.sos(json!({})).await;
    assert_eq!(second["status"], "created");
    assert_ne!(str_at(&second, "/session_id"), id);
    let (status, _, body) = emu
        .call("POST", "/heartbeat", Some(json!({"session_id": id})), None)
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["details"]["status"], "abandoned");
    let prior = format!("/sessions/prior?agent={AGENT}&venture=vc&repo=owner/repo");
    let (_, _, body) = emu.call("GET", &prior, None, None).await;
    assert_eq!(body["session"]["id"], id.as_str());
    assert_eq!(body["session"]["end_reason"], "stale");
    assert_eq!(
        body["session"]["ended_at"],
        heartbeat.as_str(),
        "ends at its last heartbeat"
    );
    assert_eq!(
        body["session"]["ended_at"],
        body["session"]["last_activity_at"]
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn resume_changes_only_the_heartbeat_and_a_missing_client_session_id() {
    let emu = Emu::start(Protocol::V2).await;
    let first = emu.sos(json!({"branch": "main"})).await;
    let again = emu
        .sos(json!({"branch": "other", "client_session_id": "cs-1", "session_group_id": "g"}))
        .await;
    assert_eq!(again["status"], "resumed");
    assert_eq!(again["session_id"], first["session_id"]);
    assert_eq!(again["session"]["branch"], "main");
    assert_eq!(again["session"]["client_session_id"], "cs-1");
    assert_eq!(again["session"]["session_group_id"], Value::Null);
    // An absent track matches every track; duplicates are superseded.
    emu.sos(json!({"track": 2})).await;
    let any = emu
        .call(
            "POST",
            "/sos",
            Some(json!({"agent": AGENT, "venture": "vc", "repo": "owner/repo"})),
            None,
        )
        .await
        .2;
    assert_eq!(any["status"], "resumed");
    let (_, _, active) = emu.call("GET", "/active", None, None).await;
    assert_eq!(
        active["count"], 1,
        "the other track's session was superseded"
    );
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn eos_keep_open_then_end_and_shared_idempotency_scopes() {
    let emu = Emu::start(Protocol::V2).await;
    let id = str_at(&emu.sos(json!({})).await, "/session_id").to_owned();
    let (status, _, open) = emu
        .call(
            "POST",
            "/eos",
            Some(json!({"session_id": id, "summary": "part", "keep_session_open": true})),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(open["ended_at"], Value::Null);
    assert_eq!(open["handoff"]["payload_json"], "{}");
    let key = "eos-key-000000000000000001";
    let end = json!({"session_id": id, "summary": "done", "payload": [1, 2], "end_reason": "handed-over"});
    let (status, _, ended) = emu.call("POST", "/eos", Some(end.clone()), Some(key)).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["handoff"]["payload_json"], "[1,2]");
    // `/eod` shares the `/eos` scope: the repeat is the stored answer.
    let (status, headers, replay) = emu.call("POST", "/eod", Some(end), Some(key)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-idempotency-hit"], "true");
    assert_eq!(replay["handoff_id"], ended["handoff_id"]);
    let (_, _, list) = emu
        .call("GET", &format!("/handoffs?session_id={id}"), None, None)
        .await;
    assert_eq!(list["total"], 2);
    let prior = format!("/sessions/prior?agent={AGENT}&venture=vc&repo=owner/repo");
    let (_, _, body) = emu.call("GET", &prior, None, None).await;
    assert_eq!(body["session"]["end_reason"], "handed-over");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn checkpoints_are_not_idempotent_and_notes_upsert_by_source_hash() {
    let emu = Emu::start(Protocol::V2).await;
    let id = str_at(&emu.sos(json!({})).await, "/session_id").to_owned();
    let checkpoint = json!({"session_id": id, "summary": "s", "next_actions": ["x"]});
    let key = Some("checkpoint-key-0000000001");
    let (_, _, one) = emu
        .call("POST", "/checkpoint", Some(checkpoint.clone()), key)
        .await;
    let (status, _, two) = emu.call("POST", "/checkpoint", Some(checkpoint), key).await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            one["checkpoint_number"].clone(),
            two["checkpoint_number"].clone()
        ),
        (json!(1), json!(2))
    );
    let (_, _, list) = emu
        .call("GET", &format!("/checkpoints?session_id={id}"), None, None)
        .await;
    assert_eq!(list["checkpoints"][0]["next_actions"], "[\"x\"]");
    let note = |content: &str| json!({"content": content, "source_hash": "h1", "tags": ["t"]});
    let (s1, _, a) = emu.call("POST", "/notes", Some(note("one")), None).await;
    let (s2, _, b) = emu.call("POST", "/notes", Some(note("two")), None).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a["note"]["id"], b["note"]["id"]);
    assert_eq!(b["note"]["content"], "two");
    assert_eq!(b["note"]["tags"], "[\"t\"]");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn request_size_limits() {
    let emu = Emu::start(Protocol::V2).await;
    let big = "x".repeat(1_100_000);
    let body = json!({"agent": AGENT, "venture": "vc", "repo": "owner/repo", "meta": {"b": big}});
    let (status, _, answer) = emu.call("POST", "/sos", Some(body), None).await;
    assert_eq!(status, 413);
    assert_eq!(answer["details"]["max_size_bytes"], 1_048_576);
    let id = str_at(&emu.sos(json!({})).await, "/session_id").to_owned();
    let payload = json!({"blob": "y".repeat(819_200)});
    let (status, _, answer) = emu
        .call(
            "POST",
            "/eos",
            Some(json!({"session_id": id, "summary": "s", "payload": payload})),
            None,
        )
        .await;
    assert_eq!(status, 413);
    assert!(str_at(&answer, "/error").starts_with("Handoff payload too large"));
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn answers_are_pretty_printed_like_the_worker_except_health() {
    let emu = Emu::start(Protocol::V2).await;
    let text = |path: &'static str| {
        let http = emu.http.clone();
        let url = format!("{}{path}", emu.handle.url());
        async move {
            let resp = http.get(url).header("X-Relay-Key", KEY).send().await;
            resp.expect("request").text().await.expect("body")
        }
    };
    assert!(text("/version").await.starts_with("{\n  \""));
    assert!(text("/active").await.contains("\n  \"count\": 0"));
    assert!(!text("/health").await.contains('\n'));
    let (status, _, _) = emu.call("GET", "/notes/", None, None).await;
    assert_eq!(status, 404, "an empty note id is no route");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn doc_audit_counts_present_and_stale_documents() {
    let emu = Emu::start(Protocol::V2).await;
    let doc = json!({"scope": "vc", "doc_name": "vc-api.md", "content": "# API"});
    emu.control("docs", doc).await;
    let (_, _, body) = emu.call("GET", "/docs/audit?venture=vc", None, None).await;
    assert_eq!(
        body["audit"]["summary"],
        "Venture Crane: 8 missing, 1 present"
    );
    assert_eq!(body["audit"]["present"][0]["doc_name"], "vc-api.md");
    emu.control("clock", json!({"advance_seconds": 91 * 86_400}))
        .await;
    let (_, _, body) = emu.call("GET", "/docs/audit?venture=vc", None, None).await;
    assert_eq!(body["audit"]["stale"][0]["days_since_update"], 91);
    assert_eq!(body["audit"]["status"], "incomplete");
    let (_, _, body) = emu.call("GET", "/docs/audit?venture=zz", None, None).await;
    assert_eq!(body["audit"]["summary"], "Unknown venture: zz");
    let sos = emu.sos(json!({"docs_format": "full"})).await;
    assert_eq!(sos["documentation"]["count"], 1);
    assert_eq!(sos["doc_audit"]["stale"][0]["doc_name"], "vc-api.md");
    emu.handle.shutdown().await;
}

#[tokio::test]
async fn idempotency_keys_live_to_the_end_of_their_expiry_day() {
    let emu = Emu::start(Protocol::V2).await;
    let clock: Value = emu
        .http
        .get(format!("{}/__emulator/clock", emu.handle.url()))
        .send()
        .await
        .expect("clock")
        .json()
        .await
        .expect("clock body");
    // Keep the expiry (now + 1 h) and one minute after it on one UTC day.
    if str_at(&clock, "/now").get(11..16) == Some("22:59") {
        emu.control("clock", json!({"advance_seconds": 120})).await;
    }
    let id = str_at(&emu.sos(json!({})).await, "/session_id").to_owned();
    let update = json!({"session_id": id, "branch": "b"});
    let key = Some("update-ttl-key-0000000001");
    emu.call("POST", "/update", Some(update.clone()), key).await;
    emu.control("clock", json!({"advance_seconds": 61 * 60}))
        .await;
    let (_, headers, _) = emu.call("POST", "/update", Some(update.clone()), key).await;
    assert_eq!(
        headers["x-idempotency-hit"], "true",
        "past expiry, same day"
    );
    emu.control("clock", json!({"advance_seconds": 25 * 3600}))
        .await;
    let (status, headers, _) = emu.call("POST", "/update", Some(update), key).await;
    assert_eq!(status, 200);
    assert!(headers.get("x-idempotency-hit").is_none(), "the next day");
    emu.handle.shutdown().await;
}

/// A client sending an oversized body hears the 413, never a reset: the
/// emulator reads (and discards) what the client is still sending before it
/// answers, so closing the connection cannot race the client's upload. Many
/// rounds, a few at a time, because the race shows only when the reply wins
/// it (before the fix this failed 4 runs in 5 with 200 requests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_always_answered_never_reset() {
    let emu = Emu::start(Protocol::V2).await;
    let body = json!({"agent": AGENT, "venture": "vc", "repo": "owner/repo",
        "meta": {"pad": "p".repeat(1_100_000)}});
    let bytes = serde_json::to_vec(&body).expect("body");
    let url = format!("{}/sos", emu.handle.url());
    let mut failures = Vec::new();
    for _round in 0..100 {
        let sends = (0..4).map(|_| {
            emu.http
                .post(&url)
                .header("X-Relay-Key", KEY)
                .header("Content-Type", "application/json")
                .body(bytes.clone())
                .send()
        });
        for outcome in futures_util::future::join_all(sends).await {
            match outcome {
                Ok(resp) if resp.status() == 413 => {}
                Ok(resp) => failures.push(format!("status {}", resp.status())),
                Err(e) => failures.push(format!("{e:?}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 400: {:?}",
        failures.len(),
        failures.first()
    );
    emu.handle.shutdown().await;
}
