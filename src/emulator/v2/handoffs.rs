//! v2 handoff routes: `POST /eos` (and `/eod`), `GET /handoffs`,
//! `POST /handoffs/:id/status`. (`GET /handoffs/latest` is unchanged from v1
//! and shared with it.)
//!
//! `/eos` differs from v1's `/eod` where a client notices: a malformed session
//! id is a 400, `payload` is optional, `to_agent` must be an agent name,
//! `end_reason` is free text, and `keep_session_open` stores a handoff without
//! ending the session. The idempotency check still comes after body
//! validation and before the session check, so a repeat is answered even
//! after the session ended. `/handoffs` adds `total` and the date filters.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use rusqlite::types::Value as Sql;
use serde_json::{json, Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, new_id};
use super::super::cursor::Cursor;
use super::super::idempotency;
use super::super::input::{self, js_parse_int, required_str, Query};
use super::super::records::{HandoffRecord, HANDOFF_COLUMNS};
use super::super::reply::{self, Reply};
use super::super::sessions::SCHEMA_VERSION;
use super::{rules, sessions};
use crate::canonical::{CanonicalPayload, PayloadError, MAX_PAYLOAD_BYTES};

/// Labels `/handoffs/:id/status` accepts.
const STATUS_LABELS: [&str; 4] = ["done", "in_progress", "blocked", "ready"];
/// Page size of `/handoffs` when none is given, and the largest.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

/// What `/eos` was asked for, validated.
struct EosRequest {
    session_id: String,
    summary: String,
    payload: Result<CanonicalPayload, PayloadError>,
    to_agent: Option<String>,
    status_label: Option<String>,
    end_reason: String,
    last_activity_at: Option<String>,
    keep_open: bool,
}

fn parse_eos(body: &Value, corr: &str) -> Result<EosRequest, Reply> {
    let fail = |field: &str, message: &str| rules::invalid(&[(field.into(), message.into())], corr);
    let session_id = required_str(body, "session_id")
        .filter(|id| rules::is_session_id(id))
        .ok_or_else(|| fail("session_id", rules::SESSION_ID_MESSAGE))?;
    let summary =
        required_str(body, "summary").ok_or_else(|| fail("summary", "Required string field"))?;
    // Any `to_agent` present, even null or "", must be an agent name.
    let to_agent = match body.get("to_agent") {
        None => None,
        Some(Value::String(a)) if rules::is_agent(a) => Some(a.clone()),
        Some(_) => {
            return Err(fail(
                "to_agent",
                "If provided, must match pattern: lowercase-alphanumeric-with-hyphens",
            ))
        }
    };
    let payload = match body.get("payload") {
        None | Some(Value::Null) => CanonicalPayload::new(&json!({})),
        Some(p @ Value::Object(_)) => CanonicalPayload::new(p),
        // A quirk the service has (`typeof [] === "object"`): kept as `[...]`.
        Some(p @ Value::Array(_)) => CanonicalPayload::any_json(p),
        Some(_) => return Err(fail("payload", "Must be an object")),
    };
    Ok(EosRequest {
        session_id: session_id.to_owned(),
        summary: summary.to_owned(),
        payload,
        to_agent,
        status_label: input::optional_str(body, "status_label", corr)?,
        end_reason: input::optional_str(body, "end_reason", corr)?
            .unwrap_or_else(|| "manual".to_owned()),
        last_activity_at: input::optional_str(body, "last_activity_at", corr)?,
        keep_open: rules::truthy(body.get("keep_session_open")),
    })
}

