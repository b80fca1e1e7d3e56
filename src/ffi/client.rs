//! `CraneClient`: the engine ([`Crane`]) as Python and Swift see it.
//!
//! Every exported method is one line: it hands an operation from [`ops`] to
//! the owned runtime, awaiting it ([`run`], the async form) or blocking on it
//! ([`block`], the `_blocking` form). Each operation is itself a direct call
//! of the Rust API plus the conversion of its result, so nothing is
//! implemented twice and both forms behave identically.

use std::sync::Arc;

use crate::engine::Crane;
use crate::model::{ActiveQuery, HandoffsQuery, SessionTuple};
use crate::settings::{Overrides, Settings};
use crate::Error;

use super::listener::{CraneListener, ListenerAdapter};
use super::pager::HandoffPager;
use super::queries::{
    ActiveSessions, CachedDocs, CachedHandoff, HandoffFilter, HandoffPage, HealthReport, ItemState,
    LatestHandoffQuery, QueueCounts, QueueItem, SyncReport,
};
use super::requests::{
    client_config, crane_config, ClientOptions, EndRequest, StartRequest, UpdateRequest,
};
use super::runtime::{block, block_exchange, run, run_blocking};
use super::session::SessionHandle;
use super::types::{EndOutcome, Handoff, UpdateOutcome};
use super::CraneError;

/// A crash-safe, offline-safe Crane Context client: sessions with automatic
/// heartbeats, a durable offline queue for updates and handoffs, and reads
/// that answer from the local cache when the server is unreachable.
///
/// Every network method comes in two forms: `name()` (awaitable in Python's
/// asyncio, `async` in Swift) and `name_blocking()` for plain scripts. Both
/// run on the SDK's own threads. Open one client per process and share it.
#[derive(uniffi::Object)]
pub struct CraneClient {
    crane: Crane,
    /// The host's listener, detached when the client closes.
    listener: Option<Arc<ListenerAdapter>>,
}

impl CraneClient {
    fn open(
        (config, listener): (crate::engine::CraneConfig, Option<Arc<ListenerAdapter>>),
    ) -> Result<Arc<Self>, CraneError> {
        block(async move {
            Crane::open(config)
                .await
                .map(|crane| Arc::new(Self { crane, listener }))
        })
    }

    /// Stops all calls into the host's listener, waiting for those in progress.
    fn detach(&self) {
        if let Some(listener) = &self.listener {
            listener.detach();
        }
    }

    pub(super) fn c(&self) -> Crane {
        self.crane.clone()
    }
}

#[uniffi::export]
impl CraneClient {
    /// Opens a client for a server URL (`https://…`, or `http://` on
    /// loopback) and relay key, opens the local queue/cache file and starts
    /// delivering anything left in it.
    #[uniffi::constructor(default(listener = None, options))]
    pub fn new(
        url: String,
        relay_key: String,
        options: ClientOptions,
        listener: Option<Arc<dyn CraneListener>>,
    ) -> Result<Arc<Self>, CraneError> {
        let client = client_config(&url, &relay_key, options.allow_insecure_http)?;
        Self::open(crane_config(client, options, listener))
    }

    /// Opens a client configured the way the `crane` CLI is: `CRANE_CONTEXT_URL`
    /// and `CRANE_CONTEXT_KEY`, else the profile of the config file
    /// (`CRANE_ENV` or `options.profile`, `CRANE_CONFIG`).
    /// `options.allow_insecure_http` is ignored here: the config file decides it.
    #[uniffi::constructor(default(listener = None, options))]
    pub fn from_env(
        options: ClientOptions,
        listener: Option<Arc<dyn CraneListener>>,
    ) -> Result<Arc<Self>, CraneError> {
        let overrides = Overrides {
            profile: options.profile.clone(),
            ..Overrides::default()
        };
        let settings = Settings::resolve(&overrides)?;
        let mut options = options;
        options.rehome_abandoned = options.rehome_abandoned.or(Some(settings.rehome_abandoned));
        Self::open(crane_config(settings.client_config()?, options, listener))
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.crane.client().config().base_url.to_string()
    }

    /// The local queue/cache file.
    pub fn store_path(&self) -> String {
        self.crane.store().path().display().to_string()
    }

    /// A pager over every page of a handoff listing (no request until `next_page`).
    #[uniffi::method(default(limit = None))]
    pub fn handoff_pager(&self, filter: HandoffFilter, limit: Option<u32>) -> Arc<HandoffPager> {
        HandoffPager::new(self.c(), query(filter, limit, None))
    }

    /// Wakes the queue drain (e.g. when the host knows the network is back).
    pub fn wake(&self) {
        self.crane.wake()
    }

