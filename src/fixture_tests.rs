//! Every recorded exchange in `tests/fixtures/crane-context-v1`, decoded by the SDK.
//!
//! The folder is iterated, so a new fixture is covered without touching this
//! file: each success body must decode into its route's typed response, each
//! failure must classify into the expected error variant with the server's
//! correlation id, and every handoff's hash must equal the one computed here.

use std::path::PathBuf;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;

use crate::canonical::{sha256_hex, CanonicalPayload};
use crate::model::*;
use crate::transport::{classify, decode, Outcome};
use crate::Error;

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crane-context-v1");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 58,
        "expected the recorded fixtures, found {}",
        files.len()
    );
    files
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

fn check_handoff(name: &str, h: &Handoff) {
    assert!(
        h.hash_matches(),
        "{name}: payload_hash is not sha256(payload_json)"
    );
    let local = CanonicalPayload::from_json_str(&h.payload_json).unwrap();
    assert_eq!(
        local.as_str(),
        h.payload_json,
        "{name}: canonical form differs"
    );
    assert_eq!(local.hash(), h.payload_hash, "{name}: local hash differs");
    assert_eq!(local.size_bytes() as u64, h.payload_size_bytes, "{name}");
    assert!(h.payload().unwrap().is_object());
}

#[test]
fn every_fixture_decodes_and_classifies() {
    let mut decoded = 0;
    for (name, fx) in fixtures() {
        let req = &fx["request"];
        let resp = &fx["response"];
        let path = req["path"]
            .as_str()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let status = StatusCode::from_u16(resp["status"].as_u64().unwrap() as u16).unwrap();
        let mut headers = HeaderMap::new();
        for (k, v) in resp["headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
        let body = match &resp["body"] {
            Value::String(s) => Bytes::from(s.clone()),
            other => Bytes::from(serde_json::to_vec(other).unwrap()),
        };
        let outcome = classify(status, &headers, body);
        let want_corr = resp["headers"]
            .get("x-correlation-id")
            .or_else(|| resp["body"].get("correlation_id"))
            .and_then(Value::as_str);
        match (status.as_u16(), outcome) {
            (200..=299, Outcome::Success(reply)) => {
                if status.as_u16() == 204 {
                    continue;
                }
                match path.as_str() {
                    "/health" => {
                        let v: Value = decode(&reply).unwrap();
                        let h = HealthReport::from_body(200, v).unwrap();
                        assert_eq!(h.status, HealthStatus::Healthy, "{name}");
                    }
                    "/sod" => {
                        let r: StartSessionResponse = decode(&reply).unwrap();
                        assert_eq!(r.session_id, r.session.id, "{name}");
                        assert!(
                            (480..=720).contains(&r.heartbeat_interval_seconds),
                            "{name}"
                        );
                        assert_ne!(r.status, SodStatus::Unknown, "{name}");
                    }
                    "/update" => {
                        let _: UpdateResponse = decode(&reply).unwrap();
                    }
                    "/heartbeat" => {
                        let r: HeartbeatResponse = decode(&reply).unwrap();
                        assert!(r.next_heartbeat_at > r.last_heartbeat_at, "{name}");
                    }
                    "/eod" => {
                        let r: EndSessionResponse = decode(&reply).unwrap();
                        check_handoff(&name, &r.handoff);
                        // The hash computed from what we sent equals the server's.
                        let sent = CanonicalPayload::new(&req["body"]["payload"]).unwrap();
                        assert_eq!(sent.hash(), r.handoff.payload_hash, "{name}");
                    }
                    "/active" => {
                        let r: ActiveSessions = decode(&reply).unwrap();
                        assert_eq!(r.count as usize, r.sessions.len(), "{name}");
                    }
                    "/handoffs/latest" => {
                        let r: LatestHandoff = decode(&reply).unwrap();
                        if let Some(h) = &r.handoff {
                            check_handoff(&name, h);
                        }
                    }
                    "/handoffs" => {
                        let r: HandoffPage = decode(&reply).unwrap();
                        assert_eq!(r.count as usize, r.handoffs.len(), "{name}");
                        assert_eq!(r.has_more, r.next_cursor.is_some(), "{name}");
                        r.handoffs.iter().for_each(|h| check_handoff(&name, h));
                    }
                    other => panic!("{name}: no typed response for {other}"),
                }
                decoded += 1;
            }
            (409, Outcome::TruncatedReplay) => decoded += 1,
            (code, Outcome::Permanent(e)) | (code, Outcome::Transient { error: e, .. }) => {
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
                assert!(!e.to_string().is_empty());
                if let Error::Validation { fields, .. } = &e {
                    assert!(!fields.is_empty(), "{name}: validation fields lost");
                }
                decoded += 1;
            }
            (code, other) => panic!("{name}: HTTP {code} gave {other:?}"),
        }
    }
    assert!(decoded >= 57, "decoded {decoded}");
}

#[test]
fn local_hash_equals_server_hash_for_every_sent_payload() {
    let mut checked = 0;
    for (name, fx) in fixtures() {
        let body = &fx["response"]["body"];
        let Some(h) = body.get("handoff").filter(|h| h.is_object()) else {
            continue;
        };
        let server_hash = h["payload_hash"].as_str().unwrap();
        assert_eq!(
            sha256_hex(h["payload_json"].as_str().unwrap().as_bytes()),
            server_hash,
            "{name}"
        );
        if let Some(p) = fx["request"]["body"].get("payload") {
            assert_eq!(
                CanonicalPayload::new(p).unwrap().hash(),
                server_hash,
                "{name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "checked {checked}");
}
