//! v2 session writes: `POST /sos` (and `/sod`), `/update`, `/heartbeat`.
//!
//! The lifecycle is v1's with v2's edges: a track of 0 or none matches every
//! track; of several active matches the most recently heartbeated is kept and
//! the others are superseded; a kept session whose heartbeat is older than 45
//! minutes is abandoned there and then (its `ended_at` and `last_activity_at`
//! set to that heartbeat) and a new one is created — staleness is enforced only
//! by `/sos`, so every other route still accepts and revives a stale session.
//! A resume changes nothing but the heartbeat (and fills a missing
//! `client_session_id`).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use rusqlite::types::Value as Sql;
use rusqlite::Transaction;
use serde_json::{Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, minus_seconds, new_id, plus_seconds};
use super::super::idempotency;
use super::super::input::{self, required_str};
use super::super::records::SessionRecord;
use super::super::reply::{self, Reply};
use super::super::sessions::{SCHEMA_VERSION, STALE_AFTER_SECONDS};
use super::{catalog, context, rules};

/// Adds `next_heartbeat_at` and `heartbeat_interval_seconds`.
pub(super) fn propose_heartbeat(app: &App, now: Timestamp, body: &mut Map<String, Value>) {
    let interval = app.heartbeat_interval();
    let next = plus_seconds(now, i64::try_from(interval).unwrap_or(i64::MAX));
    body.insert("next_heartbeat_at".into(), format_ts(next).into());
    body.insert("heartbeat_interval_seconds".into(), interval.into());
}

/// Loads a session for a write: the record, or the 404/409 answer.
pub(super) fn writable(
    tx: &Transaction<'_>,
    id: &str,
    corr: &str,
) -> rusqlite::Result<Result<SessionRecord, Reply>> {
    Ok(match rules::load_session(tx, id)? {
        None => Err(reply::session_not_found(id, corr)),
        Some((s, _)) if s.status != "active" => Err(reply::session_not_active(id, &s.status, corr)),
        Some((s, _)) => Ok(s),
    })
}

/// Refreshes a session's heartbeat.
pub(super) fn touch(tx: &Transaction<'_>, id: &str, now: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE sessions SET last_heartbeat_at = ?1 WHERE id = ?2")?
        .execute([now, id])?;
    Ok(())
}

/// Sets `client_session_id` only where it is still null (a value captured
/// at `/sos` is kept), as `/update` and `/heartbeat` do.
fn fill_client_session_id(
    tx: &Transaction<'_>,
    id: &str,
    client_session_id: Option<&str>,
) -> rusqlite::Result<()> {
    if let Some(csid) = client_session_id {
        tx.prepare_cached(
            "UPDATE sessions SET client_session_id = COALESCE(client_session_id, ?1) WHERE id = ?2",
        )?
        .execute([csid, id])?;
    }
    Ok(())
}

/// What `/sos` was asked for, validated.
struct SosRequest {
    template: SessionRecord,
    client_session_id: Option<String>,
    session_group_id: Option<String>,
    options: context::Options,
}

