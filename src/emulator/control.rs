//! The control API under `/__emulator/`: how a test steers the emulator.
//!
//! A test needs to make the server misbehave (faults), make time pass (clock)
//! and look inside without going through the API under test (state). These
//! routes share the port with the API so a test needs only one address, need
//! no relay key, are never faulted and are never counted in `requests_count`.
//!
//! - `POST /__emulator/faults` queues a fault rule, `DELETE` clears them all,
//!   `GET` lists the pending ones.
//! - `POST /__emulator/clock` `{"advance_seconds": N}` moves time forward;
//!   `GET` reads it.
//! - `GET /__emulator/state` summarizes sessions (id, status, meta), handoffs and request counts.
//! - `POST /__emulator/docs` `{"scope","doc_name","content","title"?,"description"?}`
//!   stores a document for the v2 `/docs` routes (the service's admin upload
//!   is outside the agent contract).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::app::App;
use super::clock::format_ts;
use super::faults::FaultRule;
use super::reply::{self, Reply};

/// Largest control request body accepted (control bodies are tiny).
const MAX_CONTROL_BODY_BYTES: usize = 64 * 1024;

/// Handles a request under `/__emulator`.
pub(crate) async fn handle(app: &App, req: Request<Body>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    match (&method, path.as_str()) {
        (&Method::POST, "/__emulator/faults") => match read::<FaultRule>(req.into_body()).await {
            Ok(rule) => match rule.validated() {
                Ok(rule) => {
                    app.faults.push(rule);
                    ok(json!({ "ok": true }))
                }
                Err(message) => bad_request(&message),
            },
            Err(reply) => reply,
        },
        (&Method::DELETE, "/__emulator/faults") => {
            app.faults.clear();
            ok(json!({ "ok": true }))
        }
        (&Method::GET, "/__emulator/faults") => ok(json!({ "faults": app.faults.pending() })),
        (&Method::POST, "/__emulator/clock") => match read::<ClockAdvance>(req.into_body()).await {
            Ok(ClockAdvance { advance_seconds })
                if advance_seconds.is_finite() && advance_seconds >= 0.0 =>
            {
                let ms = (advance_seconds * 1000.0).round().min(i64::MAX as f64) as i64;
                ok(json!({ "now": format_ts(app.clock.advance_ms(ms)) }))
            }
            Ok(_) => bad_request("advance_seconds must be a non-negative number"),
            Err(reply) => reply,
        },
        (&Method::GET, "/__emulator/clock") => ok(json!({ "now": format_ts(app.clock.now()) })),
        (&Method::GET, "/__emulator/state") => state(app),
        (&Method::POST, "/__emulator/docs") => match read::<SeedDoc>(req.into_body()).await {
            Ok(doc) => seed_doc(app, &doc),
            Err(reply) => reply,
        },
        _ => reply::endpoint_not_found(method.as_str(), &path),
    }
}

/// Body of `POST /__emulator/clock`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockAdvance {
    advance_seconds: f64,
}

/// Body of `POST /__emulator/docs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedDoc {
    scope: String,
    doc_name: String,
    content: String,
    title: Option<String>,
    description: Option<String>,
}

/// Stores a document (v2 `/docs`), replacing one of the same scope and name.
fn seed_doc(app: &App, doc: &SeedDoc) -> Reply {
    if doc.scope.is_empty() || doc.doc_name.is_empty() {
        return bad_request("scope and doc_name must not be empty");
    }
    app.with_db(&reply::new_correlation_id(), |tx, now| {
        super::v2::seed_doc(
            tx,
            &doc.scope,
            &doc.doc_name,
            &doc.content,
            doc.title.as_deref(),
            doc.description.as_deref(),
            &format_ts(now),
        )?;
        Ok(ok(json!({ "ok": true })))
    })
}

fn ok(body: Value) -> Reply {
    Reply::json(StatusCode::OK, &body, None)
}

fn bad_request(message: &str) -> Reply {
    Reply::json(StatusCode::BAD_REQUEST, &json!({ "error": message }), None)
}

/// Reads and deserializes a small JSON body, or answers 400.
async fn read<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, Reply> {
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| bad_request(&e.to_string()))?;
        if bytes.len() + chunk.len() > MAX_CONTROL_BODY_BYTES {
            return Err(bad_request("control request body too large"));
        }
        bytes.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| bad_request(&format!("invalid control request: {e}")))
}

/// `GET /__emulator/state`.
fn state(app: &App) -> Reply {
    let requests = app.requests.lock().map(|m| m.clone()).unwrap_or_default();
    app.with_db(&reply::new_correlation_id(), |tx, _now| {
        let sessions: Vec<Value> = tx
            .prepare_cached("SELECT id, status, meta_json FROM sessions ORDER BY created_at, id")?
            .query_map([], |row| {
                Ok(json!({
                    "id": row.get::<_, String>(0)?,
                    "status": row.get::<_, String>(1)?,
                    "meta_json": row.get::<_, Option<String>>(2)?,
                }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let handoffs: Vec<Value> = tx
            .prepare_cached("SELECT id, session_id, summary, payload_hash FROM handoffs ORDER BY created_at, id")?
            .query_map([], |row| {
                Ok(json!({
                    "id": row.get::<_, String>(0)?,
                    "session_id": row.get::<_, String>(1)?,
                    "summary": row.get::<_, String>(2)?,
                    "payload_hash": row.get::<_, String>(3)?,
                }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let body = json!({
            "sessions_count": sessions.len(),
            "handoffs_count": handoffs.len(),
            "requests_count": requests,
            "handoffs": handoffs,
            "sessions": sessions,
        });
        Ok(ok(body))
    })
}
