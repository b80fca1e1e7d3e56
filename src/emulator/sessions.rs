//! Session routes: `POST /sod`, `POST /update`, `POST /heartbeat`, `GET /active`.
//!
//! These carry the session lifecycle the SDK has to get right: `/sod` resumes
//! the caller's active session for the same agent, venture, repo and track (an
//! absent track matches any), supersedes duplicates, abandons one whose last
//! heartbeat is more than 45 minutes old and creates a new one; every write
//! refreshes the heartbeat and proposes the next one at a random interval so
//! thousands of agents never beat in step. Validation messages, their order
//! and the 404/409 shapes follow the recorded service exactly.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use rusqlite::Transaction;
use serde_json::{Map, Value};

use super::app::App;
use super::clock::{format_ts, minus_seconds, new_id, plus_seconds};
use super::input::{self, js_parse_int, required_str, Query};
use super::records::{SessionRecord, SESSION_COLUMNS};
use super::reply::{self, Reply};
use super::{docs, idempotency};

/// A session whose last heartbeat is older than this is stale (45 minutes).
pub(crate) const STALE_AFTER_SECONDS: i64 = 45 * 60;
/// `schema_version` written on new records.
pub(crate) const SCHEMA_VERSION: &str = "1.0";

/// The optional fields of `/update`: `None` = leave alone, `Some(None)` = clear.
type Change = Option<Option<String>>;

/// Reads an `/update` field: absent leaves it, null clears it, a string sets it.
fn change(body: &Value, field: &str, corr: &str) -> Result<Change, Reply> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(reply::validation(field, "Must be a string", corr)),
    }
}

/// `meta` as stored text (`JSON.stringify`), or null.
fn meta_json(body: &Value) -> Option<String> {
    body.get("meta")
        .filter(|m| !m.is_null())
        .map(|m| serde_json::to_string(m).unwrap_or_default())
}

/// Adds `next_heartbeat_at` and `heartbeat_interval_seconds` to a body.
fn propose_heartbeat(app: &App, now: Timestamp, body: &mut Map<String, Value>) {
    let interval = app.heartbeat_interval();
    let next = plus_seconds(now, i64::try_from(interval).unwrap_or(i64::MAX));
    body.insert("next_heartbeat_at".into(), format_ts(next).into());
    body.insert("heartbeat_interval_seconds".into(), interval.into());
}

/// Loads an active session for a write, or the 404/409 answer.
fn active_session(
    tx: &Transaction<'_>,
    id: &str,
    corr: &str,
) -> rusqlite::Result<Result<SessionRecord, Reply>> {
    Ok(match SessionRecord::load(tx, id)? {
        None => Err(reply::session_not_found(id, corr)),
        Some(s) if s.status != "active" => Err(reply::session_not_active(id, &s.status, corr)),
        Some(s) => Ok(s),
    })
}

fn touch(tx: &Transaction<'_>, id: &str, now: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE sessions SET last_heartbeat_at = ?1 WHERE id = ?2")?
        .execute([now, id])?;
    Ok(())
}

/// The session `/sod` would create, from a validated body (the 400s follow
/// the service: the first missing required field is named).
fn new_session(app: &App, body: &Value, corr: &str) -> Result<SessionRecord, Reply> {
    let required = |field: &str| {
        required_str(body, field)
            .map(str::to_owned)
            .ok_or_else(|| reply::validation(field, "Required string field", corr))
    };
    let (agent, venture, repo) = (required("agent")?, required("venture")?, required("repo")?);
    Ok(SessionRecord {
        id: String::new(),
        agent,
        client: input::optional_str(body, "client", corr)?,
        client_version: input::optional_str(body, "client_version", corr)?,
        host: input::optional_str(body, "host", corr)?,
        venture,
        repo,
        track: input::optional_int(body, "track", corr)?,
        issue_number: input::optional_int(body, "issue_number", corr)?,
        branch: input::optional_str(body, "branch", corr)?,
        commit_sha: input::optional_str(body, "commit_sha", corr)?,
        status: "active".into(),
        created_at: String::new(),
        started_at: String::new(),
        last_heartbeat_at: String::new(),
        ended_at: None,
        end_reason: None,
        schema_version: SCHEMA_VERSION.into(),
        actor_key_id: app.actor_key_id.clone(),
        creation_correlation_id: corr.to_owned(),
        meta_json: meta_json(body),
    })
}

