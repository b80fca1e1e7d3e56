//! Diagnosing a configuration: what is configured, and does it work? A typed
//! report any host can render (the CLI's `crane doctor`, Python, Swift).
//!
//! One check per concern, each OK, INFO, WARN or FAIL: the config file and
//! profile, the URL and where it came from, the key's fingerprint (the
//! server's `actor_key_id`, never the key), reachability and TLS, clock skew
//! against the server's timestamp, whether the server accepts the key, the
//! server's generation with its deployed commit and schema version, the
//! venture a checkout is filed under and why (the same decision `crane sos`
//! makes, [`crate::identity`]), the store file's health and permissions, and
//! the queue. A broken configuration is a failed check: the doctor keeps
//! going. Hosts add their own checks (the CLI its keepers) with
//! [`DoctorReport::push`].

use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;

use crate::generation::{Generation, GenerationInfo, GenerationMemory, GenerationSource};
use crate::identity::{choose_venture, VentureChoice, VentureQuery};
use crate::model::{ActiveQuery, Venture};
use crate::settings::Settings;
use crate::store::Store;
use crate::{Client, Error};

/// Skew above which the clock is worth a warning (staleness shown locally is
/// computed from this machine's clock).
const SKEW_WARN_SECONDS: i64 = 30;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Works.
    Ok,
    /// A fact, neither good nor bad.
    Info,
    /// Works, but worth a look.
    Warn,
    /// Broken.
    Fail,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Its name, e.g. `reachable`.
    pub name: String,
    /// How it came out.
    pub level: Level,
    /// What was seen.
    pub detail: String,
    /// Structured facts behind the detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// The report of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    /// No check failed.
    pub ok: bool,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// The server's generation, when it could be told.
    pub generation: Option<GenerationInfo>,
    /// The venture of the checkout and why, when one was given and decided.
    pub venture: Option<VentureChoice>,
    /// Whether the server could be reached (`None`: not tried), and why not
    /// (a connect failure or timeout; a server that answered with an error
    /// was reached). Not serialized: the `reachable` check says it.
    #[serde(skip)]
    pub reachable: Option<Result<(), String>>,
}

impl DoctorReport {
    /// Adds a check (and keeps [`DoctorReport::ok`] true to the checks).
    pub fn push(&mut self, name: &str, level: Level, detail: impl Into<String>) {
        self.push_with(name, level, detail, None);
    }

    /// Adds a check with structured data.
    pub fn push_with(
        &mut self,
        name: &str,
        level: Level,
        detail: impl Into<String>,
        data: Option<serde_json::Value>,
    ) {
        self.ok &= level != Level::Fail;
        self.checks.push(Check {
            name: name.to_owned(),
            level,
            detail: detail.into(),
            data,
        });
    }
}

/// The repository a checkout is of (git detection is the host's job).
#[derive(Debug, Clone, Copy)]
pub struct CheckoutFacts<'a> {
    /// The remote's owner.
    pub owner: &'a str,
    /// The repository's name.
    pub repo_name: &'a str,
    /// A venture named explicitly, and where (`--venture`).
    pub explicit: Option<(&'a str, &'a str)>,
}

/// What to diagnose.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoctorOptions<'a> {
    /// The resolved settings (`None`: they could not be resolved, the host
    /// reports why, or the host built its client without them).
    pub settings: Option<&'a Settings>,
    /// The client to diagnose the server with (`None`: one is built from
    /// the settings).
    pub client: Option<&'a Client>,
    /// The local store (`None`: not opened; the host reports why).
    pub store: Option<&'a Store>,
    /// The checkout whose venture to decide.
    pub checkout: Option<CheckoutFacts<'a>>,
}

