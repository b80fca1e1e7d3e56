//! The one error type Python and Swift see.
//!
//! It mirrors [`crate::Error`] variant for variant, so a host can branch on
//! exactly what a Rust caller can (`except CraneError.Unauthorized`, `catch
//! CraneError.Offline`). Every variant carries `message` (the full,
//! actionable text of the Rust error) and `correlation_id` (the server's id
//! to quote in a bug report, when the server answered), plus the variant's
//! own details. One `From` impl converts; nothing else builds these from a
//! Rust error. `Internal` is the only addition: a failure of the binding
//! layer itself (the runtime could not start, a task panicked, a listener
//! raised), never of the service.

use crate::Error;

/// A field the server (or local validation) rejected.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldError {
    /// The field name, e.g. `agent`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Everything that can go wrong calling Crane Context.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum CraneError {
    /// The relay key is missing or wrong (HTTP 401/403).
    #[error("{message}")]
    Unauthorized {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The session (or route) does not exist (HTTP 404).
    #[error("{message}")]
    NotFound {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The session has ended or was abandoned (HTTP 409).
    #[error("{message}")]
    SessionNotActive {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
        /// The session's status (`ended`, `abandoned`), when the server said.
        status: Option<String>,
    },
    /// The payload or request is over the server's limit (HTTP 413, or checked locally).
    #[error("{message}")]
    PayloadTooLarge {
        /// What went wrong, in full (gives the size and the limit).
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
    },
    /// The server rejected fields of the request (HTTP 400).
    #[error("{message}")]
    Validation {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
        /// The rejected fields.
        fields: Vec<FieldError>,
    },
    /// Too many requests (HTTP 429).
    #[error("{message}")]
    RateLimited {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
        /// The server's `Retry-After` in seconds, if any.
        retry_after_seconds: Option<f64>,
    },
    /// The server failed (HTTP 5xx or an unexpected status).
    #[error("{message}")]
    Server {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After` in seconds, if any (e.g. a 503 during
        /// maintenance).
        retry_after_seconds: Option<f64>,
    },
    /// The server could not be reached or the connection broke.
    #[error("{message}")]
    Network {
        /// What went wrong, in full.
        message: String,
        /// Always `None` (the server did not answer).
        correlation_id: Option<String>,
    },
    /// The server did not answer in time.
    #[error("{message}")]
    Timeout {
        /// What went wrong, in full.
        message: String,
        /// Always `None` (the server did not answer).
        correlation_id: Option<String>,
    },
    /// The response could not be read (not JSON, truncated, wrong shape).
    #[error("{message}")]
    Decode {
        /// What went wrong, in full.
        message: String,
        /// The server's correlation id, if any.
        correlation_id: Option<String>,
        /// The HTTP status of the response.
        status: u16,
    },
    /// The caller's input is invalid (e.g. a payload that is not a JSON
    /// object); nothing was sent.
    #[error("{message}")]
    InvalidInput {
        /// What went wrong, in full.
        message: String,
        /// Always `None` (nothing was sent).
        correlation_id: Option<String>,
        /// The offending field or setting.
        field: String,
    },
    /// A retried end met an ended session whose stored handoff is not ours.
    #[error("{message}")]
    HandoffConflict {
        /// What went wrong, in full.
        message: String,
        /// Always `None`.
        correlation_id: Option<String>,
        /// The session.
        session_id: String,
        /// Hash of the payload we sent.
        local_hash: String,
        /// Hash of the handoff the server holds, if any.
        server_hash: Option<String>,
    },
    /// The client knows the server is unreachable and did not try.
    #[error("{message}")]
    Offline {
        /// What went wrong, in full.
        message: String,
        /// Always `None`.
        correlation_id: Option<String>,
    },
    /// The local store (queue and cache) failed.
    #[error("{message}")]
    Store {
        /// What went wrong, in full (names the file).
        message: String,
        /// Always `None`.
        correlation_id: Option<String>,
    },
    /// The local queue is full; the work was not queued.
    #[error("{message}")]
    QueueFull {
        /// What went wrong, in full (counts and limits).
        message: String,
        /// Always `None`.
        correlation_id: Option<String>,
    },
    /// The binding layer itself failed (runtime start, task panic, a
    /// listener that raised). Not a service error; worth a bug report.
    #[error("{message}")]
    Internal {
        /// What went wrong.
        message: String,
        /// Always `None`.
        correlation_id: Option<String>,
    },
}

impl CraneError {
    /// A failure of the binding layer itself.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
            correlation_id: None,
        }
    }
}

impl From<Error> for CraneError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        let correlation_id = e.correlation_id().map(str::to_owned);
        match e {
            Error::Unauthorized { .. } => Self::Unauthorized {
                message,
                correlation_id,
            },
            Error::NotFound { .. } => Self::NotFound {
                message,
                correlation_id,
            },
            Error::SessionNotActive { status, .. } => Self::SessionNotActive {
                message,
                correlation_id,
                status: status.map(|s| s.to_string()),
            },
            Error::PayloadTooLarge { .. } => Self::PayloadTooLarge {
                message,
                correlation_id,
            },
            Error::Validation { fields, .. } => Self::Validation {
                message,
                correlation_id,
                fields: fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            },
            Error::RateLimited { retry_after, .. } => Self::RateLimited {
                message,
                correlation_id,
                retry_after_seconds: retry_after.map(|d| d.as_secs_f64()),
            },
            Error::Server {
                status,
                retry_after,
                ..
            } => Self::Server {
                message,
                correlation_id,
                status,
                retry_after_seconds: retry_after.map(|d| d.as_secs_f64()),
            },
            // A redirect crosses as the server error it is (its status and
            // message name the Location); bindings need no new case.
            Error::Redirected { status, .. } => Self::Server {
                message,
                correlation_id,
                status,
                retry_after_seconds: None,
            },
            // Both are answers the client could not use: decode failures.
            Error::ResponseTooLarge { status, .. } => Self::Decode {
                message,
                correlation_id,
                status,
            },
            Error::PagingStopped { .. } => Self::Decode {
                message,
                correlation_id,
                status: 200,
            },
            Error::Network { .. } => Self::Network {
                message,
                correlation_id,
            },
            Error::Timeout { .. } => Self::Timeout {
                message,
                correlation_id,
            },
            Error::Decode { status, .. } => Self::Decode {
                message,
                correlation_id,
                status,
            },
            Error::InvalidInput { field, .. } => Self::InvalidInput {
                message,
                correlation_id,
                field,
            },
            Error::HandoffConflict {
                session_id,
                local_hash,
                server_hash,
                ..
            } => Self::HandoffConflict {
                message,
                correlation_id,
                session_id,
                local_hash,
                server_hash,
            },
            Error::Offline { .. } => Self::Offline {
                message,
                correlation_id,
            },
            Error::Store { .. } => Self::Store {
                message,
                correlation_id,
            },
            Error::QueueFull { .. } => Self::QueueFull {
                message,
                correlation_id,
            },
        }
    }
}

/// A listener that raised (or a host callback that broke the FFI contract).
impl From<uniffi::UnexpectedUniFFICallbackError> for CraneError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::internal(format!("listener failed: {}", e.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_variant_message_and_correlation_id() {
        let e = CraneError::from(Error::Unauthorized {
            message: "bad key".into(),
            correlation_id: Some("corr_1".into()),
        });
        assert_eq!(
            e,
            CraneError::Unauthorized {
                message: "unauthorized: bad key (correlation id corr_1)".into(),
                correlation_id: Some("corr_1".into()),
            }
        );
        let e = CraneError::from(Error::invalid_input("payload", "must be a JSON object"));
        assert!(matches!(e, CraneError::InvalidInput { ref field, .. } if field == "payload"));
        assert_eq!(e.to_string(), "invalid payload: must be a JSON object");
    }
}
