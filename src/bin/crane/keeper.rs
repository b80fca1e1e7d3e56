//! The keeper: a small detached process that keeps one session alive.
//!
//! `crane sod` returns at once, but a session needs a heartbeat every ten
//! minutes or so and queued work needs delivering when the network returns.
//! The keeper is `crane keeper run --session-id …` started in its own process
//! group with no terminal, so closing the agent's shell does not kill it. It
//! opens the engine, attaches to the cached session with automatic heartbeats
//! (the library's schedule), and lets the engine's drain deliver the queue.
//!
//! One keeper per session: its pid is recorded in the store's session cache,
//! and a keeper that finds another live keeper recorded there leaves. It
//! exits when the session is lost (the server answers 404/409), when its
//! handoff is delivered, when the session leaves the cache (`crane eod`
//! delivered it, or a new session replaced it), on SIGTERM, when the store
//! file or the checkout disappears, after the idle limit without activity
//! (no `crane` command for the session and no change to the checkout's git
//! HEAD, index or top folder, see `activity.rs`), or after the server's
//! staleness window without contact (the server has abandoned the session by
//! then). After an idle exit the session goes stale and the server abandons
//! it at the next `/sod` of its tuple. It checks the store twice
//! a second (one small SQLite read) and then wakes the engine's drain if
//! anything is pending, since items queued by another process (`crane eod`
//! while offline) do not wake it by themselves.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crane_context::engine::Event;
use crane_context::store::Store;
use tokio::time::Instant;

use crate::activity::{self, KeeperRecord};
use crate::args::KeeperRunArgs;
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliError, CliResult};
use crate::state;

/// How often the keeper looks at the store.
const POLL: Duration = Duration::from_millis(500);
/// How long `crane eod` waits for a keeper to leave by itself before SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long to wait after SIGTERM.
const STOP_AFTER_TERM: Duration = Duration::from_secs(3);
/// Extra time past the server's staleness window before an unreachable keeper gives up.
const GIVE_UP_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Whether `pid` is a running keeper of `session_id`. Guards against a pid
/// reused by another program (on Linux, by reading its command line) and
/// treats a zombie as gone.
pub fn is_alive(pid: u32, session_id: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        if Path::new("/proc/self/stat").exists() {
            return linux_is_keeper(pid, session_id);
        }
    }
    let _ = session_id;
    signal_probe(pid)
}

#[cfg(target_os = "linux")]
fn linux_is_keeper(pid: u32, session_id: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    if matches!(state, None | Some('Z' | 'X' | 'x')) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.contains(&b"keeper".as_slice()) && args.contains(&session_id.as_bytes())
}

#[cfg(unix)]
fn signal_probe(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

#[cfg(not(unix))]
fn signal_probe(_pid: u32) -> bool {
    false
}

#[cfg(unix)]
fn terminate(pid: u32) {
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
    }
}

#[cfg(not(unix))]
fn terminate(_pid: u32) {}

/// Starts a detached keeper for `session_id` with the same configuration as
/// this process, watching the checkout around the current directory and
/// leaving after `idle_limit` without activity; returns its pid.
pub fn spawn(ctx: &Ctx, session_id: &str, idle_limit: Duration) -> CliResult<u32> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the crane executable: {e}")))?;
    let mut cmd = Command::new(exe);
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    cmd.arg("--home").arg(ctx.data_dir()?);
    if let Some(u) = &ctx.global.url {
        cmd.arg("--url").arg(u);
    }
    if let Some(p) = &ctx.global.profile {
        cmd.arg("--profile").arg(p);
    }
    if let Some(k) = &ctx.global.key_file {
        cmd.arg("--key-file").arg(abs(k));
    }
    if let Some(c) = &ctx.global.config {
        cmd.arg("--config").arg(abs(c));
    }
    cmd.arg("keeper")
        .arg("run")
        .arg("--session-id")
        .arg(session_id)
        .arg("--idle-limit")
        .arg(idle_limit.as_secs().max(1).to_string());
    if let Ok(cwd) = std::env::current_dir() {
        cmd.arg("--checkout").arg(activity::locate_checkout(&cwd).0);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir(std::env::temp_dir());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .map_err(|e| CliError::Failed(format!("cannot start the keeper: {e}")))?;
    // Its record at once, so a `crane status` right after `crane sod` shows
    // the keeper's age and limit; the keeper rewrites it when it starts.
    let (checkout, git_dir) = match std::env::current_dir() {
        Ok(cwd) => {
            let (root, git) = activity::locate_checkout(&cwd);
            (Some(root), git)
        }
        Err(_) => (None, None),
    };
    let record = KeeperRecord {
        pid: child.id(),
        started_at: jiff::Timestamp::now(),
        checkout,
        git_dir,
        idle_limit_seconds: idle_limit.as_secs().max(1),
    };
    activity::write_record(&ctx.data_dir()?, session_id, &record);
    // Not waited for: it outlives this process and is reaped by init.
    Ok(child.id())
}

