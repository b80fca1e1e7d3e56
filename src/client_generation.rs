//! The client's knowledge of the server's generation, and the two public
//! routes v2 adds to tell it: `GET /version` and `GET /ventures`.
//!
//! See [`crate::generation`] for the rules: a probe per base URL, remembered
//! in the store, doubted after the server went away, forgotten when a v2
//! route is missing, or pinned by a setting.

use std::sync::Arc;

use reqwest::Method;

use crate::generation::{
    Generation, GenerationInfo, GenerationMemory, GenerationSource, Knowledge, ServerVersion,
};
use crate::model::{Venture, Ventures};
use crate::retry::{self, Step};
use crate::transport::{decode, Outcome, Reply};
use crate::{Client, Error};

impl Client {
    /// Plugs in where the generation is remembered between processes (a
    /// [`crate::Crane`] engine plugs in its store).
    pub fn set_generation_memory(&self, memory: Arc<dyn GenerationMemory>) {
        self.generation.set_memory(memory);
    }

    /// The server's generation: pinned, known, remembered, or probed now.
    pub async fn generation(&self) -> Result<Generation, Error> {
        // Asked before every request: the believed answer without a copy
        // of everything else known about the server.
        if let Some(g) = self.generation.pinned {
            return Ok(g);
        }
        if let Some(g) = self.generation.current_generation() {
            return Ok(g);
        }
        Ok(self.generation_info().await?.generation)
    }

    /// The server's generation and how it is known. Probes `GET /version`
    /// only when nothing believable is known (see [`crate::generation`]).
    pub async fn generation_info(&self) -> Result<GenerationInfo, Error> {
        if let Some(g) = self.generation.pinned {
            return Ok(GenerationInfo {
                generation: g,
                version: None,
                source: GenerationSource::Pinned,
                detected_at_ms: 0,
            });
        }
        if let Some(info) = self.generation.current() {
            return Ok(info);
        }
        let _probe = self.generation.probing.lock().await;
        let doubted = match self.generation.knowledge() {
            Knowledge::Believed(info) => return Ok(info),
            Knowledge::Doubted(info) => Some(info),
            Knowledge::None => None,
        };
        if let Some(old) = doubted {
            // The server went away and came back (maybe redeployed): ask it.
            return match self.probe_version().await {
                Ok(version) => Ok(self.learn(version).await),
                Err(e) => {
                    tracing::debug!(error = %e, "could not probe the generation again; keeping the last one");
                    Ok(old)
                }
            };
        }
        // Another process may have probed recently.
        if let Some(info) = self.recall().await {
            let age = now_ms().saturating_sub(info.detected_at_ms);
            let ttl = i64::try_from(crate::policy::GENERATION_TTL.as_millis()).unwrap_or(i64::MAX);
            if (0..ttl).contains(&age) {
                let info = GenerationInfo {
                    source: GenerationSource::Remembered,
                    ..info
                };
                self.generation
                    .set(info.clone(), self.connectivity().subscribe());
                return Ok(info);
            }
        }
        let version = self.probe_version().await?;
        Ok(self.learn(version).await)
    }

    /// `GET /version`, asked now: `Some` on v2 (the deployed commit, schema
    /// version…), `None` on a v1 server (which has no such route). Updates
    /// what the client knows of the generation.
    pub async fn version(&self) -> Result<Option<ServerVersion>, Error> {
        let version = self.probe_version().await?;
        self.learn(version.clone()).await;
        Ok(version)
    }

    /// `GET /ventures` (v2; no key needed): the ventures, in the server's
    /// order. A v1 server has no such route: [`Error::NotFound`].
    pub async fn ventures(&self) -> Result<Vec<Venture>, Error> {
        let reply = self.public_read("/ventures").await?;
        Ok(decode::<Ventures>(&reply)?.ventures)
    }

    /// Forgets the generation (here and in the memory), so the next call
    /// probes. Used when a v2 route answers `404 Endpoint not found`.
    pub(crate) async fn forget_generation(&self) {
        self.generation.clear();
        if let Some(memory) = self.generation.memory() {
            let url = self.config.base_url.to_string();
            let _ = tokio::task::spawn_blocking(move || memory.forget(&url)).await;
        }
    }

    /// `GET /version`: `Some` on 200, `None` on 404.
    async fn probe_version(&self) -> Result<Option<ServerVersion>, Error> {
        match self.public_read("/version").await {
            Ok(reply) => decode::<ServerVersion>(&reply).map(Some),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records what a probe said, in this process and in the memory.
    async fn learn(&self, version: Option<ServerVersion>) -> GenerationInfo {
        let info = GenerationInfo {
            generation: if version.is_some() {
                Generation::V2
            } else {
                Generation::V1
            },
            version,
            source: GenerationSource::Probed,
            detected_at_ms: now_ms(),
        };
        tracing::debug!(generation = %info.generation, "server generation probed");
        self.generation
            .set(info.clone(), self.connectivity().subscribe());
        if let Some(memory) = self.generation.memory() {
            let (url, stored) = (self.config.base_url.to_string(), info.clone());
            let _ = tokio::task::spawn_blocking(move || memory.remember(&url, &stored)).await;
        }
        info
    }

    async fn recall(&self) -> Option<GenerationInfo> {
        let memory = self.generation.memory()?;
        let url = self.config.base_url.to_string();
        tokio::task::spawn_blocking(move || memory.recall(&url))
            .await
            .ok()
            .flatten()
    }

    /// A GET of a route that needs no key (the key is not sent), retried on
    /// transient failures like any read.
    async fn public_read(&self, path: &'static str) -> Result<Reply, Error> {
        let policy = self.config.retry.clone();
        let connectivity = self.connectivity();
        retry::run(
            &policy,
            || !connectivity.is_online(),
            || Error::Timeout {
                message: format!(
                    "no answer from {path} within the call's deadline of {} s",
                    policy.deadline.as_secs_f64()
                ),
            },
            |_| async move {
                match self
                    .transport
                    .send(Method::GET, path, &[], None, None, false)
                    .await
                {
                    Outcome::Success(r) => Step::Done(Ok(r)),
                    Outcome::Transient { error } => {
                        let retry_after = error.retry_after();
                        Step::Retry { error, retry_after }
                    }
                    Outcome::Permanent(e) => Step::Done(Err(e)),
                    Outcome::TruncatedReplay => Step::Done(Err(Error::Decode {
                        status: 409,
                        message: format!("unexpected truncated idempotency replay on {path}"),
                        correlation_id: None,
                    })),
                }
            },
        )
        .await
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
