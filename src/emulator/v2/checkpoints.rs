//! v2 checkpoints: `POST /checkpoint` and `GET /checkpoints`.
//!
//! A checkpoint is a mid-session note of progress (what was done, what
//! blocks, what is next) that survives a crash of the agent. The service does
//! not make them idempotent — every call adds one with the next
//! `checkpoint_number`, key or not — and a client is told to read the list
//! before retrying; the emulator does the same so that retry logic is tested
//! against the real hazard. Lists come back as JSON text, as the service
//! stores them. `/checkpoint` also refreshes the session's heartbeat.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use rusqlite::types::Value as Sql;
use rusqlite::Row;
use serde_json::{json, Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, new_id};
use super::super::input::{self, js_parse_int, required_str, Query};
use super::super::reply::{self, Reply};
use super::{rules, sessions};

/// Page size when none is given, and the largest.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

const CHECKPOINT_COLUMNS: &str = "id, session_id, venture, repo, track, issue_number, branch, \
     commit_sha, summary, work_completed, blockers, next_actions, notes, checkpoint_number, \
     created_at, actor_key_id, correlation_id";

fn checkpoint_from_row(row: &Row<'_>) -> rusqlite::Result<Value> {
    let text = |i: usize| row.get::<_, Option<String>>(i);
    let int = |i: usize| row.get::<_, Option<i64>>(i);
    Ok(json!({
        "id": text(0)?, "session_id": text(1)?, "venture": text(2)?, "repo": text(3)?,
        "track": int(4)?, "issue_number": int(5)?, "branch": text(6)?, "commit_sha": text(7)?,
        "summary": text(8)?, "work_completed": text(9)?, "blockers": text(10)?,
        "next_actions": text(11)?, "notes": text(12)?, "checkpoint_number": int(13)?,
        "created_at": text(14)?, "actor_key_id": text(15)?, "correlation_id": text(16)?,
    }))
}

/// A list field as stored JSON text (null when absent).
fn list_text(body: &Value, field: &str) -> Option<String> {
    body.get(field)
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::to_string(v).ok())
}

/// `POST /checkpoint`: record progress on an active session (201).
pub(crate) async fn create(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json_unlimited(headers, body, Some("session_id"), corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(session_id) = required_str(&body, "session_id").map(str::to_owned) else {
        return reply::validation("session_id", "Required string field", corr);
    };
    let Some(summary) = required_str(&body, "summary").map(str::to_owned) else {
        return reply::validation("summary", "Required string field", corr);
    };
    let notes = match input::optional_str(&body, "notes", corr) {
        Ok(notes) => notes,
        Err(reply) => return reply,
    };
    app.with_db(corr, |tx, now| {
        let session = match sessions::writable(tx, &session_id, corr)? {
            Ok(session) => session,
            Err(reply) => return Ok(reply),
        };
        let number: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM checkpoints WHERE session_id = ?1")?
            .query_row([&session_id], |r| r.get(0))?;
        let number = number + 1;
        let now_text = format_ts(now);
        let id = new_id("cp", now);
        tx.prepare_cached(&format!(
            "INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        ))?
        .execute(rusqlite::params![
            id,
            session_id,
            session.venture,
            session.repo,
            session.track,
            session.issue_number,
            session.branch,
            session.commit_sha,
            summary,
            list_text(&body, "work_completed"),
            list_text(&body, "blockers"),
            list_text(&body, "next_actions"),
            notes,
            number,
            now_text,
            app.actor_key_id,
            corr,
        ])?;
        sessions::touch(tx, &session_id, &now_text)?;
        let mut out = Map::new();
        out.insert("checkpoint_id".into(), id.into());
        out.insert("checkpoint_number".into(), number.into());
        out.insert("session_id".into(), session_id.clone().into());
        out.insert("created_at".into(), now_text.into());
        Ok(rules::ok(StatusCode::CREATED, out, corr))
    })
}

/// `GET /checkpoints`: by session, or by venture (+ repo, track); newest first.
pub(crate) fn list(app: &App, query: &Query, corr: &str) -> Reply {
    let session_id = query.truthy("session_id");
    let venture = query.truthy("venture");
    if session_id.is_none() && venture.is_none() {
        return reply::validation(
            "query_params",
            "At least session_id or venture is required",
            corr,
        );
    }
    let limit = match query.truthy("limit").map(js_parse_int) {
        None => DEFAULT_LIMIT,
        Some(Some(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return reply::validation("limit", "Must be an integer between 1 and 100", corr),
    };
    let track = match query.truthy("track").map(js_parse_int) {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => return reply::validation("track", "Must be a valid integer", corr),
    };
    app.with_db(corr, |tx, _now| {
        let sql = format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE (?1 IS NULL OR session_id = ?1) \
             AND (?2 IS NULL OR venture = ?2) AND (?3 IS NULL OR repo = ?3) \
             AND (?4 IS NULL OR track = ?4) ORDER BY created_at DESC, id DESC LIMIT ?5"
        );
        let list: Vec<Value> = tx
            .prepare_cached(&sql)?
            .query_map(
                rusqlite::params![
                    rules::text(session_id),
                    rules::text(venture),
                    rules::text(query.truthy("repo")),
                    track.map_or(Sql::Null, Sql::Integer),
                    limit,
                ],
                checkpoint_from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Map::new();
        out.insert("count".into(), list.len().into());
        out.insert("checkpoints".into(), Value::Array(list));
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}
