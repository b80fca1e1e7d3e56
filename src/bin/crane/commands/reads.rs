//! `crane active`, `crane handoffs latest` and `crane handoffs list`: reads.
//!
//! Reads need no queue, so `active` and `handoffs list` use the typed client
//! alone (no background work starts). `handoffs latest` for a repo goes
//! through the engine, whose answer falls back to the cached last handoff
//! (marked stale, with its age) when the server cannot be reached.
//! `handoffs list --all` follows the server's cursors to the last page, with
//! a progress spinner when stderr is a terminal.

use std::time::Duration;

use crane_context::model::{
    ActiveQuery, Handoff, HandoffFilter, HandoffsQuery, LatestHandoffQuery,
};
use crane_context::{Client, Error};
use futures_util::TryStreamExt;
use jiff::Timestamp;
use serde_json::json;

use crate::args::{HandoffsLatestArgs, HandoffsListArgs, TargetArgs};
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::CliResult;
use crate::output::{short_time, stderr_is_tty, table, truncate, when, Style};
use crate::state;

pub(super) fn client(ctx: &Ctx) -> CliResult<Client> {
    Ok(Client::with_config(ctx.client_config()?)?)
}

/// Records what a plain-client call showed about connectivity.
pub(super) fn record<T>(ctx: &Ctx, result: &Result<T, Error>) {
    if let Ok(dir) = ctx.data_dir() {
        state::record_result(&dir, result);
    }
}

/// Runs `crane active`.
pub async fn active(ctx: &Ctx, target: &TargetArgs) -> CliResult<u8> {
    let checkout = Checkout::detect(
        target,
        ctx.settings()?,
        ctx.origin_cache().as_deref(),
        &ctx.knowledge(),
    )?;
    let client = client(ctx)?;
    let mut q = ActiveQuery::new(&checkout.agent, &checkout.venture, &checkout.repo);
    q.track = checkout.track;
    let result = client.active_sessions(&q).await;
    record(ctx, &result);
    let active = result?;
    let mine = ctx
        .open_store()
        .ok()
        .and_then(|s| s.get_current_session(&checkout.tuple()).ok().flatten())
        .map(|c| c.session_id);
    let now = Timestamp::now();
    let out = &ctx.out;
    if out.is_json() {
        let sessions: Vec<_> = active
            .sessions
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["stale"] = json!(s.is_stale_at(now));
                v["this_checkout"] = json!(mine.as_deref() == Some(s.id.as_str()));
                v
            })
            .collect();
        out.emit_json(&json!({
            "agent": checkout.agent, "venture": checkout.venture, "repo": checkout.repo,
            "track": checkout.track, "count": active.count, "sessions": sessions,
            "correlation_id": active.correlation_id,
        }));
        return Ok(0);
    }
    if active.sessions.is_empty() {
        out.line(format!(
            "No active sessions for {} on {} / {}.",
            checkout.agent, checkout.venture, checkout.repo
        ));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = active
        .sessions
        .iter()
        .map(|s| {
            let mut note = String::new();
            if mine.as_deref() == Some(s.id.as_str()) {
                note.push_str("this checkout ");
            }
            if s.is_stale_at(now) {
                note.push_str("stale");
            }
            vec![
                s.id.clone(),
                s.track.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                s.branch.clone().unwrap_or_else(|| "-".into()),
                when(s.last_heartbeat_at, now),
                note.trim().to_owned(),
            ]
        })
        .collect();
    for line in table(&["SESSION", "TRACK", "BRANCH", "LAST HEARTBEAT", ""], &rows) {
        out.line(line);
    }
    Ok(0)
}

/// Runs `crane handoffs latest`.
pub async fn latest(ctx: &Ctx, args: &HandoffsLatestArgs) -> CliResult<u8> {
    let (handoff, stale, age) = if let Some(id) = &args.session_id {
        let client = client(ctx)?;
        let r = client
            .latest_handoff(&LatestHandoffQuery::Session(id.clone()))
            .await;
        record(ctx, &r);
        (r?, false, None)
    } else {
        let checkout = Checkout::detect(
            &args.target,
            ctx.settings()?,
            ctx.origin_cache().as_deref(),
            &ctx.knowledge(),
        )?;
        if let Some(issue) = args.issue {
            let client = client(ctx)?;
            let q = LatestHandoffQuery::Issue {
                venture: checkout.venture.clone(),
                repo: checkout.repo.clone(),
                issue_number: issue,
            };
            let r = client.latest_handoff(&q).await;
            record(ctx, &r);
            (r?, false, None)
        } else {
            let engine = Engine::open(ctx).await?;
            let r = engine
                .crane
                .last_handoff(&checkout.venture, &checkout.repo, checkout.track)
                .await;
            engine.finish().await;
            let f = r?;
            (f.value, f.stale, f.age)
        }
    };
    let out = &ctx.out;
    if out.is_json() {
        let payload = handoff.as_ref().and_then(|h| h.payload().ok());
        out.emit_json(&json!({
            "handoff": handoff,
            "payload": if args.payload { payload } else { None },
            "stale": stale,
            "age_seconds": age.map(|a| a.as_secs()),
        }));
        return Ok(0);
    }
    let Some(h) = handoff else {
        out.line("No handoff yet.");
        return Ok(0);
    };
    if stale {
        out.line(out.paint(
            format!(
                "(cached {} ago: the server could not be reached)",
                crate::output::duration_text(age.unwrap_or(Duration::ZERO).as_secs() as i64)
            ),
            Style::Yellow,
        ));
    }
    print_handoff(ctx, &h, args.payload);
    Ok(0)
}

