//! `crane keeper stop`: stop this checkout's keeper (or the given session's).
//!
//! The session is not ended: without heartbeats it goes stale and the server
//! abandons it at the next `/sod` of its tuple (or end it with `crane eod`).
//! Stopping a session that has no running keeper is not an error: the command
//! says so and exits 0. A session that is not cached here exits 1, as every
//! command acting on "this checkout's session" does.

use serde_json::json;

use super::common::resolve_session;
use crate::activity;
use crate::args::SessionArgs;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_OK};
use crate::keeper;

/// Runs `crane keeper stop`.
pub async fn run(ctx: &Ctx, args: &SessionArgs) -> CliResult<u8> {
    let store = ctx.open_store()?;
    let target = resolve_session(ctx, &store, args)?;
    let Some(cached) = target.cached else {
        return Err(CliError::Failed(format!(
            "session {} is not cached on this machine; no keeper of it runs here",
            target.session_id
        )));
    };
    let sid = cached.session_id.as_str();
    let running = cached.keeper_pid.filter(|p| keeper::is_alive(*p, sid));
    let stopped = match running {
        Some(pid) => {
            if !keeper::terminate_now(pid, sid).await {
                return Err(CliError::Failed(format!(
                    "keeper pid {pid} of session {sid} did not stop after SIGTERM"
                )));
            }
            Some(pid)
        }
        None => None,
    };
    // The keeper clears its pid and files as it leaves; a dead one cannot.
    if let Ok(Some(c)) = store.current_session_by_id(sid) {
        if c.keeper_pid.is_some_and(|p| !keeper::is_alive(p, sid)) {
            store.set_keeper_pid(sid, None)?;
        }
    }
    if let Ok(dir) = ctx.data_dir() {
        if activity::read_record(&dir, sid).is_some_and(|r| !keeper::is_alive(r.pid, sid)) {
            activity::remove(&dir, sid);
        }
    }
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({
            "session_id": sid,
            "stopped": stopped.is_some(),
            "pid": stopped,
        }));
    } else {
        match stopped {
            Some(pid) => out.line(format!(
                "Stopped keeper pid {pid} of session {sid}; the session is left to go stale \
                 (end it with `crane eod`, or resume it with `crane sod`)."
            )),
            None => out.line(format!("No keeper is running for session {sid}.")),
        }
    }
    Ok(EXIT_OK)
}
