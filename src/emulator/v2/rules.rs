//! The v2 identity rules and the shared pieces of v2 answers.
//!
//! v2 checks agent names, repos and session ids against fixed patterns and
//! reports every failing field of a request in one `validation_failed` list
//! (v1 named only the first missing one). Those patterns, the list-shaped 400
//! and the v2 session record (v1's fields plus `client_session_id`,
//! `last_activity_at`, `session_group_id`) are defined here once.

use axum::http::StatusCode;
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{json, Map, Value};

use super::super::records::{SessionRecord, SESSION_COLUMNS};
use super::super::reply::{self, Reply};

/// Message for an agent name that breaks the rule.
pub(super) const AGENT_MESSAGE: &str =
    "Required, must match pattern: lowercase-alphanumeric-with-hyphens";
/// Message for a malformed session id.
pub(super) const SESSION_ID_MESSAGE: &str = "Required, must match pattern: sess_<ULID>";

/// `^[a-z0-9]+-[a-z0-9-]+$`.
pub(super) fn is_agent(text: &str) -> bool {
    let lower = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = text.as_bytes();
    let head = bytes.iter().take_while(|c| lower(**c)).count();
    head > 0
        && bytes.get(head) == Some(&b'-')
        && bytes.len() > head + 1
        && bytes[head + 1..].iter().all(|c| lower(*c) || *c == b'-')
}

/// `^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$`.
pub(super) fn is_repo(text: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    };
    matches!(text.split_once('/'), Some((owner, name)) if part(owner) && part(name))
}

/// `^sess_[0-9A-HJKMNP-TV-Z]{26}$`.
pub(super) fn is_session_id(text: &str) -> bool {
    text.strip_prefix("sess_").is_some_and(|ulid| {
        ulid.len() == 26
            && ulid.bytes().all(|c| {
                c.is_ascii_digit()
                    || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'L' | b'O' | b'U'))
            })
    })
}

/// `400 validation_failed` listing `(field, message)` pairs.
pub(super) fn invalid(fields: &[(String, String)], corr: &str) -> Reply {
    let details: Vec<Value> = fields
        .iter()
        .map(|(field, message)| json!({ "field": field, "message": message }))
        .collect();
    reply::error(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some(Value::Array(details)),
        corr,
    )
}

/// A plain `{"error": message, "correlation_id"}` answer (the notes routes).
pub(super) fn plain(status: StatusCode, message: &str, corr: &str) -> Reply {
    reply::error(status, message, None, corr)
}

/// A `200` JSON answer with `correlation_id` added to `body`.
pub(super) fn ok(status: StatusCode, mut body: Map<String, Value>, corr: &str) -> Reply {
    body.insert("correlation_id".into(), corr.into());
    Reply::json(status, &body, Some(corr))
}

/// JavaScript truthiness of an optional JSON value (absent = `undefined`).
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Session columns for [`session_from_row`]: v1's, then the three v2 ones.
pub(super) fn session_columns() -> String {
    format!("{SESSION_COLUMNS}, client_session_id, last_activity_at, session_group_id")
}

/// A v2 session record from a row selected with [`session_columns`].
pub(super) fn session_from_row(row: &Row<'_>) -> rusqlite::Result<(SessionRecord, Value)> {
    let record = SessionRecord::from_row(row)?;
    let mut value = serde_json::to_value(&record).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        for (i, key) in ["client_session_id", "last_activity_at", "session_group_id"]
            .into_iter()
            .enumerate()
        {
            let v: Option<String> = row.get(21 + i)?;
            map.insert(key.into(), v.into());
        }
    }
    Ok((record, value))
}

/// Loads one session (record and v2 JSON) by id.
pub(super) fn load_session(
    conn: &Connection,
    id: &str,
) -> rusqlite::Result<Option<(SessionRecord, Value)>> {
    let sql = format!("SELECT {} FROM sessions WHERE id = ?1", session_columns());
    conn.prepare_cached(&sql)?
        .query_row([id], session_from_row)
        .optional()
}

/// Sessions matching `WHERE clause` (parameters in order), as v2 JSON.
pub(super) fn sessions_where(
    conn: &Connection,
    clause: &str,
    params: &[rusqlite::types::Value],
) -> rusqlite::Result<Vec<(SessionRecord, Value)>> {
    let sql = format!("SELECT {} FROM sessions WHERE {clause}", session_columns());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), session_from_row)?;
    rows.collect()
}

/// An optional string from a query or body as an SQL value (null if absent).
pub(super) fn text(value: Option<&str>) -> rusqlite::types::Value {
    value.map_or(rusqlite::types::Value::Null, |v| {
        rusqlite::types::Value::Text(v.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_patterns() {
        assert!(is_agent("crane-mcp-fixture-host-2a97"));
        assert!(!is_agent("Fixture.Host_1"));
        assert!(!is_agent("nohyphen"));
        assert!(!is_agent("-x"));
        assert!(is_repo("fixture-owner/repo-1"));
        assert!(!is_repo("crane-console"));
        assert!(!is_repo("a/b.git"));
        assert!(is_session_id("sess_01M8CQK98TCC0ZE0AQ5AP1RA1R"));
        assert!(!is_session_id("sess_123"));
        assert!(!is_session_id("sess_nope"));
    }
}
