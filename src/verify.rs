//! Verifying a deployment: the checks a team runs against a Crane Context
//! server after every deploy, as a typed report any host can render (the
//! CLI's `crane verify`, Python, Swift).
//!
//! Each step exercises one promise of the contract with the typed client
//! and is timed: health, auth enforcement (a random wrong key must get 401),
//! session create, resume, update, heartbeat (the proposed interval must be
//! 480–720 s), end with a handoff (the server's payload hash must equal the
//! one computed locally, for a payload with nesting, non-ASCII text and a
//! small float), latest handoff, handoff history, and an idempotent replay
//! of the end (same key → same handoff). It works against both generations
//! with its defaults: the session goes to a throwaway repository
//! `crane-verify/run-<ulid>` (the name marks the traffic as verification),
//! under the venture `crane-verify` on v1 (which accepts any) and on v2 under
//! the first venture the server lists (v2 accepts no other). It ends its
//! session even when a step fails. Nothing is queued or cached locally.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::generation::Generation;
use crate::model::{
    ActiveQuery, EndSession, HandoffFilter, HandoffsQuery, LatestHandoffQuery, SodStatus,
    StartSession, Update,
};
use crate::{Client, ClientConfig, Error, IdempotencyKey, RelayKey, RetryPolicy};

/// The interval range servers draw heartbeats from.
const HEARTBEAT_RANGE: std::ops::RangeInclusive<u32> = 480..=720;

/// The venture of a v1 run (v1 accepts any).
pub const V1_VENTURE: &str = "crane-verify";

/// What to verify with.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The venture of the throwaway session (default: see the module docs).
    pub venture: Option<String>,
    /// This machine's host name (part of the agent id; default `host`).
    pub host: Option<String>,
}

/// The outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepResult {
    /// The promise holds.
    Pass,
    /// It does not.
    Fail,
    /// Not run: an earlier step it needs failed.
    Skip,
}

/// One step of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyStep {
    /// Its name, e.g. `end with handoff`.
    pub name: String,
    /// Pass, fail or skip.
    pub result: StepResult,
    /// How long it took (none when skipped).
    pub latency_ms: Option<u64>,
    /// What was seen.
    pub detail: String,
}

/// The report of [`run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The server verified.
    pub url: String,
    /// Its generation, when it could be told.
    pub generation: Option<Generation>,
    /// The venture of the throwaway session.
    pub venture: String,
    /// The throwaway repository.
    pub repo: String,
    /// Whether every step passed.
    pub passed: bool,
    /// The steps, in order.
    pub steps: Vec<VerifyStep>,
}

/// A configuration for verifying: short retries (two attempts) and the
/// given per-request timeout, so a broken server fails fast.
pub fn client_config(base: ClientConfig, timeout: Duration) -> ClientConfig {
    let timeout = timeout.max(Duration::from_secs(1));
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        deadline: timeout * 2,
        max_retry_after: Duration::from_secs(2),
    };
    let mut config = base
        .timeouts(timeout.min(Duration::from_secs(5)), timeout)
        .retry(policy.clone());
    config.heartbeat_retry = policy;
    config
}

#[derive(Default)]
struct Steps(Vec<VerifyStep>);

