//! Checkpoints: the one v2 write the server neither deduplicates nor lets a
//! client deduplicate (no key, no upsert field), so it is never resent blindly.
//!
//! Before sending, the newest checkpoint number of the session is read (the
//! baseline). An attempt that fails is then handled by what is known about it:
//!
//! - no connection was made → nothing reached the server: resent;
//! - the server answered (5xx, 429, 408, or an unreadable 2xx) → the attempt
//!   is over; `/checkpoints` is read: a checkpoint newer than the baseline
//!   with exactly our content is ours (returned as the answer); none → the
//!   attempt stored nothing: resent;
//! - the connection broke or timed out after sending → the attempt may still
//!   be running on the server, and a resend could overlap it (the contract's
//!   "never retry while the previous attempt may be in flight"): it is looked
//!   for once; found → returned; not found → the error is returned, saying
//!   that it was not resent and how to check, never a guess.
//!
//! An identical checkpoint written by someone else between the baseline
//! read and ours would be taken for ours; identical content in the same
//! session within the same second is the only way to be wrong, and then a
//! checkpoint with our content does exist.

use reqwest::Method;

use crate::model::v2::{
    Checkpoint, CheckpointCreated, CheckpointList, CheckpointsQuery, NewCheckpoint,
};
use crate::retry::{self, Step};
use crate::transport::{decode, Outcome};
use crate::Client;
use crate::Error;

use super::super::{to_body, unexpected_replay};

/// How many of the session's newest checkpoints a confirmation reads.
const CONFIRM_WINDOW: u32 = 100;

impl Client {
    /// `GET /checkpoints`: a session's or a venture's checkpoints, newest first.
    pub async fn checkpoints(&self, q: &CheckpointsQuery) -> Result<CheckpointList, Error> {
        q.validate()?;
        self.read("/checkpoints", &q.pairs()).await
    }

    /// `POST /checkpoint`: records progress on a live session (and refreshes
    /// its heartbeat). Never stores it twice: see the module documentation
    /// for when a failed attempt is resent, confirmed by a read, or reported.
    pub async fn checkpoint(&self, req: &NewCheckpoint) -> Result<CheckpointCreated, Error> {
        req.validate()?;
        let body = to_body(req)?;
        let baseline = self.newest_checkpoint_number(&req.session_id).await?;
        let policy = self.config.retry.clone();
        let connectivity = &self.transport.connectivity;
        retry::run(
            &policy,
            || !connectivity.is_online(),
            || Error::Timeout {
                message: format!(
                    "no answer from /checkpoint within the call's deadline of {} s; \
                     `GET /checkpoints?session_id={}` shows whether it was stored",
                    policy.deadline.as_secs_f64(),
                    req.session_id
                ),
            },
            |_| {
                let body = body.clone();
                async move {
                    let (outcome, reached) = self
                        .transport
                        .send_tracked(Method::POST, "/checkpoint", Some(body))
                        .await;
                    match outcome {
                        Outcome::Success(r) => match decode::<CheckpointCreated>(&r) {
                            Ok(created) => Step::Done(Ok(created)),
                            // Stored (2xx) but unreadable: read it back.
                            Err(unreadable) => match self.find_ours(req, baseline).await {
                                Ok(Some(c)) => Step::Done(Ok(CheckpointCreated::from(&c))),
                                Ok(None) | Err(_) => Step::Done(Err(unreadable)),
                            },
                        },
                        Outcome::Permanent(e) => Step::Done(Err(e)),
                        Outcome::TruncatedReplay => {
                            Step::Done(Err(unexpected_replay("/checkpoint")))
                        }
                        Outcome::Transient { error } if !reached => {
                            let retry_after = error.retry_after();
                            Step::Retry { error, retry_after }
                        }
                        Outcome::Transient { error } => {
                            let answered =
                                matches!(error, Error::Server { .. } | Error::RateLimited { .. });
                            match self.find_ours(req, baseline).await {
                                Ok(Some(c)) => Step::Done(Ok(CheckpointCreated::from(&c))),
                                Ok(None) if answered => {
                                    let retry_after = error.retry_after();
                                    Step::Retry { error, retry_after }
                                }
                                Ok(None) => Step::Done(Err(not_resent(error, req, None))),
                                Err(read) => Step::Done(Err(not_resent(error, req, Some(read)))),
                            }
                        }
                    }
                }
            },
        )
        .await
    }

    /// Our checkpoint among the session's newest ones: newer than
    /// `baseline`, with exactly the request's content. The engine's queue
    /// uses it with a baseline recorded before the first send.
    pub(crate) async fn find_ours(
        &self,
        req: &NewCheckpoint,
        baseline: u32,
    ) -> Result<Option<Checkpoint>, Error> {
        let list = self
            .checkpoints(&CheckpointsQuery::session(&req.session_id).limit(CONFIRM_WINDOW))
            .await?;
        // Oldest first, so the first match is the one our first attempt stored.
        Ok(list
            .checkpoints
            .into_iter()
            .rev()
            .find(|c| c.checkpoint_number > baseline && req.same_content(c)))
    }
}

impl Client {
    /// The number of the session's newest checkpoint (0 when it has none):
    /// the baseline a confirmation compares with.
    pub(crate) async fn newest_checkpoint_number(&self, session_id: &str) -> Result<u32, Error> {
        Ok(self
            .checkpoints(&CheckpointsQuery::session(session_id).limit(1))
            .await?
            .checkpoints
            .first()
            .map_or(0, |c| c.checkpoint_number))
    }
}

/// The error of an attempt that may have been stored and was not resent.
fn not_resent(error: Error, req: &NewCheckpoint, read: Option<Error>) -> Error {
    let checked = match read {
        None => "it is not stored yet, but the attempt may still be running on the server".into(),
        Some(e) => format!("reading /checkpoints to confirm failed too ({e})"),
    };
    let message = format!(
        "{error}; the checkpoint was not resent because it may have been stored ({checked}); \
         `GET /checkpoints?session_id={}` shows whether it was",
        req.session_id
    );
    match error {
        Error::Timeout { .. } => Error::Timeout { message },
        _ => Error::Network { message },
    }
}