/// A keeper after [`ensure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeeperInfo {
    /// Its pid.
    pub pid: u32,
    /// Whether this call started it (else it was already running).
    pub started: bool,
}

/// Makes sure one keeper runs for `session_id`: keeps `previous` (the pid
/// cached for the session before it was resumed) if it is alive, else starts
/// one that leaves after `idle_limit` without activity.
pub fn ensure(
    ctx: &Ctx,
    store: &Store,
    session_id: &str,
    previous: Option<u32>,
    idle_limit: Duration,
) -> CliResult<KeeperInfo> {
    if let Some(pid) = previous.filter(|p| is_alive(*p, session_id)) {
        store.set_keeper_pid(session_id, Some(pid))?;
        return Ok(KeeperInfo {
            pid,
            started: false,
        });
    }
    let pid = spawn(ctx, session_id, idle_limit)?;
    store.set_keeper_pid(session_id, Some(pid))?;
    Ok(KeeperInfo { pid, started: true })
}

/// Waits for a keeper to leave (it watches the store), then sends SIGTERM.
/// Returns whether it is gone.
pub async fn stop(pid: u32, session_id: &str) -> bool {
    if wait_gone(pid, session_id, STOP_GRACE).await {
        return true;
    }
    terminate_now(pid, session_id).await
}

/// Sends SIGTERM to a keeper at once and waits for it to leave. Returns
/// whether it is gone.
pub async fn terminate_now(pid: u32, session_id: &str) -> bool {
    terminate(pid);
    wait_gone(pid, session_id, STOP_AFTER_TERM).await
}

async fn wait_gone(pid: u32, session_id: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !is_alive(pid, session_id) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Why the keeper stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Lost,
    Delivered,
    Uncached,
    Replaced,
    StoreGone,
    CheckoutGone,
    Idle,
    Unreachable,
    Terminated,
}

