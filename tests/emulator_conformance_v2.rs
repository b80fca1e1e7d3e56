//! Conformance of the emulator's v2 mode: every recorded exchange with the
//! v2 service (`tests/fixtures/crane-context-v2`), replayed in filename order
//! against one fresh emulator started with `Protocol::V2`, must get the same
//! kind of answer.
//!
//! Same approach as `emulator_conformance.rs` (v1): status, presence of the
//! headers clients act on, body shape (keys and JSON types, recursively) and
//! the values that must be identical (error messages and validation details
//! included). Ids learned from live answers — at any depth, so a note's `id`
//! or a nested `next_cursor` count too — replace recorded ones in later
//! requests, and timestamps in request bodies move by the whole minutes
//! between the recording's clock and the emulator's (learned from the first
//! session created), so activity events land where they did relative to
//! their session. Per-fixture setup is limited to what a
//! recording could not carry: the document uploaded through the admin API
//! before recording, and clock moves standing in for the database edits that
//! aged sessions (091–097). Fixtures that cannot match on replay are listed
//! in [`EXPECTED_MISMATCHES`] with the reason, values that count data of
//! earlier recording runs in [`GLOBAL_VALUES`]; the test fails if a listed
//! fixture starts matching, so the list stays honest.
#![cfg(feature = "emulator")]

mod common;

use std::path::PathBuf;

use common::recorded::{self, type_name, Fixture, Live, CHECKED_HEADERS};
use crane_context::emulator::{Emulator, EmulatorConfig, Protocol};
use jiff::Timestamp;
use serde_json::{json, Value};

const KEY: &str = "test-relay-key-0123456789abcdef";
/// Fixtures that cannot match on replay, with the reason.
const EXPECTED_MISMATCHES: &[(&str, &str)] = &[(
    "089-sessions-history.json",
    "covers every agent's ended sessions of the last day on the recording worker, which \
     held sessions of earlier recording runs (an `smd` entry); a fresh emulator has only \
     this run's `vc` sessions at that point",
)];

/// Values that depend on data the recording worker held from earlier runs:
/// (fixture, key, reason). The key's type is still compared.
const GLOBAL_VALUES: &[(&str, &str, &str)] = &[(
    "073-handoffs-by-agent.json",
    "total",
    "counts every handoff of the agent, including earlier recording runs' (22)",
)];

/// Keys whose values (not only types) must match the recording.
const VALUE_KEYS: [&str; 27] = [
    "error",
    "status",
    "end_reason",
    "payload_hash",
    "payload_size_bytes",
    "payload_json",
    "count",
    "has_more",
    "gate",
    "archived",
    "checkpoint_number",
    // Same size as recorded: the stored answer is pretty-printed like the
    // worker's, so the 64 KiB truncation falls at the same payload size.
    "response_size_bytes",
    "response_status",
    "field",
    "message",
    "total",
    "total_matching",
    "recorded",
    "skipped",
    "skipped_out_of_window",
    "status_label",
    "venture",
    "tags",
    "session_group_id",
    "content_hash",
    "summary",
    "doc_name",
];
/// Keys whose recorded values are ids or cursors to translate later.
const LEARNED_KEYS: [&str; 5] = [
    "id",
    "session_id",
    "handoff_id",
    "checkpoint_id",
    "next_cursor",
];

fn fixtures_dir() -> PathBuf {
    recorded::dir("crane-context-v2")
}

/// Replays fixtures, translating recorded ids and cursors to live ones.
struct Replayer {
    http: reqwest::Client,
    base: String,
    /// (recorded, live) pairs learned from answers so far.
    translations: Vec<(String, String)>,
    /// Whole minutes from the recording's clock to the emulator's, learned
    /// from the first session created (rounded up, so a timestamp shifted by
    /// it keeps its minute bucket and its place after the session's start).
    shift_minutes: Option<i64>,
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
                let mut body = other.clone();
                if let Some(minutes) = self.shift_minutes {
                    shift_timestamps(&mut body, minutes);
                }
                let text = serde_json::to_string(&body).map_err(|e| e.to_string())?;
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

