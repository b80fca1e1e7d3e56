//! The typed client: one method per route, for both generations of the
//! contract (see [`crate::generation`] for how the generation is known).
//!
//! Each write call (`/sod`, `/update`, `/eod`) gets one idempotency key before
//! its first attempt (the caller's, if the request carries one) and reuses it
//! on every retry, so a lost response never turns into a duplicate. Replays
//! are successes: a replayed 200 is returned as is, and the server's
//! "truncated replay" 409 is resolved by reading back what the original
//! request produced. A retried `/eod` that meets an ended session is
//! confirmed by comparing the stored handoff's hash with ours instead of
//! guessing. Reads retry on transient failures too; heartbeats retry briefly.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;

use crate::config::{ClientConfig, RelayKey};
use crate::confirm::{confirm, conflict, Confirmation};
use crate::connectivity::Connectivity;
use crate::generation::{is_missing_route, Generation, GenerationState};
use crate::idempotency::IdempotencyKey;
use crate::model::{
    ActiveQuery, ActiveSessions, EndSession, EndSessionResponse, Handoff, HandoffPage,
    HandoffsQuery, HealthReport, HeartbeatResponse, LatestHandoff, LatestHandoffQuery,
    StartSession, StartSessionResponse, Update, UpdateResponse,
};
use crate::retry::{self, RetryPolicy, Step};
use crate::transport::{decode, Outcome, Reply, Transport};
use crate::Error;

mod v2;

/// An async Crane Context client. Cheap to clone; clones share connections
/// and the connectivity state.
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
    pub(crate) config: Arc<ClientConfig>,
    /// Which generation the server speaks (shared by clones; see `generation.rs`).
    pub(crate) generation: Arc<GenerationState>,
}

/// What a write exchange produced.
enum Exchange {
    Reply(Reply),
    TruncatedReplay,
}

impl Client {
    /// A client for `base_url` with default timeouts and retries.
    pub fn new(base_url: &str, relay_key: &str) -> Result<Self, Error> {
        Self::with_config(ClientConfig::new(base_url, RelayKey::new(relay_key)?)?)
    }

    /// A client from a full configuration.
    pub fn with_config(config: ClientConfig) -> Result<Self, Error> {
        Self::with_connectivity(config, Connectivity::new())
    }

    /// A client sharing an existing connectivity state.
    pub fn with_connectivity(
        config: ClientConfig,
        connectivity: Connectivity,
    ) -> Result<Self, Error> {
        let generation = Arc::new(GenerationState::new(config.protocol));
        Self::with_shared(config, connectivity, generation)
    }

