//! `crane verify`: the checks a team runs against a Crane Context server
//! after every deploy.
//!
//! Each step exercises one promise of the contract with the typed client
//! (short retries, so a broken server fails fast) and is timed: health, auth
//! enforcement (a random wrong key must get 401), session create, resume,
//! update, heartbeat (the proposed interval must be 480–720 s), end with a
//! handoff (the server's payload hash must equal the one computed locally,
//! for a payload with nesting, non-ASCII text and a small float), latest
//! handoff, handoff history, and an idempotent replay of the end (same key →
//! same handoff). It uses a throwaway repo (`crane-verify/run-<ulid>`) under
//! its own venture so real data is never touched, and ends its session even
//! when a step fails. Nothing is queued or cached locally.

use std::future::Future;
use std::time::{Duration, Instant};

use crane_context::model::{
    ActiveQuery, EndSession, HandoffFilter, HandoffsQuery, LatestHandoffQuery, SodStatus,
    StartSession, Update,
};
use crane_context::{Client, Error, IdempotencyKey, RelayKey, RetryPolicy};
use serde::Serialize;
use serde_json::json;

use crate::args::VerifyArgs;
use crate::checkout::hostname;
use crate::context::Ctx;
use crate::error::{CliResult, EXIT_FAILED, EXIT_OK};
use crate::output::{table, Style};
use crane_context::identity::sanitize;

/// The interval range v1 servers draw heartbeats from.
const HEARTBEAT_RANGE: std::ops::RangeInclusive<u32> = 480..=720;

/// The outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
struct Step {
    name: &'static str,
    result: Verdict,
    latency_ms: Option<u64>,
    detail: String,
}