impl Steps {
    /// Runs and times a check; `Ok((value, detail))` passes.
    async fn run<T, F>(&mut self, name: &str, check: F) -> Option<T>
    where
        F: Future<Output = Result<(T, String), String>>,
    {
        let start = Instant::now();
        let result = check.await;
        let latency_ms = Some(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
        let (value, result, detail) = match result {
            Ok((v, d)) => (Some(v), StepResult::Pass, d),
            Err(d) => (None, StepResult::Fail, d),
        };
        self.0.push(VerifyStep {
            name: name.to_owned(),
            result,
            latency_ms,
            detail,
        });
        value
    }

    fn skip(&mut self, names: &[&str], why: &str) {
        for name in names {
            self.0.push(VerifyStep {
                name: (*name).to_owned(),
                result: StepResult::Skip,
                latency_ms: None,
                detail: why.to_owned(),
            });
        }
    }
}

fn err_text(e: &Error) -> String {
    e.to_string()
}

/// The venture of a run when none is named (see the module docs).
async fn default_venture(client: &Client, generation: Option<Generation>) -> String {
    if generation == Some(Generation::V2) {
        if let Ok(list) = client.ventures().await {
            if let Some(first) = list.first() {
                return first.code.clone();
            }
        }
    }
    V1_VENTURE.into()
}

/// Verifies the server `client` talks to (see the module docs).
pub async fn run(client: &Client, options: VerifyOptions) -> VerifyReport {
    let url = client.config().base_url.to_string();
    let generation = client.generation().await.ok();
    let venture = match options.venture {
        Some(v) => v,
        None => default_venture(client, generation).await,
    };
    let run_id = ulid::Ulid::new().to_string().to_lowercase();
    let repo = format!("crane-verify/run-{run_id}");
    let agent = crate::identity::default_agent_id(
        "crane-verify",
        options.host.as_deref().unwrap_or("host"),
    );
    let mut steps = Steps::default();
    let finish = |steps: Steps, venture: String, repo: String| VerifyReport {
        url: url.clone(),
        generation,
        venture,
        repo,
        passed: steps.0.iter().all(|s| s.result == StepResult::Pass),
        steps: steps.0,
    };

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
            let mut cfg = client.config().clone();
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

    let host = options.host.clone().unwrap_or_else(|| "host".into());
    let start = StartSession::new(&agent, &venture, &repo)
        .client("crane-verify", env!("CARGO_PKG_VERSION"))
        .host(host)
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
        steps.skip(
            &[
                "resume session",
                "update",
                "heartbeat",
                "end with handoff",
                "latest handoff",
                "history",
                "idempotent replay",
            ],
            "no session was created",
        );
        return finish(steps, venture, repo);
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
    let end = EndSession::new(&id, "crane verify: deployment check", &payload).and_then(|e| {
        let hash = e.payload.hash().map_err(Error::from)?.to_owned();
        Ok((
            e.status_label("verify")
                .idempotency_key(IdempotencyKey::generate()),
            hash,
        ))
    });
    let handoff = match &end {
        Ok((end, local_hash)) => {
            steps
                .run("end with handoff", async {
                    let r = client.end_session(end).await.map_err(|e| err_text(&e))?;
                    if &r.handoff.payload_hash == local_hash && r.handoff.hash_matches() {
                        Ok((
                            r.handoff_id.clone(),
                            format!(
                                "{} hash {}…",
                                r.handoff_id,
                                local_hash.get(..12).unwrap_or(local_hash)
                            ),
                        ))
                    } else {
                        Err(format!(
                            "server hash {} != local hash {local_hash}",
                            r.handoff.payload_hash
                        ))
                    }
                })
                .await
        }
        Err(e) => {
            let e = e.to_string();
            steps
                .run("end with handoff", async { Err::<(String, String), _>(e) })
                .await
        }
    };

    let (Some(hid), Ok((end, local_hash))) = (handoff, &end) else {
        // Leave nothing active behind.
        if let Ok(abort) = EndSession::new(&id, "crane verify: aborted", &json!({})) {
            let _ = client.end_session(&abort).await;
        }
        steps.skip(
            &["latest handoff", "history", "idempotent replay"],
            "no handoff was stored",
        );
        return finish(steps, venture, repo);
    };

    steps
        .run("latest handoff", async {
            let h = client
                .latest_handoff(&LatestHandoffQuery::Session(id.clone()))
                .await
                .map_err(|e| err_text(&e))?;
            match h {
                Some(h) if h.id == hid && &h.payload_hash == local_hash => {
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
            let r = client.end_session(end).await.map_err(|e| err_text(&e))?;
            if r.handoff_id == hid {
                Ok(((), "same key → same handoff".to_owned()))
            } else {
                Err(format!("replay produced another handoff {}", r.handoff_id))
            }
        })
        .await;

    finish(steps, venture, repo)
}
