//! `crane sod`: start or resume this checkout's session.
//!
//! The engine's `start_session` first delivers queued work of the same
//! (agent, venture, repo, track) — otherwise the server would resume the old
//! session and the queued handoff would later end the new one — then calls
//! `/sod` and caches the session. This command adds what an agent wants to
//! see at the start of its day: the last handoff for this repo, the other
//! active sessions, the docs written to files, and a keeper process that
//! heartbeats until the session ends. Those extras are best effort: failing
//! to read one is a warning, never a failed `sod`.

use crane_context::model::{ActiveQuery, Handoff, Session, StartSession};
use crane_context::Error;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::common::parse_meta;
use crate::activity;
use crate::args::SodArgs;
use crate::checkout::{Checkout, Knowledge};
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::CliResult;
use crate::git;
use crate::keeper::{self, KeeperInfo};
use crate::output::{truncate, when, Style};
use crate::state::{self, DocsWritten};

/// The server's generation and (v2) venture list, probed or fetched when
/// the store has nothing fresh; what the store remembers when the server
/// cannot be asked.
pub async fn live_knowledge(ctx: &Ctx, crane: &crane_context::Crane) -> Knowledge {
    let Ok(generation) = crane.client().generation().await else {
        return ctx.knowledge();
    };
    let ventures = match generation {
        crane_context::Generation::V2 => crane.ventures().await.ok().map(|f| f.value),
        crane_context::Generation::V1 => None,
    };
    Knowledge {
        generation: Some(generation),
        ventures,
    }
}