    /// A client sharing connectivity and generation knowledge with others
    /// (the engine's direct and queue clients).
    pub(crate) fn with_shared(
        config: ClientConfig,
        connectivity: Connectivity,
        generation: Arc<GenerationState>,
    ) -> Result<Self, Error> {
        Ok(Self {
            transport: Arc::new(Transport::new(&config, connectivity)?),
            config: Arc::new(config),
            generation,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The shared connectivity state.
    pub fn connectivity(&self) -> &Connectivity {
        &self.transport.connectivity
    }

    /// `GET /health` (no key needed), one attempt. An unhealthy or degraded
    /// server is a report, not an error; only an unreachable server or an
    /// unreadable answer is an error.
    pub async fn health(&self) -> Result<HealthReport, Error> {
        let (status, headers, body) = match self
            .transport
            .fetch(Method::GET, "/health", &[], None, None, false)
            .await
        {
            Ok(answer) => answer,
            Err(Outcome::Transient { error, .. } | Outcome::Permanent(error)) => return Err(error),
            Err(_) => return Err(unexpected_replay("/health")),
        };
        let parsed = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| HealthReport::from_body(status.as_u16(), v));
        match parsed {
            Some(report) => Ok(report),
            None if status.is_server_error() => Ok(HealthReport::unhealthy(status.as_u16())),
            None => match crate::transport::classify(status, &headers, body) {
                Outcome::Transient { error, .. } | Outcome::Permanent(error) => Err(error),
                _ => Err(Error::Decode {
                    status: status.as_u16(),
                    message: "health answer has no status field".into(),
                    correlation_id: None,
                }),
            },
        }
    }

    /// `POST /sos` on v2, `/sod` on v1: start a session or resume the live
    /// one for the tuple. The request is checked against the rules of the
    /// server's generation first (see [`StartSession::validate_for`]).
    pub async fn start_session(&self, req: &StartSession) -> Result<StartSessionResponse, Error> {
        req.validate()?;
        let generation = self.generation().await?;
        req.validate_for(generation)?;
        let key = req
            .idempotency_key
            .clone()
            .unwrap_or_else(IdempotencyKey::generate);
        // `include_docs` asks for the documents themselves, as v1 sends them;
        // v2 sends only an index unless asked for `full`.
        let body = if generation == Generation::V2 && req.include_docs && req.docs_format.is_none()
        {
            to_body(&req.clone().docs_format(crate::model::DocsFormat::Full))?
        } else {
            to_body(req)?
        };
        match self
            .write_routed(Generation::start_route, body.clone(), &key)
            .await?
        {
            Exchange::Reply(r) => decode(&r),
            // The session exists; a fresh start resumes it and answers in full.
            Exchange::TruncatedReplay => match self
                .write_routed(Generation::start_route, body, &IdempotencyKey::generate())
                .await?
            {
                Exchange::Reply(r) => decode(&r),
                Exchange::TruncatedReplay => Err(unexpected_replay("/sos")),
            },
        }
    }

    /// `POST /update`: record progress; also refreshes the heartbeat.
    pub async fn update(&self, req: &Update) -> Result<UpdateResponse, Error> {
        req.validate()?;
        req.validate_for(self.generation().await?)?;
        let key = req
            .idempotency_key
            .clone()
            .unwrap_or_else(IdempotencyKey::generate);
        let body = to_body(req)?;
        match self.write("/update", body.clone(), &key).await? {
            Exchange::Reply(r) => decode(&r),
            // Re-applying the same fields is harmless and returns the schedule.
            Exchange::TruncatedReplay => match self
                .write("/update", body, &IdempotencyKey::generate())
                .await?
            {
                Exchange::Reply(r) => decode(&r),
                Exchange::TruncatedReplay => Err(unexpected_replay("/update")),
            },
        }
    }

    /// `POST /heartbeat`: keep a session alive; retried briefly.
    pub async fn heartbeat(&self, session_id: &str) -> Result<HeartbeatResponse, Error> {
        if session_id.trim().is_empty() {
            return Err(Error::invalid_input("session_id", "must not be empty"));
        }
        if self.generation().await? == Generation::V2 {
            crate::model::rules_v2::check_session_id(session_id)?;
        }
        let body = to_body(&serde_json::json!({ "session_id": session_id }))?;
        let policy = self.config.heartbeat_retry.clone();
        match self
            .exchange(&policy, Method::POST, "/heartbeat", &[], Some(body), None)
            .await?
        {
            Exchange::Reply(r) => decode(&r),
            Exchange::TruncatedReplay => Err(unexpected_replay("/heartbeat")),
        }
    }

    /// `POST /eos` on v2, `/eod` on v1: store a handoff and end the session
    /// (v2 with `keep_session_open`: leave it active).
    ///
    /// Safe to call again with the same idempotency key at any time: within the
    /// server's hour the original answer is replayed; after it, or whenever
    /// the answer leaves it unsure (a truncated replay, an unreadable 200),
    /// the session's stored handoff is read and compared with the request,
    /// field for field (see `confirm.rs`): returned if it is ours, reported as
    /// [`Error::HandoffConflict`] naming the stored handoff if it is not.
    pub async fn end_session(&self, req: &EndSession) -> Result<EndSessionResponse, Error> {
        req.validate()?;
        req.validate_for(self.generation().await?)?;
        let key = req
            .idempotency_key
            .clone()
            .unwrap_or_else(IdempotencyKey::generate);
        let body = to_body(req)?;
        match self.write_routed(Generation::end_route, body, &key).await {
            Ok(Exchange::Reply(r)) => match decode::<EndSessionResponse>(&r) {
                Ok(resp) => Ok(resp),
                // The server said 200 but the answer is unreadable (cut
                // short, wrong shape): whether it stored our handoff is
                // answered by reading it back, never by guessing.
                Err(unreadable) => match self.confirm_handoff(req).await? {
                    Confirmation::Ours(h) => Ok(response_from(h)),
                    Confirmation::Other(h, diffs) => Err(conflict(
                        req,
                        Some(&h),
                        &diffs,
                        "the server answered unreadably and holds another handoff",
                    )),
                    Confirmation::NoneStored => Err(Error::Server {
                        status: r.status,
                        retry_after: None,
                        message: format!(
                            "the answer to the end was unreadable ({unreadable}) and no handoff \
                             is stored yet; retry with the same idempotency key"
                        ),
                        correlation_id: r.correlation_id.clone(),
                    }),
                },
            },
            Ok(Exchange::TruncatedReplay) => match self.confirm_handoff(req).await? {
                Confirmation::Ours(h) => Ok(response_from(h)),
                Confirmation::Other(h, diffs) => Err(conflict(
                    req,
                    Some(&h),
                    &diffs,
                    "the server replayed success but holds a different handoff",
                )),
                Confirmation::NoneStored => Err(conflict(
                    req,
                    None,
                    &[],
                    "the server replayed success but holds no handoff for the session",
                )),
            },
            Err(original @ Error::SessionNotActive { .. }) => {
                match self.confirm_handoff(req).await? {
                    Confirmation::Ours(h) => Ok(response_from(h)),
                    Confirmation::Other(h, diffs) => Err(conflict(
                        req,
                        Some(&h),
                        &diffs,
                        "the session already ended with a different handoff",
                    )),
                    Confirmation::NoneStored => Err(original),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the session's latest handoff and compares it with `req`.
    async fn confirm_handoff(&self, req: &EndSession) -> Result<Confirmation, Error> {
        let latest = self
            .latest_handoff(&LatestHandoffQuery::Session(req.session_id.clone()))
            .await?;
        confirm(req, latest)
    }

    /// `GET /active`: active sessions for an agent on a repo.
    pub async fn active_sessions(&self, q: &ActiveQuery) -> Result<ActiveSessions, Error> {
        self.read("/active", &q.pairs()).await
    }

    /// `GET /handoffs/latest`: the newest matching handoff, if any.
    pub async fn latest_handoff(&self, q: &LatestHandoffQuery) -> Result<Option<Handoff>, Error> {
        let r: LatestHandoff = self.read("/handoffs/latest", &q.pairs()).await?;
        Ok(r.handoff)
    }

    /// `GET /handoffs`: one page. See [`Client::handoff_pages`] to walk them all.
    pub async fn handoffs(&self, q: &HandoffsQuery) -> Result<HandoffPage, Error> {
        q.validate()?;
        self.read("/handoffs", &q.pairs()).await
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<T, Error> {
        let policy = self.config.retry.clone();
        match self
            .exchange(&policy, Method::GET, path, query, None, None)
            .await?
        {
            Exchange::Reply(r) => decode(&r),
            Exchange::TruncatedReplay => Err(unexpected_replay(path)),
        }
    }

    /// A write to the route `route` names for the server's generation. A v2
    /// route that answers `404 Endpoint not found` means the server is v1
    /// after all (unless pinned): the generation is probed again and the
    /// request resent, with the same key, under the other name.
    async fn write_routed(
        &self,
        route: fn(Generation) -> &'static str,
        body: Bytes,
        key: &IdempotencyKey,
    ) -> Result<Exchange, Error> {
        let generation = self.generation().await?;
        match self.write(route(generation), body.clone(), key).await {
            Err(e)
                if generation == Generation::V2
                    && self.generation.pinned.is_none()
                    && is_missing_route(&e) =>
            {
                tracing::info!(
                    route = route(generation),
                    "v2 route missing; probing the server's generation again"
                );
                self.forget_generation().await;
                let again = self.generation().await?;
                if again == generation {
                    return Err(e);
                }
                self.write(route(again), body, key).await
            }
            other => other,
        }
    }

    async fn write(
        &self,
        path: &str,
        body: Bytes,
        key: &IdempotencyKey,
    ) -> Result<Exchange, Error> {
        let policy = self.config.retry.clone();
        self.exchange(
            &policy,
            Method::POST,
            path,
            &[],
            Some(body),
            Some(key.as_str()),
        )
        .await
    }

    async fn exchange(
        &self,
        policy: &RetryPolicy,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<Bytes>,
        key: Option<&str>,
    ) -> Result<Exchange, Error> {
        let connectivity = &self.transport.connectivity;
        retry::run(
            policy,
            || !connectivity.is_online(),
            || Error::Timeout {
                message: format!(
                    "no answer from {path} within the call's deadline of {} s",
                    policy.deadline.as_secs_f64()
                ),
            },
            |_| {
                let method = method.clone();
                let body = body.clone();
                async move {
                    match self
                        .transport
                        .send(method, path, query, body, key, true)
                        .await
                    {
                        Outcome::Success(r) => {
                            if r.idempotency_hit {
                                tracing::debug!(path, "idempotent replay of an earlier attempt");
                            }
                            Step::Done(Ok(Exchange::Reply(r)))
                        }
                        Outcome::TruncatedReplay => Step::Done(Ok(Exchange::TruncatedReplay)),
                        Outcome::Transient { error } => {
                            let retry_after = error.retry_after();
                            Step::Retry { error, retry_after }
                        }
                        Outcome::Permanent(e) => Step::Done(Err(e)),
                    }
                }
            },
        )
        .await
    }
}

fn to_body<T: Serialize>(value: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::invalid_input("body", format!("cannot be serialized: {e}")))
}

fn unexpected_replay(path: &str) -> Error {
    Error::Decode {
        status: 409,
        message: format!("unexpected truncated idempotency replay on {path}"),
        correlation_id: None,
    }
}

/// The answer `/eod` gave when it stored `h`, rebuilt from the record.
pub(crate) fn response_from(h: Handoff) -> EndSessionResponse {
    EndSessionResponse {
        session_id: h.session_id.clone(),
        handoff_id: h.id.clone(),
        // The server ends the session in the same request that stores the
        // handoff; the handoff's time stands in for the unreplayable one.
        ended_at: Some(h.created_at),
        correlation_id: h.creation_correlation_id.clone(),
        handoff: h,
    }
}
