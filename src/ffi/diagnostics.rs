//! `verify` and `doctor` for Python and Swift: the library's typed reports
//! ([`crate::verify`], [`crate::doctor`]) as records, so an agent can check
//! a deployment or its configuration without shelling out to the CLI.

use crate::doctor::{self, CheckoutFacts, DoctorOptions};
use crate::engine::Crane;
use crate::verify::{self, VerifyOptions};

use super::runtime::{block, run};
use super::{CraneClient, CraneError};

/// How a verification step came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StepResult {
    /// The promise holds.
    Pass,
    /// It does not.
    Fail,
    /// Not run: an earlier step it needs failed.
    Skip,
}

/// One step of a verification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifyReport {
    /// The server verified.
    pub url: String,
    /// `v1` or `v2`, when it could be told.
    pub generation: Option<String>,
    /// The venture of the throwaway session.
    pub venture: String,
    /// The throwaway repository.
    pub repo: String,
    /// Whether every step passed.
    pub passed: bool,
    /// The steps, in order.
    pub steps: Vec<VerifyStep>,
}

impl From<verify::VerifyReport> for VerifyReport {
    fn from(r: verify::VerifyReport) -> Self {
        Self {
            url: r.url,
            generation: r.generation.map(|g| g.to_string()),
            venture: r.venture,
            repo: r.repo,
            passed: r.passed,
            steps: r
                .steps
                .into_iter()
                .map(|s| VerifyStep {
                    name: s.name,
                    result: match s.result {
                        verify::StepResult::Pass => StepResult::Pass,
                        verify::StepResult::Fail => StepResult::Fail,
                        verify::StepResult::Skip => StepResult::Skip,
                    },
                    latency_ms: s.latency_ms,
                    detail: s.detail,
                })
                .collect(),
        }
    }
}

/// How a doctor check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CheckLevel {
    /// Works.
    Ok,
    /// A fact.
    Info,
    /// Works, but worth a look.
    Warn,
    /// Broken.
    Fail,
}

/// One doctor check.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DoctorCheck {
    /// Its name, e.g. `generation`.
    pub name: String,
    /// How it came out.
    pub level: CheckLevel,
    /// What was seen.
    pub detail: String,
}

/// What `doctor` found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DoctorReport {
    /// No check failed.
    pub ok: bool,
    /// The checks, in order.
    pub checks: Vec<DoctorCheck>,
    /// `v1` or `v2`, when it could be told.
    pub generation: Option<String>,
    /// The server's deployed commit (v2).
    pub server_commit: Option<String>,
    /// The server's database schema version (v2).
    pub schema_version: Option<i64>,
    /// The venture of the checkout given, when decided.
    pub venture: Option<String>,
    /// Why that venture.
    pub venture_reason: Option<String>,
}

impl From<doctor::DoctorReport> for DoctorReport {
    fn from(r: doctor::DoctorReport) -> Self {
        let version = r.generation.as_ref().and_then(|g| g.version.clone());
        Self {
            ok: r.ok,
            checks: r
                .checks
                .into_iter()
                .map(|c| DoctorCheck {
                    name: c.name,
                    level: match c.level {
                        doctor::Level::Ok => CheckLevel::Ok,
                        doctor::Level::Info => CheckLevel::Info,
                        doctor::Level::Warn => CheckLevel::Warn,
                        doctor::Level::Fail => CheckLevel::Fail,
                    },
                    detail: c.detail,
                })
                .collect(),
            generation: r.generation.map(|g| g.generation.to_string()),
            server_commit: version.as_ref().and_then(|v| v.commit.clone()),
            schema_version: version.and_then(|v| v.schema_version),
            venture_reason: r.venture.as_ref().map(|v| v.reason.to_string()),
            venture: r.venture.map(|v| v.code),
        }
    }
}

async fn verify_op(c: Crane, venture: Option<String>) -> Result<VerifyReport, crate::Error> {
    let config = verify::client_config(c.client().config().clone(), crate::policy::REQUEST_TIMEOUT);
    let client = crate::Client::with_config(config)?;
    let host = std::env::var("HOSTNAME").ok();
    Ok(verify::run(&client, VerifyOptions { venture, host })
        .await
        .into())
}

async fn doctor_op(
    c: Crane,
    repo: Option<String>,
    venture: Option<String>,
) -> Result<DoctorReport, crate::Error> {
    let (owner, name) = match repo.as_deref().and_then(|r| r.split_once('/')) {
        Some((o, n)) => (o.to_owned(), n.to_owned()),
        None => (String::new(), String::new()),
    };
    let checkout = repo.as_ref().map(|_| CheckoutFacts {
        owner: &owner,
        repo_name: &name,
        explicit: venture.as_deref().map(|v| (v, "the venture argument")),
    });
    let options = DoctorOptions {
        settings: None,
        client: Some(c.client()),
        store: Some(c.store()),
        checkout,
    };
    Ok(doctor::run(options).await.into())
}

#[uniffi::export(async_runtime = "tokio")]
impl CraneClient {
    /// Verifies the deployment: a throwaway session through every route,
    /// each step timed (see the Rust `crane_context::verify`). Passes with
    /// its defaults on v1 and v2; `venture` names the session's venture.
    #[uniffi::method(default(venture = None))]
    pub async fn verify(&self, venture: Option<String>) -> Result<VerifyReport, CraneError> {
        run(verify_op(self.c(), venture)).await
    }

    /// Diagnoses the server and the local store: reachability, clock, key,
    /// generation (with the server's commit and schema version), queue; and
    /// for `repo` (`owner/name`), the venture a session would be filed
    /// under and why (`venture` names one explicitly).
    #[uniffi::method(default(repo = None, venture = None))]
    pub async fn doctor(
        &self,
        repo: Option<String>,
        venture: Option<String>,
    ) -> Result<DoctorReport, CraneError> {
        run(doctor_op(self.c(), repo, venture)).await
    }
}

#[uniffi::export]
impl CraneClient {
    /// [`CraneClient::verify`], blocking.
    #[uniffi::method(default(venture = None))]
    pub fn verify_blocking(&self, venture: Option<String>) -> Result<VerifyReport, CraneError> {
        block(verify_op(self.c(), venture))
    }

    /// [`CraneClient::doctor`], blocking.
    #[uniffi::method(default(repo = None, venture = None))]
    pub fn doctor_blocking(
        &self,
        repo: Option<String>,
        venture: Option<String>,
    ) -> Result<DoctorReport, CraneError> {
        block(doctor_op(self.c(), repo, venture))
    }
}
