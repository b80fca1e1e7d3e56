//! v2 activity routes: `POST /sessions/:id/activity` and
//! `GET /sessions/history`.
//!
//! A client back-fills what an agent did minute by minute (from its own
//! transcript) so the service can report when work actually happened; the
//! history route turns ended sessions into per-venture, per-day blocks of
//! work. Events are kept when they fall inside the session (`created_at ≤ ts`,
//! and `ts ≤ ended_at` once ended, compared as text), floored to the minute
//! and stored once per minute. Work dates are taken in UTC−7, as the service
//! does, and sessions closer than 30 minutes merge into one block.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, minus_seconds};
use super::super::input::{self, js_parse_int, Query};
use super::super::reply::{self, Reply};
use super::rules;

/// Most events accepted in one call.
const MAX_EVENTS: usize = 5_000;
/// Default and largest `days` of `/sessions/history`.
const DEFAULT_DAYS: i64 = 7;
const MAX_DAYS: i64 = 90;
/// Sessions closer than this merge into one block (30 minutes).
const BLOCK_GAP_SECONDS: i64 = 30 * 60;
/// The service's work-day offset from UTC (UTC−7), in seconds.
const WORK_DAY_OFFSET_SECONDS: i64 = -7 * 3600;

/// Whether `ts` starts `YYYY-MM-DDTHH:MM`.
fn is_minute_stamp(ts: &str) -> bool {
    let b = ts.as_bytes();
    b.len() >= 16
        && b.iter().take(16).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// `POST /sessions/:id/activity`: record per-minute activity.
pub(crate) async fn activity(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    corr: &str,
) -> Reply {
    if !rules::is_session_id(id) {
        return rules::invalid(
            &[("session_id".into(), rules::SESSION_ID_MESSAGE.into())],
            corr,
        );
    }
    let body = match input::read_json(headers, body, "events", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(events) = body.get("events").and_then(Value::as_array) else {
        return reply::validation("events", "Required, must be an array", corr);
    };
    if events.len() > MAX_EVENTS {
        let message = format!("Must have at most {MAX_EVENTS} events");
        return reply::validation("events", &message, corr);
    }
    let mut stamps = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        match event.get("ts").and_then(Value::as_str) {
            Some(ts) if is_minute_stamp(ts) => stamps.push(ts.to_owned()),
            _ => {
                let field = format!("events[{i}].ts");
                return rules::invalid(&[(field, "Required, must be ISO 8601".into())], corr);
            }
        }
    }
    let source = body
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or("cc_jsonl")
        .to_owned();
    app.with_db(corr, |tx, _now| {
        let Some((session, _)) = rules::load_session(tx, id)? else {
            return Ok(reply::session_not_found(id, corr));
        };
        let mut out = Map::new();
        if stamps.is_empty() {
            out.insert("recorded".into(), 0.into());
            out.insert("skipped".into(), 0.into());
            return Ok(rules::ok(StatusCode::OK, out, corr));
        }
        let (mut recorded, mut skipped, mut outside) = (0, 0, 0);
        for ts in &stamps {
            let after_end = session.ended_at.as_ref().is_some_and(|end| ts > end);
            if *ts < session.created_at || after_end {
                outside += 1;
                continue;
            }
            let minute = format!("{}:00Z", &ts[..16]);
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO session_activity (session_id, minute, source) \
                     VALUES (?1, ?2, ?3)",
                )?
                .execute([id, &minute, &source])?;
            if added == 1 {
                recorded += 1;
            } else {
                skipped += 1;
            }
        }
        out.insert("recorded".into(), recorded.into());
        out.insert("skipped".into(), skipped.into());
        out.insert("skipped_out_of_window".into(), outside.into());
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// One ended session, as history needs it.
struct Worked {
    venture: String,
    start: String,
    end: String,
    host: Option<String>,
    repo: String,
    branch: Option<String>,
    issue: Option<i64>,
}

/// The UTC−7 date of a timestamp text.
fn work_date(ts: &str) -> String {
    ts.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| format_ts(minus_seconds(t, -WORK_DAY_OFFSET_SECONDS)))
        .unwrap_or_else(|| ts.to_owned())
        .chars()
        .take(10)
        .collect()
}

/// Seconds between two timestamp texts (`b - a`), or 0.
fn gap_seconds(a: &str, b: &str) -> i64 {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => b.as_second() - a.as_second(),
        _ => 0,
    }
}

fn sorted_unique<T: Ord + Clone + serde::Serialize>(items: &[Option<T>]) -> Value {
    let mut list: Vec<T> = items.iter().flatten().cloned().collect();
    list.sort();
    list.dedup();
    json!(list)
}

/// Merges one day's sessions (sorted by start) into blocks.
fn blocks(day: &[Worked]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < day.len() {
        let mut j = i + 1;
        let mut end = day[i].end.clone();
        while j < day.len() && gap_seconds(&end, &day[j].start) < BLOCK_GAP_SECONDS {
            end = end.max(day[j].end.clone());
            j += 1;
        }
        let members = &day[i..j];
        let hosts: Vec<Option<String>> = members.iter().map(|w| w.host.clone()).collect();
        let repos: Vec<Option<String>> = members.iter().map(|w| Some(w.repo.clone())).collect();
        let branches: Vec<Option<String>> = members.iter().map(|w| w.branch.clone()).collect();
        let issues: Vec<Option<i64>> = members.iter().map(|w| w.issue).collect();
        out.push(json!({
            "start": day[i].start,
            "end": end,
            "session_count": members.len(),
            "hosts": sorted_unique(&hosts),
            "repos": sorted_unique(&repos),
            "branches": sorted_unique(&branches),
            "issues": sorted_unique(&issues),
        }));
        i = j;
    }
    out
}

/// `GET /sessions/history?days=`: ended sessions as blocks of work.
pub(crate) fn history(app: &App, query: &Query, corr: &str) -> Reply {
    let days = match query.get("days").map(js_parse_int) {
        None => DEFAULT_DAYS,
        Some(Some(d)) if (1..=MAX_DAYS).contains(&d) => d,
        Some(_) => return reply::validation("days", "Must be an integer between 1 and 90", corr),
    };
    app.with_db(corr, |tx, now| {
        let since = format_ts(minus_seconds(now, days * 86_400));
        let worked = rules::sessions_where(
            tx,
            "status = 'ended' AND created_at >= ?1 ORDER BY venture, created_at",
            &[rusqlite::types::Value::Text(since)],
        )?;
        let mut days: BTreeMap<(String, String), Vec<Worked>> = BTreeMap::new();
        for (s, _) in worked {
            let end = s
                .ended_at
                .clone()
                .unwrap_or_else(|| s.last_heartbeat_at.clone());
            days.entry((s.venture.clone(), work_date(&s.created_at)))
                .or_default()
                .push(Worked {
                    venture: s.venture,
                    start: s.created_at,
                    end,
                    host: s.host,
                    repo: s.repo,
                    branch: s.branch,
                    issue: s.issue_number,
                });
        }
        let entries: Vec<Value> = days
            .into_iter()
            .rev()
            .map(|((venture, date), day)| {
                let total = day.len();
                let venture = day.first().map_or(venture, |w| w.venture.clone());
                json!({
                    "venture": venture,
                    "work_date": date,
                    "blocks": blocks(&day),
                    "total_sessions": total,
                })
            })
            .collect();
        let mut out = Map::new();
        out.insert("count".into(), entries.len().into());
        out.insert("entries".into(), Value::Array(entries));
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}
