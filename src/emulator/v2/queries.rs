//! v2 session queries: `GET /active`, `GET /siblings`, `GET /sessions/prior`.
//!
//! These read sessions without changing them. `/active` takes any subset of
//! agent, venture, repo and track (none lists every active session) and, like
//! `/siblings`, lists a stale session as active: staleness is enforced only by
//! `/sos`, so a client that shows liveness computes it from
//! `last_heartbeat_at`. `/sessions/prior` finds the session an agent just left
//! so it can back-fill that session's activity.

use axum::http::StatusCode;
use rusqlite::types::Value as Sql;
use serde_json::{Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, minus_seconds};
use super::super::input::{js_parse_int, Query};
use super::super::reply::{self, Reply};
use super::rules;

/// Default and largest `within_hours` of `/sessions/prior`.
const PRIOR_DEFAULT_HOURS: i64 = 48;
const PRIOR_MAX_HOURS: i64 = 720;

/// A `track` query parameter: absent, or an integer, or the 400 (an empty
/// one included: the worker checks any `track` present).
fn track_param(query: &Query, corr: &str) -> Result<Option<i64>, Reply> {
    match query.get("track") {
        None => Ok(None),
        Some(text) => js_parse_int(text)
            .map(Some)
            .ok_or_else(|| reply::validation("track", "Must be a valid integer", corr)),
    }
}

/// `GET /active`: active sessions (stale ones included), any filter optional.
pub(crate) fn active(app: &App, query: &Query, corr: &str) -> Reply {
    let track = match track_param(query, corr) {
        Ok(track) => track,
        Err(reply) => return reply,
    };
    app.with_db(corr, |tx, _now| {
        let sessions = rules::sessions_where(
            tx,
            "status = 'active' AND (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR venture = ?2) \
             AND (?3 IS NULL OR repo = ?3) AND (?4 IS NULL OR track = ?4) \
             ORDER BY last_heartbeat_at DESC, created_at DESC, id DESC",
            &[
                rules::text(query.truthy("agent")),
                rules::text(query.truthy("venture")),
                rules::text(query.truthy("repo")),
                track.map_or(Sql::Null, Sql::Integer),
            ],
        )?;
        let list: Vec<Value> = sessions.into_iter().map(|(_, v)| v).collect();
        let mut out = Map::new();
        out.insert("sessions".into(), list.len().into());
        out.insert("count".into(), list.len().into());
        out.insert("sessions".into(), Value::Array(list));
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// `GET /siblings`: the active sessions of a session group.
pub(crate) fn siblings(app: &App, query: &Query, corr: &str) -> Reply {
    let Some(group) = query.truthy("session_group_id") else {
        return reply::validation("session_group_id", "Required query parameter", corr);
    };
    app.with_db(corr, |tx, _now| {
        let sessions = rules::sessions_where(
            tx,
            "status = 'active' AND session_group_id = ?1 AND (?2 IS NULL OR id != ?2) \
             ORDER BY last_heartbeat_at DESC, created_at DESC, id DESC",
            &[
                Sql::Text(group.to_owned()),
                rules::text(query.truthy("exclude_session_id")),
            ],
        )?;
        let list: Vec<Value> = sessions
            .into_iter()
            .map(|(s, _)| {
                serde_json::json!({
                    "id": s.id, "agent": s.agent, "venture": s.venture, "repo": s.repo,
                    "track": s.track, "issue_number": s.issue_number, "branch": s.branch,
                    "last_heartbeat_at": s.last_heartbeat_at, "created_at": s.created_at,
                })
            })
            .collect();
        let mut out = Map::new();
        out.insert("count".into(), list.len().into());
        out.insert("siblings".into(), Value::Array(list));
        out.insert("session_group_id".into(), group.into());
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// `GET /sessions/prior`: the newest ended or abandoned session of a tuple
/// that ended inside the window.
pub(crate) fn prior(app: &App, query: &Query, corr: &str) -> Reply {
    let (Some(agent), Some(venture), Some(repo)) = (
        query.truthy("agent"),
        query.truthy("venture"),
        query.truthy("repo"),
    ) else {
        return reply::validation("agent,venture,repo", "All three are required", corr);
    };
    // Here an empty `track` is checked (and fails), an empty `within_hours`
    // means the default.
    let track = match track_param(query, corr) {
        Ok(track) => track,
        Err(reply) => return reply,
    };
    let hours = match query.truthy("within_hours").map(js_parse_int) {
        None => PRIOR_DEFAULT_HOURS,
        Some(Some(h)) if (1..=PRIOR_MAX_HOURS).contains(&h) => h,
        Some(_) => return reply::validation("within_hours", "Must be 1..720", corr),
    };
    app.with_db(corr, |tx, now| {
        let since = format_ts(minus_seconds(now, hours * 3600));
        let found = rules::sessions_where(
            tx,
            "agent = ?1 AND venture = ?2 AND repo = ?3 AND status IN ('ended', 'abandoned') \
             AND ended_at >= ?4 AND (?5 IS NULL OR track = ?5) AND (?6 IS NULL OR host = ?6) \
             ORDER BY ended_at DESC, id DESC LIMIT 1",
            &[
                Sql::Text(agent.to_owned()),
                Sql::Text(venture.to_owned()),
                Sql::Text(repo.to_owned()),
                Sql::Text(since),
                track.map_or(Sql::Null, Sql::Integer),
                rules::text(query.truthy("host")),
            ],
        )?;
        let session = found.into_iter().next().map_or(Value::Null, |(_, v)| v);
        let mut out = Map::new();
        out.insert("session".into(), session);
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}
