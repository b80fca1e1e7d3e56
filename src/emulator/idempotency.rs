//! The idempotency store: what makes a retried `/sod`, `/update` or `/eod` safe.
//!
//! A client sends `Idempotency-Key` (or `update_id` in the body) and may then
//! retry as often as the network forces it to; within the hour the service
//! answers every repeat with the first answer instead of acting again. The
//! emulator keeps that store in SQLite beside the data, checked and written in
//! the same transaction as the route's own work, so two racing copies of one
//! request can never both act, and a restart on the same file keeps replaying.
//! It reproduces the service's edges exactly: keys are scoped per route, only
//! successful answers are kept, the TTL runs on the emulator clock, and an
//! answer of 64 KiB or more is kept only as its hash, replayed as a `409` that
//! means "it succeeded, but the body is gone".

use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};

use super::clock::{format_ts, plus_seconds};
use super::reply::Reply;
use crate::canonical::sha256_hex;

/// How long a key is remembered, in seconds (1 hour, as the service does).
pub(crate) const IDEMPOTENCY_TTL_SECONDS: i64 = 3_600;
/// Bodies of this many bytes or more are kept only as a hash (64 KiB).
pub(crate) const MAX_CACHED_BODY_BYTES: usize = 65_536;

/// The key for a request: the `Idempotency-Key` header, else a truthy string
/// `update_id` in the body.
fn extract_key(headers: &HeaderMap, body: &Value) -> Option<String> {
    let header = headers
        .get("idempotency-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|k| !k.is_empty());
    header.or_else(|| {
        body.get("update_id")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
    })
}

/// The request's key, if any, or the `400` for a key of the wrong format.
pub(crate) fn key_for(headers: &HeaderMap, body: &Value) -> Result<Option<String>, Reply> {
    match extract_key(headers, body) {
        Some(key) if !is_valid_key(&key) => Err(invalid_key_reply()),
        key => Ok(key),
    }
}

/// Whether the service accepts `key`: UUID v4, ULID, or 20–200 characters
/// (lengths counted in UTF-16 units, as JavaScript counts them).
fn is_valid_key(key: &str) -> bool {
    let len = key.encode_utf16().count();
    if !(10..=200).contains(&len) {
        return false;
    }
    is_uuid_v4(key) || is_ulid(key) || len >= 20
}

fn is_uuid_v4(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            19 => matches!(c.to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_ulid(key: &str) -> bool {
    key.len() == 26
        && key.bytes().all(|c| {
            let c = c.to_ascii_uppercase();
            c.is_ascii_digit()
                || (c.is_ascii_uppercase() && !matches!(c, b'I' | b'L' | b'O' | b'U'))
        })
}

/// `400 Invalid idempotency key format` — recorded without a correlation id.
fn invalid_key_reply() -> Reply {
    let mut reply = Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "error": "Invalid idempotency key format",
            "details": "Key must be UUID v4, ULID, or 20-200 character string",
        }),
        None,
    );
    // The worker writes this one without indentation.
    reply.compact = true;
    reply
}

/// Body of a replay whose original answer was too large to keep.
#[derive(Serialize)]
struct TruncatedReplay<'a> {
    idempotent: bool,
    response_status: u16,
    response_hash: &'a str,
    response_size_bytes: i64,
    message: &'a str,
}

/// The stored answer for `key` on `endpoint`, as a replay, if one is still
/// live at `now`.
pub(crate) fn lookup(
    conn: &Connection,
    endpoint: &str,
    key: &str,
    now: Timestamp,
) -> rusqlite::Result<Option<Reply>> {
    lookup_live_after(conn, endpoint, key, &format_ts(now))
}

