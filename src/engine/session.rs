//! A live session: heartbeats by itself, updates and ends through the queue.
//!
//! The handle owns the session's place in the engine's heartbeat scheduler;
//! dropping the handle or calling [`SessionHandle::stop`] stops the beats (the server-side session
//! stays active until it is ended or goes stale). Ending through the handle
//! stops them too, whether the handoff was delivered or queued.

use std::sync::Arc;

use jiff::Timestamp;

use super::beat_scheduler::Heartbeats;
use super::deliver::{
    end_item, send_persisted, submit, submit_filling_tuple, update_item, Delivered, EndOutcome,
    Persist, Persisted, UpdateOutcome,
};
use super::events::Event;
use super::heartbeat::{self, Beat, Schedule};
use super::start_blocks::VentureBlocks;
use super::Inner;
use crate::client::response_from;
use crate::confirm::{confirm, conflict, Confirmation};
use crate::idempotency::IdempotencyKey;
use crate::model::{
    EndSession, Handoff, HeartbeatResponse, Session, SessionTuple, SodStatus, StartSessionResponse,
    Update,
};
use crate::store::EnqueueChecks;
use crate::Error;

/// A started or resumed session that keeps itself alive.
///
/// A process may hold thousands of handles, so a handle keeps only what it
/// needs: the session record, the small part of the `/sod` answer, and the
/// schedule it shares with the engine's one heartbeat scheduler — no task or
/// timer of its own (`BENCHMARKS.md`, item 5, has the memory per session).
pub struct SessionHandle {
    inner: Arc<Inner>,
    session: Box<Session>,
    start: Option<StartInfo>,
    beat: Arc<Beat>,
}

/// What the handle keeps of the `/sod` answer when it started the session.
/// The large, usually absent parts get an allocation only when the server
/// sent them: the last handoff and other sessions (this session's own) in a
/// box, the venture-wide blocks (docs, doc audit, notes: the same for every
/// session of the venture) in a copy shared with the venture's other
/// handles (see `start_blocks.rs`).
struct StartInfo {
    status: SodStatus,
    next_heartbeat_at: Timestamp,
    heartbeat_interval_seconds: u32,
    correlation_id: Option<String>,
    own: Option<Box<OwnExtras>>,
    venture: Option<Arc<VentureBlocks>>,
}

struct OwnExtras {
    last_handoff: Option<Handoff>,
    active_sessions: Option<Vec<Session>>,
}

impl StartInfo {
    /// Splits an answer into the session record and the rest.
    fn split(inner: &Inner, mut resp: StartSessionResponse) -> (Session, Self) {
        let venture = VentureBlocks::take(&mut resp)
            .map(|blocks| inner.start_blocks.share(&resp.session.venture, blocks));
        let own = (resp.last_handoff.is_some() || resp.active_sessions.is_some()).then(|| {
            Box::new(OwnExtras {
                last_handoff: resp.last_handoff,
                active_sessions: resp.active_sessions,
            })
        });
        let info = Self {
            status: resp.status,
            next_heartbeat_at: resp.next_heartbeat_at,
            heartbeat_interval_seconds: resp.heartbeat_interval_seconds,
            correlation_id: resp.correlation_id,
            own,
            venture,
        };
        (resp.session, info)
    }

    /// The answer again, rebuilt around the session record.
    fn rebuild(&self, session: &Session) -> StartSessionResponse {
        let own = self.own.as_deref();
        let venture = self.venture.as_deref();
        StartSessionResponse {
            session_id: session.id.clone(),
            status: self.status,
            session: session.clone(),
            next_heartbeat_at: self.next_heartbeat_at,
            heartbeat_interval_seconds: self.heartbeat_interval_seconds,
            correlation_id: self.correlation_id.clone(),
            documentation: venture.and_then(|v| v.documentation.clone()),
            last_handoff: own.and_then(|e| e.last_handoff.clone()),
            active_sessions: own.and_then(|e| e.active_sessions.clone()),
            doc_index: venture.and_then(|v| v.doc_index.clone()),
            doc_audit: venture.and_then(|v| v.doc_audit.clone()),
            enterprise_context: venture.and_then(|v| v.enterprise_context.clone()),
            knowledge_base: venture.and_then(|v| v.knowledge_base.clone()),
        }
    }
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle")
            .field("session_id", &self.session.id)
            .field("next_heartbeat_at", &self.beat.schedule().server_next)
            .finish()
    }
}

