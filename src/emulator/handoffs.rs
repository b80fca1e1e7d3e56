//! Handoff routes: `POST /eod`, `GET /handoffs/latest`, `GET /handoffs`.
//!
//! A handoff is what one agent leaves for the next, and losing or duplicating
//! one is the failure the SDK exists to prevent. `/eod` stores the payload in
//! canonical form with its hash (so a client can prove what was stored is what
//! it sent), copies the session's context onto the handoff and ends the
//! session, all in one transaction with the idempotency record. The queries
//! page newest first by `(created_at, id)` with the service's cursor, and all
//! 400s use the service's field names and messages.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use rusqlite::Transaction;
use serde_json::{Map, Value};

use super::app::App;
use super::clock::{format_ts, new_id};
use super::cursor::Cursor;
use super::idempotency;
use super::input::{self, js_parse_int, required_str, Query};
use super::records::{HandoffRecord, SessionRecord, HANDOFF_COLUMNS};
use super::reply::{self, Reply};
use super::sessions::SCHEMA_VERSION;
use crate::canonical::{CanonicalPayload, PayloadError, MAX_PAYLOAD_BYTES};

/// Page size when the client gives none.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 20;
/// Largest page a client may ask for.
pub(crate) const MAX_PAGE_SIZE: i64 = 100;
/// Accepted `end_reason` values.
const END_REASONS: [&str; 4] = ["manual", "stale", "superseded", "error"];

/// `POST /eod`: store the handoff and end the session.
pub(crate) async fn end_of_day(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "session_id", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(session_id) = required_str(&body, "session_id") else {
        return reply::validation("session_id", "Required string field", corr);
    };
    let Some(summary) = required_str(&body, "summary") else {
        return reply::validation("summary", "Required string field", corr);
    };
    // Canonicalized (the costly part) before the database lock is taken; a
    // too-large payload is still reported after the session checks, in the
    // order the service reports them.
    let payload = match body.get("payload").map(CanonicalPayload::new) {
        Some(Ok(p)) => Ok(p),
        None | Some(Err(PayloadError::NotAnObject { .. })) => {
            return reply::validation("payload", "Required object field", corr)
        }
        Some(Err(e)) => Err(e),
    };
    let (to_agent, status_label) = match (
        input::optional_str(&body, "to_agent", corr),
        input::optional_str(&body, "status_label", corr),
    ) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let end_reason = match input::optional_str(&body, "end_reason", corr) {
        Ok(None) => "manual".to_owned(),
        Ok(Some(r)) if END_REASONS.contains(&r.as_str()) => r,
        Ok(Some(_)) => {
            let message = format!("Must be one of: {}", END_REASONS.join(", "));
            return reply::validation("end_reason", &message, corr);
        }
        Err(reply) => return reply,
    };
    let key = match idempotency::key_for(headers, &body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    app.idempotent("/eod", key.as_deref(), corr, |tx, now| {
        let session = match SessionRecord::load(tx, session_id)? {
            None => return Ok(reply::session_not_found(session_id, corr)),
            Some(s) if s.status != "active" => {
                return Ok(reply::session_not_active(session_id, &s.status, corr))
            }
            Some(s) => s,
        };
        let payload = match &payload {
            Ok(p) => p,
            Err(PayloadError::TooLarge { size, .. }) => {
                let message =
                    format!("Handoff payload too large: {size} bytes (max {MAX_PAYLOAD_BYTES})");
                return Ok(reply::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &message,
                    None,
                    corr,
                ));
            }
            Err(e) => return Ok(reply::internal(&e.to_string(), corr)),
        };
        let now_text = format_ts(now);
        let handoff = HandoffRecord {
            id: new_id("ho", now),
            session_id: session.id.clone(),
            venture: session.venture,
            repo: session.repo,
            track: session.track,
            issue_number: session.issue_number,
            branch: session.branch,
            commit_sha: session.commit_sha,
            from_agent: session.agent,
            to_agent: to_agent.clone(),
            status_label: status_label.clone(),
            summary: summary.to_owned(),
            payload_json: payload.as_str().to_owned(),
            payload_hash: payload.hash().to_owned(),
            payload_size_bytes: i64::try_from(payload.size_bytes()).unwrap_or(i64::MAX),
            schema_version: SCHEMA_VERSION.into(),
            created_at: now_text.clone(),
            actor_key_id: app.actor_key_id.clone(),
            creation_correlation_id: corr.to_owned(),
        };
        handoff.insert(tx)?;
        tx.prepare_cached(
            "UPDATE sessions SET status = 'ended', ended_at = ?1, end_reason = ?2 WHERE id = ?3",
        )?
        .execute([&now_text, &end_reason, &session.id])?;
        let mut out = Map::new();
        out.insert("session_id".into(), session.id.into());
        out.insert("handoff_id".into(), handoff.id.clone().into());
        out.insert(
            "handoff".into(),
            serde_json::to_value(&handoff).unwrap_or_default(),
        );
        out.insert("ended_at".into(), now_text.into());
        out.insert("correlation_id".into(), corr.into());
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}

/// A `WHERE` clause and its parameters selecting a set of handoffs.
struct Filter {
    clause: &'static str,
    params: Vec<Value>,
}

/// Parses an integer query parameter (`parseInt`), or the 400 naming it.
fn int_param(text: &str, field: &str, corr: &str) -> Result<i64, Reply> {
    js_parse_int(text).ok_or_else(|| reply::validation(field, "Must be a valid integer", corr))
}

fn to_sql(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Number(n) => rusqlite::types::Value::Integer(n.as_i64().unwrap_or(0)),
        Value::String(s) => rusqlite::types::Value::Text(s.clone()),
        _ => rusqlite::types::Value::Null,
    }
}

/// Runs `SELECT … WHERE <filter> [AND after cursor] ORDER BY newest LIMIT n`.
fn select(
    tx: &Transaction<'_>,
    filter: &Filter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> rusqlite::Result<Vec<HandoffRecord>> {
    let after = if cursor.is_some() {
        " AND (created_at < ?90 OR (created_at = ?90 AND id < ?91))"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE {}{after} ORDER BY created_at DESC, id DESC LIMIT ?99",
        filter.clause
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    for (i, value) in filter.params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_sql(value))?;
    }
    if let Some(c) = cursor {
        stmt.raw_bind_parameter(90, &c.timestamp)?;
        stmt.raw_bind_parameter(91, &c.id)?;
    }
    stmt.raw_bind_parameter(99, limit)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(HandoffRecord::from_row(row)?);
    }
    Ok(out)
}