/// Like [`lookup`], with the text an `expires_at` must exceed (as text) to be
/// live: the v2 worker compares against SQLite's `datetime('now')`
/// (`YYYY-MM-DD HH:MM:SS`), so a key lives to the end of its expiry's day.
pub(crate) fn lookup_live_after(
    conn: &Connection,
    endpoint: &str,
    key: &str,
    cutoff: &str,
) -> rusqlite::Result<Option<Reply>> {
    let row = conn
        .prepare_cached(
            "SELECT response_status, response_hash, response_body, response_size_bytes \
             FROM idempotency_keys WHERE endpoint = ?1 AND key = ?2 AND expires_at > ?3",
        )?
        .query_row(rusqlite::params![endpoint, key, cutoff], |row| {
            Ok((
                row.get::<_, u16>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let Some((status, hash, body, size)) = row else {
        return Ok(None);
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut reply = match body {
        Some(body) => Reply::raw(status, body.into_bytes(), None),
        None => {
            let meta = TruncatedReplay {
                idempotent: true,
                response_status: status.as_u16(),
                response_hash: &hash,
                response_size_bytes: size,
                message: "Response body was too large to cache. Original request succeeded.",
            };
            let body = serde_json::to_vec_pretty(&meta).unwrap_or_default();
            let mut reply = Reply::raw(StatusCode::CONFLICT, body, None);
            reply.idempotency_truncated = true;
            reply
        }
    };
    reply.idempotency_hit = true;
    Ok(Some(reply))
}

/// Remembers a successful answer for an hour (from `now`). Bodies of
/// [`MAX_CACHED_BODY_BYTES`] or more are kept as hash and size only.
pub(crate) fn store(
    conn: &Connection,
    endpoint: &str,
    key: &str,
    reply: &Reply,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let size = reply.body.len();
    let truncated = size >= MAX_CACHED_BODY_BYTES;
    let body = if truncated {
        None
    } else {
        Some(String::from_utf8_lossy(&reply.body).into_owned())
    };
    let now_text = format_ts(now);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO idempotency_keys (endpoint, key, response_status, response_hash, \
         response_body, response_size_bytes, response_truncated, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(rusqlite::params![
        endpoint,
        key,
        reply.status.as_u16(),
        sha256_hex(&reply.body),
        body,
        size as i64,
        truncated,
        now_text,
        format_ts(plus_seconds(now, IDEMPOTENCY_TTL_SECONDS)),
    ])?;
    // Opportunistic cleanup, as the service does, without a timer.
    if rand::random_ratio(1, 256) {
        conn.prepare_cached("DELETE FROM idempotency_keys WHERE expires_at <= ?1")?
            .execute([now_text])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_formats() {
        assert!(is_valid_key("13dd916e-549d-41ab-954f-3876a052abf6"));
        assert!(is_valid_key("01M843N5DEMY4SZG2N74X1SH1W"));
        assert!(is_valid_key("update-id-in-body-000001"));
        assert!(!is_valid_key("short"));
        assert!(!is_valid_key("0123456789abcdefghi"));
        assert!(!is_valid_key(&"x".repeat(201)));
        assert!(is_uuid_v4("13DD916E-549D-41AB-954F-3876A052ABF6"));
        assert!(!is_uuid_v4("13dd916e-549d-31ab-954f-3876a052abf6"));
        assert!(!is_ulid("01M843N5DEMY4SZG2N74X1SH1U"));
    }

    #[test]
    fn header_wins_over_update_id() {
        let mut headers = HeaderMap::new();
        let body = json!({"update_id": "from-body-000000000000"});
        assert_eq!(
            extract_key(&headers, &body).as_deref(),
            Some("from-body-000000000000")
        );
        headers.insert(
            "idempotency-key",
            axum::http::HeaderValue::from_static("from-header"),
        );
        assert_eq!(extract_key(&headers, &body).as_deref(), Some("from-header"));
        assert_eq!(
            extract_key(&HeaderMap::new(), &json!({"update_id": 5})),
            None
        );
    }

    #[test]
    fn stores_replays_and_truncates() -> rusqlite::Result<()> {
        let conn = super::super::schema::open(None).map_err(|_| rusqlite::Error::InvalidQuery)?;
        let now = Timestamp::now();
        let small = Reply::raw(StatusCode::OK, b"{\"a\":1}".to_vec(), Some("corr_x".into()));
        store(&conn, "/sod", "k1", &small, now)?;
        let hit = lookup(&conn, "/sod", "k1", now)?.ok_or(rusqlite::Error::InvalidQuery)?;
        assert!(hit.idempotency_hit && hit.correlation_id.is_none());
        assert_eq!(hit.body, small.body);
        assert!(
            lookup(&conn, "/eod", "k1", now)?.is_none(),
            "scoped per route"
        );
        let later = plus_seconds(now, IDEMPOTENCY_TTL_SECONDS);
        assert!(
            lookup(&conn, "/sod", "k1", later)?.is_none(),
            "expires after an hour"
        );

        let big = Reply::raw(StatusCode::OK, vec![b' '; MAX_CACHED_BODY_BYTES], None);
        store(&conn, "/eod", "k2", &big, now)?;
        let hit = lookup(&conn, "/eod", "k2", now)?.ok_or(rusqlite::Error::InvalidQuery)?;
        assert_eq!(hit.status, StatusCode::CONFLICT);
        assert!(hit.idempotency_truncated);
        let body: Value = serde_json::from_slice(&hit.body).unwrap_or_default();
        assert_eq!(body["response_size_bytes"], MAX_CACHED_BODY_BYTES);
        assert_eq!(body["response_hash"], sha256_hex(&big.body));
        Ok(())
    }
}