/// The hidden `crane keeper run --session-id …` command.
pub async fn run(ctx: &Ctx, args: &KeeperRunArgs) -> CliResult<u8> {
    let session_id = args.session_id.as_str();
    let me = std::process::id();
    let mut engine = Engine::open(ctx).await?;
    let store = engine.crane.store().clone();
    let data_dir = ctx.data_dir()?;
    let cached = store.current_session_by_id(session_id)?;
    let owner = cached.as_ref().and_then(|c| c.keeper_pid);
    let duplicate = owner.is_some_and(|p| p != me && is_alive(p, session_id));
    if cached.is_none() || duplicate {
        engine.finish().await;
        return Ok(0);
    }
    store.set_keeper_pid(session_id, Some(me))?;
    let Some(handle) = engine.crane.attach_by_id(session_id, true).await? else {
        engine.finish().await;
        return Ok(0);
    };
    let idle_limit = args
        .idle_limit
        .map(Duration::from_secs)
        .unwrap_or(crane_context::policy::KEEPER_IDLE_LIMIT);
    let (checkout, git_dir) = match &args.checkout {
        Some(c) => {
            let (root, git) = activity::locate_checkout(c);
            (Some(root), git)
        }
        None => (None, None),
    };
    let record = KeeperRecord {
        pid: me,
        started_at: jiff::Timestamp::now(),
        checkout: checkout.clone(),
        git_dir: git_dir.clone(),
        idle_limit_seconds: idle_limit.as_secs(),
    };
    activity::write_record(&data_dir, session_id, &record);
    let started = std::time::SystemTime::now();
    let give_up = crane_context::policy::STALE_AFTER + GIVE_UP_MARGIN;
    let mut last_contact = Instant::now();
    let mut tick = tokio::time::interval(POLL);
    let mut term = Terminate::new();
    let exit = loop {
        tokio::select! {
            event = engine.events.recv() => match event {
                None => break Exit::Terminated,
                Some(Event::SessionLost { session_id: s, .. }) if s == session_id => break Exit::Lost,
                Some(Event::HandoffDelivered { session_id: s, .. }) if s == session_id => {
                    break Exit::Delivered
                }
                // Its handoff was delivered in a new session (re-homed).
                Some(Event::HandoffRehomed { from_session_id: s, .. }) if s == session_id => {
                    break Exit::Delivered
                }
                Some(Event::HeartbeatSent { .. } | Event::UpdateDelivered { .. } | Event::HandoffDelivered { .. }) => {
                    last_contact = Instant::now();
                    state::record_contact(&data_dir, true, None);
                }
                Some(Event::ConnectivityChanged { online }) => {
                    if online {
                        last_contact = Instant::now();
                    }
                    state::record_contact(&data_dir, online, None);
                }
                Some(Event::HeartbeatFailed { error, .. }) if error.is_connectivity() => {
                    state::record_contact(&data_dir, false, Some(error.to_string()));
                }
                Some(_) => {}
            },
            _ = tick.tick() => {
                if !store.path().exists() {
                    break Exit::StoreGone;
                }
                match store.current_session_by_id(session_id) {
                    Ok(None) => break Exit::Uncached,
                    Ok(Some(c)) => match c.keeper_pid {
                        Some(p) if p == me => {}
                        Some(p) if is_alive(p, session_id) => break Exit::Replaced,
                        _ => {
                            let _ = store.set_keeper_pid(session_id, Some(me));
                        }
                    },
                    // A busy store is retried on the next tick.
                    Err(_) => {}
                }
                // Work queued by other processes (`crane eod` offline) does
                // not wake this engine's drain by itself.
                if store.counts().is_ok_and(|c| c.pending > 0) {
                    engine.crane.wake();
                }
                if last_contact.elapsed() > give_up {
                    break Exit::Unreachable;
                }
                if checkout.as_ref().is_some_and(|c| !c.exists()) {
                    break Exit::CheckoutGone;
                }
                let last = activity::last_activity(
                    &data_dir,
                    session_id,
                    checkout.as_deref(),
                    git_dir.as_deref(),
                )
                .map_or(started, |t| t.max(started));
                if activity::since(last) > idle_limit {
                    break Exit::Idle;
                }
            }
            _ = term.recv() => break Exit::Terminated,
        }
    };
    handle.stop();
    if exit != Exit::Replaced {
        if let Ok(Some(c)) = store.current_session_by_id(session_id) {
            if c.keeper_pid == Some(me) {
                let _ = store.set_keeper_pid(session_id, None);
            }
        }
        if activity::read_record(&data_dir, session_id).is_some_and(|r| r.pid == me) {
            activity::remove(&data_dir, session_id);
        }
    }
    tracing::debug!(?exit, session_id, "keeper exiting");
    engine.finish().await;
    Ok(0)
}

/// SIGTERM (and Ctrl-C) as a future.
struct Terminate {
    #[cfg(unix)]
    sigterm: Option<tokio::signal::unix::Signal>,
}

impl Terminate {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            sigterm: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if let Some(s) = self.sigterm.as_mut() {
                tokio::select! {
                    _ = s.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
