//! Every recorded v2 exchange of the routes v2 added beyond the session life
//! cycle (and of the v1 reads it extended), decoded by the SDK.
//!
//! The folder `tests/fixtures/crane-context-v2` is iterated, so a new
//! fixture is covered without touching this file. Each 2xx body must decode
//! into its route's typed response, and the typed value must *mirror* the
//! body: serialized again, every field the server sent is there with the
//! same value (JSON-text lists compared as lists, 0/1 flags as booleans,
//! timestamps as instants), so a field the types lose, rename or misread
//! fails the test. Each failure must classify into the expected error with
//! the server's correlation id. Life-cycle routes (`/sos`, `/eos`, `/update`,
//! `/heartbeat`) and `/version`, `/ventures` are decoded elsewhere.

use std::path::PathBuf;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::model::v2::*;
use crate::model::{ActiveSessions, HandoffPage, LatestHandoff};
use crate::transport::{classify, decode, Outcome, Reply};
use crate::Error;

/// Routes whose exchanges other tests decode.
const ELSEWHERE: &[&str] = &[
    "/health",
    "/version",
    "/ventures",
    "/sos",
    "/sod",
    "/eos",
    "/eod",
    "/update",
    "/heartbeat",
];

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crane-context-v2");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 140, "found {} v2 fixtures", files.len());
    files
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

/// Whether `typed` (our serialization) carries `wire` (the server's value).
fn same_value(typed: &Value, wire: &Value) -> bool {
    match (typed, wire) {
        (Value::Object(_), Value::Object(_)) => mirrors(typed, wire).is_ok(),
        (Value::Array(t), Value::Array(w)) => {
            t.len() == w.len() && t.iter().zip(w).all(|(a, b)| same_value(a, b))
        }
        // A list the server stores as JSON text.
        (Value::Array(_) | Value::Null, Value::String(text)) => {
            serde_json::from_str::<Value>(text).is_ok_and(|parsed| same_value(typed, &parsed))
        }
        // A SQLite 0/1 flag.
        (Value::Bool(b), Value::Number(n)) => n.as_i64() == Some(i64::from(*b)),
        (Value::String(a), Value::String(b)) if a != b => {
            match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            }
        }
        _ => typed == wire,
    }
}

/// Every field of `wire` is in `typed` with the same value (a field the type
/// leaves out is fine only when the server sent `null`), and `typed` adds
/// nothing the server did not send but defaults.
fn mirrors(typed: &Value, wire: &Value) -> Result<(), String> {
    let (Value::Object(t), Value::Object(w)) = (typed, wire) else {
        return if same_value(typed, wire) {
            Ok(())
        } else {
            Err(format!("{typed} != {wire}"))
        };
    };
    for (k, wv) in w {
        match t.get(k) {
            None if wv.is_null() => {}
            None => return Err(format!("field {k:?} is lost by the type")),
            Some(tv) if tv.is_object() && wv.is_object() => {
                mirrors(tv, wv).map_err(|e| format!("{k}.{e}"))?
            }
            Some(tv) if !same_value(tv, wv) => {
                return Err(format!("field {k:?}: typed {tv} vs wire {wv}"))
            }
            Some(_) => {}
        }
    }
    // A field the server left out may be typed only as its default.
    let default = |v: &Value| match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    };
    for (k, tv) in t {
        if !w.contains_key(k) && !default(tv) {
            return Err(format!("field {k:?} is not on the wire but typed {tv}"));
        }
    }
    Ok(())
}

/// Decodes `reply` as `T` and checks that it mirrors the body.
fn typed<T: DeserializeOwned + Serialize>(name: &str, reply: &Reply, wire: &Value) -> T {
    let value: T = decode(reply).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_value(&value).unwrap();
    if let Err(e) = mirrors(&again, wire) {
        panic!("{name}: typed value does not mirror the body: {e}");
    }
    value
}

