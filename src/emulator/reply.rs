//! Responses as the service writes them, in one place.
//!
//! The service is picky about small things a client relies on: which responses
//! carry `X-Correlation-ID` (freshly computed ones; not replays, not `/health`,
//! not the unknown-route 404, not the rejected-idempotency-key 400), whether a
//! body repeats it as `correlation_id`, and the three shapes of `details`.
//! Handlers build a [`Reply`] with these helpers instead of assembling headers
//! by hand, so the rules live here once. A `Reply` keeps its body as bytes
//! because the idempotency store must keep (and hash) exactly what was sent.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};

/// A finished answer: status, exact body bytes and the headers that matter.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// The body exactly as sent (JSON text, or empty for 204).
    pub(crate) body: Vec<u8>,
    /// Value of `X-Correlation-ID`, when the response is freshly computed.
    pub(crate) correlation_id: Option<String>,
    /// Whether this is an idempotent replay (`X-Idempotency-Hit: true`).
    pub(crate) idempotency_hit: bool,
    /// Whether the replay stands for a body too large to keep.
    pub(crate) idempotency_truncated: bool,
    /// `Retry-After` seconds (injected faults).
    pub(crate) retry_after: Option<u64>,
    /// Permissive CORS headers and no content type (OPTIONS preflight).
    pub(crate) preflight: bool,
    /// Written compactly even by the v2 worker (`/health`, the rejected
    /// idempotency key): [`Reply::pretty`] leaves it as it is.
    pub(crate) compact: bool,
}

impl Reply {
    /// A JSON reply; `correlation_id` becomes the `X-Correlation-ID` header.
    pub(crate) fn json<T: Serialize>(
        status: StatusCode,
        body: &T,
        correlation_id: Option<&str>,
    ) -> Self {
        let body = serde_json::to_vec(body).unwrap_or_else(|e| {
            format!("{{\"error\":\"serialization failed: {e}\"}}").into_bytes()
        });
        Self::raw(status, body, correlation_id.map(str::to_owned))
    }

    /// A reply whose body is already serialized.
    pub(crate) fn raw(status: StatusCode, body: Vec<u8>, correlation_id: Option<String>) -> Self {
        Self {
            status,
            body,
            correlation_id,
            idempotency_hit: false,
            idempotency_truncated: false,
            retry_after: None,
            preflight: false,
            compact: false,
        }
    }

    /// `204 No Content` with permissive CORS headers, for any `OPTIONS`.
    pub(crate) fn preflight() -> Self {
        let mut reply = Self::raw(StatusCode::NO_CONTENT, Vec::new(), None);
        reply.preflight = true;
        reply
    }

    /// The same reply with its JSON body pretty-printed (two-space indent, as
    /// the v2 worker's `JSON.stringify(data, null, 2)`); a body that is not
    /// JSON, is empty, or is marked `compact`, is left as it is.
    pub(crate) fn pretty(mut self) -> Self {
        if self.compact {
            return self;
        }
        if let Ok(value) = serde_json::from_slice::<Value>(&self.body) {
            if let Ok(body) = serde_json::to_vec_pretty(&value) {
                self.body = body;
            }
        }
        self
    }

    /// Whether the status is 2xx (only those are kept for idempotent replay).
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// Converts to the HTTP response handed to hyper.
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if self.preflight {
            for (name, value) in [
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "GET, POST, OPTIONS"),
                (
                    "access-control-allow-headers",
                    "Content-Type, X-Relay-Key, Idempotency-Key",
                ),
                ("access-control-max-age", "86400"),
            ] {
                headers.insert(name, HeaderValue::from_static(value));
            }
            return response;
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(id) = self
            .correlation_id
            .and_then(|id| HeaderValue::from_str(&id).ok())
        {
            headers.insert("x-correlation-id", id);
        }
        if self.idempotency_hit {
            headers.insert("x-idempotency-hit", HeaderValue::from_static("true"));
        }
        if self.idempotency_truncated {
            headers.insert("x-idempotency-truncated", HeaderValue::from_static("true"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A fresh correlation id, `corr_` + a random UUID v4.
pub(crate) fn new_correlation_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "corr_{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `{"error": message, "details"?: details, "correlation_id": id}`.
pub(crate) fn error(
    status: StatusCode,
    message: &str,
    details: Option<Value>,
    corr: &str,
) -> Reply {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), Value::from(message));
    if let Some(details) = details {
        body.insert("details".into(), details);
    }
    body.insert("correlation_id".into(), Value::from(corr));
    Reply::json(status, &body, Some(corr))
}

/// `400 validation_failed` with a single `{field, message}` detail.
pub(crate) fn validation(field: &str, message: &str, corr: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some(json!([{ "field": field, "message": message }])),
        corr,
    )
}

/// `401` for a missing or wrong `X-Relay-Key`.
pub(crate) fn unauthorized(corr: &str) -> Reply {
    error(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: Invalid or missing X-Relay-Key",
        None,
        corr,
    )
}

/// `404 Session not found` with `details: {session_id}`.
pub(crate) fn session_not_found(session_id: &str, corr: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "Session not found",
        Some(json!({ "session_id": session_id })),
        corr,
    )
}

/// `409 Session is not active` with `details: {session_id, status}`.
pub(crate) fn session_not_active(session_id: &str, status: &str, corr: &str) -> Reply {
    error(
        StatusCode::CONFLICT,
        "Session is not active",
        Some(json!({ "session_id": session_id, "status": status })),
        corr,
    )
}

/// `500` carrying an internal message (storage failure, poisoned lock, …).
pub(crate) fn internal(message: &str, corr: &str) -> Reply {
    error(StatusCode::INTERNAL_SERVER_ERROR, message, None, corr)
}

/// `404 Endpoint not found: METHOD /path` — no correlation id, as recorded.
pub(crate) fn endpoint_not_found(method: &str, path: &str) -> Reply {
    Reply::json(
        StatusCode::NOT_FOUND,
        &json!({ "error": format!("Endpoint not found: {method} {path}") }),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_uuid_v4() {
        let id = new_correlation_id();
        assert_eq!(id.len(), "corr_".len() + 36);
        let uuid = &id[5..];
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, new_correlation_id());
    }

    #[test]
    fn replies_carry_the_right_headers() {
        let r = validation("agent", "Required string field", "corr_x").into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()["x-correlation-id"], "corr_x");
        let r = endpoint_not_found("GET", "/nope").into_response();
        assert!(r.headers().get("x-correlation-id").is_none());
        let r = Reply::preflight().into_response();
        assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
    }
}
