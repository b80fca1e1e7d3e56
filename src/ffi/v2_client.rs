//! `CraneClient`'s methods for the routes v2 added (checkpoints, notes,
//! siblings, prior session, history, activity, handoff status, docs, memory
//! gate) and v2's optional `/active` filters and `/handoffs` date windows.
//!
//! Same shape as [`super::client`]: each method is one Rust API call
//! ([`crate::Client`]'s v2 methods, so the same retry rules: a checkpoint is
//! never resent blindly, a note create is an upsert) plus a conversion, in
//! an async and a `_blocking` form. None of these writes is queued offline:
//! unreachable, they fail with a connectivity error (the queued forms of
//! `checkpoint` and `create_note` are in [`super::v2_queue`]).

use std::sync::Arc;

use crate::engine::Crane;
use crate::model::v2 as m;
use crate::model::{HandoffFilter as RsFilter, HandoffsQuery};
use crate::Error;

use super::client::CraneClient;
use super::pager::HandoffPager;
use super::queries::{ActiveSessions, HandoffFilter, HandoffPage};
use super::runtime::{block, block_exchange, run};
use super::types::{Handoff, Session};
use super::v2::{
    ActiveFilter, ActivityReport, Checkpoint, CheckpointCreated, CheckpointRequest, Doc, DocAudit,
    HandoffStatusLabel, HandoffWindow, HistoryEntry, MemoryGate, Note, NotePage, NoteRequest,
    NoteUpdate, NotesFilter, Sibling,
};
use super::CraneError;

/// The operations: one Rust API call and a conversion each.
mod ops {
    use super::*;

    pub(super) async fn checkpoint(
        c: Crane,
        session_id: String,
        r: CheckpointRequest,
    ) -> Result<CheckpointCreated, Error> {
        c.client()
            .checkpoint(&r.into_model(session_id))
            .await
            .map(Into::into)
    }

    pub(super) async fn checkpoints(
        c: Crane,
        session_id: String,
        limit: Option<u32>,
    ) -> Result<Vec<Checkpoint>, Error> {
        let mut q = m::CheckpointsQuery::session(session_id);
        if let Some(l) = limit {
            q = q.limit(l);
        }
        let list = c.client().checkpoints(&q).await?;
        Ok(list.checkpoints.into_iter().map(Into::into).collect())
    }

    pub(super) async fn create_note(c: Crane, r: NoteRequest) -> Result<Note, Error> {
        c.client().create_note(&r.into()).await.map(Into::into)
    }

    pub(super) async fn notes(c: Crane, f: NotesFilter) -> Result<NotePage, Error> {
        c.client().notes(&f.into()).await.map(Into::into)
    }

    pub(super) async fn note(c: Crane, id: String) -> Result<Note, Error> {
        c.client().note(&id).await.map(Into::into)
    }

    pub(super) async fn update_note(c: Crane, id: String, u: NoteUpdate) -> Result<Note, Error> {
        c.client().update_note(&id, &u.into()).await.map(Into::into)
    }

    pub(super) async fn archive_note(c: Crane, id: String) -> Result<Note, Error> {
        c.client().archive_note(&id).await.map(Into::into)
    }

    pub(super) async fn siblings(
        c: Crane,
        group: String,
        exclude: Option<String>,
    ) -> Result<Vec<Sibling>, Error> {
        let r = c.client().siblings(&group, exclude.as_deref()).await?;
        Ok(r.siblings.into_iter().map(Into::into).collect())
    }

    pub(super) async fn prior_session(
        c: Crane,
        q: m::PriorSessionQuery,
    ) -> Result<Option<Session>, Error> {
        c.client()
            .prior_session(&q)
            .await
            .map(|s| s.map(Into::into))
    }

    pub(super) async fn session_history(
        c: Crane,
        days: Option<u32>,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let r = c.client().session_history(days).await?;
        Ok(r.entries.into_iter().map(Into::into).collect())
    }

    pub(super) async fn record_activity(
        c: Crane,
        session_id: String,
        times: Vec<String>,
        source: Option<String>,
    ) -> Result<ActivityReport, Error> {
        let batch = m::ActivityBatch {
            events: times
                .into_iter()
                .map(|ts| m::ActivityEvent { ts })
                .collect(),
            source,
        };
        c.client()
            .record_activity(&session_id, &batch)
            .await
            .map(Into::into)
    }

    pub(super) async fn set_handoff_status(
        c: Crane,
        id: String,
        label: HandoffStatusLabel,
    ) -> Result<Handoff, Error> {
        c.client()
            .set_handoff_status(&id, label.into())
            .await
            .map(Into::into)
    }

