//! `crane checkpoint` and `crane checkpoints` (v2).
//!
//! A checkpoint goes straight to the server through the typed client: the
//! server does not deduplicate checkpoints, so one is never queued offline
//! or resent blindly (the library confirms a lost answer by reading
//! `/checkpoints`; see `Client::checkpoint`). Offline, the command fails
//! (exit 1) and says so; nothing is stored locally.

use crane_context::model::v2::{CheckpointsQuery, NewCheckpoint};
use jiff::Timestamp;
use serde_json::json;

use crate::args::{CheckpointArgs, CheckpointsArgs};
use crate::context::Ctx;
use crate::error::{CliResult, EXIT_OK};
use crate::output::{table, truncate, when, Style};

use super::common::{note_activity, resolve_session};
use super::reads::{client, record};

/// Runs `crane checkpoint`.
pub async fn add(ctx: &Ctx, args: &CheckpointArgs) -> CliResult<u8> {
    let store = ctx.open_store()?;
    let target = resolve_session(ctx, &store, &args.session)?;
    note_activity(ctx, &target);
    let mut req = NewCheckpoint::new(&target.session_id, &args.summary);
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    req.work_completed = list(&args.done);
    req.blockers = list(&args.blockers);
    req.next_actions = list(&args.next);
    req.notes = args.notes.clone();
    let result = client(ctx)?.checkpoint(&req).await;
    record(ctx, &result);
    let r = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&serde_json::to_value(&r).unwrap_or_default());
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
