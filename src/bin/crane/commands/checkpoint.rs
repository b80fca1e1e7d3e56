//! `crane checkpoint` and `crane checkpoints` (v2).
//!
//! A checkpoint goes through the engine's queue like an update: persisted
//! first, in the session's lane (after its earlier updates, before its
//! end). The server does not deduplicate checkpoints, so the engine never
//! resends one blindly: before its first send it records the session's
//! newest checkpoint number, and every later attempt reads `/checkpoints`
//! and settles the item when a newer checkpoint has its content (see
//! `crane_context::engine`, `v2_writes.rs`). Offline, the command says it
//! is queued and why, and exits 0 (3 with `--require-delivery`).

use crane_context::engine::CheckpointOutcome;
use crane_context::model::v2::{CheckpointsQuery, NewCheckpoint};
use jiff::Timestamp;
use serde_json::json;

use crate::args::{CheckpointArgs, CheckpointsArgs};
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliResult, EXIT_OK, EXIT_QUEUED};
use crate::output::{table, truncate, when, Style};

use super::common::{note_activity, resolve_session};
use super::reads::{client, record};

/// Runs `crane checkpoint`.
pub async fn add(ctx: &Ctx, args: &CheckpointArgs) -> CliResult<u8> {
    let engine = Engine::open(ctx).await?;
    let target = engine.target(ctx, &args.session).await?;
    note_activity(ctx, &target);
    let mut req = NewCheckpoint::new(&target.session_id, &args.summary);
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    req.work_completed = list(&args.done);
    req.blockers = list(&args.blockers);
    req.next_actions = list(&args.next);
    req.notes = args.notes.clone();
    let outcome = engine.crane.checkpoint(req).await;
    let why = match &outcome {
        Ok(CheckpointOutcome::Queued { local_id }) => {
            engine.crane.why_queued(local_id).await.ok().flatten()
        }
        _ => None,
    };
    engine.finish().await;
    let out = &ctx.out;
    match outcome? {
        CheckpointOutcome::Stored(r) => {
            if out.is_json() {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("delivered".into(), json!(true));
                    o.insert("queued".into(), json!(false));
                }
                out.emit_json(&v);
            } else {
                out.line(format!(
                    "Checkpoint {} {} for {}",
                    r.checkpoint_number,
                    out.paint("stored", Style::Green),
                    r.session_id
                ));
                out.field("id", &r.checkpoint_id);
            }
            Ok(EXIT_OK)
        }
        CheckpointOutcome::Queued { local_id } => {
            if out.is_json() {
                out.emit_json(&json!({
                    "delivered": false, "queued": true, "session_id": target.session_id,
                    "local_id": local_id, "why": why.as_ref().map(ToString::to_string),
                }));
            } else {
                let why = why.map_or_else(
                    || "it is waiting in the queue".to_owned(),
                    |w| w.to_string(),
                );
                out.line(format!(
                    "Checkpoint {} — {why}; it is queued (item {local_id}) and will be \
                     delivered once, before the session's handoff, by `crane sync` (or the \
                     session's keeper, or the next `crane sod`); each attempt first reads the \
                     session's checkpoints, so it is never stored twice.",
                    out.paint("NOT delivered yet", Style::Yellow)
                ));
            }
            Ok(if args.require_delivery {
                EXIT_QUEUED
            } else {
                EXIT_OK
            })
        }
    }
}

/// Runs `crane checkpoints`.
pub async fn list(ctx: &Ctx, args: &CheckpointsArgs) -> CliResult<u8> {
    let store = ctx.open_store()?;
    let target = resolve_session(ctx, &store, &args.session)?;
    let q = CheckpointsQuery::session(&target.session_id).limit(args.limit);
    let result = client(ctx)?.checkpoints(&q).await;
    record(ctx, &result);
    let r = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({
            "session_id": target.session_id, "count": r.count,
            "checkpoints": r.checkpoints, "correlation_id": r.correlation_id,
        }));
        return Ok(EXIT_OK);
    }
    if r.checkpoints.is_empty() {
        out.line(format!("No checkpoints for {}.", target.session_id));
        return Ok(EXIT_OK);
    }
    let now = Timestamp::now();
    let items = |v: &Option<Vec<String>>| v.as_ref().map_or(0, Vec::len).to_string();
    let rows: Vec<Vec<String>> = r
        .checkpoints
        .iter()
        .map(|c| {
            vec![
                c.checkpoint_number.to_string(),
                when(c.created_at, now),
                truncate(c.summary.as_deref().unwrap_or("-"), 60),
                items(&c.work_completed),
                items(&c.blockers),
                items(&c.next_actions),
            ]
        })
        .collect();
    for line in table(&["#", "AT", "SUMMARY", "DONE", "BLOCKERS", "NEXT"], &rows) {
        out.line(line);
    }
    Ok(EXIT_OK)
}
