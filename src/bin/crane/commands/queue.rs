//! `crane queue list|show|retry|drop|export`: the offline queue for people.
//!
//! Reading and dropping are local (the store alone, no network); `retry`
//! moves a dead item back to pending through the engine and delivers the
//! queue at once. Dropping deletes a handoff for good, so it asks first; with
//! no terminal to ask on and no `--yes`, it refuses (exit 2) rather than guess.

use std::io::{BufRead, Write};
use std::path::Path;

use crane_context::store::{ItemKind, ItemState, QueueItem, Store};
use jiff::Timestamp;
use serde_json::{json, Value};

use crate::args::{QueueCommand, StateArg};
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliError, CliResult, EXIT_FAILED, EXIT_OK};
use crate::output::{short_time, stdin_is_tty, table, truncate, Style};

fn state_of(s: Option<StateArg>) -> Option<ItemState> {
    s.map(|s| match s {
        StateArg::Pending => ItemState::Pending,
        StateArg::Dead => ItemState::Dead,
    })
}

fn ts(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

/// An item without its body, for lists.
fn summary_json(i: &QueueItem) -> Value {
    let now = Timestamp::now().as_millisecond();
    json!({
        "local_id": i.local_id, "kind": i.kind, "state": i.state, "session_id": i.session_id,
        "agent": i.tuple.agent, "venture": i.tuple.venture, "repo": i.tuple.repo,
        "track": i.tuple.track, "attempts": i.attempts, "created_at": ts(i.created_at_ms),
        "next_attempt_at": ts(i.next_attempt_at_ms), "last_error": i.last_error,
        "last_correlation_id": i.last_correlation_id, "payload_hash": i.payload_hash,
        "in_flight": i.lease_until_ms.is_some_and(|u| u > now),
        "quarantined": i.raw_body.is_some(),
    })
}

/// Everything about an item, with the body parsed.
fn full_json(i: &QueueItem) -> Value {
    let mut v = summary_json(i);
    v["idempotency_key"] = json!(i.idempotency_key);
    v["body"] = serde_json::from_str(&i.body_json).unwrap_or_else(|_| json!(i.body_json));
    if let Some(raw) = &i.raw_body {
        // The exact stored bytes, since the body above is only a rendering.
        v["raw_body_hex"] = json!(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }
    v
}

fn get(store: &Store, local_id: &str) -> CliResult<QueueItem> {
    store
        .get(local_id)?
        .ok_or_else(|| CliError::Failed(format!("no queued item with local id {local_id}")))
}

/// Runs the local subcommands (everything but `retry`).
pub fn run_local(ctx: &Ctx, cmd: &QueueCommand) -> CliResult<u8> {
    let store = ctx.open_store()?;
    let out = &ctx.out;
    match cmd {
        QueueCommand::List { state } => {
            let items = store.list(state_of(*state))?;
            let counts = store.counts()?;
            if out.is_json() {
                let list: Vec<Value> = items.iter().map(summary_json).collect();
                out.emit_json(&json!({"items": list, "counts": counts}));
                return Ok(EXIT_OK);
            }
            if items.is_empty() {
                out.line("The queue is empty.");
                return Ok(EXIT_OK);
            }
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|i| {
                    vec![
                        i.local_id.clone(),
                        i.kind.as_str().into(),
                        i.state.as_str().into(),
                        i.session_id.clone(),
                        i.attempts.to_string(),
                        ts(i.created_at_ms).map(short_time).unwrap_or_default(),
                        truncate(i.last_error.as_deref().unwrap_or("-"), 60),
                    ]
                })
                .collect();
            let headers = [
                "LOCAL ID",
                "KIND",
                "STATE",
                "SESSION",
                "TRIES",
                "QUEUED",
                "LAST ERROR",
            ];
            for line in table(&headers, &rows) {
                out.line(line);
            }
            out.line(format!("{} pending, {} dead", counts.pending, counts.dead));
            Ok(EXIT_OK)
        }
        QueueCommand::Show { local_id } => {
            let item = get(&store, local_id)?;
            let full = full_json(&item);
            if out.is_json() {
                out.emit_json(&full);
                return Ok(EXIT_OK);
            }
            out.line(format!("Item {}", out.paint(&item.local_id, Style::Bold)));
            out.field("kind", item.kind.as_str());
            out.field("state", item.state.as_str());
            out.field("session", &item.session_id);
            out.field(
                "venture / repo",
                format!("{} / {}", item.tuple.venture, item.tuple.repo),
            );
            out.field("attempts", item.attempts.to_string());
            if let Some(t) = ts(item.created_at_ms) {
                out.field("queued", short_time(t));
            }
            if let Some(e) = &item.last_error {
                out.field("last error", e);
            }
            if let Some(c) = &item.last_correlation_id {
                out.field("correlation id", c);
            }
            if let Some(h) = &item.payload_hash {
                out.field("payload hash", h);
            }
            out.field("idempotency key", &item.idempotency_key);
            out.line("Body:");
            out.line(serde_json::to_string_pretty(&full["body"]).unwrap_or_default());
            Ok(EXIT_OK)
        }
        QueueCommand::Drop { local_id, yes } => {
            let item = get(&store, local_id)?;
            if !*yes {
                if !stdin_is_tty() {
                    return Err(CliError::Usage(format!(
                        "refusing to drop {local_id} without confirmation: there is no terminal \
                         to ask on; pass --yes"
                    )));
                }
                if !confirm(&item)? {
                    out.line("Not dropped.");
                    return Ok(EXIT_FAILED);
                }
            }
            store.drop_item(local_id)?;
            if out.is_json() {
                out.emit_json(&json!({"dropped": local_id, "item": summary_json(&item)}));
            } else {
                out.line(format!(
                    "Dropped {local_id} ({} for {}).",
                    item.kind.as_str(),
                    item.session_id
                ));
            }
            Ok(EXIT_OK)
        }
        QueueCommand::Export { state, output } => {
            let items = store.export(state_of(*state))?;
            let doc = json!({
                "exported_at": Timestamp::now(),
                "store": store.path(),
                "items": items.iter().map(full_json).collect::<Vec<_>>(),
            });
            match output {
                Some(path) => {
                    write_private(path, &doc)?;
                    if out.is_json() {
                        out.emit_json(&json!({"exported": items.len(), "file": path}));
                    } else {
                        out.line(format!(
                            "Exported {} item(s) to {}.",
                            items.len(),
                            path.display()
                        ));
                    }
                }
                None => out.emit_json(&doc),
            }
            Ok(EXIT_OK)
        }
        QueueCommand::Retry { .. } => Err(CliError::Failed("retry needs the engine".into())),
    }
}

fn confirm(item: &QueueItem) -> CliResult<bool> {
    let mut err = std::io::stderr().lock();
    let what = match item.kind {
        ItemKind::End => format!("a HANDOFF for session {}", item.session_id),
        ItemKind::Update => format!("an update for session {}", item.session_id),
        ItemKind::Checkpoint => format!("a CHECKPOINT for session {}", item.session_id),
        ItemKind::Note => "a NOTE".to_owned(),
    };
    let _ = write!(
        err,
        "Drop {} ({what}, {})? It will never be delivered. [y/N] ",
        item.local_id,
        item.state.as_str()
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Writes an export: 0600 whatever the file was before (a new file renamed
/// over it), refusing a symbolic link rather than writing through it.
fn write_private(path: &Path, doc: &Value) -> CliResult<()> {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    crane_context::private_fs::write_atomic(path, text.as_bytes())
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// Runs `crane queue retry`.
pub async fn retry(ctx: &Ctx, local_id: &str) -> CliResult<u8> {
    let engine = Engine::open(ctx).await?;
    let result = async {
        engine.crane.retry_dead(local_id).await?;
        engine.crane.sync().await?;
        Ok::<_, crane_context::Error>(())
    }
    .await;
    engine.settle().await;
    let item = engine.crane.store().get(local_id);
    engine.finish().await;
    result?;
    let item = item?;
    let (outcome, error) = match &item {
        None => ("delivered", None),
        Some(i) if i.state == ItemState::Dead => ("dead", i.last_error.clone()),
        Some(i) => ("pending", i.last_error.clone()),
    };
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({"local_id": local_id, "result": outcome, "error": error}));
    } else {
        match outcome {
            "delivered" => out.line(format!(
                "{local_id} {}.",
                out.paint("delivered", Style::Green)
            )),
            "dead" => out.line(format!(
                "{local_id} failed again and is {}: {}",
                out.paint("dead", Style::Red),
                error.unwrap_or_default()
            )),
            _ => {
                out.line(format!(
                "{local_id} is pending again; it will be delivered when the server accepts it{}",
                error.map(|e| format!(" (last error: {e})")).unwrap_or_default()
            ))
            }
        }
    }
    Ok(if outcome == "dead" {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