/// Diagnoses (see the module docs).
pub async fn run(options: DoctorOptions<'_>) -> DoctorReport {
    let mut report = DoctorReport {
        ok: true,
        checks: Vec::new(),
        generation: None,
        venture: None,
        reachable: None,
    };
    let from_settings = options.settings.and_then(|s| config_checks(s, &mut report));
    let client = options.client.cloned().or(from_settings);
    if let (Some(c), Some(store)) = (&client, options.store) {
        c.set_generation_memory(
            std::sync::Arc::new(store.clone()) as std::sync::Arc<dyn GenerationMemory>
        );
    }
    if let Some(c) = &client {
        if server_checks(c, &mut report).await {
            generation_check(c, &mut report).await;
        }
        if let Some(facts) = options.checkout {
            let defaults: std::collections::BTreeMap<String, String> =
                crate::settings::DEFAULT_VENTURES
                    .iter()
                    .map(|(org, code)| ((*org).to_owned(), (*code).to_owned()))
                    .collect();
            let org_map = options.settings.map_or(&defaults, |s| &s.ventures);
            venture_check(c, options.store, org_map, facts, &mut report).await;
        }
    }
    if let Some(store) = options.store {
        store_checks(store, &mut report);
    }
    report
}

fn config_checks(s: &Settings, report: &mut DoctorReport) -> Option<Client> {
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
    report.push("config", Level::Ok, format!("{file}; {profile}"));
    match &s.url {
        Some(u) => report.push("url", Level::Ok, format!("{} (from {})", u.value, u.source)),
        None => report.push(
            "url",
            Level::Fail,
            "no server URL: set CRANE_CONTEXT_URL, pass --url, or add a profile",
        ),
    }
    match &s.key {
        Some(k) => report.push(
            "key",
            Level::Ok,
            format!(
                "actor key id {} (from {})",
                k.value.actor_key_id(),
                k.source
            ),
        ),
        None => report.push(
            "key",
            Level::Fail,
            "no relay key: set CRANE_CONTEXT_KEY, pass --key-file, or add one to a profile",
        ),
    }
    if s.allow_insecure_http {
        report.push(
            "insecure http",
            Level::Warn,
            "allow_insecure_http = true: the key may cross the network unencrypted",
        );
    }
    match s.client_config().and_then(Client::with_config) {
        Ok(c) => Some(c),
        Err(e) if s.url.is_some() && s.key.is_some() => {
            report.push("client", Level::Fail, e.to_string());
            None
        }
        Err(_) => None,
    }
}

/// Reachability, clock and key; false when the server cannot be reached.
async fn server_checks(client: &Client, report: &mut DoctorReport) -> bool {
    let https = client.config().base_url.scheme() == "https";
    let before = Timestamp::now();
    let start = Instant::now();
    let health = client.health().await;
    let elapsed = start.elapsed();
    let after = Timestamp::now();
    report.reachable = Some(match &health {
        Err(e) if e.is_connectivity() => Err(e.to_string()),
        _ => Ok(()),
    });
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
            report.push(
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
                    report.push(
                        "clock",
                        level,
                        format!("skew {:+.1} s against the server", skew_ms as f64 / 1000.0),
                    );
                }
                None => report.push("clock", Level::Info, "the server sent no timestamp"),
            }
        }
        Err(e) => {
            let tls = if https && e.to_string().to_lowercase().contains("certificate") {
                " (TLS problem)"
            } else {
                ""
            };
            report.push("reachable", Level::Fail, format!("{e}{tls}"));
            return false;
        }
    }
    let probe = ActiveQuery::new("crane-doctor", "crane-doctor", "crane-doctor/probe");
    match client.active_sessions(&probe).await {
        Ok(_) => report.push("auth", Level::Ok, "the server accepts this key"),
        Err(e @ Error::Unauthorized { .. }) => report.push(
            "auth",
            Level::Fail,
            format!(
                "the server rejects this key (actor key id {}): {e}",
                client.config().relay_key.actor_key_id()
            ),
        ),
        Err(e) => report.push("auth", Level::Warn, format!("could not check the key: {e}")),
    }
    true
}