/// Runs `crane sos` (alias `sod`).
pub async fn run(ctx: &Ctx, args: &SodArgs) -> CliResult<u8> {
    let settings = ctx.settings()?;
    let engine = Engine::open(ctx).await?;
    // The venture depends on the server's generation (and, on v2, its
    // venture list): ask it now, falling back to what the store remembers.
    let knowledge = live_knowledge(ctx, &engine.crane).await;
    let checkout = Checkout::detect(
        &args.target,
        settings,
        ctx.origin_cache().as_deref(),
        &knowledge,
    )?;
    let git::Head { branch, commit } = git::fill(args.branch.clone(), args.commit.clone());
    let mut req = StartSession::new(&checkout.agent, &checkout.venture, &checkout.repo)
        .host(&checkout.host)
        .include_docs(!args.no_docs);
    req.client = Some(checkout.client.clone());
    req.client_version = args
        .client_version
        .clone()
        .or(checkout.client_version.clone());
    req.track = checkout.track;
    req.issue_number = args.issue;
    req.branch = branch.clone();
    req.commit_sha = commit.clone();
    req.meta = parse_meta(args.meta.as_deref())?;
    req.client_session_id = args.client_session_id.clone();
    req.session_group_id = args.session_group_id.clone();
    req.validate()?;

    let store = engine.crane.store().clone();
    let previous = store.get_current_session(&checkout.tuple())?;
    let started = match engine.crane.start_session_with(req.clone(), false).await {
        // The background drain may hold this tuple's queued items in flight
        // while the engine's own flush looks for them: let it finish, retry once.
        Err(Error::Offline { .. }) if engine.online() => {
            engine.settle().await;
            engine.crane.start_session_with(req, false).await
        }
        other => other,
    };
    let handle = match started {
        Ok(h) => h,
        Err(e) => {
            engine.finish().await;
            return Err(e.into());
        }
    };
    let session = handle.session().clone();
    let resp = handle.start_response();
    let out = &ctx.out;

    let (last_handoff, last_stale) = match resp.as_ref().and_then(|r| r.last_handoff.clone()) {
        Some(h) => (Some(h), false),
        None => match engine
            .crane
            .last_handoff(&checkout.venture, &checkout.repo, checkout.track)
            .await
        {
            Ok(f) => (f.value, f.stale),
            Err(e) => {
                out.warn(format!("could not read the last handoff: {e}"));
                (None, false)
            }
        },
    };

    let others: Vec<Session> = match resp.as_ref().and_then(|r| r.active_sessions.clone()) {
        Some(list) => list,
        None => {
            let mut q = ActiveQuery::new(&checkout.agent, &checkout.venture, &checkout.repo);
            q.track = checkout.track;
            match engine.crane.client().active_sessions(&q).await {
                Ok(a) => a.sessions,
                Err(e) => {
                    out.warn(format!("could not list active sessions: {e}"));
                    Vec::new()
                }
            }
        }
    }
    .into_iter()
    .filter(|s| s.id != session.id)
    .collect();

    let data_dir = ctx.data_dir()?;
    let docs: Option<DocsWritten> = match resp.as_ref().and_then(|r| r.documentation.as_ref()) {
        Some(d) => match state::write_docs(&data_dir, d) {
            Ok(w) => Some(w),
            Err(e) => {
                out.warn(format!(
                    "could not write the docs under {}: {e}",
                    state::docs_dir(&data_dir).display()
                ));
                None
            }
        },
        None => None,
    };

    let keeper = if args.no_keepalive {
        None
    } else {
        let prev = previous
            .filter(|p| p.session_id == session.id)
            .and_then(|p| p.keeper_pid);
        // --keeper-idle-seconds (or its variable) > the config file > default.
        let idle_limit = args
            .keeper_idle_seconds
            .map(std::time::Duration::from_secs)
            .or(ctx.settings()?.keeper_idle_limit)
            .unwrap_or(crane_context::policy::KEEPER_IDLE_LIMIT);
        match keeper::ensure(ctx, &store, &session.id, prev, idle_limit) {
            Ok(k) => Some(k),
            Err(e) => {
                out.warn(format!(
                    "{e}; no heartbeats will be sent in the background (run `crane heartbeat` \
                     within 45 minutes, or `crane sod` again)"
                ));
                None
            }
        }
    };
    activity::touch(&data_dir, &session.id);
    drop(handle);
    engine.finish().await;

    let status = resp
        .as_ref()
        .map(|r| serde_json::to_value(r.status).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    if out.is_json() {
        out.emit_json(&json!({
            "session_id": session.id,
            "status": status,
            "session": session,
            "next_heartbeat_at": resp.as_ref().map(|r| r.next_heartbeat_at),
            "heartbeat_interval_seconds": resp.as_ref().map(|r| r.heartbeat_interval_seconds),
            "correlation_id": resp.as_ref().and_then(|r| r.correlation_id.clone()),
            "checkout": {
                "agent": checkout.agent, "venture": checkout.venture, "repo": checkout.repo,
                "track": checkout.track, "client": checkout.client,
                "client_version": req_version(args, &checkout), "host": checkout.host,
                "branch": branch, "commit_sha": commit,
            },
            "last_handoff": last_handoff,
            "last_handoff_stale": last_stale,
            "active_sessions": others,
            "docs": docs,
            "keeper": keeper,
        }));
        return Ok(0);
    }
    let now = Timestamp::now();
    let verb = match status.as_str() {
        Some("created") => out.paint("created", Style::Green),
        Some("resumed") => out.paint("resumed", Style::Green),
        _ => "started".into(),
    };
    out.line(format!(
        "Session {} {verb}",
        out.paint(&session.id, Style::Bold)
    ));
    out.field("agent", &session.agent);
    let track = session
        .track
        .map(|t| format!(" (track {t})"))
        .unwrap_or_default();
    out.field(
        "venture / repo",
        format!("{} / {}{track}", session.venture, session.repo),
    );
    if let Some(b) = &session.branch {
        let c = session
            .commit_sha
            .as_deref()
            .map(short_sha)
            .unwrap_or_default();
        out.field("branch", format!("{b} {c}").trim_end());
    }
    if let Some(r) = &resp {
        out.field(
            "next heartbeat",
            format!(
                "{} (every ~{}s)",
                when(r.next_heartbeat_at, now),
                r.heartbeat_interval_seconds
            ),
        );
    }
    match keeper {
        Some(KeeperInfo { pid, started: true }) => {
            out.field("keeper", format!("pid {pid} (started)"))
        }
        Some(KeeperInfo {
            pid,
            started: false,
        }) => out.field("keeper", format!("pid {pid} (already running)")),
        None => out.field("keeper", "none (heartbeats are up to you)"),
    }
    out.line("");
    print_handoff(ctx, last_handoff.as_ref(), last_stale, now);
    out.line("");
    if others.is_empty() {
        out.line("Other active sessions: none");
    } else {
        out.line(format!("Other active sessions ({}):", others.len()));
        for s in &others {
            let stale = if s.is_stale_at(now) { " [stale]" } else { "" };
            out.line(format!(
                "  {}  {}  track {}  last heartbeat {}{stale}",
                s.id,
                s.agent,
                s.track.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                when(s.last_heartbeat_at, now)
            ));
        }
    }
    match &docs {
        Some(d) => out.line(format!(
            "Docs: {} file(s) in {} ({})",
            d.files.len(),
            d.dir.display(),
            if d.rewritten { "updated" } else { "unchanged" }
        )),
        None if args.no_docs => out.line("Docs: not requested (--no-docs)"),
        None => out.line("Docs: none delivered"),
    }
    Ok(0)
}

fn req_version(args: &SodArgs, checkout: &Checkout) -> Option<String> {
    args.client_version
        .clone()
        .or(checkout.client_version.clone())
}

fn short_sha(sha: &str) -> String {
    format!("@ {}", sha.chars().take(10).collect::<String>())
}

fn print_handoff(ctx: &Ctx, h: Option<&Handoff>, stale: bool, now: Timestamp) {
    let out = &ctx.out;
    let Some(h) = h else {
        out.line("Last handoff: none yet for this repo");
        return;
    };
    let stale = if stale {
        " (cached; server unreachable)"
    } else {
        ""
    };
    out.line(format!("Last handoff{stale}:"));
    out.field("from", &h.from_agent);
    out.field("at", when(h.created_at, now));
    if let Some(l) = &h.status_label {
        out.field("status", l);
    }
    out.field("summary", truncate(&h.summary, 200));
}
