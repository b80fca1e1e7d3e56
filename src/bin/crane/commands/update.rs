//! `crane update` and `crane heartbeat`: progress and liveness of this
//! checkout's session.
//!
//! An update goes through the engine's queue like a handoff (offline it is
//! queued, ahead of the session's end); a heartbeat is sent once, now, since a
//! missed heartbeat is replaced by the next one. Both record the schedule the
//! server proposes in the cache, so `crane status` shows it.

use crane_context::engine::UpdateOutcome;
use crane_context::model::Update;
use jiff::Timestamp;
use serde_json::json;

use super::common::{note_activity, parse_meta};
use crate::args::{SessionArgs, UpdateArgs};
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliResult, EXIT_OK, EXIT_QUEUED};
use crate::git;
use crate::output::{when, Style};

/// Runs `crane update`.
pub async fn update(ctx: &Ctx, args: &UpdateArgs) -> CliResult<u8> {
    // One store connection: the engine's (each open is a file, a marker
    // and a connection; see `Engine::target`).
    let engine = Engine::open(ctx).await?;
    let target = engine.target(ctx, &args.session).await?;
    note_activity(ctx, &target);
    let mut req = Update::new(&target.session_id);
    let head = git::fill(args.branch.clone(), args.commit.clone());
    req.branch = head.branch;
    req.commit_sha = head.commit;
    req.meta = parse_meta(args.meta.as_deref())?;
    let (branch, commit) = (req.branch.clone(), req.commit_sha.clone());

    let outcome = engine.crane.update(req).await;
    let why = match &outcome {
        Ok(UpdateOutcome::Queued { local_id }) => {
            engine.crane.why_queued(local_id).await.ok().flatten()
        }
        _ => None,
    };
    engine.finish().await;
    let out = &ctx.out;
    match outcome? {
        UpdateOutcome::Applied(r) => {
            let now = Timestamp::now();
            if out.is_json() {
                out.emit_json(&json!({
                    "applied": true, "queued": false, "session_id": r.session_id,
                    "updated_at": r.updated_at, "next_heartbeat_at": r.next_heartbeat_at,
                    "heartbeat_interval_seconds": r.heartbeat_interval_seconds,
                    "branch": branch, "commit_sha": commit, "correlation_id": r.correlation_id,
                }));
            } else {
                out.line(format!(
                    "Session {} {}",
                    r.session_id,
                    out.paint("updated", Style::Green)
                ));
                if let Some(b) = &branch {
                    out.field("branch", b);
                }
                if let Some(c) = &commit {
                    out.field("commit", c);
                }
                out.field("next heartbeat", when(r.next_heartbeat_at, now));
            }
            Ok(EXIT_OK)
        }
        UpdateOutcome::Queued { local_id } => {
            if out.is_json() {
                out.emit_json(&json!({
                    "applied": false, "queued": true, "session_id": target.session_id,
                    "local_id": local_id, "branch": branch, "commit_sha": commit,
                    "why": why.as_ref().map(ToString::to_string),
                }));
            } else {
                let why = why.map_or_else(
                    || "it is waiting in the queue".to_owned(),
                    |w| w.to_string(),
                );
                out.line(format!(
                    "Update {} — {why}; it is queued (item {local_id}) \
                     and will be delivered before the session's handoff.",
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

/// Runs `crane heartbeat`.
pub async fn heartbeat(ctx: &Ctx, args: &SessionArgs) -> CliResult<u8> {
    let engine = Engine::open(ctx).await?;
    let target = engine.target(ctx, args).await?;
    note_activity(ctx, &target);
    // The engine records the answer in the cache (or forgets a lost session).
    let result = engine.crane.heartbeat(&target.session_id).await;
    engine.finish().await;
    let r = result?;
    let now = Timestamp::now();
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({
            "session_id": r.session_id, "last_heartbeat_at": r.last_heartbeat_at,
            "next_heartbeat_at": r.next_heartbeat_at,
            "heartbeat_interval_seconds": r.heartbeat_interval_seconds,
            "correlation_id": r.correlation_id,
        }));
    } else {
        out.line(format!(
            "Heartbeat {} for {}",
            out.paint("sent", Style::Green),
            r.session_id
        ));
        out.field(
            "next heartbeat",
            format!(
                "{} (interval {}s)",
                when(r.next_heartbeat_at, now),
                r.heartbeat_interval_seconds
            ),
        );
    }
    Ok(EXIT_OK)
}