#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    /// Runs and times a check; `Ok((value, detail))` passes.
    async fn run<T, F>(&mut self, name: &'static str, check: F) -> Option<T>
    where
        F: Future<Output = Result<(T, String), String>>,
    {
        let start = Instant::now();
        let result = check.await;
        let latency_ms = Some(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
        let (value, result, detail) = match result {
            Ok((v, d)) => (Some(v), Verdict::Pass, d),
            Err(d) => (None, Verdict::Fail, d),
        };
        self.0.push(Step {
            name,
            result,
            latency_ms,
            detail,
        });
        value
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.0.push(Step {
            name,
            result: Verdict::Skip,
            latency_ms: None,
            detail: why.to_owned(),
        });
    }

    fn all_pass(&self) -> bool {
        self.0.iter().all(|s| s.result == Verdict::Pass)
    }
}

fn err_text(e: &Error) -> String {
    e.to_string()
}

/// The venture of the throwaway session when none is named: v2 accepts only
/// the ventures it lists (the repo name marks the traffic as verification);
/// v1 accepts any, so the run gets one of its own.
async fn default_venture(client: &Client) -> String {
    if client.generation().await.ok() == Some(crane_context::Generation::V2) {
        if let Ok(list) = client.ventures().await {
            if let Some(first) = list.first() {
                return first.code.clone();
            }
        }
    }
    "crane-verify".into()
}

/// Runs `crane verify`.
pub async fn run(ctx: &Ctx, args: &VerifyArgs) -> CliResult<u8> {
    let base = ctx.client_config()?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        deadline: timeout * 2,
        max_retry_after: Duration::from_secs(2),
    };
    let mut config = base
        .clone()
        .timeouts(timeout.min(Duration::from_secs(5)), timeout)
        .retry(policy.clone());
    config.heartbeat_retry = policy;
    let url = config.base_url.to_string();
    let client = Client::with_config(config.clone())?;

    let run_id = ulid::Ulid::new().to_string().to_lowercase();
    let venture = match &args.venture {
        Some(v) => v.clone(),
        None => default_venture(&client).await,
    };
    let repo = format!("crane-verify/run-{run_id}");
    let agent = format!(
        "crane-verify-{}",
        sanitize(hostname().split('.').next().unwrap_or("host"))
    );
    let mut steps = Steps::default();

    steps
        .run("health", async {
            let h = client.health().await.map_err(|e| err_text(&e))?;
            let text = format!("{:?} (HTTP {})", h.status, h.http_status).to_lowercase();
            if h.is_serving() {
                Ok(((), text))
            } else {
                Err(text)
            }
        })
        .await;

    steps
        .run("auth enforced", async {
            let wrong = RelayKey::new(format!("crane-verify-wrong-key-{run_id}"))
                .map_err(|e| err_text(&e))?;
            let mut cfg = config.clone();
            cfg.relay_key = wrong;
            let wrong_client = Client::with_config(cfg).map_err(|e| err_text(&e))?;
            match wrong_client
                .active_sessions(&ActiveQuery::new(&agent, &venture, &repo))
                .await
            {
                Err(Error::Unauthorized { .. }) => Ok(((), "a wrong key gets 401".to_owned())),
                Ok(_) => Err("a wrong key was ACCEPTED".to_owned()),
                Err(e) => Err(format!("expected 401 for a wrong key, got: {e}")),
            }
        })
        .await;

    let start = StartSession::new(&agent, &venture, &repo)
        .client("crane-verify", env!("CARGO_PKG_VERSION"))
        .host(hostname())
        .include_docs(false);
    let session_id = steps
        .run("create session", async {
            let r = client
                .start_session(&start)
                .await
                .map_err(|e| err_text(&e))?;
            if r.status == SodStatus::Created {
                Ok((r.session_id.clone(), format!("created {}", r.session_id)))
            } else {
                Err(format!(
                    "expected a new session, got {:?} {}",
                    r.status, r.session_id
                ))
            }
        })
        .await;

    let Some(id) = session_id else {
        for name in [
            "resume session",
            "update",
            "heartbeat",
            "end with handoff",
            "latest handoff",
            "history",
            "idempotent replay",
        ] {
            steps.skip(name, "no session was created");
        }
        return report(ctx, &url, &venture, &repo, &steps);
    };

    steps
        .run("resume session", async {
            let r = client
                .start_session(&start)
                .await
                .map_err(|e| err_text(&e))?;
            match (r.status, r.session_id == id) {
                (SodStatus::Resumed, true) => Ok(((), "same session resumed".to_owned())),
                _ => Err(format!(
                    "expected {id} resumed, got {:?} {}",
                    r.status, r.session_id
                )),
            }
        })
        .await;

    steps
        .run("update", async {
            let u = Update::new(&id)
                .branch("crane-verify")
                .commit_sha("0".repeat(40));
            let r = client.update(&u).await.map_err(|e| err_text(&e))?;
            Ok((
                (),
                format!(
                    "applied; next heartbeat in {}s",
                    r.heartbeat_interval_seconds
                ),
            ))
        })
        .await;

    steps
        .run("heartbeat", async {
            let r = client.heartbeat(&id).await.map_err(|e| err_text(&e))?;
            let i = r.heartbeat_interval_seconds;
            if HEARTBEAT_RANGE.contains(&i) {
                Ok(((), format!("interval {i}s (480–720)")))
            } else {
                Err(format!("interval {i}s is outside 480–720"))
            }
        })
        .await;

    let payload = json!({
        "crane_verify": {
            "run": run_id,
            "nested": {"list": [1, 2.5, "naïve café ✓"], "small": 1.5e-7},
            "ok": true
        }
    });
    let end = EndSession::new(&id, "crane verify: deployment check", &payload).map(|e| {
        e.status_label("verify")
            .idempotency_key(IdempotencyKey::generate())
    });
    let end = match end {
        Ok(e) => e,
        Err(e) => return Err(e.into()),
    };
    let local_hash = match end.payload.hash() {
        Ok(h) => h.to_owned(),
        Err(e) => return Err(crane_context::Error::from(e).into()),
    };
    let handoff_id = steps
        .run("end with handoff", async {
            let r = client.end_session(&end).await.map_err(|e| err_text(&e))?;
            if r.handoff.payload_hash == local_hash && r.handoff.hash_matches() {
                Ok((
                    r.handoff_id.clone(),
                    format!(
                        "{} hash {}…",
                        r.handoff_id,
                        local_hash.get(..12).unwrap_or(&local_hash)
                    ),
                ))
            } else {
                Err(format!(
                    "server hash {} != local hash {local_hash}",
                    r.handoff.payload_hash
                ))
            }
        })
        .await;

    let Some(hid) = handoff_id else {
        // Leave nothing active behind.
        let _ = client
            .end_session(&EndSession::new(&id, "crane verify: aborted", &json!({}))?)
            .await;
        for name in ["latest handoff", "history", "idempotent replay"] {
            steps.skip(name, "no handoff was stored");
        }
        return report(ctx, &url, &venture, &repo, &steps);
    };

    steps
        .run("latest handoff", async {
            let h = client
                .latest_handoff(&LatestHandoffQuery::Session(id.clone()))
                .await
                .map_err(|e| err_text(&e))?;
            match h {
                Some(h) if h.id == hid && h.payload_hash == local_hash => {
                    Ok(((), "matches".to_owned()))
                }
                Some(h) => Err(format!("latest is {} (hash {})", h.id, h.payload_hash)),
                None => Err("no handoff returned".to_owned()),
            }
        })
        .await;

    steps
        .run("history", async {
            let q = HandoffsQuery::new(HandoffFilter::Repo {
                venture: venture.clone(),
                repo: repo.clone(),
            })
            .limit(10);
            let page = client.handoffs(&q).await.map_err(|e| err_text(&e))?;
            if page.handoffs.iter().any(|h| h.id == hid) {
                Ok(((), format!("{} handoff(s) listed", page.handoffs.len())))
            } else {
                Err("the handoff is missing from /handoffs".to_owned())
            }
        })
        .await;

    steps
        .run("idempotent replay", async {
            let r = client.end_session(&end).await.map_err(|e| err_text(&e))?;
            if r.handoff_id == hid {
                Ok(((), "same key → same handoff".to_owned()))
            } else {
                Err(format!("replay produced another handoff {}", r.handoff_id))
            }
        })
        .await;

    report(ctx, &url, &venture, &repo, &steps)
}

fn report(ctx: &Ctx, url: &str, venture: &str, repo: &str, steps: &Steps) -> CliResult<u8> {
    let passed = steps.all_pass();
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({
            "url": url, "venture": venture, "repo": repo, "passed": passed, "steps": steps.0,
        }));
    } else {
        let rows: Vec<Vec<String>> = steps
            .0
            .iter()
            .map(|s| {
                let verdict = match s.result {
                    Verdict::Pass => out.paint("PASS", Style::Green),
                    Verdict::Fail => out.paint("FAIL", Style::Red),
                    Verdict::Skip => out.paint("SKIP", Style::Yellow),
                };
                vec![
                    s.name.to_owned(),
                    verdict,
                    s.latency_ms
                        .map(|ms| format!("{ms} ms"))
                        .unwrap_or_else(|| "-".into()),
                    s.detail.clone(),
                ]
            })
            .collect();
        for line in table(&["STEP", "RESULT", "LATENCY", "DETAIL"], &rows) {
            out.line(line);
        }
        let n = steps.0.iter().filter(|s| s.result == Verdict::Pass).count();
        out.line(format!(
            "\n{n}/{} passed against {url} (throwaway repo {venture} / {repo})",
            steps.0.len()
        ));
    }
    Ok(if passed { EXIT_OK } else { EXIT_FAILED })
}
