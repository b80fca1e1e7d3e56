//! `SessionHandle`: a live session as Python and Swift see it.
//!
//! A thin wrapper of [`crate::SessionHandle`]: the heartbeats belong to the
//! Rust handle and are sent from the SDK's runtime, so it keeps beating while
//! the host object is alive, and stops when the host calls `end` or `stop`,
//! or drops its last reference.

use std::sync::Arc;

use crate::engine::SessionHandle as RsHandle;
use crate::Error;

use super::requests::{EndRequest, UpdateRequest};
use super::runtime::{block, block_exchange, run};
use super::types::{EndOutcome, HeartbeatInfo, Session, StartInfo, UpdateOutcome};
use super::CraneError;

/// A started, resumed or re-attached session that keeps itself alive.
#[derive(uniffi::Object)]
pub struct SessionHandle {
    inner: Arc<RsHandle>,
}

impl SessionHandle {
    pub(crate) fn wrap(inner: RsHandle) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(inner),
        })
    }

    fn h(&self) -> Arc<RsHandle> {
        Arc::clone(&self.inner)
    }
}

/// The operations: one Rust API call and a conversion each.
mod ops {
    use super::*;

    pub(super) async fn update(h: Arc<RsHandle>, r: UpdateRequest) -> Result<UpdateOutcome, Error> {
        h.update(r.into_model(h.session_id().to_owned())?)
            .await
            .map(Into::into)
    }

    pub(super) async fn heartbeat_now(h: Arc<RsHandle>) -> Result<HeartbeatInfo, Error> {
        h.heartbeat_now().await.map(Into::into)
    }

    pub(super) async fn end(h: Arc<RsHandle>, r: EndRequest) -> Result<EndOutcome, Error> {
        h.end(r.into_model(h.session_id().to_owned())?)
            .await
            .map(Into::into)
    }
}

#[uniffi::export]
impl SessionHandle {
    /// The session id (`sess_…`).
    pub fn session_id(&self) -> String {
        self.inner.session_id().to_owned()
    }

    /// The session record as of start (or as cached when re-attached).
    pub fn session(&self) -> Session {
        self.inner.session().clone().into()
    }

    /// The server's full answer to the start (docs, created/resumed), when
    /// this handle started the session; `None` for a re-attached one.
    pub fn start_info(&self) -> Option<StartInfo> {
        self.inner.start_response().map(Into::into)
    }

    /// When the next heartbeat is due, per the server (ISO 8601).
    pub fn next_heartbeat_at(&self) -> String {
        self.inner.next_heartbeat_at().to_string()
    }

    /// Whether automatic heartbeats are running.
    pub fn is_beating(&self) -> bool {
        self.inner.is_beating()
    }

    /// Stops the automatic heartbeats (the session stays active on the server).
    pub fn stop(&self) {
        self.inner.stop()
    }

    /// Blocking form of `update`.
    #[uniffi::method(default(request))]
    pub fn update_blocking(&self, request: UpdateRequest) -> Result<UpdateOutcome, CraneError> {
        block(ops::update(self.h(), request))
    }

    /// Blocking form of `heartbeat_now`.
    pub fn heartbeat_now_blocking(&self) -> Result<HeartbeatInfo, CraneError> {
        block_exchange(ops::heartbeat_now(self.h()))
    }

    /// Blocking form of `end`.
    pub fn end_blocking(&self, request: EndRequest) -> Result<EndOutcome, CraneError> {
        block(ops::end(self.h(), request))
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl SessionHandle {
    /// Records progress (branch, commit, metadata); also refreshes the
    /// heartbeat. Offline, it is queued ahead of this session's end.
    #[uniffi::method(default(request))]
    pub async fn update(&self, request: UpdateRequest) -> Result<UpdateOutcome, CraneError> {
        run(ops::update(self.h(), request)).await
    }

    /// Sends a heartbeat now and reschedules the next from the answer.
    pub async fn heartbeat_now(&self) -> Result<HeartbeatInfo, CraneError> {
        run(ops::heartbeat_now(self.h())).await
    }

    /// Ends the session with a handoff: `Delivered` with the stored handoff,
    /// or `Queued` when the server cannot be reached (then delivered later,
    /// automatically, exactly once). Heartbeats stop either way.
    pub async fn end(&self, request: EndRequest) -> Result<EndOutcome, CraneError> {
        run(ops::end(self.h(), request)).await
    }
}
