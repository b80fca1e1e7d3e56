//! The CLI's failures and their exit codes.
//!
//! Agents branch on the exit code, so each failure maps to exactly one of the
//! documented codes ([`crate::args::EXIT_CODES`]): the library's
//! `InvalidInput` is a usage or configuration error (2), a `HandoffConflict`
//! (the session already ended with another handoff) is 4, every other library
//! error is a failed operation (1) and keeps the server's message and
//! correlation id for the error line.

use std::process::ExitCode;

use crane_context::store::StoreError;
use crane_context::Error;

/// Success.
pub const EXIT_OK: u8 = 0;
/// The operation failed.
pub const EXIT_FAILED: u8 = 1;
/// Usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Only queued locally, and `--require-delivery` was given.
pub const EXIT_QUEUED: u8 = 3;
/// The session already ended with a different handoff (a conflict): nothing
/// of this call was stored by the server.
pub const EXIT_CONFLICT: u8 = 4;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags, input or configuration (exit 2).
    Usage(String),
    /// A library error (exit 2 for invalid input, else 1).
    Lib(Error),
    /// Any other failure (exit 1).
    Failed(String),
}

impl CliError {
    /// The exit code of this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Lib(Error::InvalidInput { .. }) => EXIT_USAGE,
            Self::Lib(Error::HandoffConflict { .. }) => EXIT_CONFLICT,
            // Refused locally (no correlation id): the input is too large.
            Self::Lib(Error::PayloadTooLarge {
                correlation_id: None,
                ..
            }) => EXIT_USAGE,
            Self::Lib(_) | Self::Failed(_) => EXIT_FAILED,
        }
    }

    /// A stable name of the failure for `--json` consumers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::Lib(e) => e.kind(),
            Self::Failed(_) => "failed",
        }
    }

    /// The server's correlation id, if the failure came from the server.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Lib(e) => e.correlation_id(),
            _ => None,
        }
    }

    /// A hint on what to do next, when there is an obvious one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Lib(Error::Unauthorized { .. }) => {
                Some("check the relay key (`crane doctor` shows which key is in use)")
            }
            Self::Lib(e) if e.is_connectivity() => {
                Some("the server could not be reached; `crane doctor` checks the URL and network")
            }
            Self::Lib(Error::HandoffConflict { .. }) => Some(
                "the session already ended with the handoff named above; read it with \
                 `crane handoffs latest --session-id S`, or start a new session with `crane sod` and end that one",
            ),
            Self::Lib(Error::NotFound { message, .. })
                if message.starts_with("Endpoint not found") =>
            {
                Some(
                    "the server does not have this route: the checkpoint, notes, prior, \
                     siblings, history and handoff-status commands need a v2 server",
                )
            }
            Self::Lib(Error::SessionNotActive { .. }) => {
                Some("the session is no longer active; start a new one with `crane sod`")
            }
            // Only a missing session calls for a new one (not a missing note
            // or handoff).
            Self::Lib(Error::NotFound { message, .. })
                if message.to_ascii_lowercase().contains("session") =>
            {
                Some("the session is no longer active; start a new one with `crane sod`")
            }
            _ => None,
        }
    }

    /// The process exit code.
    pub fn to_exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Usage(m) | Self::Failed(m) => f.write_str(m),
            Self::Lib(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        Self::Lib(e)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        Self::Lib(Error::from(e))
    }
}

/// Shorthand for command results.
pub type CliResult<T> = Result<T, CliError>;