    /// Stops the background work (drain, probe, watchdog) at once and
    /// detaches the listener; prefer `close` before a process exits.
    /// Heartbeats of live sessions stop with their handles. Queued items stay
    /// on disk.
    pub fn shutdown(&self) {
        self.crane.shutdown();
        self.detach();
    }

    /// Stops every later call of the listener and waits for the calls in
    /// progress; `close` and `shutdown` do it too. For hosts that tear down
    /// while a client is still open (e.g. Python's `atexit`): a thread that
    /// enters a finalizing interpreter is ended in a way that aborts the
    /// process. Idempotent.
    pub fn detach_listener(&self) {
        self.detach()
    }
}

fn query(filter: HandoffFilter, limit: Option<u32>, cursor: Option<String>) -> HandoffsQuery {
    HandoffsQuery {
        filter: filter.into(),
        dates: Default::default(),
        limit,
        cursor,
    }
}

/// The operations: one Rust API call and a conversion each.
mod ops {
    use super::*;

    pub(super) async fn health(c: Crane) -> Result<HealthReport, Error> {
        c.client().health().await.map(Into::into)
    }

    pub(super) async fn start_session(
        c: Crane,
        r: StartRequest,
    ) -> Result<Arc<SessionHandle>, Error> {
        let auto = r.auto_heartbeat;
        c.start_session_with(r.into_model()?, auto)
            .await
            .map(SessionHandle::wrap)
    }

    pub(super) async fn attach(
        c: Crane,
        tuple: SessionTuple,
    ) -> Result<Option<Arc<SessionHandle>>, Error> {
        c.attach(&tuple).await.map(|h| h.map(SessionHandle::wrap))
    }

    pub(super) async fn attach_by_id(
        c: Crane,
        id: String,
        auto: bool,
    ) -> Result<Option<Arc<SessionHandle>>, Error> {
        c.attach_by_id(&id, auto)
            .await
            .map(|h| h.map(SessionHandle::wrap))
    }

    pub(super) async fn end_session(
        c: Crane,
        id: String,
        r: EndRequest,
    ) -> Result<EndOutcome, Error> {
        c.end_session(r.into_model(id)?).await.map(Into::into)
    }

    pub(super) async fn update_session(
        c: Crane,
        id: String,
        r: UpdateRequest,
    ) -> Result<UpdateOutcome, Error> {
        c.update(r.into_model(id)?).await.map(Into::into)
    }

    pub(super) async fn active_sessions(c: Crane, q: ActiveQuery) -> Result<ActiveSessions, Error> {
        c.client().active_sessions(&q).await.map(Into::into)
    }

    pub(super) async fn latest_handoff(
        c: Crane,
        q: LatestHandoffQuery,
    ) -> Result<Option<Handoff>, Error> {
        c.client()
            .latest_handoff(&q.into())
            .await
            .map(|h| h.map(Into::into))
    }

    pub(super) async fn handoffs(c: Crane, q: HandoffsQuery) -> Result<HandoffPage, Error> {
        c.client().handoffs(&q).await.map(Into::into)
    }

