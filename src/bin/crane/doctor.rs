//! `crane doctor`: what is configured, and does it work?
//!
//! One line per check, each OK, WARN, FAIL or INFO: the config file and
//! profile, the URL and where it came from, the key's fingerprint (the
//! server's `actor_key_id`, never the key), reachability and TLS, whether the
//! server accepts the key, clock skew against the server's timestamp, the
//! store file's health and permissions, the queue, and the keepers. A broken
//! configuration is reported as a failed check (the doctor keeps going), and
//! the exit code is 1 when any check fails.

use std::time::Instant;

use crane_context::model::ActiveQuery;

use crane_context::{Client, Error};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::activity;
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::error::{CliResult, EXIT_FAILED, EXIT_OK};
use crate::keeper;
use crate::output::Style;
use crate::state;

/// Skew above which the clock is worth a warning (staleness shown locally is
/// computed from this machine's clock).
const SKEW_WARN_SECONDS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Info,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    level: Level,
    detail: String,
    /// Structured facts behind the detail (a keeper's age and activity).
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<serde_json::Value>,
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, name: &'static str, level: Level, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            level,
            detail: detail.into(),
            data: None,
        });
    }

    fn add_with(
        &mut self,
        name: &'static str,
        level: Level,
        detail: impl Into<String>,
        data: serde_json::Value,
    ) {
        self.0.push(Check {
            name,
            level,
            detail: detail.into(),
            data: Some(data),
        });
    }
}

/// Runs `crane doctor`.
pub async fn run(ctx: &Ctx) -> CliResult<u8> {
    let mut checks = Checks::default();
    let mut client = None;
    match ctx.settings() {
        Err(e) => checks.add("config", Level::Fail, e.to_string()),
        Ok(s) => {
            let file = match (&s.config_path, s.config_loaded) {
                (Some(p), true) => format!("{} (loaded)", p.display()),
                (Some(p), false) => format!("{} (not present)", p.display()),
                (None, _) => "no config directory on this platform".into(),
            };
            let profile = s
                .profile
                .as_ref()
                .map(|p| format!("profile {} (from {})", p.value, p.source))
                .unwrap_or_else(|| "no profile".into());
            checks.add("config", Level::Ok, format!("{file}; {profile}"));
            match &s.url {
                Some(u) => checks.add("url", Level::Ok, format!("{} (from {})", u.value, u.source)),
                None => checks.add(
                    "url",
                    Level::Fail,
                    "no server URL: set CRANE_CONTEXT_URL, pass --url, or add a profile",
                ),
            }
            match &s.key {
                Some(k) => checks.add(
                    "key",
                    Level::Ok,
                    format!(
                        "actor key id {} (from {})",
                        k.value.actor_key_id(),
                        k.source
                    ),
                ),
                None => checks.add(
                    "key",
                    Level::Fail,
                    "no relay key: set CRANE_CONTEXT_KEY, pass --key-file, or add one to a profile",
                ),
            }
            if s.allow_insecure_http {
                checks.add(
                    "insecure http",
                    Level::Warn,
                    "allow_insecure_http = true: the key may cross the network unencrypted",
                );
            }
            match s.client_config().and_then(Client::with_config) {
                Ok(c) => client = Some(c),
                Err(e) if s.url.is_some() && s.key.is_some() => {
                    checks.add("client", Level::Fail, e.to_string())
                }
                Err(_) => {}
            }
        }
    }

    if let Some(c) = &client {
        server_checks(ctx, c, &mut checks).await;
    }
    store_checks(ctx, &mut checks);
    match ctx
        .settings()
        .and_then(|s| Checkout::detect(&Default::default(), s, None, &ctx.knowledge()))
    {
        Ok(c) => checks.add(
            "checkout",
            Level::Info,
            format!("agent {}, venture {}, repo {}", c.agent, c.venture, c.repo),
        ),
        Err(e) => checks.add("checkout", Level::Info, format!("not detected here: {e}")),
    }

    let failed = checks.0.iter().any(|c| c.level == Level::Fail);
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({"ok": !failed, "checks": checks.0}));
    } else {
        for c in &checks.0 {
            let tag = match c.level {
                Level::Ok => out.paint(" OK ", Style::Green),
                Level::Info => out.paint("INFO", Style::Dim),
                Level::Warn => out.paint("WARN", Style::Yellow),
                Level::Fail => out.paint("FAIL", Style::Red),
            };
            out.line(format!("[{tag}] {:<14} {}", c.name, c.detail));
        }
    }
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}

