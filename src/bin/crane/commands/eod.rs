//! `crane eod`: end this checkout's session with a handoff.
//!
//! The handoff goes through the engine's persist-first path: it is in the
//! local queue before the first byte is sent, so it survives a crash or an
//! outage. Delivered: the server's payload hash is compared with the one
//! computed locally, and the session's keeper is stopped. Only queued: the
//! command says so plainly and still exits 0 (3 with `--require-delivery`);
//! the keeper, if one runs, stays to deliver the handoff when the network
//! returns (otherwise `crane sync` or the next `crane sod` delivers it).

use crane_context::engine::EndOutcome;
use crane_context::model::EndSession;
use serde_json::json;

use super::common::read_payload;
use crate::args::EodArgs;
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliResult, EXIT_OK, EXIT_QUEUED};
use crate::keeper;
use crate::output::Style;

/// Runs `crane eod`.
pub async fn run(ctx: &Ctx, args: &EodArgs) -> CliResult<u8> {
    let payload = read_payload(args.payload_file.as_deref(), args.payload.as_deref())?;
    let engine = Engine::open(ctx).await?;
    let target = engine.target(ctx, &args.session).await?;
    let mut req = EndSession::new(&target.session_id, &args.summary, &payload)?;
    req.status_label = args.status_label.clone();
    req.to_agent = args.to_agent.clone();
    req.last_activity_at = args.last_activity_at.clone();
    if args.keep_open {
        req.keep_session_open = Some(true);
    }
    let local_hash = req
        .payload
        .hash()
        .map_err(crane_context::Error::from)?
        .to_owned();
    let keeper_pid = target.cached.as_ref().and_then(|c| c.keeper_pid);

    let outcome = engine.crane.end_session(req).await;
    // Why it waits, decided by the engine before it closes.
    let why = match &outcome {
        Ok(EndOutcome::Queued { local_id }) => {
            engine.crane.why_queued(local_id).await.ok().flatten()
        }
        _ => None,
    };
    engine.finish().await;
    let out = &ctx.out;
    match outcome? {
        EndOutcome::Delivered(r) => {
            let verified = r.handoff.payload_hash == local_hash && r.handoff.hash_matches();
            // Re-homed: the session had ended without it, so the engine
            // delivered it in a new session of the same tuple.
            let rehomed_from = (r.session_id != target.session_id).then_some(&target.session_id);
            // A session kept open keeps its keeper too.
            let keeper_stopped = match keeper_pid {
                Some(pid) if r.ended_at.is_some() => {
                    Some(keeper::stop(pid, &target.session_id).await)
                }
                _ => None,
            };
            if out.is_json() {
                out.emit_json(&json!({
                    "delivered": true,
                    "queued": false,
                    "session_id": r.session_id,
                    "handoff_id": r.handoff_id,
                    "ended_at": r.ended_at,
                    "payload_hash": local_hash,
                    "hash_verified": verified,
                    "correlation_id": r.correlation_id,
                    "handoff": r.handoff,
                    "keeper_pid": keeper_pid,
                    "keeper_stopped": keeper_stopped,
                    "rehomed_from": rehomed_from,
                }));
            } else {
                out.line(format!(
                    "Handoff {} {} — session {} {}",
                    out.paint(&r.handoff_id, Style::Bold),
                    out.paint("delivered", Style::Green),
                    r.session_id,
                    if r.ended_at.is_some() {
                        "ended"
                    } else {
                        "kept open"
                    }
                ));
                if let Some(from) = rehomed_from {
                    out.field(
                        "re-homed",
                        format!(
                            "session {from} had ended without it; delivered in the new session \
                             {} (its meta names {from})",
                            r.session_id
                        ),
                    );
                }
                let check = if verified {
                    out.paint("matches the local hash", Style::Green)
                } else {
                    out.paint("DIFFERS from the local hash", Style::Red)
                };
                out.field("payload hash", format!("{local_hash} ({check})"));
                match (keeper_pid, keeper_stopped) {
                    (Some(pid), Some(true)) => out.field("keeper", format!("pid {pid} stopped")),
                    (Some(pid), _) => out.field("keeper", format!("pid {pid} did not stop")),
                    _ => {}
                }
            }
            Ok(EXIT_OK)
        }
        EndOutcome::Queued { local_id } => {
            let keeper_alive = keeper_pid.filter(|p| keeper::is_alive(*p, &target.session_id));
            if out.is_json() {
                out.emit_json(&json!({
                    "delivered": false,
                    "queued": true,
                    "session_id": target.session_id,
                    "local_id": local_id,
                    "payload_hash": local_hash,
                    "keeper_pid": keeper_alive,
                    "why": why.as_ref().map(ToString::to_string),
                }));
            } else {
                let why = why.map_or_else(
                    || "it is waiting in the queue".to_owned(),
                    |w| w.to_string(),
                );
                out.line(format!(
                    "Handoff {} — {why}.",
                    out.paint("NOT delivered yet", Style::Yellow)
                ));
                out.line(format!(
                    "It is saved in the local queue (item {local_id}) and will be delivered \
                     exactly once {}.",
                    match keeper_alive {
                        Some(pid) => format!(
                            "by the keeper (pid {pid}) as soon as the server is reachable, or by `crane sync`"
                        ),
                        None => "by `crane sync` (or the next `crane sod`)".to_owned(),
                    }
                ));
                out.field("payload hash", &local_hash);
            }
            Ok(if args.require_delivery {
                EXIT_QUEUED
            } else {
                EXIT_OK
            })
        }
    }
}
