//! v2 activity routes: `POST /sessions/:id/activity` and
//! `GET /sessions/history`.
//!
//! A client back-fills what an agent did minute by minute (from its own
//! transcript) so the service can report when work actually happened; the
//! history route turns ended sessions into per-venture, per-day blocks of
//! work. Events are kept when they fall inside the session (`created_at ≤ ts`,
//! and `ts ≤ ended_at` once ended, compared as text), floored to the minute
//! and stored once per minute. A session with activity counts as its activity
//! ranges, one without as its whole span; work dates are taken in UTC−7, as
//! the service does, and spans closer than 30 minutes merge into one block.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, minus_seconds, plus_seconds};
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

/// The first failing check of an activity body, as the service words it.
fn check_events(body: &Value, corr: &str) -> Result<Vec<String>, Reply> {
    let fail = |field: &str, message: &str| rules::invalid(&[(field.into(), message.into())], corr);
    let Some(events) = body.get("events").and_then(Value::as_array) else {
        return Err(fail("events", "Required array of {ts}"));
    };
    if events.len() > MAX_EVENTS {
        let message = format!("Maximum {MAX_EVENTS} events per request");
        return Err(fail("events", &message));
    }
    let mut stamps = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        match event.get("ts").and_then(Value::as_str) {
            Some(ts) if is_minute_stamp(ts) => stamps.push(ts.to_owned()),
            _ => {
                return Err(fail(
                    &format!("events[{i}].ts"),
                    "Required, must be ISO 8601",
                ))
            }
        }
    }
    Ok(stamps)
}

