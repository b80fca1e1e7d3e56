//! `crane mcp`: the SDK as a Model Context Protocol server over stdio.
//!
//! Agent CLIs (Claude Code, Codex, Gemini CLI, …) take their tools through
//! MCP. Serving the engine itself — not a thin HTTP wrapper — gives every
//! such agent the SDK's guarantees without a line of code: the session
//! heartbeats on the server's schedule inside this process for as long as it
//! runs; an end of session while offline is written to the same SQLite queue
//! the CLI and the bindings use, reported as "queued as L, will be
//! delivered", and delivered exactly once by this process's drain when the
//! service answers again (or by the next `crane sync`, `crane sod` or
//! `crane mcp` if the agent exits first).
//!
//! The protocol (initialize, ping, tools, resources, subscriptions,
//! logging, cancellation) is rmcp's; this module holds the tools
//! ([`tools`]), their input schemas ([`params`]), how results and errors
//! are rendered for a model ([`render`]), the resources ([`resources`]),
//! the background events told to the client (`notify`) and the life cycle
//! ([`serve_stdio`]). Tool names and required arguments follow the
//! TypeScript `crane-mcp` server where it has the tool, so a user can swap
//! servers without changing prompts or skills (docs/mcp.md has the table).
//!
//! Which checkout the server acts for is decided by its host (the `crane`
//! CLI detects it with git) and passed in as an [`Identity`].

mod notify;
pub mod params;
pub mod render;
mod resources;
mod server;
mod session;
mod tools;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use tokio::sync::mpsc;

pub use server::CraneMcp;

use crate::engine::{Crane, Event, EventListener};

/// Longest wait, on shutdown, for deliveries this process has in flight
/// (the engine's [`Crane::close`] grace, [`crate::policy::CLOSE_GRACE`]).
pub const SHUTDOWN_GRACE: Duration = crate::policy::CLOSE_GRACE;

/// The checkout the server acts for, as its host detected it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Agent name (`<client>-<host>` unless configured).
    pub agent: String,
    /// Venture code when the host knows it (its org→venture map); `None`
    /// leaves it to `crane_sos`'s `venture` argument or `GET /ventures`.
    pub venture: Option<String>,
    /// Repository `owner/name`.
    pub repo: String,
    /// Track, if any.
    pub track: Option<i64>,
    /// Client program name (e.g. `claude-code`).
    pub client: String,
    /// Client program version, when known.
    pub client_version: Option<String>,
    /// Host name.
    pub host: String,
    /// Current branch, when known.
    pub branch: Option<String>,
    /// Current commit, when known.
    pub commit_sha: Option<String>,
}

/// A listener for [`crate::engine::CraneConfig::listener`] and the
/// receiving end [`serve_stdio`] takes, so the engine's background events
/// (a queued handoff delivered, a session lost, …) reach the MCP client as
/// notifications.
pub fn event_channel() -> (Arc<dyn EventListener>, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = Arc::new(move |e: Event| {
        let _ = tx.send(e);
    });
    (listener, rx)
}

impl Identity {
    /// The repository's owner and name (`owner/name`; a slug without `/` is
    /// all name, with no owner).
    pub fn owner_and_name(&self) -> (&str, &str) {
        self.repo
            .split_once('/')
            .unwrap_or(("", self.repo.as_str()))
    }
}

/// Serves MCP on this process's stdin/stdout until stdin closes (the
/// client went away) or SIGINT/SIGTERM arrives; then closes the engine,
/// waiting at most [`SHUTDOWN_GRACE`] for deliveries in flight (an item
/// still held is released for the next process to send: nothing is lost).
///
/// `events` is the receiving end of the engine's listener (see
/// [`event_channel`]): what it reports is sent to the client as
/// notifications (resource updates and log messages).
///
/// Nothing but protocol messages is written to stdout.
pub async fn serve_stdio(
    crane: Crane,
    identity: Identity,
    events: mpsc::UnboundedReceiver<Event>,
) -> Result<(), ServeError> {
    let server = CraneMcp::new(crane.clone(), identity);
    let state = server.state();
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Protocol(e.to_string()));
    let result = match running {
        Ok(running) => {
            let notifier = tokio::spawn(notify::forward(events, running.peer().clone(), state));
            let token = running.cancellation_token();
            let signals = tokio::spawn(async move {
                crate::signals::stop_requested().await;
                token.cancel();
            });
            let _ = running.waiting().await;
            signals.abort();
            notifier.abort();
            Ok(())
        }
        Err(e) => Err(e),
    };
    crane.close().await?;
    result
}

/// Why [`serve_stdio`] stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The MCP handshake with the client failed.
    #[error("MCP initialization failed: {0}")]
    Protocol(String),
    /// Closing the engine failed.
    #[error(transparent)]
    Engine(#[from] crate::Error),
}
