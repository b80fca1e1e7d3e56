//! Conformance: every recorded exchange with the real service, replayed
//! against one fresh emulator, must get the same kind of answer.
//!
//! The fixtures in `tests/fixtures/crane-context-v1` are the ground truth of
//! the wire contract. This test walks the folder in filename order (so a new
//! fixture is picked up without editing the test), sends each request over
//! real HTTP, and compares status, the presence of the headers clients act on,
//! and the body's shape (keys and JSON types, recursively) plus the values that
//! must be identical (`error`, `status`, `payload_hash`, …). Ids differ between
//! runs, so ids learned from live answers replace recorded ones in later
//! requests. Per-fixture setup is limited to what a recording could not carry:
//! an idempotency key stored by an earlier recording run, and 46 minutes of
//! simulated time before the staleness exchange.
#![cfg(feature = "emulator")]

mod common;

use std::path::PathBuf;

use common::recorded::{self, type_name, Fixture, Live, CHECKED_HEADERS};
use crane_context::emulator::{Emulator, EmulatorConfig, Protocol};
use serde_json::{json, Value};

const KEY: &str = "test-relay-key-0123456789abcdef";
/// Keys whose values (not only types) must match the recording.
const VALUE_KEYS: [&str; 8] = [
    "error",
    "status",
    "end_reason",
    "payload_hash",
    "payload_size_bytes",
    "payload_json",
    "count",
    "has_more",
];
fn fixtures_dir() -> PathBuf {
    recorded::dir("crane-context-v1")
}

/// Replays fixtures, translating recorded ids and cursors to live ones.
struct Replayer {
    http: reqwest::Client,
    base: String,
    /// (recorded, live) pairs learned from answers so far.
    translations: Vec<(String, String)>,
}

impl Replayer {
    fn translate(&self, text: &str) -> String {
        let mut out = text.replace("<relay-key>", KEY);
        for (recorded, live) in &self.translations {
            out = out.replace(recorded.as_str(), live);
        }
        out
    }

    async fn send(&self, fx: &Fixture) -> Result<Live, String> {
        let method =
            reqwest::Method::from_bytes(fx.method.as_bytes()).map_err(|e| e.to_string())?;
        let url = format!("{}{}", self.base, self.translate(&fx.path));
        let mut req = self.http.request(method, url);
        for (name, value) in &fx.headers {
            req = req.header(name.as_str(), self.translate(value));
        }
        match &fx.body {
            Value::Null => {}
            Value::String(raw) => req = req.body(self.translate(raw)),
            other => {
                let text = serde_json::to_string(other).map_err(|e| e.to_string())?;
                req = req.body(self.translate(&text));
            }
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("reading body: {e}"))?;
        Ok(Live {
            status,
            headers,
            text,
        })
    }

    /// Learns live ids (and cursors) from an answer to the same request.
    fn learn(&mut self, recorded: &Value, live: &Value) {
        for key in ["session_id", "handoff_id", "next_cursor"] {
            if let (Some(r), Some(l)) = (
                recorded.get(key).and_then(Value::as_str),
                live.get(key).and_then(Value::as_str),
            ) {
                if r != l && !self.translations.iter().any(|(known, _)| known == r) {
                    self.translations.push((r.to_owned(), l.to_owned()));
                }
            }
        }
    }

