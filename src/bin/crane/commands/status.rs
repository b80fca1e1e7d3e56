//! `crane status`: this checkout's session from the local cache only.
//!
//! No network and no async runtime: the store file, one `git` process (for
//! the repository, unless given as a flag) and the small state files answer
//! in milliseconds, so an agent can call it before every step. When the
//! checkout cannot be detected, the queue and the other cached sessions are
//! still shown.

use crane_context::store::CachedSession;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::common::cached_record;
use crate::activity;
use crate::args::SessionArgs;
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::keeper;
use crate::output::{when, Style};
use crate::state;

/// Runs `crane status`.
pub fn run(ctx: &Ctx, args: &SessionArgs) -> CliResult<u8> {
    // Status only reads the store (see `Store::open_read_only`).
    let store = ctx.open_store_read_only()?;
    let (checkout, checkout_error) = match &args.session_id {
        Some(_) => (None, None),
        None => match ctx.settings().and_then(|s| {
            Checkout::detect(
                &args.target,
                s,
                ctx.origin_cache().as_deref(),
                &ctx.knowledge_in(&store),
            )
        }) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    // Every cached session is listed anyway (their count is shown); this
    // checkout's is found among them rather than by a query of its own
    // (each statement prepared is ~60 k instructions of a ~1.5 M command).
    let all = store.list_current_sessions()?;
    let cached = match (&args.session_id, &checkout) {
        (Some(id), _) => all.iter().find(|c| &c.session_id == id),
        (None, Some(c)) => {
            let tuple = c.tuple();
            all.iter().find(|s| s.tuple == tuple)
        }
        (None, None) => None,
    }
    .cloned();
    let counts = store.counts()?;
    let store_path = store.path().to_path_buf();
    // The process exits after printing (see `Store::close_at_exit`).
    store.close_at_exit();
    let contact = state::last_contact(&ctx.data_dir()?);
    let now = Timestamp::now();
    let data_dir = ctx.data_dir()?;
    if let Some(c) = &cached {
        // Asking after the session counts as working on it.
        activity::touch(&data_dir, &c.session_id);
    }
    let keeper = cached.as_ref().and_then(|c| {
        c.keeper_pid.map(|pid| {
            (
                pid,
                keeper::is_alive(pid, &c.session_id),
                activity::view(&data_dir, &c.session_id),
            )
        })
    });
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({
            "checkout": checkout.as_ref().map(|c| json!({
                "agent": c.agent, "venture": c.venture, "repo": c.repo, "track": c.track,
            })),
            "checkout_error": checkout_error,
            "session": cached.as_ref().map(|c| session_json(c, now)),
            "keeper": keeper.as_ref().map(|(pid, alive, v)| json!({
                "pid": pid,
                "alive": alive,
                "started_at": v.started_at,
                "age_seconds": v.age_seconds,
                "last_activity_at": v.last_activity_at,
                "idle_seconds": v.idle_seconds,
                "idle_limit_seconds": v.idle_limit_seconds,
            })),
            "connectivity": contact,
            "queue": counts,
            "cached_sessions": all.len(),
            "store": store_path,
        }));
        return Ok(0);
    }
    if let Some(e) = &checkout_error {
        out.line(format!("Checkout: {}", out.paint(e, Style::Yellow)));
    }
    match &cached {
        None => out.line("No session for this checkout (start one with `crane sod`)."),
        Some(c) => {
            let record = cached_record(c);
            out.line(format!("Session {}", out.paint(&c.session_id, Style::Bold)));
            out.field("agent", &c.tuple.agent);
            let track = c
                .tuple
                .track
                .map(|t| format!(" (track {t})"))
                .unwrap_or_default();
            out.field(
                "venture / repo",
                format!("{} / {}{track}", c.tuple.venture, c.tuple.repo),
            );
            if let Some(r) = &record {
                out.field("started", when(r.started_at, now));
            }
            match next_heartbeat(c) {
                Some(next) if next < now => out.field(
                    "next heartbeat",
                    out.paint(format!("{} (overdue)", when(next, now)), Style::Yellow),
                ),
                Some(next) => out.field("next heartbeat", when(next, now)),
                None => out.field("next heartbeat", "unknown"),
            }
            match &keeper {
                Some((pid, true, v)) => out.field(
                    "keeper",
                    out.paint(format!("pid {pid} running{}", v.describe()), Style::Green),
                ),
                Some((pid, false, _)) => out.field(
                    "keeper",
                    out.paint(format!("pid {pid} not running"), Style::Yellow),
                ),
                None => out.field("keeper", "none"),
            }
        }
    }
    match &contact {
        Some(c) if c.online => out.line(format!("Server: reachable (as of {})", when(c.at, now))),
        Some(c) => out.line(format!(
            "Server: {} (as of {}){}",
            out.paint("unreachable", Style::Yellow),
            when(c.at, now),
            c.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )),
        None => out.line("Server: not contacted yet"),
    }
    let dead = if counts.dead > 0 {
        out.paint(format!("{} dead", counts.dead), Style::Red)
    } else {
        "0 dead".into()
    };
    out.line(format!("Queue: {} pending, {dead}", counts.pending));
    if all.len() > usize::from(cached.is_some()) {
        out.line(format!(
            "Other cached sessions on this machine: {}",
            all.len() - usize::from(cached.is_some())
        ));
    }
    Ok(0)
}

fn next_heartbeat(c: &CachedSession) -> Option<Timestamp> {
    c.next_heartbeat_at_ms
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
}

fn session_json(c: &CachedSession, now: Timestamp) -> Value {
    let record = cached_record(c);
    let next = next_heartbeat(c);
    json!({
        "session_id": c.session_id,
        "agent": c.tuple.agent,
        "venture": c.tuple.venture,
        "repo": c.tuple.repo,
        "track": c.tuple.track,
        "status": record.as_ref().map(|r| r.status),
        "started_at": record.as_ref().map(|r| r.started_at),
        "branch": record.as_ref().and_then(|r| r.branch.clone()),
        "next_heartbeat_at": next,
        "heartbeat_interval_seconds": c.heartbeat_interval_seconds,
        "heartbeat_overdue": next.is_some_and(|n| n < now),
        "cache_updated_at": Timestamp::from_millisecond(c.updated_at_ms).ok(),
    })
}