fn print_handoff(ctx: &Ctx, h: &Handoff, payload: bool) {
    let out = &ctx.out;
    let now = Timestamp::now();
    out.line(format!("Handoff {}", out.paint(&h.id, Style::Bold)));
    out.field("from", &h.from_agent);
    if let Some(to) = &h.to_agent {
        out.field("to", to);
    }
    out.field("at", when(h.created_at, now));
    out.field("session", &h.session_id);
    out.field("venture / repo", format!("{} / {}", h.venture, h.repo));
    if let Some(b) = &h.branch {
        out.field("branch", b);
    }
    if let Some(l) = &h.status_label {
        out.field("status", l);
    }
    out.field("summary", &h.summary);
    out.field(
        "payload",
        format!("{} bytes, sha256 {}", h.payload_size_bytes, h.payload_hash),
    );
    if payload {
        let pretty = h
            .payload()
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| h.payload_json.clone());
        out.line(pretty);
    }
}

/// Runs `crane handoffs list`.
pub async fn list(ctx: &Ctx, args: &HandoffsListArgs) -> CliResult<u8> {
    let filter = if let Some(agent) = &args.from_agent {
        HandoffFilter::FromAgent(agent.clone())
    } else if let Some(id) = &args.session_id {
        HandoffFilter::Session(id.clone())
    } else {
        let c = Checkout::detect(
            &args.target,
            ctx.settings()?,
            ctx.origin_cache().as_deref(),
            &ctx.knowledge(),
        )?;
        match (args.issue, c.track) {
            (Some(issue_number), _) => HandoffFilter::Issue {
                venture: c.venture,
                repo: c.repo,
                issue_number,
            },
            (None, Some(track)) => HandoffFilter::Track {
                venture: c.venture,
                repo: c.repo,
                track,
            },
            (None, None) => HandoffFilter::Repo {
                venture: c.venture,
                repo: c.repo,
            },
        }
    };
    let client = client(ctx)?;
    let query = HandoffsQuery::new(filter).limit(args.limit);
    let out = &ctx.out;
    let (handoffs, next_cursor, has_more, pages) = if args.all {
        let bar = (!out.is_json() && stderr_is_tty()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_message("fetching handoffs");
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        let mut all = Vec::new();
        let mut pages = 0u32;
        let mut stream = std::pin::pin!(client.handoff_pages(query));
        let result: Result<(), Error> = async {
            while let Some(page) = stream.try_next().await? {
                pages += 1;
                all.extend(page.handoffs);
                if let Some(b) = &bar {
                    b.set_message(format!("{} handoffs, {pages} page(s)", all.len()));
                }
            }
            Ok(())
        }
        .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        record(ctx, &result);
        result?;
        (all, None, false, pages)
    } else {
        let r = client.handoffs(&query).await;
        record(ctx, &r);
        let page = r?;
        (page.handoffs, page.next_cursor, page.has_more, 1)
    };
    if out.is_json() {
        out.emit_json(&json!({
            "count": handoffs.len(), "pages": pages, "handoffs": handoffs,
            "next_cursor": next_cursor, "has_more": has_more,
        }));
        return Ok(0);
    }
    if handoffs.is_empty() {
        out.line("No handoffs.");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = handoffs
        .iter()
        .map(|h| {
            vec![
                short_time(h.created_at),
                h.id.clone(),
                h.from_agent.clone(),
                h.status_label.clone().unwrap_or_else(|| "-".into()),
                truncate(&h.summary, 60),
            ]
        })
        .collect();
    for line in table(&["CREATED", "HANDOFF", "FROM", "STATUS", "SUMMARY"], &rows) {
        out.line(line);
    }
    if has_more {
        out.line(out.paint(
            format!(
                "… more on the next page (pass --all to fetch every page; {} shown)",
                handoffs.len()
            ),
            Style::Dim,
        ));
    }
    Ok(0)
}