    async fn control(&self, path: &str, body: Value) -> Result<(), String> {
        let resp = self
            .http
            .post(format!("{}/__emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("control {path} answered {}", resp.status()))
        }
    }
}

/// Compares shapes recursively, collecting differences as `path: what`.
fn compare(path: &str, key: Option<&str>, recorded: &Value, live: &Value, diffs: &mut Vec<String>) {
    if type_name(recorded) != type_name(live) {
        diffs.push(format!(
            "{path}: recorded {} {recorded}, live {} {live}",
            type_name(recorded),
            type_name(live)
        ));
        return;
    }
    match (recorded, live) {
        (Value::Object(r), Value::Object(l)) => {
            for k in r.keys().filter(|k| !l.contains_key(*k)) {
                diffs.push(format!("{path}.{k}: missing in live answer"));
            }
            for k in l.keys().filter(|k| !r.contains_key(*k)) {
                diffs.push(format!("{path}.{k}: not in recording"));
            }
            for (k, rv) in r {
                if let Some(lv) = l.get(k) {
                    compare(&format!("{path}.{k}"), Some(k), rv, lv, diffs);
                }
            }
        }
        (Value::Array(r), Value::Array(l)) => {
            if r.len() != l.len() {
                diffs.push(format!(
                    "{path}: recorded {} items, live {}",
                    r.len(),
                    l.len()
                ));
                return;
            }
            for (i, (rv, lv)) in r.iter().zip(l).enumerate() {
                compare(&format!("{path}[{i}]"), None, rv, lv, diffs);
            }
        }
        _ => {
            if key.is_some_and(|k| VALUE_KEYS.contains(&k)) && recorded != live {
                diffs.push(format!("{path}: recorded {recorded}, live {live}"));
            }
        }
    }
}

/// All differences between a recorded answer and a live one.
fn differences(fx: &Fixture, live: &Live) -> Vec<String> {
    let mut diffs = Vec::new();
    if fx.status != live.status {
        diffs.push(format!(
            "status: recorded {}, live {}",
            fx.status, live.status
        ));
    }
    for header in CHECKED_HEADERS {
        let recorded = fx.response_headers.iter().any(|h| h == header);
        let present = live.headers.contains_key(header);
        if recorded != present {
            diffs.push(format!(
                "header {header}: recorded present={recorded}, live present={present}"
            ));
        }
    }
    match &fx.response_body {
        Value::String(text) => {
            if &live.text != text {
                diffs.push(format!(
                    "body: recorded text {text:?}, live {:?}",
                    live.text
                ));
            }
        }
        recorded => match serde_json::from_str::<Value>(&live.text) {
            Ok(body) => compare("body", None, recorded, &body, &mut diffs),
            Err(e) => diffs.push(format!(
                "body: live answer is not JSON ({e}): {:?}",
                live.text
            )),
        },
    }
    diffs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_replays_against_the_emulator() {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures folder {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());

    let emulator = Emulator::start(EmulatorConfig {
        relay_key: KEY.into(),
        // The v1 recordings replay against the v1 mode (v2: emulator_conformance_v2.rs).
        protocol: Protocol::V1,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let mut replayer = Replayer {
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client"),
        base: emulator.url(),
        translations: Vec::new(),
    };

    let mut failures = Vec::new();
    for file in &files {
        let fx = match Fixture::load(file) {
            Ok(fx) => fx,
            Err(e) => {
                failures.push(format!("{}: unreadable fixture: {e}", file.display()));
                continue;
            }
        };
        // Setup a recording cannot carry.
        let setup = match fx.name.as_str() {
            // The recording replayed a key stored by an earlier recording run.
            "update-update-id-in-body" => replayer.send(&fx).await.map(drop),
            // The recording aged the session's heartbeat past 45 minutes.
            "sod-after-stale-creates-new" => {
                replayer
                    .control("clock", json!({ "advance_seconds": 46 * 60 }))
                    .await
            }
            _ => Ok(()),
        };
        if let Err(e) = setup {
            failures.push(format!("{}: setup failed: {e}", fx.file));
            continue;
        }
        let live = match replayer.send(&fx).await {
            Ok(live) => live,
            Err(e) => {
                failures.push(format!("{}: {e}", fx.file));
                continue;
            }
        };
        let diffs = differences(&fx, &live);
        if let Ok(body) = serde_json::from_str::<Value>(&live.text) {
            replayer.learn(&fx.response_body, &body);
        }
        if !diffs.is_empty() {
            failures.push(format!("{}: {}", fx.file, diffs.join("; ")));
        }
    }
    emulator.shutdown().await;

    for failure in &failures {
        println!("FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures did not match:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn shape_comparison_catches_differences() {
    let mut diffs = Vec::new();
    compare(
        "body",
        None,
        &json!({"a": 1, "error": "x", "list": [{"k": null}], "details": [] }),
        &json!({"a": 2, "error": "y", "list": [{"k": "s"}], "details": {}, "extra": true}),
        &mut diffs,
    );
    assert_eq!(diffs.len(), 4, "{diffs:#?}");
    let mut same = Vec::new();
    compare(
        "body",
        None,
        &json!({"a": 1, "count": 2}),
        &json!({"a": 5, "count": 2}),
        &mut same,
    );
    assert!(same.is_empty(), "{same:?}");
}
