//! v2 notes: `POST /notes`, `GET /notes`, `GET /notes/:id`,
//! `POST /notes/:id/update`, `POST /notes/:id/archive`.
//!
//! Notes are the service's shared memory: agents write what they learned and
//! `/sos` hands the executive summaries and the knowledge-base index to the
//! next agent. The emulator keeps the service's quirks a client must cope
//! with: `tags` is stored and returned as JSON text, `source_hash` makes
//! `POST /notes` an upsert that still answers 201, a bad cursor or an
//! over-long tag is a 500, any method on `/notes/:id` reads the note, and the
//! venture and size errors are plain `{"error"}` 400s.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{json, Map, Value};

use super::super::app::App;
use super::super::clock::{format_ts, new_id};
use super::super::cursor::Cursor;
use super::super::input::{self, js_parse_int, required_str, Query};
use super::super::reply::Reply;
use super::{catalog, rules};

/// Largest note content, in bytes.
const MAX_CONTENT_BYTES: usize = 512_000;
/// Most tags on one note, and the longest tag (characters).
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 50;
/// Page size of `GET /notes` when none is given, and the largest.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

const NOTE_COLUMNS: &str = "id, title, content, tags, venture, archived, created_at, updated_at, \
     actor_key_id, meta_json, authored_by_session_id, source_hash, embedding_model, \
     embedding_version, embedding_hash, injectable, curator_parse_error";

/// A note row as the service returns it.
fn note_from_row(row: &Row<'_>) -> rusqlite::Result<Value> {
    let text = |i: usize| row.get::<_, Option<String>>(i);
    Ok(json!({
        "id": row.get::<_, String>(0)?,
        "title": text(1)?,
        "content": row.get::<_, String>(2)?,
        "tags": text(3)?,
        "venture": text(4)?,
        "archived": row.get::<_, i64>(5)?,
        "created_at": row.get::<_, String>(6)?,
        "updated_at": row.get::<_, String>(7)?,
        "actor_key_id": row.get::<_, String>(8)?,
        "meta_json": text(9)?,
        "authored_by_session_id": text(10)?,
        "source_hash": text(11)?,
        "embedding_model": text(12)?,
        "embedding_version": text(13)?,
        "embedding_hash": text(14)?,
        "injectable": row.get::<_, i64>(15)?,
        "curator_parse_error": row.get::<_, i64>(16)?,
    }))
}

fn load(conn: &Connection, id: &str) -> rusqlite::Result<Option<Value>> {
    let sql = format!("SELECT {NOTE_COLUMNS} FROM notes WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], note_from_row)
        .optional()
}

/// `LIKE` pattern matching one tag inside the JSON text of `tags`.
fn tag_pattern(tag: &str) -> String {
    format!("%\"{tag}\"%")
}

/// Active notes of `venture` or global carrying any of `tags`, newest first.
pub(super) fn tagged(
    conn: &Connection,
    venture: &str,
    tags: &[&str],
    limit: i64,
) -> rusqlite::Result<Vec<Value>> {
    let any: Vec<String> = (0..tags.len())
        .map(|i| format!("tags LIKE ?{}", i + 3))
        .collect();
    let sql = format!(
        "SELECT {NOTE_COLUMNS} FROM notes WHERE archived = 0 AND (venture = ?1 OR venture IS NULL) \
         AND ({}) ORDER BY created_at DESC, id DESC LIMIT ?2",
        any.join(" OR ")
    );
    let mut params = vec![Sql::Text(venture.to_owned()), Sql::Integer(limit)];
    params.extend(tags.iter().map(|t| Sql::Text(tag_pattern(t))));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), note_from_row)?;
    rows.collect()
}

/// A value bound as SQL the way D1 binds it: strings as text, numbers as
/// numbers, `null` as null, anything else as its JSON text.
fn bound(value: &Value) -> Sql {
    match value {
        Value::Null => Sql::Null,
        Value::String(s) => Sql::Text(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0)), Sql::Integer),
        other => Sql::Text(other.to_string()),
    }
}

/// The service's checks on note fields, in its order (`assertContentSize`,
/// `assertValidVenture`, `assertValidTags`); `venture_set` says whether the
/// venture is checked (a truthy one on create, any non-null one on update).
fn check(body: &Value, venture_set: bool, corr: &str) -> Result<(), Reply> {
    let content = body.get("content").and_then(Value::as_str).unwrap_or("");
    if content.len() > MAX_CONTENT_BYTES {
        let message = format!("Content exceeds maximum size of {MAX_CONTENT_BYTES} bytes");
        return Err(rules::plain(StatusCode::BAD_REQUEST, &message, corr));
    }
    if let Some(venture) = body.get("venture").filter(|_| venture_set) {
        if !venture.as_str().is_some_and(catalog::is_venture) {
            let shown = venture
                .as_str()
                .map_or_else(|| venture.to_string(), str::to_owned);
            let message = format!("Invalid venture: {shown}");
            return Err(rules::plain(StatusCode::BAD_REQUEST, &message, corr));
        }
    }
    if rules::truthy(body.get("tags")) {
        let tags = body
            .get("tags")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if tags.len() > MAX_TAGS {
            let message = format!("Maximum {MAX_TAGS} tags allowed");
            return Err(rules::plain(StatusCode::BAD_REQUEST, &message, corr));
        }
        let fits = |t: &Value| {
            t.as_str()
                .is_some_and(|s| s.encode_utf16().count() <= MAX_TAG_CHARS)
        };
        if !tags.iter().all(fits) {
            let message =
                format!("Each tag must be a string of at most {MAX_TAG_CHARS} characters");
            return Err(rules::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                &message,
                corr,
            ));
        }
    }
    Ok(())
}