fn route_of(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["sessions", "prior" | "history"] => path.to_owned(),
        ["sessions", _, "activity"] => "/sessions/:id/activity".into(),
        ["handoffs", "latest"] => path.to_owned(),
        ["handoffs", _, "status"] => "/handoffs/:id/status".into(),
        ["docs", "audit"] => path.to_owned(),
        ["docs", ..] if segments.len() > 1 => "/docs/:scope/:name".into(),
        ["notes", _, "update" | "archive"] => format!("/notes/:id/{}", segments[2]),
        ["notes", _] => format!("{method} /notes/:id"),
        ["notes"] => format!("{method} /notes"),
        _ => path.to_owned(),
    }
}

#[test]
fn every_v2_exchange_of_the_new_routes_decodes_and_mirrors() {
    let mut decoded = std::collections::BTreeMap::<String, u32>::new();
    let mut failures = 0;
    for (name, fx) in fixtures() {
        let req = &fx["request"];
        let resp = &fx["response"];
        let method = req["method"].as_str().unwrap();
        let path = req["path"].as_str().unwrap().split('?').next().unwrap();
        let route = route_of(method, path);
        if ELSEWHERE.contains(&route.as_str())
            || method == "OPTIONS"
            || name.ends_with("-not-found.json")
        {
            continue;
        }
        let status = StatusCode::from_u16(resp["status"].as_u64().unwrap() as u16).unwrap();
        let mut headers = HeaderMap::new();
        for (k, v) in resp["headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
        let wire = &resp["body"];
        let body = match wire {
            Value::String(s) => Bytes::from(s.clone()),
            other => Bytes::from(serde_json::to_vec(other).unwrap()),
        };
        let want_corr = resp["headers"]
            .get("x-correlation-id")
            .or_else(|| wire.get("correlation_id"))
            .and_then(Value::as_str);
        match classify(status, &headers, body) {
            Outcome::Success(reply) => {
                check_success(&name, &route, req, &reply, wire);
                assert_eq!(reply.correlation_id.as_deref(), want_corr, "{name}");
                *decoded.entry(route).or_default() += 1;
            }
            Outcome::Permanent(e) | Outcome::Transient { error: e } => {
                let code = status.as_u16();
                let expected = match code {
                    400 => matches!(e, Error::Validation { .. }),
                    401 => matches!(e, Error::Unauthorized { .. }),
                    404 => matches!(e, Error::NotFound { .. }),
                    409 => matches!(
                        e,
                        Error::SessionNotActive {
                            status: Some(_),
                            ..
                        }
                    ),
                    413 => matches!(e, Error::PayloadTooLarge { .. }),
                    500 => matches!(e, Error::Server { status: 500, .. }),
                    _ => false,
                };
                assert!(expected, "{name}: HTTP {code} classified as {e:?}");
                assert_eq!(e.correlation_id(), want_corr, "{name}: correlation id");
                if wire.get("error").and_then(Value::as_str) == Some("validation_failed") {
                    let Error::Validation { fields, .. } = &e else {
                        unreachable!()
                    };
                    let sent = wire["details"].as_array().map_or(0, Vec::len);
                    assert_eq!(fields.len(), sent, "{name}: validation fields lost");
                }
                failures += 1;
            }
            Outcome::TruncatedReplay => panic!("{name}: truncated replay on {route}"),
        }
    }
    // Every route of this part of the contract has at least one recorded
    // success, and each was decoded.
    for route in [
        "/checkpoint",
        "/checkpoints",
        "/siblings",
        "/sessions/prior",
        "/sessions/history",
        "/sessions/:id/activity",
        "/active",
        "/handoffs/latest",
        "/handoffs",
        "/handoffs/:id/status",
        "/docs",
        "/docs/:scope/:name",
        "/docs/audit",
        "POST /notes",
        "GET /notes",
        "GET /notes/:id",
        "/notes/:id/update",
        "/notes/:id/archive",
        "/config/memory-gate",
    ] {
        assert!(
            decoded.contains_key(route),
            "no success decoded for {route}: {decoded:?}"
        );
    }
    let total: u32 = decoded.values().sum();
    assert!(
        total >= 51 && failures >= 28,
        "decoded {total}, failures {failures}"
    );
}

fn check_success(name: &str, route: &str, req: &Value, reply: &Reply, wire: &Value) {
    match route {
        "/checkpoint" => {
            let r: CheckpointCreated = typed(name, reply, wire);
            assert_eq!(reply.status, 201, "{name}");
            assert_eq!(
                Some(r.session_id.as_str()),
                req["body"]["session_id"].as_str()
            );
            assert!(
                r.checkpoint_id.starts_with("cp_") && r.checkpoint_number >= 1,
                "{name}"
            );
        }
        "/checkpoints" => {
            let r: CheckpointList = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.checkpoints.len(), "{name}");
            // Newest first, and each one's lists are real lists.
            assert!(r
                .checkpoints
                .windows(2)
                .all(|w| w[0].checkpoint_number > w[1].checkpoint_number
                    || w[0].session_id != w[1].session_id));
            for (c, w) in r
                .checkpoints
                .iter()
                .zip(wire["checkpoints"].as_array().unwrap())
            {
                let text = w["next_actions"].as_str().unwrap();
                assert_eq!(
                    c.next_actions.clone().unwrap(),
                    serde_json::from_str::<Vec<String>>(text).unwrap(),
                    "{name}"
                );
                // What the fixture sent is recognised as the stored checkpoint.
                let sent = NewCheckpoint::new(&c.session_id, c.summary.clone().unwrap())
                    .work_completed(c.work_completed.clone().unwrap_or_default())
                    .blockers(vec![])
                    .next_actions(c.next_actions.clone().unwrap_or_default())
                    .notes(c.notes.clone().unwrap_or_default());
                assert!(sent.same_content(c), "{name}");
                assert!(!sent.clone().notes("other").same_content(c), "{name}");
            }
        }
        "/siblings" => {
            let r: Siblings = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.siblings.len(), "{name}");
            let exclude = req["path"]
                .as_str()
                .unwrap()
                .split("exclude_session_id=")
                .nth(1);
            if let Some(ex) = exclude {
                assert!(r.siblings.iter().all(|s| s.id != ex), "{name}");
            }
        }
        "/sessions/prior" => {
            let r: PriorSession = typed(name, reply, wire);
            if let Some(s) = &r.session {
                assert_ne!(s.status, crate::model::SessionStatus::Active, "{name}");
                assert_eq!(
                    s.client_session_id.as_deref(),
                    wire["session"]["client_session_id"].as_str()
                );
            }
        }
        "/sessions/history" => {
            let r: SessionHistory = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.entries.len(), "{name}");
            for e in &r.entries {
                assert!(e.blocks.iter().all(|b| b.start <= b.end), "{name}");
                let in_blocks: u32 = e.blocks.iter().map(|b| b.session_count).sum();
                assert!(in_blocks >= 1 && e.total_sessions >= 1, "{name}");
            }
        }
        "/sessions/:id/activity" => {
            let r: ActivityReport = typed(name, reply, wire);
            let sent = req["body"]["events"].as_array().unwrap().len() as u32;
            assert!(
                r.recorded + r.skipped + r.skipped_out_of_window <= sent,
                "{name}"
            );
        }
        "/active" => {
            let r: ActiveSessions = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.sessions.len(), "{name}");
        }
        "/handoffs/latest" => {
            let r: LatestHandoff = typed(name, reply, wire);
            if let Some(h) = &r.handoff {
                assert!(h.hash_matches(), "{name}");
            }
        }
        "/handoffs" => {
            let r: HandoffPage = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.handoffs.len(), "{name}");
            assert_eq!(r.has_more, r.next_cursor.is_some(), "{name}");
            let total = r
                .total
                .unwrap_or_else(|| panic!("{name}: v2 pages carry total"));
            assert!(total >= u64::from(r.count), "{name}");
            assert!(r.handoffs.iter().all(|h| h.hash_matches()), "{name}");
        }
        "/handoffs/:id/status" => {
            let r: HandoffReply = typed(name, reply, wire);
            let label: HandoffStatusLabel = req["body"]["status_label"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                r.handoff.status_label.as_deref(),
                Some(label.as_str()),
                "{name}"
            );
        }
        "/docs" => {
            let r: DocList = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.docs.len(), "{name}");
        }
        "/docs/:scope/:name" => {
            let r: DocReply = typed(name, reply, wire);
            assert!(
                req["path"].as_str().unwrap().ends_with(&r.doc.doc_name),
                "{name}"
            );
            assert_eq!(
                r.doc.content_hash.as_deref(),
                Some(crate::canonical::sha256_hex(r.doc.content.as_bytes()).as_str()),
                "{name}: content_hash is the SHA-256 of the content"
            );
        }
        "/docs/audit" => {
            let r: DocsAudit = typed(name, reply, wire);
            let audits = r.into_audits();
            assert!(!audits.is_empty(), "{name}");
            for a in &audits {
                assert_ne!(a.status, DocAuditStatus::Unknown, "{name}");
                assert!(a.summary.starts_with(&a.venture_name), "{name}");
            }
        }
        "POST /notes" | "GET /notes/:id" | "PATCH /notes/:id" | "DELETE /notes/:id"
        | "/notes/:id/update" => {
            let r: NoteReply = typed(name, reply, wire);
            assert!(r.note.id.starts_with("note_"), "{name}");
            if let Some(content) = req["body"].get("content").and_then(Value::as_str) {
                assert_eq!(r.note.content, content, "{name}");
            }
            if let Some(tags) = req["body"].get("tags").filter(|t| t.is_array()) {
                let tags: Vec<String> = serde_json::from_value(tags.clone()).unwrap();
                assert_eq!(r.note.tags.as_ref(), Some(&tags), "{name}");
            }
        }
        "GET /notes" => {
            let r: NotePage = typed(name, reply, wire);
            assert_eq!(r.count as usize, r.notes.len(), "{name}");
            assert!(r.total_matching >= u64::from(r.count), "{name}");
            let archived_too = req["path"]
                .as_str()
                .unwrap()
                .contains("include_archived=true");
            assert!(
                archived_too || r.notes.iter().all(|n| !n.archived),
                "{name}"
            );
        }
        "/notes/:id/archive" => {
            let r: ArchivedNote = typed(name, reply, wire);
            assert!(r.archived && r.note.archived, "{name}");
        }
        "/config/memory-gate" => {
            let r: MemoryGateReply = typed(name, reply, wire);
            assert_eq!(r.gate, MemoryGate::Either, "{name}");
        }
        other => panic!("{name}: no typed response for {other}"),
    }
}

/// The mirror check itself catches a lost field and a misread one.
#[test]
fn the_mirror_check_fails_on_lost_or_changed_fields() {
    let wire = serde_json::json!({"a": 1, "tags": "[\"x\"]", "f": 1, "n": null});
    assert!(mirrors(
        &serde_json::json!({"a": 1, "tags": ["x"], "f": true}),
        &wire
    )
    .is_ok());
    assert!(mirrors(&serde_json::json!({"tags": ["x"], "f": true}), &wire).is_err());
    assert!(mirrors(
        &serde_json::json!({"a": 1, "tags": ["y"], "f": true}),
        &wire
    )
    .is_err());
    assert!(mirrors(
        &serde_json::json!({"a": 1, "tags": ["x"], "f": false}),
        &wire
    )
    .is_err());
    assert!(mirrors(
        &serde_json::json!({"a": 1, "tags": ["x"], "f": true, "b": 2}),
        &wire
    )
    .is_err());
}