async fn server_checks(ctx: &Ctx, client: &Client, checks: &mut Checks) {
    let https = client.config().base_url.scheme() == "https";
    let before = Timestamp::now();
    let start = Instant::now();
    let health = client.health().await;
    let elapsed = start.elapsed();
    let after = Timestamp::now();
    if let Ok(dir) = ctx.data_dir() {
        state::record_result(&dir, &health);
    }
    match &health {
        Ok(h) => {
            let level = if h.is_serving() {
                Level::Ok
            } else {
                Level::Fail
            };
            let tls = if https {
                "TLS verified"
            } else {
                "plain http (loopback)"
            };
            checks.add(
                "reachable",
                level,
                format!(
                    "{} in {} ms, {tls}",
                    format!("{:?}", h.status).to_lowercase(),
                    elapsed.as_millis()
                ),
            );
            match h
                .timestamp
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
            {
                Some(server) => {
                    let mid_ms = (before.as_millisecond() + after.as_millisecond()) / 2;
                    let skew_ms = server.as_millisecond() - mid_ms;
                    let level = if skew_ms.abs() / 1000 > SKEW_WARN_SECONDS {
                        Level::Warn
                    } else {
                        Level::Ok
                    };
                    checks.add(
                        "clock",
                        level,
                        format!("skew {:+.1} s against the server", skew_ms as f64 / 1000.0),
                    );
                }
                None => checks.add("clock", Level::Info, "the server sent no timestamp"),
            }
        }
        Err(e) => {
            let tls = if https && e.to_string().to_lowercase().contains("certificate") {
                " (TLS problem)"
            } else {
                ""
            };
            checks.add("reachable", Level::Fail, format!("{e}{tls}"));
            return;
        }
    }
    let probe = ActiveQuery::new("crane-doctor", "crane-doctor", "crane-doctor/probe");
    match client.active_sessions(&probe).await {
        Ok(_) => checks.add("auth", Level::Ok, "the server accepts this key"),
        Err(e @ Error::Unauthorized { .. }) => checks.add(
            "auth",
            Level::Fail,
            format!(
                "the server rejects this key (actor key id {}): {e}",
                client.config().relay_key.actor_key_id()
            ),
        ),
        Err(e) => checks.add("auth", Level::Warn, format!("could not check the key: {e}")),
    }
}

fn store_checks(ctx: &Ctx, checks: &mut Checks) {
    let data_dir = ctx.data_dir().ok();
    let store = match ctx.open_store() {
        Ok(s) => s,
        Err(e) => {
            checks.add("store", Level::Fail, e.to_string());
            return;
        }
    };
    let path = store.path().to_path_buf();
    match store.file_mode() {
        Ok(Some(mode)) if mode & 0o077 != 0 => checks.add(
            "store",
            Level::Warn,
            format!(
                "{} is readable by others (mode {mode:03o}); fix: chmod 600 {}",
                path.display(),
                path.display()
            ),
        ),
        Ok(Some(mode)) => checks.add(
            "store",
            Level::Ok,
            format!("{} (mode {mode:03o}, healthy)", path.display()),
        ),
        Ok(None) => checks.add("store", Level::Ok, format!("{} (healthy)", path.display())),
        Err(e) => checks.add("store", Level::Warn, format!("{}: {e}", path.display())),
    }
    match store.counts() {
        Ok(c) if c.dead > 0 => checks.add(
            "queue",
            Level::Warn,
            format!(
                "{} pending, {} dead (see `crane queue list --state dead`)",
                c.pending, c.dead
            ),
        ),
        Ok(c) => checks.add(
            "queue",
            Level::Ok,
            format!("{} pending, 0 dead, {} bytes", c.pending, c.bytes),
        ),
        Err(e) => checks.add("queue", Level::Fail, e.to_string()),
    }
    match store.list_current_sessions() {
        Ok(sessions) => {
            if sessions.is_empty() {
                checks.add("keepers", Level::Info, "no cached sessions");
            }
            for s in sessions {
                match s.keeper_pid {
                    Some(pid) if keeper::is_alive(pid, &s.session_id) => {
                        let view = data_dir
                            .as_deref()
                            .map(|d| activity::view(d, &s.session_id));
                        let seen = view.as_ref().map(|v| v.describe()).unwrap_or_default();
                        checks.add_with(
                            "keeper",
                            Level::Ok,
                            format!(
                                "pid {pid} keeps {} ({}){seen}",
                                s.session_id, s.tuple.repo
                            ),
                            json!({"pid": pid, "session_id": s.session_id, "alive": true, "activity": view}),
                        )
                    }
                    Some(pid) => checks.add(
                        "keeper",
                        Level::Warn,
                        format!(
                            "pid {pid} of {} is not running; `crane sod` restarts it",
                            s.session_id
                        ),
                    ),
                    None => checks.add(
                        "keeper",
                        Level::Info,
                        format!("{} ({}) has no keeper", s.session_id, s.tuple.repo),
                    ),
                }
            }
        }
        Err(e) => checks.add("keepers", Level::Warn, e.to_string()),
    }
}
