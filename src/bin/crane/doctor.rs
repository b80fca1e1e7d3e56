//! `crane doctor`: renders [`crane_context::doctor::run`] (configuration,
//! reachability, clock, key, the server's generation, commit and schema
//! version, the venture of this checkout and why, store and queue: the
//! checks are the library's) and adds what only the CLI has: its keepers,
//! and the agent and repository detected for this checkout. The exit code
//! is 1 when any check fails.

use crane_context::doctor::{self, CheckoutFacts, DoctorOptions, DoctorReport, Level};
use serde_json::json;

use crate::activity;
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::error::{CliResult, EXIT_FAILED, EXIT_OK};
use crate::keeper;
use crate::output::Style;

/// Runs `crane doctor`.
pub async fn run(ctx: &Ctx) -> CliResult<u8> {
    let settings = ctx.settings();
    let store = ctx.open_store();
    let checkout = settings.as_ref().map_err(|e| e.to_string()).and_then(|s| {
        Checkout::detect(&Default::default(), s, None, &ctx.knowledge()).map_err(|e| e.to_string())
    });
    // The venture check needs only the remote (git detection is the CLI's
    // job), so it runs even when the venture cannot be decided.
    let owner_and_name = crate::git::origin(ctx.origin_cache().as_deref()).map(|r| {
        let name = r
            .slug
            .split_once('/')
            .map_or(r.slug.as_str(), |(_, n)| n)
            .to_owned();
        (r.owner, name)
    });
    let explicit = settings
        .as_ref()
        .ok()
        .and_then(|s| s.venture.as_ref())
        .map(|v| (v.value.clone(), v.source.to_string()));
    let options = DoctorOptions {
        settings: settings.as_ref().ok().copied(),
        client: None,
        store: store.as_ref().ok(),
        checkout: owner_and_name.as_ref().map(|(owner, name)| CheckoutFacts {
            owner,
            repo_name: name,
            explicit: explicit.as_ref().map(|(v, s)| (v.as_str(), s.as_str())),
        }),
    };
    let mut report = doctor::run(options).await;
    if let (Some(reached), Ok(dir)) = (&report.reachable, ctx.data_dir()) {
        // What `crane status` shows as the last known connectivity.
        crate::state::record_contact(&dir, reached.is_ok(), reached.clone().err());
    }
    if let Err(e) = &settings {
        report.push("config", Level::Fail, e.to_string());
    }
    match &store {
        Ok(s) => keeper_checks(ctx, s, &mut report),
        Err(e) => report.push("store", Level::Fail, e.to_string()),
    }
    match &checkout {
        Ok(c) => report.push(
            "checkout",
            Level::Info,
            format!("agent {}, venture {}, repo {}", c.agent, c.venture, c.repo),
        ),
        Err(e) => report.push("checkout", Level::Info, format!("not detected here: {e}")),
    }

    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        for c in &report.checks {
            let tag = match c.level {
                Level::Ok => out.paint(" OK ", Style::Green),
                Level::Info => out.paint("INFO", Style::Dim),
                Level::Warn => out.paint("WARN", Style::Yellow),
                Level::Fail => out.paint("FAIL", Style::Red),
            };
            out.line(format!("[{tag}] {:<14} {}", c.name, c.detail));
        }
    }
    Ok(if report.ok { EXIT_OK } else { EXIT_FAILED })
}

/// The keepers of the cached sessions (a CLI feature: the library knows none).
fn keeper_checks(ctx: &Ctx, store: &crane_context::store::Store, report: &mut DoctorReport) {
    let data_dir = ctx.data_dir().ok();
    match store.list_current_sessions() {
        Ok(sessions) => {
            if sessions.is_empty() {
                report.push("keepers", Level::Info, "no cached sessions");
            }
            for s in sessions {
                match s.keeper_pid {
                    Some(pid) if keeper::is_alive(pid, &s.session_id) => {
                        let view = data_dir
                            .as_deref()
                            .map(|d| activity::view(d, &s.session_id));
                        let seen = view.as_ref().map(|v| v.describe()).unwrap_or_default();
                        report.push_with(
                            "keeper",
                            Level::Ok,
                            format!(
                                "pid {pid} keeps {} ({}){seen}",
                                s.session_id, s.tuple.repo
                            ),
                            Some(json!({"pid": pid, "session_id": s.session_id, "alive": true, "activity": view})),
                        )
                    }
                    Some(pid) => report.push(
                        "keeper",
                        Level::Warn,
                        format!(
                            "pid {pid} of {} is not running; `crane sod` restarts it",
                            s.session_id
                        ),
                    ),
                    None => report.push(
                        "keeper",
                        Level::Info,
                        format!("{} ({}) has no keeper", s.session_id, s.tuple.repo),
                    ),
                }
            }
        }
        Err(e) => report.push("keepers", Level::Warn, e.to_string()),
    }
}