/// `POST /sod`: resume or create the caller's session.
pub(crate) async fn start_of_day(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "agent", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let template = match new_session(app, &body, corr) {
        Ok(template) => template,
        Err(reply) => return reply,
    };
    let include_docs = body.get("include_docs") != Some(&Value::Bool(false));
    let key = match idempotency::key_for(headers, &body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    app.idempotent("/sod", key.as_deref(), corr, |tx, now| {
        let (session, created) = resume_or_create(tx, now, template)?;
        let mut out = Map::new();
        out.insert("session_id".into(), session.id.clone().into());
        out.insert(
            "status".into(),
            if created { "created" } else { "resumed" }.into(),
        );
        out.insert(
            "session".into(),
            serde_json::to_value(&session).unwrap_or_default(),
        );
        propose_heartbeat(app, now, &mut out);
        out.insert("correlation_id".into(), corr.into());
        if include_docs {
            out.insert("documentation".into(), docs::documentation());
        }
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}

/// The `/sod` lifecycle rules; returns the session and whether it is new.
fn resume_or_create(
    tx: &Transaction<'_>,
    now: Timestamp,
    mut template: SessionRecord,
) -> rusqlite::Result<(SessionRecord, bool)> {
    let now_text = format_ts(now);
    let by_track = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE agent = ?1 AND venture = ?2 AND repo = ?3 \
         AND status = 'active' AND (?4 IS NULL OR track = ?4) \
         ORDER BY last_heartbeat_at DESC, created_at DESC, id DESC"
    );
    let found: Vec<SessionRecord> = tx
        .prepare_cached(&by_track)?
        .query_map(
            rusqlite::params![
                template.agent,
                template.venture,
                template.repo,
                template.track
            ],
            SessionRecord::from_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut found = found.into_iter();
    if let Some(newest) = found.next() {
        for older in found {
            tx.prepare_cached(
                "UPDATE sessions SET status = 'ended', end_reason = 'superseded', ended_at = ?1 WHERE id = ?2",
            )?
            .execute([&now_text, &older.id])?;
        }
        let threshold = format_ts(minus_seconds(now, STALE_AFTER_SECONDS));
        if newest.last_heartbeat_at < threshold {
            tx.prepare_cached(
                "UPDATE sessions SET status = 'abandoned', end_reason = 'stale', ended_at = ?1 WHERE id = ?2",
            )?
            .execute([&now_text, &newest.id])?;
        } else {
            touch(tx, &newest.id, &now_text)?;
            let resumed = SessionRecord::load(tx, &newest.id)?.unwrap_or(newest);
            return Ok((resumed, false));
        }
    }
    template.id = new_id("sess", now);
    template.created_at = now_text.clone();
    template.started_at = now_text.clone();
    template.last_heartbeat_at = now_text;
    template.insert(tx)?;
    Ok((template, true))
}

/// `POST /update`: change branch, commit or meta and refresh the heartbeat.
pub(crate) async fn update(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "session_id", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(session_id) = required_str(&body, "session_id") else {
        return reply::validation("session_id", "Required string field", corr);
    };
    let (branch, commit_sha) = match (
        change(&body, "branch", corr),
        change(&body, "commit_sha", corr),
    ) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let meta: Change = body.get("meta").map(|_| meta_json(&body));
    let key = match idempotency::key_for(headers, &body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    app.idempotent("/update", key.as_deref(), corr, |tx, now| {
        if let Err(reply) = active_session(tx, session_id, corr)? {
            return Ok(reply);
        }
        let now_text = format_ts(now);
        tx.prepare_cached(
            "UPDATE sessions SET \
               branch = CASE WHEN ?1 THEN ?2 ELSE branch END, \
               commit_sha = CASE WHEN ?3 THEN ?4 ELSE commit_sha END, \
               meta_json = CASE WHEN ?5 THEN ?6 ELSE meta_json END, \
               last_heartbeat_at = ?7 WHERE id = ?8",
        )?
        .execute(rusqlite::params![
            branch.is_some(),
            branch.clone().flatten(),
            commit_sha.is_some(),
            commit_sha.clone().flatten(),
            meta.is_some(),
            meta.clone().flatten(),
            now_text,
            session_id,
        ])?;
        let mut out = Map::new();
        out.insert("session_id".into(), session_id.into());
        out.insert("updated_at".into(), now_text.into());
        propose_heartbeat(app, now, &mut out);
        out.insert("correlation_id".into(), corr.into());
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}

/// `POST /heartbeat`: refresh an active session's heartbeat (no idempotency).
pub(crate) async fn heartbeat(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "session_id", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(session_id) = required_str(&body, "session_id") else {
        return reply::validation("session_id", "Required string field", corr);
    };
    app.with_db(corr, |tx, now| {
        if let Err(reply) = active_session(tx, session_id, corr)? {
            return Ok(reply);
        }
        let now_text = format_ts(now);
        touch(tx, session_id, &now_text)?;
        let mut out = Map::new();
        out.insert("session_id".into(), session_id.into());
        out.insert("last_heartbeat_at".into(), now_text.into());
        propose_heartbeat(app, now, &mut out);
        out.insert("correlation_id".into(), corr.into());
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}

/// `GET /active`: the caller's sessions with status `active` (stale or not).
pub(crate) fn active(app: &App, query: &Query, corr: &str) -> Reply {
    const REQUIRED: [&str; 3] = ["agent", "venture", "repo"];
    let values = REQUIRED.map(|field| query.truthy(field));
    let [Some(agent), Some(venture), Some(repo)] = values else {
        let missing = values.iter().position(Option::is_none).unwrap_or(0);
        return reply::validation(REQUIRED[missing], "Required query parameter", corr);
    };
    let track = match query.get("track") {
        None => None,
        Some(text) => match js_parse_int(text) {
            Some(t) => Some(t),
            None => return reply::validation("track", "Must be a valid integer", corr),
        },
    };
    app.with_db(corr, |tx, _now| {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE agent = ?1 AND venture = ?2 AND repo = ?3 \
             AND status = 'active' AND (?4 IS NULL OR track = ?4) \
             ORDER BY last_heartbeat_at DESC, created_at DESC, id DESC"
        );
        let sessions: Vec<SessionRecord> = tx
            .prepare_cached(&sql)?
            .query_map(rusqlite::params![agent, venture, repo, track], SessionRecord::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Map::new();
        out.insert("count".into(), sessions.len().into());
        out.insert("sessions".into(), serde_json::to_value(&sessions).unwrap_or_default());
        out.insert("correlation_id".into(), corr.into());
        Ok(Reply::json(StatusCode::OK, &out, Some(corr)))
    })
}
