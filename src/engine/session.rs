//! A live session: heartbeats by itself, updates and ends through the queue.
//!
//! The handle owns the session's heartbeat task; dropping the handle or
//! calling [`SessionHandle::stop`] stops the beats (the server-side session
//! stays active until it is ended or goes stale). Ending through the handle
//! stops them too, whether the handoff was delivered or queued.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::deliver::{end_item, submit, update_item, Delivered, EndOutcome, UpdateOutcome};
use super::events::Event;
use super::heartbeat::{self, Schedule};
use super::Inner;
use crate::idempotency::IdempotencyKey;
use crate::model::{
    EndSession, HeartbeatResponse, Session, SessionTuple, StartSessionResponse, Update,
};
use crate::Error;

/// A started or resumed session that keeps itself alive.
pub struct SessionHandle {
    inner: Arc<Inner>,
    origin: Origin,
    schedule: watch::Sender<Schedule>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// The session record, kept once and on the heap: inside the `/sod` answer
/// when this handle started the session, alone when it was attached. A
/// process may hold thousands of handles, so a handle stays small.
enum Origin {
    Started(Box<StartSessionResponse>),
    Attached(Box<Session>),
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle")
            .field("session_id", &self.session().id)
            .field("next_heartbeat_at", &self.schedule.borrow().server_next)
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
        let origin = match start {
            Some(resp) => Origin::Started(Box::new(resp)),
            None => Origin::Attached(Box::new(session)),
        };
        let schedule = watch::Sender::new(first);
        let task = auto_heartbeat.then(|| {
            tokio::spawn(heartbeat::run(
                Arc::clone(&inner),
                match &origin {
                    Origin::Started(r) => r.session.id.clone(),
                    Origin::Attached(s) => s.id.clone(),
                },
                schedule.clone(),
            ))
        });
        Self {
            inner,
            origin,
            schedule,
            task: Mutex::new(task),
        }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session().id
    }

    /// The session record as of start (or as cached when attached).
    pub fn session(&self) -> &Session {
        match &self.origin {
            Origin::Started(r) => &r.session,
            Origin::Attached(s) => s,
        }
    }

    /// The full `/sod` answer (docs, status), when this handle started the session.
    pub fn start_response(&self) -> Option<&StartSessionResponse> {
        match &self.origin {
            Origin::Started(r) => Some(r),
            Origin::Attached(_) => None,
        }
    }

    /// When the next heartbeat is due, per the server.
    pub fn next_heartbeat_at(&self) -> Timestamp {
        self.schedule.borrow().server_next
    }

    /// Whether the heartbeat task is running.
    pub fn is_beating(&self) -> bool {
        self.task
            .lock()
            .map(|t| t.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false)
    }

    fn tuple(&self) -> SessionTuple {
        self.session().tuple()
    }

    /// Records progress. Offline, the update is queued (ahead of this
    /// session's end) and `Queued` is returned.
    pub async fn update(&self, mut req: Update) -> Result<UpdateOutcome, Error> {
        if req.session_id.is_empty() {
            req.session_id = self.session().id.clone();
        }
        self.check_session(&req.session_id)?;
        let outcome = update_through_queue(&self.inner, req, self.tuple()).await?;
        if let UpdateOutcome::Applied(r) = &outcome {
            self.schedule.send_replace(Schedule::from_server(
                &self.inner,
                r.updated_at,
                r.next_heartbeat_at,
            ));
        }
        Ok(outcome)
    }

    /// Sends a heartbeat now and reschedules from the answer.
    pub async fn heartbeat_now(&self) -> Result<HeartbeatResponse, Error> {
        let r = self.inner.client.heartbeat(&self.session().id).await?;
        self.schedule.send_replace(Schedule::from_server(
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
        let outcome = end_through_queue(&self.inner, req, self.tuple()).await;
        if outcome.is_ok() {
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
        self.end(EndSession::new(&self.session().id, summary, payload)?)
            .await
    }

    /// Stops the heartbeats (the session stays active on the server).
    pub fn stop(&self) {
        if let Ok(mut t) = self.task.lock() {
            if let Some(h) = t.take() {
                h.abort();
            }
        }
    }

    fn check_session(&self, id: &str) -> Result<(), Error> {
        if id != self.session().id {
            return Err(Error::invalid_input(
                "session_id",
                format!("{id} is not this handle's session {}", self.session().id),
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

/// Ends a session through the persist-first path.
pub(crate) async fn end_through_queue(
    inner: &Arc<Inner>,
    mut req: EndSession,
    tuple: SessionTuple,
) -> Result<EndOutcome, Error> {
    req.validate()?;
    let key = req
        .idempotency_key
        .get_or_insert_with(IdempotencyKey::generate)
        .clone();
    let item = end_item(&req, &key, tuple)?;
    match submit(inner, item).await? {
        Ok(Delivered::End(r)) => Ok(EndOutcome::Delivered(r)),
        Ok(Delivered::Update(_)) => Err(Error::Store {
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

/// Updates a session through the persist-first path.
pub(crate) async fn update_through_queue(
    inner: &Arc<Inner>,
    mut req: Update,
    tuple: SessionTuple,
) -> Result<UpdateOutcome, Error> {
    req.validate()?;
    let key = req
        .idempotency_key
        .get_or_insert_with(IdempotencyKey::generate)
        .clone();
    let item = update_item(&req, &key, tuple)?;
    match submit(inner, item).await? {
        Ok(Delivered::Update(r)) => Ok(UpdateOutcome::Applied(r)),
        Ok(Delivered::End(_)) => Err(Error::Store {
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
