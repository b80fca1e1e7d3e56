//! `crane sync`: deliver the offline queue now.
//!
//! The engine's `sync` makes every pending item due and drains the queue;
//! the engine reports each delivery and dead letter as an event, which drives
//! the progress bar (shown for more than one item, on a terminal). Items
//! another live process (a keeper) is delivering at that moment are left to
//! it; items leased to a process that died are taken over at once. The
//! report counts every delivery this process saw during the call (the
//! background drain's too), then the whole queue's state, with why each
//! pending item waits; any item left pending makes the exit code 1.

use crane_context::engine::Event;
use serde_json::json;

use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliResult, EXIT_FAILED, EXIT_OK};
use crate::output::{stderr_is_tty, Style};

#[derive(Default)]
struct Tally {
    delivered: u64,
    dead: u64,
    dropped: u64,
    rehomed: Vec<String>,
    errors: Vec<String>,
}

impl Tally {
    fn see(&mut self, e: &Event, bar: Option<&indicatif::ProgressBar>) {
        match e {
            Event::HandoffDelivered { .. }
            | Event::UpdateDelivered { .. }
            | Event::NoteDelivered { .. }
            | Event::CheckpointDelivered { .. } => self.delivered += 1,
            Event::ItemDeadLettered {
                local_id, error, ..
            } => {
                self.dead += 1;
                self.errors.push(format!("{local_id}: {error}"));
            }
            Event::UpdateDropped { .. } => self.dropped += 1,
            Event::HandoffRehomed {
                local_id,
                from_session_id,
                to_session_id,
                ..
            } => {
                // Counted as delivered by the HandoffDelivered that follows.
                self.rehomed.push(format!(
                    "{local_id}: session {from_session_id} had ended without it; \
                     delivered in the new session {to_session_id}"
                ));
                return;
            }
            _ => return,
        }
        if let Some(b) = bar {
            b.inc(1);
        }
    }
}

/// Runs `crane sync`.
pub async fn run(ctx: &Ctx) -> CliResult<u8> {
    let mut engine = Engine::open(ctx).await?;
    let before = engine.crane.queue_counts().await?;
    let out = &ctx.out;
    let bar = (before.pending > 1 && !out.is_json() && stderr_is_tty()).then(|| {
        let b = indicatif::ProgressBar::new(before.pending);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} delivered {msg}")
        {
            b.set_style(style);
        }
        b
    });
    let mut tally = Tally::default();
    let result = {
        let sync = engine.crane.sync();
        let mut sync = std::pin::pin!(sync);
        loop {
            tokio::select! {
                r = &mut sync => break r,
                Some(e) = engine.events.recv() => tally.see(&e, bar.as_ref()),
            }
        }
    };
    engine.settle().await;
    while let Ok(e) = engine.events.try_recv() {
        tally.see(&e, bar.as_ref());
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let online = engine.online();
    let after = engine.crane.queue_counts().await;
    // Why each item still pending waits, decided by the engine.
    let mut waiting = Vec::new();
    if let Ok(items) = engine
        .crane
        .queue_items(Some(crane_context::store::ItemState::Pending))
        .await
    {
        for item in items {
            if let Ok(Some(why)) = engine.crane.why_queued(&item.local_id).await {
                waiting.push((item.local_id, why.to_string()));
            }
        }
    }
    engine.finish().await;
    let report = result?;
    let after = after?;
    // Anything left pending is a failure to deliver now, whatever the reason.
    let failed = tally.dead > 0 || report.retrying > 0 || after.pending > 0;
    if out.is_json() {
        out.emit_json(&json!({
            "delivered": tally.delivered,
            "dead": tally.dead,
            "dropped": tally.dropped,
            "retrying": report.retrying,
            "pending": after.pending,
            "dead_total": after.dead,
            "online": online,
            "pending_before": before.pending,
            "errors": tally.errors,
            "rehomed": tally.rehomed,
            "waiting": waiting.iter().map(|(id, why)| json!({"local_id": id, "why": why})).collect::<Vec<_>>(),
        }));
    } else {
        if before.pending == 0 {
            out.line("Queue is empty: nothing to deliver.");
        } else {
            out.line(format!(
                "Delivered {} of {} queued item(s).",
                out.paint(tally.delivered.to_string(), Style::Green),
                before.pending
            ));
        }
        for r in &tally.rehomed {
            out.line(format!("re-homed: {r}"));
        }
        for e in &tally.errors {
            out.line(format!("{} {e}", out.paint("dead:", Style::Red)));
        }
        if tally.dropped > 0 {
            out.line(format!(
                "Dropped {} queued update(s) of sessions that ended or were abandoned meanwhile.",
                tally.dropped
            ));
        }
        if after.pending > 0 {
            out.line(format!(
                "{} item(s) still pending{}:",
                out.paint(after.pending.to_string(), Style::Yellow),
                if online {
                    ""
                } else {
                    " (the server is unreachable)"
                }
            ));
            for (id, why) in &waiting {
                out.line(format!("  {id}: {why}"));
            }
        }
        if after.dead > 0 {
            out.line(format!(
                "{} dead item(s): see `crane queue list --state dead`.",
                after.dead
            ));
        }
    }
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}