    /// Learns live ids (and cursors) from an answer to the same request, at
    /// any depth of the body.
    fn learn(&mut self, recorded: &Value, live: &Value) {
        match (recorded, live) {
            (Value::Object(r), Value::Object(l)) => {
                if let (None, Some(rs), Some(ls)) = (
                    self.shift_minutes,
                    r.get("created_at").and_then(Value::as_str),
                    l.get("created_at").and_then(Value::as_str),
                ) {
                    if let (Ok(rt), Ok(lt)) = (rs.parse::<Timestamp>(), ls.parse::<Timestamp>()) {
                        let ms = lt.as_millisecond() - rt.as_millisecond();
                        self.shift_minutes = Some(ms.div_euclid(60_000) + 1);
                    }
                }
                for (key, rv) in r {
                    let Some(lv) = l.get(key) else { continue };
                    if let (true, Some(rs), Some(ls)) = (
                        LEARNED_KEYS.contains(&key.as_str()),
                        rv.as_str(),
                        lv.as_str(),
                    ) {
                        if rs != ls && !self.translations.iter().any(|(known, _)| known == rs) {
                            self.translations.push((rs.to_owned(), ls.to_owned()));
                        }
                    }
                    self.learn(rv, lv);
                }
            }
            (Value::Array(r), Value::Array(l)) => {
                for (rv, lv) in r.iter().zip(l) {
                    self.learn(rv, lv);
                }
            }
            _ => {}
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

/// Moves every millisecond ISO timestamp in a request body by `minutes`
/// (activity events, `last_activity_at`): the recording's clock is in the past
/// of the emulator's, which cannot go back.
fn shift_timestamps(value: &mut Value, minutes: i64) {
    match value {
        Value::String(text) if text.len() == 24 && text.ends_with('Z') => {
            if let Ok(ts) = text.parse::<Timestamp>() {
                if let Ok(moved) = ts.checked_add(jiff::SignedDuration::from_mins(minutes)) {
                    *text = moved.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_timestamps(v, minutes)),
        Value::Object(map) => map.values_mut().for_each(|v| shift_timestamps(v, minutes)),
        _ => {}
    }
}

/// Compares shapes recursively, collecting differences as `path: what`.
fn compare(
    path: &str,
    key: Option<&str>,
    recorded: &Value,
    live: &Value,
    skip: &[&str],
    diffs: &mut Vec<String>,
) {
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
                    compare(&format!("{path}.{k}"), Some(k), rv, lv, skip, diffs);
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
                compare(&format!("{path}[{i}]"), None, rv, lv, skip, diffs);
            }
        }
        _ => {
            let checked = key.is_some_and(|k| VALUE_KEYS.contains(&k) && !skip.contains(&k));
            if checked && recorded != live {
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
            Ok(body) => {
                let skip: Vec<&str> = GLOBAL_VALUES
                    .iter()
                    .filter(|(file, ..)| *file == fx.file)
                    .map(|(_, key, _)| *key)
                    .collect();
                compare("body", None, recorded, &body, &skip, &mut diffs);
            }
            Err(e) => diffs.push(format!(
                "body: live answer is not JSON ({e}): {:?}",
                live.text
            )),
        },
    }
    diffs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v2_fixture_replays_against_the_emulator_in_v2_mode() {
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
        protocol: Protocol::V2,
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
        shift_minutes: None,
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
            // The recording uploaded this document through the admin API
            // before the first request.
            "health" => replayer.control("docs", seeded_doc()).await,
            // The recording moved the session's heartbeat 50 minutes back
            // (before the stale session was listed, and again before the
            // `/sos` that abandons it).
            "active-lists-stale-session" | "sos-after-stale-creates-new" => {
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

    let expected: Vec<&str> = EXPECTED_MISMATCHES.iter().map(|(file, _)| *file).collect();
    let mut unexpected = Vec::new();
    for failure in &failures {
        let known = expected.iter().any(|file| failure.starts_with(file));
        println!("{} {failure}", if known { "EXPECTED" } else { "FAIL" });
        if !known {
            unexpected.push(failure.clone());
        }
    }
    let now_matching: Vec<&str> = expected
        .iter()
        .filter(|file| !failures.iter().any(|f| f.starts_with(*file)))
        .copied()
        .collect();
    println!(
        "{} of {} v2 fixtures match",
        files.len() - failures.len(),
        files.len()
    );
    assert!(
        unexpected.is_empty() && now_matching.is_empty(),
        "{} unexpected mismatches of {} fixtures:\n{}\nlisted as mismatching but now matching \
         (remove from EXPECTED_MISMATCHES): {now_matching:?}",
        unexpected.len(),
        files.len(),
        unexpected.join("\n")
    );
}

/// The document the recording seeded (`smd/sdk-fixture-guide.md`).
fn seeded_doc() -> Value {
    json!({
        "scope": "smd",
        "doc_name": "sdk-fixture-guide.md",
        "title": "SDK fixture guide",
        "description": "Seeded by record_fixtures_v2.py",
        "content": "# SDK fixture guide\n\nA document for the /docs fixtures.\n",
    })
}

#[test]
fn shape_comparison_catches_differences() {
    let mut diffs = Vec::new();
    compare(
        "body",
        None,
        &json!({"a": 1, "error": "x", "list": [{"k": null}], "details": [] }),
        &json!({"a": 2, "error": "y", "list": [{"k": "s"}], "details": {}, "extra": true}),
        &[],
        &mut diffs,
    );
    assert_eq!(diffs.len(), 4, "{diffs:#?}");
    let mut same = Vec::new();
    compare(
        "body",
        None,
        &json!({"a": 1, "count": 2}),
        &json!({"a": 5, "count": 2}),
        &[],
        &mut same,
    );
    assert!(same.is_empty(), "{same:?}");
}
