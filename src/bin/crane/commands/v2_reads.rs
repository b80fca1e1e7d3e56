//! `crane prior`, `crane siblings`, `crane history` and
//! `crane handoffs status` (v2): one typed-client call each, no queue.

use crane_context::model::v2::PriorSessionQuery;
use jiff::Timestamp;
use serde_json::json;

use crate::args::{HandoffStatusArgs, HistoryArgs, PriorArgs, SiblingsArgs};
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_OK};
use crate::output::{table, when, Style};

use super::common::{cached_record, resolve_session};
use super::reads::{client, record};

/// Runs `crane prior`.
pub async fn prior(ctx: &Ctx, args: &PriorArgs) -> CliResult<u8> {
    let c = Checkout::detect(
        &args.target,
        ctx.settings()?,
        ctx.origin_cache().as_deref(),
        &ctx.knowledge(),
    )?;
    let mut q =
        PriorSessionQuery::new(&c.agent, &c.venture, &c.repo).within_hours(args.within_hours);
    q.track = c.track;
    let result = client(ctx)?.prior_session(&q).await;
    record(ctx, &result);
    let session = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({ "session": session }));
        return Ok(EXIT_OK);
    }
    let Some(s) = session else {
        out.line(format!(
            "No session of {} on {} / {} ended in the last {} hours.",
            c.agent, c.venture, c.repo, args.within_hours
        ));
        return Ok(EXIT_OK);
    };
    let now = Timestamp::now();
    out.line(format!("Session {}", out.paint(&s.id, Style::Bold)));
    out.field("status", s.status.to_string());
    if let Some(r) = s.end_reason {
        out.field("end reason", format!("{r:?}").to_lowercase());
    }
    out.field("started", when(s.started_at, now));
    if let Some(e) = s.ended_at {
        out.field("ended", when(e, now));
    }
    if let Some(a) = &s.last_activity_at {
        out.field("last activity", a);
    }
    if let Some(b) = &s.branch {
        out.field("branch", b);
    }
    Ok(EXIT_OK)
}

/// Runs `crane siblings`.
pub async fn siblings(ctx: &Ctx, args: &SiblingsArgs) -> CliResult<u8> {
    let store = ctx.open_store()?;
    let target = resolve_session(ctx, &store, &args.session)?;
    let group = match &args.group {
        Some(g) => g.clone(),
        None => target
            .cached
            .as_ref()
            .and_then(cached_record)
            .and_then(|s| s.session_group_id)
            .ok_or_else(|| {
                CliError::Failed(format!(
                    "session {} belongs to no session group (as cached here); pass --group",
                    target.session_id
                ))
            })?,
    };
    let result = client(ctx)?
        .siblings(&group, Some(&target.session_id))
        .await;
    record(ctx, &result);
    let r = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&serde_json::to_value(&r).unwrap_or_default());
        return Ok(EXIT_OK);
    }
    if r.siblings.is_empty() {
        out.line(format!("No other active session in group {group}."));
        return Ok(EXIT_OK);
    }
    let now = Timestamp::now();
    let rows: Vec<Vec<String>> = r
        .siblings
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.agent.clone(),
                format!("{} / {}", s.venture, s.repo),
                s.track.map_or("-".into(), |t| t.to_string()),
                when(s.last_heartbeat_at, now),
            ]
        })
        .collect();
    for line in table(
        &[
            "SESSION",
            "AGENT",
            "VENTURE / REPO",
            "TRACK",
            "LAST HEARTBEAT",
        ],
        &rows,
    ) {
        out.line(line);
    }
    Ok(EXIT_OK)
}

/// Runs `crane history`.
pub async fn history(ctx: &Ctx, args: &HistoryArgs) -> CliResult<u8> {
    let result = client(ctx)?.session_history(Some(args.days)).await;
    record(ctx, &result);
    let r = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&serde_json::to_value(&r).unwrap_or_default());
        return Ok(EXIT_OK);
    }
    if r.entries.is_empty() {
        out.line(format!("No ended sessions in the last {} days.", args.days));
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = r
        .entries
        .iter()
        .flat_map(|e| {
            e.blocks.iter().map(move |b| {
                vec![
                    e.work_date.clone(),
                    e.venture.clone(),
                    format!("{:.0} – {:.0}", b.start, b.end),
                    b.session_count.to_string(),
                    b.repos.join(", "),
                ]
            })
        })
        .collect();
    for line in table(
        &["DATE (UTC-7)", "VENTURE", "BLOCK", "SESSIONS", "REPOS"],
        &rows,
    ) {
        out.line(line);
    }
    Ok(EXIT_OK)
}

/// Runs `crane handoffs status ID LABEL`.
pub async fn handoff_status(ctx: &Ctx, args: &HandoffStatusArgs) -> CliResult<u8> {
    let result = client(ctx)?
        .set_handoff_status(&args.id, args.label.into())
        .await;
    record(ctx, &result);
    let h = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({ "handoff": h }));
    } else {
        out.line(format!(
            "Handoff {} is now {}",
            h.id,
            out.paint(h.status_label.as_deref().unwrap_or("-"), Style::Bold)
        ));
    }
    Ok(EXIT_OK)
}