/// `POST /sessions/:id/activity`: record per-minute activity. An empty list
/// is answered before the session is looked up; duplicates within one call
/// count once (`skipped` counts minutes already stored).
pub(crate) async fn activity(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    corr: &str,
) -> Reply {
    if !rules::is_session_id(id) {
        let message = "Must match pattern: sess_<ULID>";
        return rules::invalid(&[("session_id".into(), message.into())], corr);
    }
    let body = match input::read_json_unlimited(headers, body, None, corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let stamps = match check_events(&body, corr) {
        Ok(stamps) => stamps,
        Err(reply) => return reply,
    };
    let mut out = Map::new();
    if stamps.is_empty() {
        out.insert("recorded".into(), 0.into());
        out.insert("skipped".into(), 0.into());
        return rules::ok(StatusCode::OK, out, corr);
    }
    let source = body
        .get("source")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("cc_jsonl")
        .to_owned();
    app.with_db(corr, |tx, _now| {
        let Some((session, _)) = rules::load_session(tx, id)? else {
            return Ok(reply::session_not_found(id, corr));
        };
        let mut minutes = BTreeSet::new();
        let mut outside = 0;
        for ts in &stamps {
            let after_end = session.ended_at.as_ref().is_some_and(|end| ts > end);
            if *ts < session.created_at || after_end {
                outside += 1;
            } else {
                minutes.insert(format!("{}:00Z", &ts[..16]));
            }
        }
        let (mut recorded, mut skipped) = (0, 0);
        for minute in &minutes {
            let added = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO session_activity (session_id, minute, source) \
                     VALUES (?1, ?2, ?3)",
                )?
                .execute([id, minute, &source])?;
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

/// One span of work of an ended session: its activity range, or (without
/// activity) the session from creation to end.
struct Span {
    start: String,
    ended_at: String,
    display_end: String,
    host: Option<String>,
    repo: String,
    branch: Option<String>,
    issue: Option<i64>,
}

/// Parses a timestamp text, for gap arithmetic.
fn parse(ts: &str) -> Option<jiff::Timestamp> {
    ts.parse().ok()
}

/// Milliseconds from `a` to `b` (0 when either does not parse).
fn gap_ms(a: &str, b: &str) -> i64 {
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => b.as_millisecond() - a.as_millisecond(),
        _ => 0,
    }
}

/// The UTC−7 date of a timestamp text.
fn work_date(ts: &str) -> String {
    parse(ts)
        .map(|t| format_ts(plus_seconds(t, WORK_DAY_OFFSET_SECONDS)))
        .unwrap_or_else(|| ts.to_owned())
        .chars()
        .take(10)
        .collect()
}

/// Sorted minute buckets → ranges split at gaps over 30 minutes, each
/// ending one minute after its last bucket.
fn activity_ranges(buckets: &[String]) -> Vec<(String, String)> {
    let one_minute_later =
        |ts: &str| parse(ts).map_or_else(|| ts.to_owned(), |t| format_ts(plus_seconds(t, 60)));
    let mut ranges = Vec::new();
    let mut iter = buckets.iter();
    let Some(first) = iter.next() else {
        return ranges;
    };
    let (mut start, mut end) = (first.clone(), first.clone());
    for bucket in iter {
        if gap_ms(&end, bucket) > BLOCK_GAP_SECONDS * 1000 {
            ranges.push((start, one_minute_later(&end)));
            start = bucket.clone();
        }
        end = bucket.clone();
    }
    ranges.push((start, one_minute_later(&end)));
    ranges
}

/// Merges one day's spans into blocks (spans closer than 30 minutes join).
fn blocks(mut spans: Vec<Span>) -> Vec<Value> {
    spans.sort_by(|a, b| a.start.cmp(&b.start));
    let mut groups: Vec<Vec<Span>> = Vec::new();
    let mut block_end = String::new();
    for span in spans {
        match groups.last_mut() {
            Some(group) if gap_ms(&block_end, &span.start) <= BLOCK_GAP_SECONDS * 1000 => {
                block_end = block_end.max(span.ended_at.clone());
                group.push(span);
            }
            _ => {
                block_end = span.ended_at.clone();
                groups.push(vec![span]);
            }
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let set = |f: &dyn Fn(&Span) -> Option<String>| {
                let set: BTreeSet<String> = group.iter().filter_map(f).collect();
                json!(set)
            };
            let issues: BTreeSet<i64> = group.iter().filter_map(|s| s.issue).collect();
            json!({
                "start": group.first().map(|s| s.start.clone()),
                "end": group.iter().map(|s| s.display_end.clone()).max(),
                "session_count": group.len(),
                "hosts": set(&|s| s.host.clone().filter(|h| !h.is_empty())),
                "repos": set(&|s| Some(s.repo.clone()).filter(|r| !r.is_empty())),
                "branches": set(&|s| s.branch.clone().filter(|b| !b.is_empty())),
                "issues": issues,
            })
        })
        .collect()
}

/// `GET /sessions/history?days=`: ended sessions created in the window, as
/// per-venture, per-work-day blocks (oldest day first).
pub(crate) fn history(app: &App, query: &Query, corr: &str) -> Reply {
    let days = match query.truthy("days").map(js_parse_int) {
        None => DEFAULT_DAYS,
        Some(Some(d)) if (1..=MAX_DAYS).contains(&d) => d,
        Some(_) => return reply::validation("days", "Must be an integer between 1 and 90", corr),
    };
    app.with_db(corr, |tx, now| {
        let cutoff = format_ts(minus_seconds(now, days * 86_400));
        let ended = rules::sessions_where(
            tx,
            "status = 'ended' AND ended_at IS NOT NULL AND created_at >= ?1 ORDER BY created_at",
            &[rusqlite::types::Value::Text(cutoff)],
        )?;
        let mut groups: BTreeMap<(String, String), (Vec<Span>, usize)> = BTreeMap::new();
        for (session, value) in ended {
            let buckets: Vec<String> = tx
                .prepare_cached(
                    "SELECT minute FROM session_activity WHERE session_id = ?1 ORDER BY minute",
                )?
                .query_map([&session.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let ended_at = session.ended_at.clone().unwrap_or_default();
            let ranges = if buckets.is_empty() {
                let last_activity = value["last_activity_at"].as_str().map(str::to_owned);
                let display_end = last_activity.unwrap_or_else(|| ended_at.clone());
                vec![(session.created_at.clone(), ended_at, display_end)]
            } else {
                activity_ranges(&buckets)
                    .into_iter()
                    .map(|(start, end)| (start, end.clone(), end))
                    .collect()
            };
            let mut venture = session.venture.to_lowercase();
            if venture == "kidexpenses" {
                venture = "ke".into();
            }
            let group = groups
                .entry((work_date(&session.created_at), venture))
                .or_default();
            group.1 += 1;
            for (start, ended_at, display_end) in ranges {
                group.0.push(Span {
                    start,
                    ended_at,
                    display_end,
                    host: session.host.clone(),
                    repo: session.repo.clone(),
                    branch: session.branch.clone(),
                    issue: session.issue_number.filter(|n| *n != 0),
                });
            }
        }
        let entries: Vec<Value> = groups
            .into_iter()
            .map(|((work_date, venture), (spans, total))| {
                json!({
                    "venture": venture,
                    "work_date": work_date,
                    "blocks": blocks(spans),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_stamps_need_date_hour_and_minute() {
        assert!(is_minute_stamp("2026-11-26T20:09"));
        assert!(is_minute_stamp("2026-11-26T20:09:05.000Z"));
        assert!(!is_minute_stamp("2026-11-26 20:09"));
        assert!(!is_minute_stamp("yesterday"));
    }

    #[test]
    fn activity_splits_at_gaps_over_half_an_hour() {
        let buckets: Vec<String> = [
            "2026-11-26T10:00:00Z",
            "2026-11-26T10:30:00Z",
            "2026-11-26T11:01:00Z",
        ]
        .map(str::to_owned)
        .to_vec();
        let ranges = activity_ranges(&buckets);
        assert_eq!(
            ranges,
            vec![
                (
                    "2026-11-26T10:00:00Z".into(),
                    "2026-11-26T10:31:00.000Z".into()
                ),
                (
                    "2026-11-26T11:01:00Z".into(),
                    "2026-11-26T11:02:00.000Z".into()
                ),
            ]
        );
    }

    #[test]
    fn work_dates_are_utc_minus_seven() {
        assert_eq!(work_date("2026-11-27T06:59:00.000Z"), "2026-11-26");
        assert_eq!(work_date("2026-11-27T07:00:00.000Z"), "2026-11-27");
    }
}