    pub(super) async fn docs(c: Crane, venture: String) -> Result<Vec<Doc>, Error> {
        let r = c.client().docs(&venture).await?;
        Ok(r.docs.into_iter().map(Into::into).collect())
    }

    pub(super) async fn doc(c: Crane, scope: String, name: String) -> Result<Doc, Error> {
        c.client().doc(&scope, &name).await.map(Into::into)
    }

    pub(super) async fn doc_audits(
        c: Crane,
        venture: Option<String>,
    ) -> Result<Vec<DocAudit>, Error> {
        let audits = match venture {
            Some(v) => vec![c.client().doc_audit(&v).await?],
            None => c.client().doc_audits().await?,
        };
        Ok(audits.into_iter().map(Into::into).collect())
    }

    pub(super) async fn memory_gate(c: Crane) -> Result<MemoryGate, Error> {
        c.client().memory_gate().await.map(Into::into)
    }

    pub(super) async fn active(c: Crane, f: ActiveFilter) -> Result<ActiveSessions, Error> {
        c.client().active(&f.into()).await.map(Into::into)
    }

    pub(super) async fn handoffs_in_window(
        c: Crane,
        filter: Option<HandoffFilter>,
        window: HandoffWindow,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<HandoffPage, Error> {
        let q = window_query(filter, window, limit, cursor)?;
        c.client().handoffs(&q).await.map(Into::into)
    }
}

/// The `/handoffs` query of a date window: no filter lists by date alone.
fn window_query(
    filter: Option<HandoffFilter>,
    window: HandoffWindow,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<HandoffsQuery, Error> {
    Ok(HandoffsQuery {
        filter: filter.map_or(RsFilter::Dates, Into::into),
        dates: window.into_model()?,
        limit,
        cursor,
    })
}

fn prior(
    agent: String,
    venture: String,
    repo: String,
    track: Option<i64>,
    within_hours: Option<u32>,
) -> m::PriorSessionQuery {
    m::PriorSessionQuery {
        agent,
        venture,
        repo,
        track,
        host: None,
        within_hours,
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl CraneClient {
    /// `POST /checkpoint` (v2): records progress on a live session. Never
    /// stored twice: resent only when it certainly did not reach the server
    /// or a read shows it was not stored. Not queued offline (see `checkpoint_or_queue`).
    pub async fn checkpoint(
        &self,
        session_id: String,
        request: CheckpointRequest,
    ) -> Result<CheckpointCreated, CraneError> {
        run(ops::checkpoint(self.c(), session_id, request)).await
    }

    /// `GET /checkpoints` (v2): a session's checkpoints, newest first.
    #[uniffi::method(default(limit = None))]
    pub async fn checkpoints(
        &self,
        session_id: String,
        limit: Option<u32>,
    ) -> Result<Vec<Checkpoint>, CraneError> {
        run(ops::checkpoints(self.c(), session_id, limit)).await
    }

    /// `POST /notes` (v2): writes a note; safe to repeat (an upsert on its
    /// `source_hash`). Not queued offline (see `create_note_or_queue`).
    pub async fn create_note(&self, request: NoteRequest) -> Result<Note, CraneError> {
        run(ops::create_note(self.c(), request)).await
    }

    /// `GET /notes` (v2): one page of notes, newest first.
    pub async fn notes(&self, filter: NotesFilter) -> Result<NotePage, CraneError> {
        run(ops::notes(self.c(), filter)).await
    }

    /// `GET /notes/:id` (v2).
    pub async fn note(&self, note_id: String) -> Result<Note, CraneError> {
        run(ops::note(self.c(), note_id)).await
    }

    /// `POST /notes/:id/update` (v2): changes the given fields.
    pub async fn update_note(
        &self,
        note_id: String,
        update: NoteUpdate,
    ) -> Result<Note, CraneError> {
        run(ops::update_note(self.c(), note_id, update)).await
    }

    /// `POST /notes/:id/archive` (v2).
    pub async fn archive_note(&self, note_id: String) -> Result<Note, CraneError> {
        run(ops::archive_note(self.c(), note_id)).await
    }

    /// `GET /siblings` (v2): the active sessions of a group.
    #[uniffi::method(default(exclude_session_id = None))]
    pub async fn siblings(
        &self,
        session_group_id: String,
        exclude_session_id: Option<String>,
    ) -> Result<Vec<Sibling>, CraneError> {
        run(ops::siblings(
            self.c(),
            session_group_id,
            exclude_session_id,
        ))
        .await
    }

    /// `GET /sessions/prior` (v2): the newest ended or abandoned session of
    /// a tuple within the window (default 48 hours).
    #[uniffi::method(default(track = None, within_hours = None))]
    pub async fn prior_session(
        &self,
        agent: String,
        venture: String,
        repo: String,
        track: Option<i64>,
        within_hours: Option<u32>,
    ) -> Result<Option<Session>, CraneError> {
        let q = prior(agent, venture, repo, track, within_hours);
        run(ops::prior_session(self.c(), q)).await
    }

    /// `GET /sessions/history` (v2): ended sessions per venture and day.
    #[uniffi::method(default(days = None))]
    pub async fn session_history(
        &self,
        days: Option<u32>,
    ) -> Result<Vec<HistoryEntry>, CraneError> {
        run(ops::session_history(self.c(), days)).await
    }

    /// `POST /sessions/:id/activity` (v2): minutes the agent worked (ISO
    /// 8601 times); each minute is stored once.
    #[uniffi::method(default(source = None))]
    pub async fn record_activity(
        &self,
        session_id: String,
        times: Vec<String>,
        source: Option<String>,
    ) -> Result<ActivityReport, CraneError> {
        run(ops::record_activity(self.c(), session_id, times, source)).await
    }

    /// `POST /handoffs/:id/status` (v2): sets a handoff's status label.
    pub async fn set_handoff_status(
        &self,
        handoff_id: String,
        label: HandoffStatusLabel,
    ) -> Result<Handoff, CraneError> {
        run(ops::set_handoff_status(self.c(), handoff_id, label)).await
    }

    /// `GET /docs` (v2): the global documents and the venture's (no content).
    pub async fn docs(&self, venture: String) -> Result<Vec<Doc>, CraneError> {
        run(ops::docs(self.c(), venture)).await
    }

    /// `GET /docs/:scope/:name` (v2): one document with its content.
    pub async fn doc(&self, scope: String, doc_name: String) -> Result<Doc, CraneError> {
        run(ops::doc(self.c(), scope, doc_name)).await
    }

    /// `GET /docs/audit` (v2): one venture's audit, or every venture's.
    #[uniffi::method(default(venture = None))]
    pub async fn doc_audits(&self, venture: Option<String>) -> Result<Vec<DocAudit>, CraneError> {
        run(ops::doc_audits(self.c(), venture)).await
    }

    /// `GET /config/memory-gate` (v2).
    pub async fn memory_gate(&self) -> Result<MemoryGate, CraneError> {
        run(ops::memory_gate(self.c())).await
    }

    /// `GET /active` with v2's optional filters (none: every active session).
    pub async fn active(&self, filter: ActiveFilter) -> Result<ActiveSessions, CraneError> {
        run(ops::active(self.c(), filter)).await
    }

    /// `GET /handoffs` with a date window (v2); no filter lists by date
    /// alone and needs `created_after`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub async fn handoffs_in_window(
        &self,
        filter: Option<HandoffFilter>,
        window: HandoffWindow,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<HandoffPage, CraneError> {
        run(ops::handoffs_in_window(
            self.c(),
            filter,
            window,
            limit,
            cursor,
        ))
        .await
    }
}

#[uniffi::export]
impl CraneClient {
    /// Blocking form of `checkpoint`.
    pub fn checkpoint_blocking(
        &self,
        session_id: String,
        request: CheckpointRequest,
    ) -> Result<CheckpointCreated, CraneError> {
        block(ops::checkpoint(self.c(), session_id, request))
    }

    /// Blocking form of `checkpoints`.
    #[uniffi::method(default(limit = None))]
    pub fn checkpoints_blocking(
        &self,
        session_id: String,
        limit: Option<u32>,
    ) -> Result<Vec<Checkpoint>, CraneError> {
        block_exchange(ops::checkpoints(self.c(), session_id, limit))
    }

    /// Blocking form of `create_note`.
    pub fn create_note_blocking(&self, request: NoteRequest) -> Result<Note, CraneError> {
        block(ops::create_note(self.c(), request))
    }

    /// Blocking form of `notes`.
    pub fn notes_blocking(&self, filter: NotesFilter) -> Result<NotePage, CraneError> {
        block_exchange(ops::notes(self.c(), filter))
    }

    /// Blocking form of `note`.
    pub fn note_blocking(&self, note_id: String) -> Result<Note, CraneError> {
        block_exchange(ops::note(self.c(), note_id))
    }

    /// Blocking form of `update_note`.
    pub fn update_note_blocking(
        &self,
        note_id: String,
        update: NoteUpdate,
    ) -> Result<Note, CraneError> {
        block(ops::update_note(self.c(), note_id, update))
    }

    /// Blocking form of `archive_note`.
    pub fn archive_note_blocking(&self, note_id: String) -> Result<Note, CraneError> {
        block(ops::archive_note(self.c(), note_id))
    }

    /// Blocking form of `siblings`.
    #[uniffi::method(default(exclude_session_id = None))]
    pub fn siblings_blocking(
        &self,
        session_group_id: String,
        exclude_session_id: Option<String>,
    ) -> Result<Vec<Sibling>, CraneError> {
        block_exchange(ops::siblings(
            self.c(),
            session_group_id,
            exclude_session_id,
        ))
    }

    /// Blocking form of `prior_session`.
    #[uniffi::method(default(track = None, within_hours = None))]
    pub fn prior_session_blocking(
        &self,
        agent: String,
        venture: String,
        repo: String,
        track: Option<i64>,
        within_hours: Option<u32>,
    ) -> Result<Option<Session>, CraneError> {
        let q = prior(agent, venture, repo, track, within_hours);
        block_exchange(ops::prior_session(self.c(), q))
    }

    /// Blocking form of `session_history`.
    #[uniffi::method(default(days = None))]
    pub fn session_history_blocking(
        &self,
        days: Option<u32>,
    ) -> Result<Vec<HistoryEntry>, CraneError> {
        block_exchange(ops::session_history(self.c(), days))
    }

    /// Blocking form of `record_activity`.
    #[uniffi::method(default(source = None))]
    pub fn record_activity_blocking(
        &self,
        session_id: String,
        times: Vec<String>,
        source: Option<String>,
    ) -> Result<ActivityReport, CraneError> {
        block(ops::record_activity(self.c(), session_id, times, source))
    }

    /// Blocking form of `set_handoff_status`.
    pub fn set_handoff_status_blocking(
        &self,
        handoff_id: String,
        label: HandoffStatusLabel,
    ) -> Result<Handoff, CraneError> {
        block(ops::set_handoff_status(self.c(), handoff_id, label))
    }

    /// Blocking form of `docs`.
    pub fn docs_blocking(&self, venture: String) -> Result<Vec<Doc>, CraneError> {
        block_exchange(ops::docs(self.c(), venture))
    }

    /// Blocking form of `doc`.
    pub fn doc_blocking(&self, scope: String, doc_name: String) -> Result<Doc, CraneError> {
        block_exchange(ops::doc(self.c(), scope, doc_name))
    }

    /// Blocking form of `doc_audits`.
    #[uniffi::method(default(venture = None))]
    pub fn doc_audits_blocking(
        &self,
        venture: Option<String>,
    ) -> Result<Vec<DocAudit>, CraneError> {
        block_exchange(ops::doc_audits(self.c(), venture))
    }

    /// Blocking form of `memory_gate`.
    pub fn memory_gate_blocking(&self) -> Result<MemoryGate, CraneError> {
        block(ops::memory_gate(self.c()))
    }

    /// Blocking form of `active`.
    pub fn active_blocking(&self, filter: ActiveFilter) -> Result<ActiveSessions, CraneError> {
        block(ops::active(self.c(), filter))
    }

    /// A pager over every page of a date window's handoffs (v2), with the
    /// same loop guard as `handoff_pager`. The window and page size are
    /// checked here (an unparsable bound, `created_before` alone, a page size
    /// outside 1–100: `InvalidInput`); no request until `next_page`.
    #[uniffi::method(default(limit = None))]
    pub fn handoff_window_pager(
        &self,
        filter: Option<HandoffFilter>,
        window: HandoffWindow,
        limit: Option<u32>,
    ) -> Result<Arc<HandoffPager>, CraneError> {
        let q = window_query(filter, window, limit, None)?;
        q.validate()?;
        Ok(HandoffPager::new(self.c(), q))
    }

    /// Blocking form of `handoffs_in_window`.
    #[uniffi::method(default(limit = None, cursor = None))]
    pub fn handoffs_in_window_blocking(
        &self,
        filter: Option<HandoffFilter>,
        window: HandoffWindow,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<HandoffPage, CraneError> {
        block(ops::handoffs_in_window(
            self.c(),
            filter,
            window,
            limit,
            cursor,
        ))
    }
}