    pub(super) async fn last_handoff(
        c: Crane,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<CachedHandoff, Error> {
        c.last_handoff(&venture, &repo, track).await.map(Into::into)
    }

    pub(super) async fn cached_docs(c: Crane) -> Result<Option<CachedDocs>, Error> {
        c.cached_docs().await.map(|d| d.map(Into::into))
    }

    pub(super) async fn sync(c: Crane) -> Result<SyncReport, Error> {
        c.sync().await.map(Into::into)
    }

    pub(super) async fn queue_items(
        c: Crane,
        state: Option<ItemState>,
    ) -> Result<Vec<QueueItem>, Error> {
        c.queue_items(state.map(Into::into))
            .await
            .map(|v| v.into_iter().map(Into::into).collect())
    }

    pub(super) async fn queue_counts(c: Crane) -> Result<QueueCounts, Error> {
        c.queue_counts().await.map(Into::into)
    }

    pub(super) async fn retry_dead(c: Crane, id: String) -> Result<(), Error> {
        c.retry_dead(&id).await
    }

    pub(super) async fn drop_item(c: Crane, id: String) -> Result<(), Error> {
        c.drop_item(&id).await
    }

    pub(super) async fn close(c: Crane) -> Result<(), Error> {
        c.close().await
    }
}

fn tuple(agent: String, venture: String, repo: String, track: Option<i64>) -> SessionTuple {
    SessionTuple {
        agent,
        venture,
        repo,
        track,
    }
}

fn active(agent: String, venture: String, repo: String, track: Option<i64>) -> ActiveQuery {
    ActiveQuery {
        agent,
        venture,
        repo,
        track,
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl CraneClient {
    /// `GET /health`. An unhealthy server is a report, not an error.
    pub async fn health(&self) -> Result<HealthReport, CraneError> {
        run(ops::health(self.c())).await
    }

    /// Starts or resumes the session of the request's (agent, venture, repo,
    /// track), first delivering queued work of that tuple. The returned
    /// handle heartbeats by itself until it is ended, stopped or dropped.
    pub async fn start_session(
        &self,
        request: StartRequest,
    ) -> Result<Arc<SessionHandle>, CraneError> {
        run(ops::start_session(self.c(), request)).await
    }

    /// Re-attaches (with automatic heartbeats) to the current session of a
    /// tuple started earlier on this machine, e.g. by another process; `None`
    /// if none is cached.
    #[uniffi::method(default(track = None))]
    pub async fn attach(
        &self,
        agent: String,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<Option<Arc<SessionHandle>>, CraneError> {
        run(ops::attach(self.c(), tuple(agent, venture, repo, track))).await
    }

    /// Re-attaches to a cached session by id; `None` if it is not cached.
    #[uniffi::method(default(auto_heartbeat = true))]
    pub async fn attach_by_id(
        &self,
        session_id: String,
        auto_heartbeat: bool,
    ) -> Result<Option<Arc<SessionHandle>>, CraneError> {
        run(ops::attach_by_id(self.c(), session_id, auto_heartbeat)).await
    }

    /// Ends any session by id with a handoff (no handle needed): delivered,
    /// or queued when the server cannot be reached.
    pub async fn end_session(
        &self,
        session_id: String,
        request: EndRequest,
    ) -> Result<EndOutcome, CraneError> {
        run(ops::end_session(self.c(), session_id, request)).await
    }

    /// Records progress on any session by id: applied, or queued.
    pub async fn update_session(
        &self,
        session_id: String,
        request: UpdateRequest,
    ) -> Result<UpdateOutcome, CraneError> {
        run(ops::update_session(self.c(), session_id, request)).await
    }

    /// `GET /active`: active sessions of an agent on a repo.
    #[uniffi::method(default(track = None))]
    pub async fn active_sessions(
        &self,
        agent: String,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<ActiveSessions, CraneError> {
        run(ops::active_sessions(
            self.c(),
            active(agent, venture, repo, track),
        ))
        .await
    }

    /// `GET /handoffs/latest`: the newest matching handoff, if any.
    pub async fn latest_handoff(
        &self,
        query: LatestHandoffQuery,
    ) -> Result<Option<Handoff>, CraneError> {
        run(ops::latest_handoff(self.c(), query)).await
    }

    /// `GET /handoffs`: one page (1–100 items; pass the previous page's
    /// `next_cursor` to continue). See `handoff_pager` to walk them all.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub async fn handoffs(
        &self,
        filter: HandoffFilter,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<HandoffPage, CraneError> {
        run(ops::handoffs(self.c(), query(filter, limit, cursor))).await
    }

    /// The newest handoff of a venture/repo (track), from the server, or
    /// from the local cache (marked `stale`, with its age) when offline.
    #[uniffi::method(default(track = None))]
    pub async fn last_handoff(
        &self,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<CachedHandoff, CraneError> {
        run(ops::last_handoff(self.c(), venture, repo, track)).await
    }

    /// The docs delivered by the last session start, from the local cache.
    pub async fn cached_docs(&self) -> Result<Option<CachedDocs>, CraneError> {
        run(ops::cached_docs(self.c())).await
    }

    /// Delivers every queued item now (one real attempt even if the client
    /// believes it is offline) and reports what happened.
    pub async fn sync(&self) -> Result<SyncReport, CraneError> {
        run(ops::sync(self.c())).await
    }

    /// Queued items waiting to be delivered, oldest first.
    pub async fn pending_items(&self) -> Result<Vec<QueueItem>, CraneError> {
        run(ops::queue_items(self.c(), Some(ItemState::Pending))).await
    }

    /// Items that failed permanently (the dead-letter list), oldest first.
    pub async fn dead_items(&self) -> Result<Vec<QueueItem>, CraneError> {
        run(ops::queue_items(self.c(), Some(ItemState::Dead))).await
    }

    /// How many items the queue holds.
    pub async fn queue_counts(&self) -> Result<QueueCounts, CraneError> {
        run(ops::queue_counts(self.c())).await
    }

    /// Moves a dead item back to pending and wakes the drain.
    pub async fn retry_dead(&self, local_id: String) -> Result<(), CraneError> {
        run(ops::retry_dead(self.c(), local_id)).await
    }

    /// Deletes a queue item for good.
    pub async fn drop_item(&self, local_id: String) -> Result<(), CraneError> {
        run(ops::drop_item(self.c(), local_id)).await
    }

    /// Closes gracefully before the process exits: starts no new delivery,
    /// waits briefly for deliveries in flight, releases what this process
    /// still holds (so another process can send it at once), then stops the
    /// background work and detaches the listener (no event is delivered
    /// after `close` returns). Queued items stay on disk.
    pub async fn close(&self) -> Result<(), CraneError> {
        let closed = run(ops::close(self.c())).await;
        let listener = self.listener.clone();
        run_blocking(move || {
            if let Some(listener) = listener {
                listener.detach();
            }
        })
        .await?;
        closed
    }
}

#[uniffi::export]
impl CraneClient {
    /// Blocking form of `health`.
    pub fn health_blocking(&self) -> Result<HealthReport, CraneError> {
        block_exchange(ops::health(self.c()))
    }

    /// Blocking form of `start_session`.
    pub fn start_session_blocking(
        &self,
        request: StartRequest,
    ) -> Result<Arc<SessionHandle>, CraneError> {
        block(ops::start_session(self.c(), request))
    }

    /// Blocking form of `attach`.
    #[uniffi::method(default(track = None))]
    pub fn attach_blocking(
        &self,
        agent: String,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<Option<Arc<SessionHandle>>, CraneError> {
        block(ops::attach(self.c(), tuple(agent, venture, repo, track)))
    }

    /// Blocking form of `attach_by_id`.
    #[uniffi::method(default(auto_heartbeat = true))]
    pub fn attach_by_id_blocking(
        &self,
        session_id: String,
        auto_heartbeat: bool,
    ) -> Result<Option<Arc<SessionHandle>>, CraneError> {
        block(ops::attach_by_id(self.c(), session_id, auto_heartbeat))
    }

    /// Blocking form of `end_session`.
    pub fn end_session_blocking(
        &self,
        session_id: String,
        request: EndRequest,
    ) -> Result<EndOutcome, CraneError> {
        block(ops::end_session(self.c(), session_id, request))
    }

    /// Blocking form of `update_session`.
    pub fn update_session_blocking(
        &self,
        session_id: String,
        request: UpdateRequest,
    ) -> Result<UpdateOutcome, CraneError> {
        block(ops::update_session(self.c(), session_id, request))
    }

    /// Blocking form of `active_sessions`.
    #[uniffi::method(default(track = None))]
    pub fn active_sessions_blocking(
        &self,
        agent: String,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<ActiveSessions, CraneError> {
        block_exchange(ops::active_sessions(
            self.c(),
            active(agent, venture, repo, track),
        ))
    }

    /// Blocking form of `latest_handoff`.
    pub fn latest_handoff_blocking(
        &self,
        query: LatestHandoffQuery,
    ) -> Result<Option<Handoff>, CraneError> {
        block_exchange(ops::latest_handoff(self.c(), query))
    }

    /// Blocking form of `handoffs`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn handoffs_blocking(
        &self,
        filter: HandoffFilter,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<HandoffPage, CraneError> {
        block_exchange(ops::handoffs(self.c(), query(filter, limit, cursor)))
    }

    /// Blocking form of `last_handoff`.
    #[uniffi::method(default(track = None))]
    pub fn last_handoff_blocking(
        &self,
        venture: String,
        repo: String,
        track: Option<i64>,
    ) -> Result<CachedHandoff, CraneError> {
        block_exchange(ops::last_handoff(self.c(), venture, repo, track))
    }

    /// Blocking form of `cached_docs`.
    pub fn cached_docs_blocking(&self) -> Result<Option<CachedDocs>, CraneError> {
        block(ops::cached_docs(self.c()))
    }

    /// Blocking form of `sync`.
    pub fn sync_blocking(&self) -> Result<SyncReport, CraneError> {
        block(ops::sync(self.c()))
    }

    /// Blocking form of `pending_items`.
    pub fn pending_items_blocking(&self) -> Result<Vec<QueueItem>, CraneError> {
        block(ops::queue_items(self.c(), Some(ItemState::Pending)))
    }

    /// Blocking form of `dead_items`.
    pub fn dead_items_blocking(&self) -> Result<Vec<QueueItem>, CraneError> {
        block(ops::queue_items(self.c(), Some(ItemState::Dead)))
    }

    /// Blocking form of `queue_counts`.
    pub fn queue_counts_blocking(&self) -> Result<QueueCounts, CraneError> {
        block(ops::queue_counts(self.c()))
    }

    /// Blocking form of `retry_dead`.
    pub fn retry_dead_blocking(&self, local_id: String) -> Result<(), CraneError> {
        block(ops::retry_dead(self.c(), local_id))
    }

    /// Blocking form of `drop_item`.
    pub fn drop_item_blocking(&self, local_id: String) -> Result<(), CraneError> {
        block(ops::drop_item(self.c(), local_id))
    }

    /// Blocking form of `close`.
    pub fn close_blocking(&self) -> Result<(), CraneError> {
        let closed = block(ops::close(self.c()));
        self.detach();
        closed
    }
}