/// `tags` as stored on create or upsert: JSON text when truthy, else null.
fn tags_text(body: &Value) -> Sql {
    match body.get("tags") {
        tags @ Some(t) if rules::truthy(tags) => Sql::Text(t.to_string()),
        _ => Sql::Null,
    }
}

/// A field as stored on create or upsert (`x ?? null`).
fn field(body: &Value, name: &str) -> Sql {
    body.get(name).map_or(Sql::Null, bound)
}

fn note_reply(status: StatusCode, note: Option<Value>, archived: bool, corr: &str) -> Reply {
    let Some(note) = note else {
        return rules::plain(StatusCode::NOT_FOUND, "Note not found", corr);
    };
    let mut out = Map::new();
    out.insert("note".into(), note);
    if archived {
        out.insert("archived".into(), true.into());
    }
    rules::ok(status, out, corr)
}

/// `POST /notes`: create a note, or overwrite the one with the same
/// `source_hash` (every field, as the service's upsert does).
pub(crate) async fn create(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json_unlimited(headers, body, Some("content"), corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if required_str(&body, "content").is_none() {
        return rules::invalid(&[("content".into(), "Required string field".into())], corr);
    }
    if let Err(reply) = check(&body, rules::truthy(body.get("venture")), corr) {
        return reply;
    }
    let source_hash = required_str(&body, "source_hash").map(str::to_owned);
    app.with_db(corr, |tx, now| {
        let now_text = format_ts(now);
        let existing: Option<String> = match &source_hash {
            Some(hash) => tx
                .prepare_cached("SELECT id FROM notes WHERE source_hash = ?1 LIMIT 1")?
                .query_row([hash], |r| r.get(0))
                .optional()?,
            None => None,
        };
        let values = [
            field(&body, "title"),
            field(&body, "content"),
            tags_text(&body),
            field(&body, "venture"),
            Sql::Text(now_text),
            field(&body, "authored_by_session_id"),
        ];
        let id = match existing {
            Some(id) => {
                tx.prepare_cached(
                    "UPDATE notes SET title = ?1, content = ?2, tags = ?3, venture = ?4, \
                     updated_at = ?5, authored_by_session_id = COALESCE(?6, authored_by_session_id) \
                     WHERE id = ?7",
                )?
                .execute(rusqlite::params![
                    values[0], values[1], values[2], values[3], values[4], values[5], id
                ])?;
                id
            }
            None => {
                let id = new_id("note", now);
                tx.prepare_cached(
                    "INSERT INTO notes (id, title, content, tags, venture, created_at, updated_at, \
                     actor_key_id, authored_by_session_id, source_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)",
                )?
                .execute(rusqlite::params![
                    id,
                    values[0],
                    values[1],
                    values[2],
                    values[3],
                    values[4],
                    app.actor_key_id,
                    values[5],
                    source_hash,
                ])?;
                id
            }
        };
        Ok(note_reply(StatusCode::CREATED, load(tx, &id)?, false, corr))
    })
}

/// `GET /notes`: filtered, newest first, paged by cursor.
pub(crate) fn list(app: &App, query: &Query, corr: &str) -> Reply {
    let limit = match query.truthy("limit").map(js_parse_int) {
        None => DEFAULT_LIMIT,
        Some(Some(n)) => n.clamp(1, MAX_LIMIT),
        Some(None) => {
            return rules::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "D1_TYPE_ERROR: Type 'number' not supported for value 'NaN'",
                corr,
            )
        }
    };
    let cursor = match query.truthy("cursor").map(Cursor::decode) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(message)) => {
            let message = message.strip_prefix("Invalid cursor: ").unwrap_or(&message);
            return rules::plain(StatusCode::INTERNAL_SERVER_ERROR, message, corr);
        }
    };
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut params: Vec<Sql> = Vec::new();
    // Clauses mark parameters with `$`, numbered here in binding order.
    let mut bind = |clause: &str, values: Vec<Sql>, clauses: &mut Vec<String>| {
        let mut clause = clause.to_owned();
        for value in values {
            params.push(value);
            clause = clause.replacen('$', &format!("?{}", params.len()), 1);
        }
        clauses.push(clause);
    };
    if query.get("include_archived") != Some("true") {
        bind("archived = 0", vec![], &mut clauses);
    }
    if let Some(venture) = query.truthy("venture") {
        let clause = if query.get("include_global") == Some("true") {
            "(venture = $ OR venture IS NULL)"
        } else {
            "venture = $"
        };
        bind(clause, vec![Sql::Text(venture.into())], &mut clauses);
    }
    // `tags` (any of a comma list) wins over `tag`.
    let list: Vec<&str> = query
        .truthy("tags")
        .map(|tags| {
            tags.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !list.is_empty() {
        let any = vec!["tags LIKE $"; list.len()].join(" OR ");
        let values = list.iter().map(|t| Sql::Text(tag_pattern(t))).collect();
        bind(&format!("({any})"), values, &mut clauses);
    } else if let Some(tag) = query.truthy("tag") {
        bind(
            "tags LIKE $",
            vec![Sql::Text(tag_pattern(tag))],
            &mut clauses,
        );
    }
    if let Some(q) = query.truthy("q") {
        let pattern = Sql::Text(format!("%{q}%"));
        bind(
            "(title LIKE $ OR content LIKE $)",
            vec![pattern.clone(), pattern],
            &mut clauses,
        );
    }
    let filter = clauses.join(" AND ");
    app.with_db(corr, |tx, _now| {
        let total: i64 = tx
            .prepare(&format!("SELECT COUNT(*) FROM notes WHERE {filter}"))?
            .query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?;
        let mut page_params = params.clone();
        let mut page_filter = filter.clone();
        if let Some(c) = &cursor {
            let n = page_params.len();
            page_filter.push_str(&format!(
                " AND (created_at < ?{a} OR (created_at = ?{a} AND id < ?{b}))",
                a = n + 1,
                b = n + 2
            ));
            page_params.push(Sql::Text(c.timestamp.clone()));
            page_params.push(Sql::Text(c.id.clone()));
        }
        page_params.push(Sql::Integer(limit + 1));
        let sql = format!(
            "SELECT {NOTE_COLUMNS} FROM notes WHERE {page_filter} \
             ORDER BY created_at DESC, id DESC LIMIT ?{}",
            page_params.len()
        );
        let mut notes: Vec<Value> = tx
            .prepare(&sql)?
            .query_map(
                rusqlite::params_from_iter(page_params.iter()),
                note_from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        let more = notes.len() as i64 > limit;
        notes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut out = Map::new();
        out.insert("count".into(), notes.len().into());
        if let (true, Some(last)) = (more, notes.last()) {
            let next = Cursor {
                timestamp: last["created_at"].as_str().unwrap_or_default().to_owned(),
                id: last["id"].as_str().unwrap_or_default().to_owned(),
            };
            out.insert("pagination".into(), json!({ "next_cursor": next.encode() }));
        }
        out.insert("notes".into(), Value::Array(notes));
        out.insert("total_matching".into(), total.into());
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// Any method on `/notes/:id`: the note, unchanged.
pub(crate) fn get(app: &App, id: &str, corr: &str) -> Reply {
    app.with_db(corr, |tx, _now| {
        Ok(note_reply(StatusCode::OK, load(tx, id)?, false, corr))
    })
}

/// `/notes/:id/update`: set each of `title`, `content`, `tags`, `venture`
/// that the body names (`venture: null` clears it); 404 before any check.
pub(crate) async fn update(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    corr: &str,
) -> Reply {
    let body = match input::read_json_unlimited(headers, body, Some("title"), corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    app.with_db(corr, |tx, now| {
        if load(tx, id)?.is_none() {
            return Ok(note_reply(StatusCode::OK, None, false, corr));
        }
        let venture_set = body.get("venture").is_some_and(|v| !v.is_null());
        if let Err(reply) = check(&body, venture_set, corr) {
            return Ok(reply);
        }
        for column in ["title", "content", "tags", "venture"] {
            let Some(value) = body.get(column) else {
                continue;
            };
            // `tags` is stored as `JSON.stringify(tags)`, so null becomes "null".
            let value = if column == "tags" {
                Sql::Text(value.to_string())
            } else {
                bound(value)
            };
            // Column names come from the fixed list above, never from input.
            let sql = format!("UPDATE notes SET {column} = ?1 WHERE id = ?2");
            tx.prepare_cached(&sql)?
                .execute(rusqlite::params![value, id])?;
        }
        tx.prepare_cached("UPDATE notes SET updated_at = ?1, actor_key_id = ?2 WHERE id = ?3")?
            .execute(rusqlite::params![format_ts(now), app.actor_key_id, id])?;
        Ok(note_reply(StatusCode::OK, load(tx, id)?, false, corr))
    })
}

/// `/notes/:id/archive`: hide the note from default lists.
pub(crate) fn archive(app: &App, id: &str, corr: &str) -> Reply {
    app.with_db(corr, |tx, now| {
        if load(tx, id)?.is_none() {
            return Ok(note_reply(StatusCode::OK, None, false, corr));
        }
        tx.prepare_cached("UPDATE notes SET archived = 1, updated_at = ?1 WHERE id = ?2")?
            .execute([&format_ts(now), id])?;
        Ok(note_reply(StatusCode::OK, load(tx, id)?, true, corr))
    })
}