impl SessionHandle {
    pub(crate) fn new(
        inner: Arc<Inner>,
        session: Session,
        start: Option<StartSessionResponse>,
        first: Schedule,
        auto_heartbeat: bool,
    ) -> Self {
        // `session` is the answer's own record when there is an answer.
        let (session, start) = match start {
            Some(resp) => {
                let (session, info) = StartInfo::split(&inner, resp);
                (session, Some(info))
            }
            None => (session, None),
        };
        let beat = Beat::new(&session.id, first, auto_heartbeat);
        Heartbeats::register(&inner, &beat);
        Self {
            inner,
            session: Box::new(session),
            start,
            beat,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    /// The session record as of start (or as cached when attached).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The `/sod` answer (status, docs, last handoff…), when this handle
    /// started the session: a copy rebuilt from what the handle keeps.
    pub fn start_response(&self) -> Option<StartSessionResponse> {
        self.start.as_ref().map(|s| s.rebuild(&self.session))
    }

    /// Whether `/sod` created the session or resumed an active one (`None`
    /// when the handle was attached to a known session instead).
    pub fn start_status(&self) -> Option<SodStatus> {
        self.start.as_ref().map(|s| s.status)
    }

    /// When the next heartbeat is due, per the server.
    pub fn next_heartbeat_at(&self) -> Timestamp {
        self.beat.schedule().server_next
    }

    /// Whether automatic heartbeats are on: false once stopped, after the
    /// session was found ended elsewhere, or when started without them.
    pub fn is_beating(&self) -> bool {
        self.beat.is_beating()
    }

    /// Adopts a fresh server schedule and queues the next beat by it.
    fn reschedule(&self, schedule: Schedule) {
        if let Some(due) = self.beat.reschedule(schedule) {
            self.inner.heartbeats.push(&self.beat, due);
        }
    }

    fn tuple(&self) -> SessionTuple {
        self.session().tuple()
    }

    /// Records progress. Offline, the update is queued (ahead of this
    /// session's end) and `Queued` is returned.
    pub async fn update(&self, mut req: Update) -> Result<UpdateOutcome, Error> {
        if req.session_id.is_empty() {
            req.session_id = self.session.id.clone();
        }
        self.check_session(&req.session_id)?;
        let outcome = update_through_queue(&self.inner, req, Some(self.tuple())).await?;
        if let UpdateOutcome::Applied(r) = &outcome {
            self.reschedule(Schedule::from_server(
                &self.inner,
                r.updated_at,
                r.next_heartbeat_at,
            ));
        }
        Ok(outcome)
    }

    /// Sends a heartbeat now and reschedules from the answer (in memory and
    /// in the cache; a session found gone is forgotten and its beats stop).
    pub async fn heartbeat_now(&self) -> Result<HeartbeatResponse, Error> {
        let r = match heartbeat_and_record(&self.inner, &self.session.id).await {
            Ok(r) => r,
            Err(e) => {
                if heartbeat::is_lost(&e) {
                    self.stop();
                }
                return Err(e);
            }
        };
        self.reschedule(Schedule::from_server(
            &self.inner,
            r.last_heartbeat_at,
            r.next_heartbeat_at,
        ));
        Ok(r)
    }

    /// Ends the session with a handoff: `Delivered` with the stored handoff,
    /// or `Queued` when the server cannot be reached (delivered later,
    /// automatically, exactly once). Heartbeats stop either way.
    pub async fn end(&self, req: EndSession) -> Result<EndOutcome, Error> {
        self.check_session(&req.session_id)?;
        let keeps_open = req.keeps_session_open();
        let outcome = end_through_queue(&self.inner, req, Some(self.tuple())).await;
        // A handoff that keeps the session open leaves it beating.
        if outcome.is_ok() && !keeps_open {
            self.stop();
        }
        outcome
    }

    /// Convenience: end with a summary and a JSON object payload.
    pub async fn end_with(
        &self,
        summary: &str,
        payload: &serde_json::Value,
    ) -> Result<EndOutcome, Error> {
        self.end(EndSession::new(&self.session.id, summary, payload)?)
            .await
    }

    /// Stops the heartbeats (the session stays active on the server). A
    /// beat already in flight still completes.
    pub fn stop(&self) {
        self.beat.stop();
    }

    fn check_session(&self, id: &str) -> Result<(), Error> {
        if id != self.session.id {
            return Err(Error::invalid_input(
                "session_id",
                format!("{id} is not this handle's session {}", self.session.id),
            ));
        }
        Ok(())
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ends a session through the persist-first path. `tuple`: the session's,
/// when the caller knows it; `None` looks it up in the cache.
pub(crate) async fn end_through_queue(
    inner: &Arc<Inner>,
    mut req: EndSession,
    tuple: Option<SessionTuple>,
) -> Result<EndOutcome, Error> {
    req.validate()?;
    if req.keeps_session_open() {
        // v2 stores every such handoff and leaves the session active, so a
        // resend after the server's key expired would store it twice and no
        // 409 would tell: it is sent now (retried under one key) or fails,
        // never queued.
        return inner
            .client
            .end_session(&req)
            .await
            .map(|r| EndOutcome::Delivered(Box::new(r)));
    }
    let key = req
        .idempotency_key
        .get_or_insert_with(IdempotencyKey::generate)
        .clone();
    // The local checks (the cache, the tuple) and the durable enqueue in one
    // trip to the store (each trip is a thread hop the caller waits for),
    // and in one transaction: the checks run inside the enqueue's, so the
    // writes recorded for later (`store/later.rs`) land in its one commit
    // instead of a commit of their own before the checks could read.
    let persist = Persist::new(inner);
    let queued_key = key.clone();
    let (req, step) = inner
        .store(move |s| {
            let checks = EnqueueChecks {
                fill_tuple: tuple.is_none(),
                cached_handoff: true,
            };
            // Without a known tuple, the checks fill in the cached one.
            let placeholder = tuple.clone().unwrap_or_else(SessionTuple::unknown);
            let item = match end_item(&req, &queued_key, placeholder) {
                Ok(item) => item,
                // Not queueable; the cache may still know the session
                // ended (the checks come first, as they always did).
                Err(e) => {
                    let sid = &req.session_id;
                    let step = match s.cached_handoff_of_session(sid)? {
                        Some(json) => {
                            let tuple = match tuple {
                                Some(t) => t,
                                None => super::api::tuple_or_unknown(s.current_session_by_id(sid)?),
                            };
                            EndStep::Cached { tuple, json }
                        }
                        None => EndStep::Invalid(e),
                    };
                    return Ok((req, step));
                }
            };
            let step = match persist.run_checked(s, item, checks)? {
                Ok(p) => EndStep::Persisted(Box::new(p)),
                Err((tuple, json)) => EndStep::Cached { tuple, json },
            };
            Ok((req, step))
        })
        .await?;
    let persisted = match step {
        EndStep::Persisted(p) => *p,
        EndStep::Invalid(e) => return Err(e),
        EndStep::Cached { tuple, json } => {
            if let Some(known) = known_ended(&req, &json)? {
                return known;
            }
            // The cache proved nothing: queued and sent as usual.
            let item = end_item(&req, &key, tuple)?;
            let persist = Persist::new(inner);
            inner.store(move |s| persist.run(s, item)).await?
        }
    };
    match send_persisted(inner, persisted).await? {
        // Re-homed, the response names the new session the handoff ended.
        Ok(Delivered::End(r) | Delivered::Rehomed { response: r, .. }) => {
            Ok(EndOutcome::Delivered(r))
        }
        Ok(_) => Err(Error::Store {
            message: "queue returned an update result for an end".into(),
        }),
        Err(local_id) => {
            inner.emit(Event::HandoffQueued {
                session_id: req.session_id.clone(),
                local_id: local_id.clone(),
            });
            Ok(EndOutcome::Queued { local_id })
        }
    }
}

/// What the store trip of [`end_through_queue`] found or did.
enum EndStep {
    /// The cache holds a handoff of the session: nothing was queued.
    Cached { tuple: SessionTuple, json: String },
    /// The request cannot be queued (its canonical body is too large).
    Invalid(Error),
    /// Queued durably.
    Persisted(Box<Persisted>),
}

/// When the local cache already holds a handoff of the request's session
/// (`cached`, so the server ended it), decides without storing or sending
/// anything: the same handoff again is delivered (the cached record is the
/// server's own answer); another one is a conflict naming the stored handoff,
/// since the server would refuse it. `None` when the cache proves nothing.
fn known_ended(req: &EndSession, cached: &str) -> Result<Option<Result<EndOutcome, Error>>, Error> {
    // An unreadable cache entry proves nothing: the server decides.
    let Ok(handoff) = serde_json::from_str::<Handoff>(cached) else {
        return Ok(None);
    };
    Ok(Some(match confirm(req, Some(handoff))? {
        Confirmation::Ours(h) => Ok(EndOutcome::Delivered(Box::new(response_from(h)))),
        Confirmation::Other(h, diffs) => Err(conflict(
            req,
            Some(&h),
            &diffs,
            "this session already ended with another handoff (known from the local \
             cache; nothing was queued or sent)",
        )),
        Confirmation::NoneStored => return Ok(None),
    }))
}

/// Sends a heartbeat for any session and records what the answer says in the
/// cache: the next scheduled time, or that the session is gone.
pub(crate) async fn heartbeat_and_record(
    inner: &Arc<Inner>,
    session_id: &str,
) -> Result<HeartbeatResponse, Error> {
    match inner.client.heartbeat(session_id).await {
        Ok(r) => {
            let (next, interval) = (r.next_heartbeat_at, r.heartbeat_interval_seconds);
            heartbeat::record_schedule(inner, session_id, next, interval);
            Ok(r)
        }
        Err(e) => {
            if heartbeat::is_lost(&e) {
                heartbeat::forget_lost(inner, session_id).await;
            }
            Err(e)
        }
    }
}

/// Updates a session through the persist-first path. `tuple`: the
/// session's, when the caller knows it; `None` takes it from the cache in
/// the enqueue's own store trip and transaction.
pub(crate) async fn update_through_queue(
    inner: &Arc<Inner>,
    mut req: Update,
    tuple: Option<SessionTuple>,
) -> Result<UpdateOutcome, Error> {
    req.validate()?;
    let key = req
        .idempotency_key
        .get_or_insert_with(IdempotencyKey::generate)
        .clone();
    let submitted = match tuple {
        Some(tuple) => submit(inner, update_item(&req, &key, tuple)?).await?,
        None => {
            let item = update_item(&req, &key, SessionTuple::unknown())?;
            submit_filling_tuple(inner, item).await?
        }
    };
    match submitted {
        Ok(Delivered::Update(r)) => {
            let (next, interval) = (r.next_heartbeat_at, r.heartbeat_interval_seconds);
            heartbeat::record_schedule(inner, &r.session_id, next, interval);
            Ok(UpdateOutcome::Applied(r))
        }
        Ok(_) => Err(Error::Store {
            message: "queue returned an end result for an update".into(),
        }),
        Err(local_id) => {
            inner.emit(Event::UpdateQueued {
                session_id: req.session_id.clone(),
                local_id: local_id.clone(),
            });
            Ok(UpdateOutcome::Queued { local_id })
        }
    }
}
