//! The public error type: one variant per thing a caller can act on.
//!
//! Every variant that comes from the server carries the server's message and
//! the correlation id (header first, body second), because that id is what a
//! user quotes in a bug report. Transport failures are split into `Network`
//! (could not talk to the server) and `Timeout` (it did not answer in time),
//! since agents handle them differently. Internals (reqwest, serde, SQLite)
//! are converted here, in one place, and never leak as types. Nothing here
//! ever holds the relay key.

use std::time::Duration;

use crate::canonical::PayloadError;
use crate::model::SessionStatus;

/// A field the server (or local validation) rejected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// The field name, e.g. `agent` or `query_params`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The handoff a server holds for a session, as a conflict names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHandoff {
    /// Its id (`ho_` + ULID).
    pub handoff_id: String,
    /// Its summary.
    pub summary: String,
}

/// Everything that can go wrong calling Crane Context.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The relay key is missing or wrong (HTTP 401/403).
    #[error("unauthorized: {message}{}", corr(correlation_id))]
    Unauthorized {
        /// Server message.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The session (or route) does not exist (HTTP 404).
    #[error("not found: {message}{}", corr(correlation_id))]
    NotFound {
        /// Server message.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The session has ended or was abandoned (HTTP 409).
    #[error("session is not active (status: {}): {message}{}", status.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into()), corr(correlation_id))]
    SessionNotActive {
        /// The session's status, when the server said.
        status: Option<SessionStatus>,
        /// Server message.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The payload or request is over the server's limit (HTTP 413, or checked locally).
    #[error("payload too large: {message}{}", corr(correlation_id))]
    PayloadTooLarge {
        /// Server or local message (gives the size and the limit).
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The server rejected fields of the request (HTTP 400).
    #[error(
        "validation failed: {}{}",
        fields_text(fields, message),
        corr(correlation_id)
    )]
    Validation {
        /// The rejected fields.
        fields: Vec<FieldError>,
        /// Server message.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// Too many requests (HTTP 429); retry after the given delay.
    #[error("rate limited{}: {message}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default(), corr(correlation_id))]
    RateLimited {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
        /// Server message.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The server failed (HTTP 5xx or an unexpected status).
    #[error("server error (HTTP {status}){}: {message}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default(), corr(correlation_id))]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's `Retry-After` (e.g. on a 503 during maintenance).
        retry_after: Option<Duration>,
        /// Server message.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The server answered with a redirect (HTTP 3xx). Redirects are never
    /// followed, because following one would send the relay key to whatever
    /// host the `Location` names; the configured URL is probably out of date.
    #[error("the server redirected (HTTP {status}) to {location}; redirects are not followed so the relay key stays with the configured host: set the URL to the final address if you trust it")]
    Redirected {
        /// HTTP status (301, 302, 303, 307 or 308).
        status: u16,
        /// The `Location` header, with any userinfo removed (`(none)` if absent).
        location: String,
    },
    /// A response body was larger than the client accepts
    /// ([`crate::ClientConfig::max_response_bytes`]); reading stopped there.
    #[error("response too large (HTTP {status}): more than {limit_bytes} bytes, the most this client reads; a smaller page (`limit`) may fit")]
    ResponseTooLarge {
        /// HTTP status of the response.
        status: u16,
        /// The cap that was exceeded, in bytes.
        limit_bytes: u64,
    },
    /// Walking `GET /handoffs` pages stopped: the server repeated a cursor,
    /// said more pages follow but sent an empty one, or the walk reached its
    /// ceiling ([`crate::policy::MAX_PAGES_PER_WALK`]).
    #[error("paging stopped after {pages} page(s): {message}")]
    PagingStopped {
        /// Pages received before stopping.
        pages: u32,
        /// Why.
        message: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("network error: {message}")]
    Network {
        /// What happened.
        message: String,
    },
    /// The server did not answer in time.
    #[error("timed out: {message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// The response could not be read (not JSON, truncated, wrong shape).
    #[error(
        "could not decode response (HTTP {status}): {message}{}",
        corr(correlation_id)
    )]
    Decode {
        /// HTTP status of the response.
        status: u16,
        /// What was wrong.
        message: String,
        /// Correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The caller's input is invalid; nothing was sent.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The offending field or setting.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// An end met an ended session whose stored handoff is not ours (it
    /// differs in summary, payload, status label, recipient or end reason).
    #[error("handoff conflict for session {session_id}: {message}")]
    HandoffConflict {
        /// The session.
        session_id: String,
        /// Hash of the payload we sent.
        local_hash: String,
        /// Hash of the handoff the server holds, if any.
        server_hash: Option<String>,
        /// The handoff the server holds, if it was read (boxed: errors
        /// stay small on the happy path).
        stored: Option<Box<StoredHandoff>>,
        /// Explanation.
        message: String,
    },
    /// The client knows the server is unreachable and did not try (fail fast).
    #[error("offline: {message}")]
    Offline {
        /// Why the client believes it is offline.
        message: String,
    },
    /// The local store (queue and cache) failed.
    #[error("local store error: {message}")]
    Store {
        /// What failed, naming the file.
        message: String,
    },
    /// The local queue is full; nothing was evicted and the work was not queued.
    #[error("queue full: {message}")]
    QueueFull {
        /// Counts and limits.
        message: String,
    },
}

fn corr(id: &Option<String>) -> String {
    id.as_deref()
        .map(|c| format!(" (correlation id {c})"))
        .unwrap_or_default()
}

fn fields_text(fields: &[FieldError], message: &str) -> String {
    if fields.is_empty() {
        return message.to_owned();
    }
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Local validation failure for a field.
    pub fn invalid_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The server's correlation id, when the error came from the server.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Unauthorized { correlation_id, .. }
            | Self::NotFound { correlation_id, .. }
            | Self::SessionNotActive { correlation_id, .. }
            | Self::PayloadTooLarge { correlation_id, .. }
            | Self::Validation { correlation_id, .. }
            | Self::RateLimited { correlation_id, .. }
            | Self::Server { correlation_id, .. }
            | Self::Decode { correlation_id, .. } => correlation_id.as_deref(),
            _ => None,
        }
    }

    /// How long the server asked us to wait before trying again
    /// (`Retry-After` on a 429 or a 5xx), if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Network { .. }
                | Self::Timeout { .. }
                | Self::Offline { .. }
        )
    }

    /// Whether the server could not be reached at all (vs. answered with an error).
    pub fn is_connectivity(&self) -> bool {
        matches!(
            self,
            Self::Network { .. } | Self::Timeout { .. } | Self::Offline { .. }
        )
    }

    /// A short stable name of the variant, for logs, CLIs and bindings.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::NotFound { .. } => "not_found",
            Self::SessionNotActive { .. } => "session_not_active",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Validation { .. } => "validation",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server",
            Self::Redirected { .. } => "redirected",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::PagingStopped { .. } => "paging_stopped",
            Self::Network { .. } => "network",
            Self::Timeout { .. } => "timeout",
            Self::Decode { .. } => "decode",
            Self::InvalidInput { .. } => "invalid_input",
            Self::HandoffConflict { .. } => "handoff_conflict",
            Self::Offline { .. } => "offline",
            Self::Store { .. } => "store",
            Self::QueueFull { .. } => "queue_full",
        }
    }
}

impl From<PayloadError> for Error {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::TooLarge { .. } => Self::PayloadTooLarge {
                message: e.to_string(),
                correlation_id: None,
            },
            other => Self::invalid_input("payload", other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_correlation_id_and_fields() {
        let e = Error::Validation {
            fields: vec![FieldError {
                field: "agent".into(),
                message: "Required string field".into(),
            }],
            message: "validation_failed".into(),
            correlation_id: Some("corr_1".into()),
        };
        assert_eq!(
            e.to_string(),
            "validation failed: agent: Required string field (correlation id corr_1)"
        );
        assert_eq!(e.correlation_id(), Some("corr_1"));
        assert!(!e.is_transient());
    }
}
