//! The README's "Using the library" snippet, verbatim: `tests/readme.rs`
//! checks that the README shows exactly this file, and `cargo test` compiles
//! it, so the snippet a user copies always builds.
//!
//! Run against any server (for example the emulator):
//! `CRANE_CONTEXT_URL=http://127.0.0.1:PORT CRANE_CONTEXT_KEY=… cargo run --example library`

// README:begin
use crane_context::engine::{Crane, CraneConfig};
use crane_context::model::{EndSession, StartSession};
use crane_context::{ClientConfig, EndOutcome, RelayKey};
use serde_json::json;

#[tokio::main] // tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CRANE_CONTEXT_URL")?;
    let key = RelayKey::new(std::env::var("CRANE_CONTEXT_KEY")?)?;
    let config = CraneConfig::new(ClientConfig::new(&url, key)?);
    let crane = Crane::open(config).await?; // opens the local queue; delivers leftovers

    let start = StartSession::new("my-agent", "vc", "owner/repo");
    // Heartbeats happen by themselves while the agent works.
    let session = crane.start_session(start).await?;
    let payload = json!({"done": ["parser"], "next": "tests"});
    let end = EndSession::new(session.session_id(), "parser done; next: tests", &payload)?;
    match session.end(end).await? {
        EndOutcome::Delivered(r) => println!("stored as {}", r.handoff_id),
        EndOutcome::Queued { local_id } => println!("offline: queued {local_id}, delivered later"),
    }
    crane.close().await?; // waits for deliveries in flight
    Ok(())
}
// README:end
