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
use super::super::clock::{format_ts, system_time};
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
    format!("%{}%", serde_json::to_string(tag).unwrap_or_default())
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

/// Validated writable fields; `None` = not given, `Some(None)` = clear.
#[derive(Default)]
struct Fields {
    title: Option<Option<String>>,
    content: Option<String>,
    tags: Option<Option<String>>,
    venture: Option<Option<String>>,
}

/// Checks the writable fields of a note in the service's order.
fn fields(body: &Value, content_required: bool, corr: &str) -> Result<Fields, Reply> {
    let mut out = Fields::default();
    match body.get("content") {
        Some(Value::String(c)) if !c.is_empty() => out.content = Some(c.clone()),
        None if !content_required => {}
        _ => {
            return Err(rules::invalid(
                &[("content".into(), "Required string field".into())],
                corr,
            ))
        }
    }
    if out
        .content
        .as_ref()
        .is_some_and(|c| c.len() > MAX_CONTENT_BYTES)
    {
        let message = format!("Content exceeds maximum size of {MAX_CONTENT_BYTES} bytes");
        return Err(rules::plain(StatusCode::BAD_REQUEST, &message, corr));
    }
    match body.get("venture") {
        None => {}
        Some(Value::Null) => out.venture = Some(None),
        Some(Value::String(v)) if catalog::is_venture(v) => out.venture = Some(Some(v.clone())),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            let message = format!("Invalid venture: {shown}");
            return Err(rules::plain(StatusCode::BAD_REQUEST, &message, corr));
        }
    }
    match body.get("tags") {
        None => {}
        Some(Value::Null) => out.tags = Some(None),
        Some(Value::Array(tags)) => {
            if tags.len() > MAX_TAGS {
                let message = format!("Maximum {MAX_TAGS} tags allowed");
                return Err(rules::plain(StatusCode::BAD_REQUEST, &message, corr));
            }
            let fits = |t: &Value| {
                t.as_str()
                    .is_some_and(|s| s.chars().count() <= MAX_TAG_CHARS)
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
            out.tags = Some(serde_json::to_string(tags).ok());
        }
        Some(_) => {
            return Err(rules::invalid(
                &[("tags".into(), "Must be an array of strings".into())],
                corr,
            ))
        }
    }
    match body.get("title") {
        None => {}
        Some(Value::String(t)) => out.title = Some(Some(t.clone())),
        Some(_) => out.title = Some(None),
    }
    Ok(out)
}

/// Applies `fields` to note `id` and stamps `updated_at`.
fn apply(conn: &Connection, id: &str, f: &Fields, now: &str) -> rusqlite::Result<()> {
    let sets: [(&str, Option<Option<String>>); 4] = [
        ("title", f.title.clone()),
        ("content", f.content.clone().map(Some)),
        ("tags", f.tags.clone()),
        ("venture", f.venture.clone()),
    ];
    for (column, value) in sets {
        if let Some(value) = value {
            // Column names come from the fixed list above, never from input.
            let sql = format!("UPDATE notes SET {column} = ?1 WHERE id = ?2");
            conn.prepare_cached(&sql)?
                .execute(rusqlite::params![value, id])?;
        }
    }
    conn.prepare_cached("UPDATE notes SET updated_at = ?1 WHERE id = ?2")?
        .execute([now, id])?;
    Ok(())
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

/// `POST /notes`: create a note, or update the one with the same `source_hash`.
pub(crate) async fn create(app: &App, headers: &HeaderMap, body: Body, corr: &str) -> Reply {
    let body = match input::read_json(headers, body, "content", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let f = match fields(&body, true, corr) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let source_hash = required_str(&body, "source_hash").map(str::to_owned);
    let author = required_str(&body, "authored_by_session_id").map(str::to_owned);
    app.with_db(corr, |tx, now| {
        let now_text = format_ts(now);
        let existing: Option<String> = match &source_hash {
            Some(hash) => tx
                .prepare_cached("SELECT id FROM notes WHERE source_hash = ?1 LIMIT 1")?
                .query_row([hash], |r| r.get(0))
                .optional()?,
            None => None,
        };
        let id = match existing {
            Some(id) => {
                apply(tx, &id, &f, &now_text)?;
                id
            }
            None => {
                let id = format!("note_{}", ulid::Ulid::from_datetime(system_time(now)));
                tx.prepare_cached(
                    "INSERT INTO notes (id, title, content, tags, venture, created_at, updated_at, \
                     actor_key_id, authored_by_session_id, source_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)",
                )?
                .execute(rusqlite::params![
                    id,
                    f.title.clone().flatten(),
                    f.content.clone().unwrap_or_default(),
                    f.tags.clone().flatten(),
                    f.venture.clone().flatten(),
                    now_text,
                    app.actor_key_id,
                    author,
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
    if let Some(tag) = query.truthy("tag") {
        bind(
            "tags LIKE $",
            vec![Sql::Text(tag_pattern(tag))],
            &mut clauses,
        );
    }
    if let Some(tags) = query.truthy("tags") {
        let list: Vec<&str> = tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if !list.is_empty() {
            let any = vec!["tags LIKE $"; list.len()].join(" OR ");
            let values = list.iter().map(|t| Sql::Text(tag_pattern(t))).collect();
            bind(&format!("({any})"), values, &mut clauses);
        }
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

/// `/notes/:id/update`: change title, content, tags or venture.
pub(crate) async fn update(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    corr: &str,
) -> Reply {
    let body = match input::read_json(headers, body, "title", corr).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let f = match fields(&body, false, corr) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    app.with_db(corr, |tx, now| {
        if load(tx, id)?.is_none() {
            return Ok(note_reply(StatusCode::OK, None, false, corr));
        }
        apply(tx, id, &f, &format_ts(now))?;
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