/// `POST /eos` (and `/eod`): store a handoff and (usually) end the session.
pub(crate) async fn end(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "session_id", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let request = match parse_eos(&body, corr) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let key = match idempotency::key_for(headers, &body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    app.idempotent("/eos", key.as_deref(), corr, |tx, now| {
        let session = match sessions::writable(tx, &request.session_id, corr)? {
            Ok(session) => session,
            Err(reply) => return Ok(reply),
        };
        let payload = match &request.payload {
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
            to_agent: request.to_agent.clone(),
            status_label: request.status_label.clone(),
            summary: request.summary.clone(),
            payload_json: payload.as_str().to_owned(),
            payload_hash: payload.hash().to_owned(),
            payload_size_bytes: i64::try_from(payload.size_bytes()).unwrap_or(i64::MAX),
            schema_version: SCHEMA_VERSION.into(),
            created_at: now_text.clone(),
            actor_key_id: app.actor_key_id.clone(),
            creation_correlation_id: corr.to_owned(),
        };
        handoff.insert(tx)?;
        let ended_at = if request.keep_open {
            Value::Null
        } else {
            tx.prepare_cached(
                "UPDATE sessions SET status = 'ended', ended_at = ?1, end_reason = ?2, \
                 last_activity_at = ?3 WHERE id = ?4",
            )?
            .execute(rusqlite::params![
                now_text,
                request.end_reason,
                request.last_activity_at,
                session.id
            ])?;
            Value::from(now_text)
        };
        let mut out = Map::new();
        out.insert("session_id".into(), session.id.into());
        out.insert("handoff_id".into(), handoff.id.clone().into());
        out.insert(
            "handoff".into(),
            serde_json::to_value(&handoff).unwrap_or_default(),
        );
        out.insert("ended_at".into(), ended_at);
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// `YYYY-MM-DD[THH:MM:SS[.f…][Z]]`, as `/handoffs` accepts for its dates.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    if !date {
        return false;
    }
    let rest = &text[10..];
    if rest.is_empty() {
        return true;
    }
    let r = rest.as_bytes();
    let time = r.len() >= 9
        && r[0] == b'T'
        && digits(11..13)
        && r[3] == b':'
        && digits(14..16)
        && r[6] == b':'
        && digits(17..19);
    if !time {
        return false;
    }
    let tail = rest[9..].strip_suffix('Z').unwrap_or(&rest[9..]);
    tail.is_empty()
        || tail
            .strip_prefix('.')
            .is_some_and(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()))
}

/// `GET /handoffs`: every mode, dates, cursor paging and `total`.
pub(crate) fn list(app: &App, query: &Query, corr: &str) -> Reply {
    let after = query.truthy("created_after");
    let before = query.truthy("created_before");
    for (field, value) in [("created_after", after), ("created_before", before)] {
        if value.is_some_and(|v| !is_date(v)) {
            return reply::validation(field, "Must be a valid ISO 8601 date string", corr);
        }
    }
    let limit = match query.truthy("limit").map(js_parse_int) {
        None => DEFAULT_LIMIT,
        Some(Some(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return reply::validation("limit", "Must be an integer between 1 and 100", corr),
    };
    let int = |field: &str, text: &str| {
        js_parse_int(text).ok_or_else(|| reply::validation(field, "Must be a valid integer", corr))
    };
    let mut clauses: Vec<&str> = Vec::new();
    let mut params: Vec<Sql> = Vec::new();
    if let Some(id) = query.truthy("session_id") {
        clauses.push("session_id = ?");
        params.push(Sql::Text(id.into()));
    } else if let Some(agent) = query.truthy("from_agent") {
        clauses.push("from_agent = ?");
        params.push(Sql::Text(agent.into()));
    } else if let (Some(v), Some(r)) = (query.truthy("venture"), query.truthy("repo")) {
        clauses.push("venture = ? AND repo = ?");
        params.extend([Sql::Text(v.into()), Sql::Text(r.into())]);
        if let Some(issue) = query.truthy("issue_number") {
            match int("issue_number", issue) {
                Ok(n) => {
                    clauses.push("issue_number = ?");
                    params.push(Sql::Integer(n));
                }
                Err(reply) => return reply,
            }
        } else if let Some(track) = query.truthy("track") {
            match int("track", track) {
                Ok(n) => {
                    clauses.push("track = ?");
                    params.push(Sql::Integer(n));
                }
                Err(reply) => return reply,
            }
        }
    } else if after.is_none() {
        return reply::validation(
            "query_params",
            "Provide session_id OR from_agent OR (venture + repo) with optional issue_number/track OR created_after for date-range query",
            corr,
        );
    }
    if let Some(after) = after {
        clauses.push("created_at >= ?");
        params.push(Sql::Text(after.into()));
    }
    if let Some(before) = before {
        clauses.push("created_at < ?");
        params.push(Sql::Text(before.into()));
    }
    let cursor = match query.truthy("cursor").map(Cursor::decode) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(message)) => return reply::validation("cursor", &message, corr),
    };
    let numbered = |clauses: &[&str]| {
        let mut n = 0;
        clauses
            .iter()
            .map(|c| {
                c.split('?')
                    .enumerate()
                    .map(|(i, part)| {
                        if i == 0 {
                            part.to_owned()
                        } else {
                            n += 1;
                            format!("?{n}{part}")
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let filter = numbered(&clauses);
    app.with_db(corr, |tx, _now| {
        let total: i64 = tx
            .prepare(&format!("SELECT COUNT(*) FROM handoffs WHERE {filter}"))?
            .query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?;
        let mut page_clauses = clauses.clone();
        let mut page_params = params.clone();
        if let Some(c) = &cursor {
            page_clauses.push("(created_at < ? OR (created_at = ? AND id < ?))");
            page_params.extend([
                Sql::Text(c.timestamp.clone()),
                Sql::Text(c.timestamp.clone()),
                Sql::Text(c.id.clone()),
            ]);
        }
        page_params.push(Sql::Integer(limit + 1));
        let sql = format!(
            "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE {} ORDER BY created_at DESC, id DESC LIMIT ?{}",
            numbered(&page_clauses),
            page_params.len()
        );
        let mut handoffs: Vec<HandoffRecord> = tx
            .prepare(&sql)?
            .query_map(rusqlite::params_from_iter(page_params.iter()), HandoffRecord::from_row)?
            .collect::<rusqlite::Result<_>>()?;
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
        out.insert("total".into(), total.into());
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// `POST /handoffs/:id/status`: set the status label of a handoff.
pub(crate) async fn set_status(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    corr: &str,
) -> Reply {
    let body = match input::read_json_unlimited(headers, body, Some("status_label"), corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(label) = required_str(&body, "status_label").map(str::to_owned) else {
        return reply::validation("status_label", "Required string field", corr);
    };
    if !STATUS_LABELS.contains(&label.as_str()) {
        let message = format!("Must be one of: {}", STATUS_LABELS.join(", "));
        return reply::validation("status_label", &message, corr);
    }
    app.with_db(corr, |tx, _now| {
        tx.prepare_cached("UPDATE handoffs SET status_label = ?1 WHERE id = ?2")?
            .execute([&label, id])?;
        let sql = format!("SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE id = ?1");
        let handoff = tx
            .prepare_cached(&sql)?
            .query_map([id], HandoffRecord::from_row)?
            .next()
            .transpose()?;
        Ok(match handoff {
            Some(h) => {
                let mut out = Map::new();
                out.insert(
                    "handoff".into(),
                    serde_json::to_value(&h).unwrap_or_default(),
                );
                rules::ok(StatusCode::OK, out, corr)
            }
            None => reply::error(
                StatusCode::NOT_FOUND,
                "Handoff not found",
                Some(json!({ "handoff_id": id })),
                corr,
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_workers_pattern() {
        for good in [
            "2026-11-26",
            "2026-11-26T20:08:49",
            "2026-11-26T20:08:49Z",
            "2026-11-26T20:08:49.964Z",
            "2026-11-26T20:08:49.123456",
        ] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "yesterday",
            "2026-11-2",
            "2026-11-26T20:08",
            "2026-11-26T20:08:49.Z",
            "2026-11-26T20:08:49+01:00",
            "2026-11-26é",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
