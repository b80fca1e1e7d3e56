//! The whole story in a few seconds, with no external server: an in-process
//! Crane Context emulator, a session that starts, beats by itself, records an
//! update, goes offline, queues its handoff, comes back online and delivers
//! it exactly once.
//!
//! Run: `cargo run --example quickstart --features emulator`

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crane_context::emulator::{Emulator, EmulatorConfig};
use crane_context::engine::{Crane, CraneConfig, Event};
use crane_context::model::{ActiveQuery, EndSession, StartSession, Update};
use crane_context::{ClientConfig, EndOutcome, RelayKey, UpdateOutcome};
use serde_json::json;
use tokio::sync::mpsc;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `println!` that reports a failed write instead of panicking, so
/// `… | head -5` ends the story quietly (see `main`).
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

fn step(n: u32, text: &str) -> Res<()> {
    say!("\n[{n}] {text}");
    Ok(())
}

/// Runs the story; a closed stdout (`| head`) or Ctrl-C ends it quietly.
/// Either way `story` is dropped before `main` returns, so its temporary
/// folder (a `TempDir`) is removed on every exit path.
#[tokio::main]
async fn main() -> Res<()> {
    let outcome = tokio::select! {
        r = story() => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    match outcome {
        Err(e) if is_broken_pipe(e.as_ref()) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

async fn story() -> Res<()> {
    let temp = tempfile::Builder::new()
        .prefix("crane-quickstart-")
        .tempdir()?;
    let work = temp.path();
    let server_db = work.join("emulator.db");
    let emulator_config = EmulatorConfig {
        db_path: Some(server_db.clone()),
        // Short heartbeat intervals so automatic beats show up in seconds.
        heartbeat_interval_seconds: (1, 2),
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(emulator_config.clone()).await?;
    let (url, addr) = (emu.url(), emu.addr());
    say!(
        "crane-context quickstart: emulator at {url}, local queue in {}",
        work.display()
    );

    // Events from the background (heartbeats, queueing, delivery) arrive here.
    let (tx, mut events) = mpsc::unbounded_channel::<Event>();
    let key = RelayKey::new(emu.relay_key())?;
    let config = CraneConfig::new(ClientConfig::new(&url, key)?)
        .store_path(work.join("crane.db"))
        .listener(Arc::new(move |e: Event| {
            let _ = tx.send(e);
        }));
    let crane = Crane::open(config).await?;

    step(1, "health")?;
    let health = crane.client().health().await?;
    say!("    server is {:?}", health.status);

    step(2, "start a session (POST /sod)")?;
    let session = crane
        .start_session(
            StartSession::new("quickstart-agent", "vc", "venturecrane/demo")
                .track(1)
                .branch("main"),
        )
        .await?;
    let started = session.start_response().ok_or("no start response")?;
    say!(
        "    {:?} session {} — next heartbeat at {} ({} s)",
        started.status,
        started.session_id,
        started.next_heartbeat_at,
        started.heartbeat_interval_seconds
    );
    if let Some(docs) = &started.documentation {
        say!(
            "    {} docs delivered and cached (content hash {})",
            docs.count,
            docs.content_hash.as_deref().unwrap_or("-")
        );
    }

    step(
        3,
        "automatic heartbeat (no code: the session handle beats on the server's schedule)",
    )?;
    let beat = wait(&mut events, |e| matches!(e, Event::HeartbeatSent { .. })).await?;
    if let Event::HeartbeatSent {
        next_heartbeat_at,
        interval_seconds,
        ..
    } = beat
    {
        say!("    heartbeat sent; next at {next_heartbeat_at} ({interval_seconds} s)");
    }

    step(4, "record progress (POST /update)")?;
    match session
        .update(
            Update::new(session.session_id())
                .branch("feature/quickstart")
                .commit_sha("abc1234"),
        )
        .await?
    {
        UpdateOutcome::Applied(r) => say!("    applied at {}", r.updated_at),
        UpdateOutcome::Queued { local_id } => say!("    queued as {local_id}"),
    }
    let active = crane
        .client()
        .active_sessions(&ActiveQuery::new(
            "quickstart-agent",
            "vc",
            "venturecrane/demo",
        ))
        .await?;
    say!(
        "    {} active session(s) for this agent and repo",
        active.count
    );

    step(5, "the network goes away (emulator stopped)")?;
    emu.shutdown().await;
    say!("    server stopped");

    step(
        6,
        "end the session with a handoff (POST /eod) while offline",
    )?;
    let payload =
        json!({"done": ["quickstart"], "next": "ship it", "notes": "written offline — é"});
    let end = EndSession::new(session.session_id(), "Quickstart handoff", &payload)?
        .status_label("in-progress");
    let local_hash = end.payload.hash()?.to_owned();
    let local_id = match session.end(end).await? {
        EndOutcome::Queued { local_id } => {
            say!(
                "    server unreachable: handoff queued durably as {local_id} (hash {})",
                &local_hash[..12]
            );
            local_id
        }
        EndOutcome::Delivered(r) => {
            say!("    delivered at once as {}", r.handoff_id);
            return Ok(());
        }
    };
    let counts = crane.queue_counts().await?;
    say!(
        "    queue: {} pending, {} dead",
        counts.pending,
        counts.dead
    );

    step(
        7,
        "the network comes back (emulator restarted on the same address)",
    )?;
    let emu = Emulator::start(EmulatorConfig {
        bind: addr,
        ..emulator_config
    })
    .await?;
    say!("    server back at {}", emu.url());

    step(8, "the queue drains by itself")?;
    let delivered = wait(&mut events, |e| matches!(e, Event::HandoffDelivered { .. })).await?;
    if let Event::HandoffDelivered {
        local_id: l,
        handoff_id,
        payload_hash,
        ..
    } = delivered
    {
        say!("    {l} delivered as {handoff_id}");
        say!(
            "    server hash == local hash: {}",
            payload_hash == local_hash
        );
        if l != local_id {
            return Err(format!("delivered {l}, expected {local_id}").into());
        }
    }

    step(9, "exactly once")?;
    let latest = crane
        .client()
        .latest_handoff(&crane_context::model::LatestHandoffQuery::Session(
            session.session_id().to_owned(),
        ))
        .await?
        .ok_or("no handoff")?;
    let all = reqwest::get(format!("{}/__emulator/state", emu.url()))
        .await?
        .json::<serde_json::Value>()
        .await?;
    let copies = all["handoffs"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|x| x["session_id"] == session.session_id())
                .count()
        })
        .unwrap_or(0);
    say!(
        "    the server holds {copies} handoff for the session: \"{}\" ({} bytes)",
        latest.summary,
        latest.payload_size_bytes
    );
    say!(
        "    queue now: {} pending",
        crane.queue_counts().await?.pending
    );
    crane.shutdown();
    say!("\ndone.");
    Ok(())
}

async fn wait(
    events: &mut mpsc::UnboundedReceiver<Event>,
    pred: impl Fn(&Event) -> bool,
) -> Res<Event> {
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = events.recv().await {
            if pred(&e) {
                return Some(e);
            }
        }
        None
    })
    .await?;
    found.ok_or_else(|| "event stream closed".into())
}