/// `GET /handoffs/latest`: by session, by issue or by track.
pub(crate) fn latest(app: &App, query: &Query, corr: &str) -> Reply {
    let (venture, repo) = (query.truthy("venture"), query.truthy("repo"));
    let filter = if let Some(session_id) = query.truthy("session_id") {
        Filter {
            clause: "session_id = ?1",
            params: vec![session_id.into()],
        }
    } else if let (Some(v), Some(r), Some(issue)) = (venture, repo, query.truthy("issue_number")) {
        match int_param(issue, "issue_number", corr) {
            Ok(n) => Filter {
                clause: "venture = ?1 AND repo = ?2 AND issue_number = ?3",
                params: vec![v.into(), r.into(), n.into()],
            },
            Err(reply) => return reply,
        }
    } else if let (Some(v), Some(r), Some(track)) = (venture, repo, query.truthy("track")) {
        match int_param(track, "track", corr) {
            Ok(n) => Filter {
                clause: "venture = ?1 AND repo = ?2 AND track = ?3",
                params: vec![v.into(), r.into(), n.into()],
            },
            Err(reply) => return reply,
        }
    } else {
        return reply::validation(
            "query_params",
            "Provide session_id OR (venture + repo + issue_number) OR (venture + repo + track)",
            corr,
        );
    };
    app.with_db(corr, |tx, _now| {
        let handoff = select(tx, &filter, None, 1)?.into_iter().next();
        let mut out = Map::new();
        out.insert(
            "handoff".into(),
            serde_json::to_value(&handoff).unwrap_or_default(),
        );
        out.insert("correlation_id".into(), corr.into());
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}

/// `GET /handoffs`: history, newest first, with cursor pagination.
pub(crate) fn list(app: &App, query: &Query, corr: &str) -> Reply {
    let limit = match query.truthy("limit").map(js_parse_int) {
        None => DEFAULT_PAGE_SIZE,
        Some(Some(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => return reply::validation("limit", "Must be an integer between 1 and 100", corr),
    };
    let filter = if let Some(session_id) = query.truthy("session_id") {
        Filter {
            clause: "session_id = ?1",
            params: vec![session_id.into()],
        }
    } else if let Some(agent) = query.truthy("from_agent") {
        Filter {
            clause: "from_agent = ?1",
            params: vec![agent.into()],
        }
    } else if let (Some(v), Some(r)) = (query.truthy("venture"), query.truthy("repo")) {
        if let Some(issue) = query.truthy("issue_number") {
            match int_param(issue, "issue_number", corr) {
                Ok(n) => Filter {
                    clause: "venture = ?1 AND repo = ?2 AND issue_number = ?3",
                    params: vec![v.into(), r.into(), n.into()],
                },
                Err(reply) => return reply,
            }
        } else if let Some(track) = query.truthy("track") {
            match int_param(track, "track", corr) {
                Ok(n) => Filter {
                    clause: "venture = ?1 AND repo = ?2 AND track = ?3",
                    params: vec![v.into(), r.into(), n.into()],
                },
                Err(reply) => return reply,
            }
        } else {
            Filter {
                clause: "venture = ?1 AND repo = ?2",
                params: vec![v.into(), r.into()],
            }
        }
    } else {
        return reply::validation(
            "query_params",
            "Provide session_id OR from_agent OR (venture + repo) with optional issue_number/track",
            corr,
        );
    };
    let cursor = match query.truthy("cursor").map(Cursor::decode) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(message)) => return reply::validation("cursor", &message, corr),
    };
    app.with_db(corr, |tx, _now| {
        let mut handoffs = select(tx, &filter, cursor.as_ref(), limit + 1)?;
        let has_more = handoffs.len() as i64 > limit;
        handoffs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = match handoffs.last() {
            Some(last) if has_more => Value::from(
                Cursor {
                    timestamp: last.created_at.clone(),
                    id: last.id.clone(),
                }
                .encode(),
            ),
            _ => Value::Null,
        };
        let mut out = Map::new();
        out.insert("count".into(), handoffs.len().into());
        out.insert(
            "handoffs".into(),
            serde_json::to_value(&handoffs).unwrap_or_default(),
        );
        out.insert("next_cursor".into(), next_cursor);
        out.insert("has_more".into(), has_more.into());
        out.insert("correlation_id".into(), corr.into());
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}