/// The generation, asked now (`GET /version`), and how the client knows it.
async fn generation_check(client: &Client, report: &mut DoctorReport) {
    let known = client.generation_info().await;
    let asked = client.version().await;
    let (level, detail, info) = match (&known, &asked) {
        (Ok(k), Ok(version)) => {
            let said = if version.is_some() {
                Generation::V2
            } else {
                Generation::V1
            };
            let server = match version {
                Some(v) => format!(
                    "v2: commit {}, schema version {}{}",
                    v.commit_short
                        .as_deref()
                        .or(v.commit.as_deref())
                        .unwrap_or("unknown"),
                    v.schema_version
                        .map_or_else(|| "unknown".into(), |n| n.to_string()),
                    v.environment
                        .as_deref()
                        .map(|e| format!(", {e}"))
                        .unwrap_or_default()
                ),
                None => "v1 (no GET /version)".into(),
            };
            if k.source == GenerationSource::Pinned && k.generation != said {
                (
                    Level::Warn,
                    format!(
                        "{server}, but a setting pins {}: the SDK speaks the pinned one",
                        k.generation
                    ),
                    Some(k.clone()),
                )
            } else {
                let pinned = if k.source == GenerationSource::Pinned {
                    " (pinned by a setting)"
                } else {
                    ""
                };
                let mut info = k.clone();
                if info.source != GenerationSource::Pinned {
                    info.generation = said;
                    info.version = version.clone();
                    info.source = GenerationSource::Probed;
                }
                (Level::Ok, format!("{server}{pinned}"), Some(info))
            }
        }
        (Ok(k), Err(e)) => (
            Level::Warn,
            format!(
                "{} as known ({:?}); asking the server failed: {e}",
                k.generation, k.source
            ),
            Some(k.clone()),
        ),
        (Err(e), _) => (Level::Warn, format!("cannot tell: {e}"), None),
    };
    report.push("generation", level, detail);
    report.generation = info;
}

/// The venture `crane sos` would file this checkout under, and why.
async fn venture_check(
    client: &Client,
    store: Option<&Store>,
    org_map: &std::collections::BTreeMap<String, String>,
    facts: CheckoutFacts<'_>,
    report: &mut DoctorReport,
) {
    let generation = report
        .generation
        .as_ref()
        .map_or(Generation::V1, |g| g.generation);
    let ventures: Option<Vec<Venture>> = match generation {
        Generation::V1 => None,
        Generation::V2 => match client.ventures().await {
            Ok(list) => Some(list),
            Err(_) => store.and_then(|s| {
                s.ventures_of(client.config().base_url.as_str())
                    .ok()
                    .flatten()
                    .and_then(|c| serde_json::from_str(&c.value).ok())
            }),
        },
    };
    let query = VentureQuery {
        explicit: facts.explicit,
        owner: facts.owner,
        repo_name: facts.repo_name,
        org_map,
    };
    match choose_venture(generation, &query, ventures.as_deref()) {
        Ok(choice) => {
            report.push(
                "venture",
                Level::Ok,
                format!("{} — {}", choice.code, choice.reason),
            );
            report.venture = Some(choice);
        }
        Err(e) => report.push("venture", Level::Warn, e.to_string()),
    }
}

fn store_checks(store: &Store, report: &mut DoctorReport) {
    let path = store.path().to_path_buf();
    match store.file_mode() {
        Ok(Some(mode)) if mode & 0o077 != 0 => report.push(
            "store",
            Level::Warn,
            format!(
                "{} is readable by others (mode {mode:03o}); fix: chmod 600 {}",
                path.display(),
                path.display()
            ),
        ),
        Ok(Some(mode)) => report.push(
            "store",
            Level::Ok,
            format!("{} (mode {mode:03o}, healthy)", path.display()),
        ),
        Ok(None) => report.push("store", Level::Ok, format!("{} (healthy)", path.display())),
        Err(e) => report.push("store", Level::Warn, format!("{}: {e}", path.display())),
    }
    match store.counts() {
        Ok(c) if c.dead > 0 => report.push(
            "queue",
            Level::Warn,
            format!(
                "{} pending, {} dead (see `crane queue list --state dead`)",
                c.pending, c.dead
            ),
        ),
        Ok(c) => report.push(
            "queue",
            Level::Ok,
            format!("{} pending, 0 dead, {} bytes", c.pending, c.bytes),
        ),
        Err(e) => report.push("queue", Level::Fail, e.to_string()),
    }
}