/// `track` / `issue_number` of `/sos`, which the worker stores unchecked as
/// `x || null` in an INTEGER column: falsy is null, a whole number or a
/// string of digits (SQLite's integer affinity) is that integer. Anything
/// else would make the stored record unreadable, so the emulator refuses it.
fn loose_int(body: &Value, field: &str, corr: &str) -> Result<Option<i64>, Reply> {
    let value = body.get(field);
    if !rules::truthy(value) {
        return Ok(None);
    }
    let whole = match value {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    whole
        .map(Some)
        .ok_or_else(|| reply::validation(field, "Must be an integer", corr))
}

fn parse_sos(app: &App, body: &Value, corr: &str) -> Result<SosRequest, Reply> {
    let mut failures = Vec::new();
    let agent = required_str(body, "agent").filter(|a| rules::is_agent(a));
    if agent.is_none() {
        failures.push(("agent".to_owned(), rules::AGENT_MESSAGE.to_owned()));
    }
    let venture = required_str(body, "venture").filter(|v| catalog::is_venture(v));
    if venture.is_none() {
        let message = format!(
            "Required, must be one of: {}",
            catalog::venture_codes().join(", ")
        );
        failures.push(("venture".to_owned(), message));
    }
    let repo = required_str(body, "repo").filter(|r| rules::is_repo(r));
    if repo.is_none() {
        failures.push((
            "repo".to_owned(),
            "Required, must match pattern: owner/repo".to_owned(),
        ));
    }
    let (Some(agent), Some(venture), Some(repo)) = (agent, venture, repo) else {
        return Err(rules::invalid(&failures, corr));
    };
    let template = SessionRecord {
        id: String::new(),
        agent: agent.to_owned(),
        client: input::optional_str(body, "client", corr)?,
        client_version: input::optional_str(body, "client_version", corr)?,
        host: input::optional_str(body, "host", corr)?,
        venture: venture.to_owned(),
        repo: repo.to_owned(),
        track: loose_int(body, "track", corr)?,
        issue_number: loose_int(body, "issue_number", corr)?,
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
        // `meta ? JSON.stringify(meta) : null`.
        meta_json: body
            .get("meta")
            .filter(|m| rules::truthy(Some(m)))
            .map(Value::to_string),
    };
    Ok(SosRequest {
        template,
        client_session_id: input::optional_str(body, "client_session_id", corr)?,
        session_group_id: input::optional_str(body, "session_group_id", corr)?,
        options: context::Options::from_body(body),
    })
}

/// `POST /sos` (and `/sod`): resume or create the caller's session.
pub(crate) async fn start(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "agent", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let request = match parse_sos(app, &body, corr) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let key = match idempotency::key_for(headers, &body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    app.idempotent("/sos", key.as_deref(), corr, |tx, now| {
        let track = request.template.track;
        let (id, created) = resume_or_create(tx, now, &request)?;
        let session = rules::load_session(tx, &id)?.map(|(_, v)| v);
        let mut out = Map::new();
        out.insert("session_id".into(), id.into());
        out.insert(
            "status".into(),
            if created { "created" } else { "resumed" }.into(),
        );
        out.insert("session".into(), session.unwrap_or(Value::Null));
        propose_heartbeat(app, now, &mut out);
        context::add_blocks(
            tx,
            &request.template.venture,
            &request.template.repo,
            track,
            &request.options,
            now,
            &mut out,
        )?;
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// The `/sos` lifecycle; returns the session id and whether it is new.
fn resume_or_create(
    tx: &Transaction<'_>,
    now: Timestamp,
    request: &SosRequest,
) -> rusqlite::Result<(String, bool)> {
    let t = &request.template;
    let now_text = format_ts(now);
    let found = rules::sessions_where(
        tx,
        "agent = ?1 AND venture = ?2 AND repo = ?3 AND status = 'active' \
         AND (?4 IS NULL OR track = ?4) \
         ORDER BY last_heartbeat_at DESC, created_at DESC, id DESC",
        &[
            Sql::Text(t.agent.clone()),
            Sql::Text(t.venture.clone()),
            Sql::Text(t.repo.clone()),
            t.track.map_or(Sql::Null, Sql::Integer),
        ],
    )?;
    let mut found = found.into_iter().map(|(s, _)| s);
    if let Some(newest) = found.next() {
        for older in found {
            tx.prepare_cached(
                "UPDATE sessions SET status = 'ended', end_reason = 'superseded', ended_at = ?1 \
                 WHERE id = ?2",
            )?
            .execute([&now_text, &older.id])?;
        }
        let threshold = format_ts(minus_seconds(now, STALE_AFTER_SECONDS));
        if newest.last_heartbeat_at < threshold {
            tx.prepare_cached(
                "UPDATE sessions SET status = 'abandoned', end_reason = 'stale', \
                 ended_at = last_heartbeat_at, last_activity_at = last_heartbeat_at WHERE id = ?1",
            )?
            .execute([&newest.id])?;
        } else {
            tx.prepare_cached(
                "UPDATE sessions SET last_heartbeat_at = ?1, \
                 client_session_id = COALESCE(client_session_id, ?2) WHERE id = ?3",
            )?
            .execute(rusqlite::params![
                now_text,
                request.client_session_id,
                newest.id
            ])?;
            return Ok((newest.id, false));
        }
    }
    let mut session = t.clone();
    session.id = new_id("sess", now);
    session.created_at = now_text.clone();
    session.started_at = now_text.clone();
    session.last_heartbeat_at = now_text;
    session.insert(tx)?;
    tx.prepare_cached(
        "UPDATE sessions SET client_session_id = ?1, session_group_id = ?2 WHERE id = ?3",
    )?
    .execute(rusqlite::params![
        request.client_session_id,
        request.session_group_id,
        session.id
    ])?;
    Ok((session.id, true))
}

/// Reads the body of a session-id route and checks the id's pattern.
async fn session_body(
    headers: &HeaderMap,
    body: Body,
    corr: &str,
) -> Result<(Value, String), Reply> {
    let body = input::read_json_unlimited(headers, body, Some("session_id"), corr).await?;
    match required_str(&body, "session_id").filter(|id| rules::is_session_id(id)) {
        Some(id) => {
            let id = id.to_owned();
            Ok((body, id))
        }
        None => Err(rules::invalid(
            &[("session_id".into(), rules::SESSION_ID_MESSAGE.into())],
            corr,
        )),
    }
}

/// A field of `/update`: absent = `None`, null or `""` = clear, text = set.
fn change(body: &Value, field: &str, corr: &str) -> Result<Option<Option<String>>, Reply> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(reply::validation(field, "Must be a string", corr)),
    }
}

/// `POST /update`: change branch, commit or meta; fill a missing
/// `client_session_id`.
pub(crate) async fn update(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let (body, session_id) = match session_body(headers, body, corr).await {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    let mut changes = Vec::new();
    for field in ["branch", "commit_sha"] {
        match change(&body, field, corr) {
            Ok(Some(value)) => changes.push((field, value)),
            Ok(None) => {}
            Err(reply) => return reply,
        }
    }
    if let Some(meta) = body.get("meta") {
        // `JSON.stringify(meta)`: a null meta is stored as the text "null".
        changes.push(("meta_json", Some(meta.to_string())));
    }
    let client_session_id = match input::optional_str(&body, "client_session_id", corr) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    let key = match idempotency::key_for(headers, &body) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    app.idempotent("/update", key.as_deref(), corr, |tx, now| {
        if let Err(reply) = writable(tx, &session_id, corr)? {
            return Ok(reply);
        }
        let now_text = format_ts(now);
        for (column, value) in &changes {
            // Column names come from the fixed list above, never from input.
            let sql = format!("UPDATE sessions SET {column} = ?1 WHERE id = ?2");
            tx.prepare_cached(&sql)?
                .execute(rusqlite::params![value, session_id])?;
        }
        touch(tx, &session_id, &now_text)?;
        fill_client_session_id(tx, &session_id, client_session_id.as_deref())?;
        let mut out = Map::new();
        out.insert("session_id".into(), session_id.clone().into());
        out.insert("updated_at".into(), now_text.into());
        propose_heartbeat(app, now, &mut out);
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// `POST /heartbeat`: refresh the heartbeat (no idempotency).
pub(crate) async fn heartbeat(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let (body, session_id) = match session_body(headers, body, corr).await {
        Ok(parsed) => parsed,
        Err(reply) => return reply,
    };
    let client_session_id = match input::optional_str(&body, "client_session_id", corr) {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    app.with_db(corr, |tx, now| {
        if let Err(reply) = writable(tx, &session_id, corr)? {
            return Ok(reply);
        }
        let now_text = format_ts(now);
        touch(tx, &session_id, &now_text)?;
        fill_client_session_id(tx, &session_id, client_session_id.as_deref())?;
        let mut out = Map::new();
        out.insert("session_id".into(), session_id.clone().into());
        out.insert("last_heartbeat_at".into(), now_text.into());
        propose_heartbeat(app, now, &mut out);
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}
