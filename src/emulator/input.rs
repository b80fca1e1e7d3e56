//! Reading request input with the service's (JavaScript) semantics.
//!
//! The real service is a JavaScript worker, and several observable behaviours
//! come straight from JavaScript rather than from a written rule: a required
//! string is "truthy and a string" (so `""` is missing), `limit=10abc` is `10`
//! because `parseInt` stops at the first non-digit, a `null` body crashes the
//! handler with a `TypeError` (500) while an array body simply lacks fields
//! (400), and query strings follow `URLSearchParams` (first value wins, `+` is
//! a space). This module reproduces those semantics so the route modules can be
//! written as plain rules, and it enforces the 1 MiB request-body limit.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::jsparse::v8_error_message;
use super::reply::{self, Reply};

/// Largest request body accepted, in bytes (1 MiB), as the service enforces.
pub(crate) const MAX_REQUEST_BODY_BYTES: usize = 1_048_576;

/// Largest body read by a route the service does not limit itself (the
/// platform's 100 MB request limit), so one request cannot exhaust memory.
pub(crate) const PLATFORM_MAX_BODY_BYTES: usize = 100 * 1_000_000;

/// Reads a JSON request body, enforcing the size limit and reporting parse
/// failures with V8's wording. `first_field` is the property the service's
/// handler reads first: a `null` body fails with a `TypeError` naming it.
pub(crate) async fn read_json(
    headers: &HeaderMap,
    body: Body,
    first_field: &str,
    corr: &str,
) -> Result<Value, Reply> {
    read_json_within(headers, body, first_field, corr, MAX_REQUEST_BODY_BYTES).await
}

/// Like [`read_json`] for the v2 routes that do not check the body's size
/// (all but `/sos` and `/eos`): only the platform limit applies. With
/// `first_field` `None` a `null` body is returned for the handler to judge.
pub(crate) async fn read_json_unlimited(
    headers: &HeaderMap,
    body: Body,
    first_field: Option<&str>,
    corr: &str,
) -> Result<Value, Reply> {
    read_json_within(headers, body, first_field, corr, PLATFORM_MAX_BODY_BYTES).await
}

async fn read_json_within(
    headers: &HeaderMap,
    body: Body,
    first_field: impl Into<Option<&str>>,
    corr: &str,
    limit: usize,
) -> Result<Value, Reply> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|n| n > limit as u64) {
        discard(&mut stream).await;
        return Err(too_large(corr));
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(1 << 16) as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| reply::internal(&e.to_string(), corr))?;
        if bytes.len() + chunk.len() > limit {
            discard(&mut stream).await;
            return Err(too_large(corr));
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let message = v8_error_message(text).unwrap_or_else(|| e.to_string());
        reply::internal(&message, corr)
    })?;
    if let (true, Some(first_field)) = (value.is_null(), first_field.into()) {
        let message = format!("Cannot read properties of null (reading '{first_field}')");
        return Err(reply::internal(&message, corr));
    }
    Ok(value)
}

/// Most of a refused body read (and dropped) before the refusal is sent.
const DISCARD_MAX_BYTES: usize = 16 * 1_048_576;

/// Reads and drops the rest of a body that is being refused, up to
/// [`DISCARD_MAX_BYTES`]. Answering while the client is still uploading makes
/// hyper close the connection with unread bytes in the socket, and the kernel
/// then resets it: the client sees "connection reset" or "broken pipe" instead
/// of the 413 (seen in the fixture replay, a few times in a thousand). Reading
/// the body first lets the answer arrive; a body past the bound is abandoned,
/// so one request still cannot hold the emulator for long.
async fn discard(stream: &mut axum::body::BodyDataStream) {
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        seen = seen.saturating_add(chunk.len());
        if seen > DISCARD_MAX_BYTES {
            return;
        }
    }
}

/// `413` for a request body over [`MAX_REQUEST_BODY_BYTES`].
fn too_large(corr: &str) -> Reply {
    reply::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body too large",
        Some(json!({ "max_size_bytes": MAX_REQUEST_BODY_BYTES })),
        corr,
    )
}

/// A required string field: present, a string and not empty (JS truthiness).
pub(crate) fn required_str<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// An optional string field for a new record: `body.x || null` in the service,
/// so an empty string is stored as null. Non-strings are rejected.
pub(crate) fn optional_str(body: &Value, field: &str, corr: &str) -> Result<Option<String>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(reply::validation(field, "Must be a string", corr)),
    }
}

/// An optional integer field for a new record (`body.x || null`: 0 is null).
pub(crate) fn optional_int(body: &Value, field: &str, corr: &str) -> Result<Option<i64>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            // JavaScript has one number type: `2.0` is the integer 2.
            let whole = n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15)
                    .map(|f| f as i64)
            });
            match whole {
                Some(0) => Ok(None),
                Some(v) => Ok(Some(v)),
                None => Err(reply::validation(field, "Must be an integer", corr)),
            }
        }
        Some(_) => Err(reply::validation(field, "Must be an integer", corr)),
    }
}

/// JavaScript's `parseInt(text, 10)`: leading whitespace, a sign, then as many
/// decimal digits as there are; `None` (NaN) when there is no digit at all.
pub(crate) fn js_parse_int(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// Query parameters with `URLSearchParams.get` semantics (first value wins).
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (without the `?`).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                (form_decode(k), form_decode(v))
            })
            .collect();
        Self { pairs }
    }

    /// The first value of `name`, if present (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` when it is present and non-empty (truthy).
    pub(crate) fn truthy(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_behaves_like_javascript() {
        assert_eq!(js_parse_int("20"), Some(20));
        assert_eq!(js_parse_int(" 7abc"), Some(7));
        assert_eq!(js_parse_int("-3"), Some(-3));
        assert_eq!(js_parse_int("5.9"), Some(5));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int(""), None);
        assert_eq!(js_parse_int("-"), None);
    }

    #[test]
    fn query_follows_url_search_params() {
        let q = Query::parse(Some("repo=owner/r%2Fx&a=1&a=2&q=a+b&empty=&bad=%zz"));
        assert_eq!(q.get("repo"), Some("owner/r/x"));
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("q"), Some("a b"));
        assert_eq!(q.get("empty"), Some(""));
        assert_eq!(q.truthy("empty"), None);
        assert_eq!(q.get("bad"), Some("%zz"));
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn optional_ints_follow_javascript_numbers() {
        let body = json!({"a": 2.0, "b": 0, "c": 1.5, "d": "3", "e": null});
        assert_eq!(optional_int(&body, "a", "c").ok(), Some(Some(2)));
        assert_eq!(optional_int(&body, "b", "c").ok(), Some(None));
        assert!(optional_int(&body, "c", "c").is_err());
        assert!(optional_int(&body, "d", "c").is_err());
        assert_eq!(optional_int(&body, "e", "c").ok(), Some(None));
        assert_eq!(optional_int(&body, "missing", "c").ok(), Some(None));
    }

    #[test]
    fn required_strings_must_be_truthy() {
        let body = json!({"a": "x", "b": "", "c": 1});
        assert_eq!(required_str(&body, "a"), Some("x"));
        assert_eq!(required_str(&body, "b"), None);
        assert_eq!(required_str(&body, "c"), None);
        assert_eq!(required_str(&json!([1]), "a"), None);
    }
}
