//! # crane-context
//!
//! The agent-side SDK for [Crane Context]: a typed async client for every
//! route of the v1 contract and the routes v2 added ([`model::v2`]), with
//! retries built in where the server makes them safe.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crane_context::Error> {
//! use crane_context::{Client, model::{StartSession, EndSession}};
//! let client = Client::new("https://crane-context.example.workers.dev", "relay-key")?;
//! let started = client.start_session(&StartSession::new("cc-cli-host", "vc", "owner/repo")).await?;
//! client.heartbeat(&started.session_id).await?;
//! let payload = crane_context::serde_json::json!({"next": "tests"});
//! let end = EndSession::new(&started.session_id, "done for today", &payload)?;
//! let ended = client.end_session(&end).await?;
//! assert!(ended.handoff.hash_matches());
//! # Ok(()) }
//! ```
//!
//! [Crane Context]: https://github.com/venturecrane
#![deny(missing_docs)]

#[cfg(feature = "ffi")]
uniffi::setup_scaffolding!();

pub mod canonical;
mod client;
mod client_generation;
pub mod config;
mod confirm;
pub mod connectivity;
pub mod doctor;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod engine;
mod error;
#[cfg(feature = "ffi")]
pub mod ffi;
#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod fixture_tests_v2;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod generation;
mod host_thread;
pub mod idempotency;
pub mod identity;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod model;
mod pages;
pub mod policy;
pub mod private_fs;
pub mod redact;
mod retry;
pub mod settings;
pub mod signals;
pub mod store;
mod tls;
mod toml_errors;
mod transport;
pub mod verify;

pub use client::Client;
pub use config::{ClientConfig, RelayKey};
pub use engine::{
    CheckpointOutcome, Crane, CraneConfig, EndOutcome, Event, EventListener, NoteOutcome,
    SessionHandle, UpdateOutcome,
};
pub use error::{Error, FieldError, StoredHandoff};
pub use generation::{Generation, GenerationInfo, ServerVersion};
pub use idempotency::IdempotencyKey;
pub use retry::RetryPolicy;
/// The `serde_json` this crate's payload types use (so callers match versions).
pub use serde_json;
