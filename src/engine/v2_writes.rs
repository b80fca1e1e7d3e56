//! Notes and checkpoints through the queue: the two v2 writes that are
//! queued offline, each only because its delivery is safe to repeat.
//!
//! - **Notes** (`POST /notes`) are queued with their effective `source_hash`
//!   (the caller's, else derived from the content), so the server upserts
//!   on it: a resend after a crash or a lost answer updates the same note,
//!   never adds one. A note belongs to no session, so each note is its own
//!   lane ([`ItemKind::note_lane`]): it waits behind nothing, and a session's
//!   end (or a stuck note) never holds it back.
//! - **Checkpoints** (`POST /checkpoint`) have no key and no upsert field,
//!   so a queued one is never resent blindly. Before its first send the
//!   session's newest checkpoint number is recorded durably (the baseline,
//!   `store/baseline.rs`); every attempt after that first reads
//!   `/checkpoints` and settles the item as delivered when a checkpoint
//!   newer than the baseline has exactly its content, and only otherwise
//!   sends it (through [`Client::checkpoint`], which confirms again by
//!   reading before any resend of its own). A crash between send and settle
//!   is thus settled by the read on the next attempt. A checkpoint is
//!   queued in its session's lane, so it is delivered after the session's
//!   earlier updates and before its end; one whose session ended or was
//!   abandoned meanwhile is refused by the server and dead-lettered with
//!   that reason (its text is the user's and is kept, never dropped).

use std::sync::Arc;

use super::deliver::{submit, Delivered, Delivery};
use super::{Crane, Inner};
use crate::idempotency::IdempotencyKey;
use crate::model::v2::{CheckpointCreated, NewCheckpoint, NewNote, Note};
use crate::store::{ItemKind, NewItem, QueueItem, SessionTuple};
use crate::{Client, Error};

/// Result of creating a note through the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum NoteOutcome {
    /// The server stored it (or, for an identical note, returned the
    /// existing one).
    Stored(Box<Note>),
    /// The server could not be reached (or failed transiently); the note is
    /// safe in the local queue and will be delivered automatically, once.
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

/// Result of recording a checkpoint through the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckpointOutcome {
    /// The server stored it.
    Stored(CheckpointCreated),
    /// Queued for later delivery (after the session's earlier items, before
    /// its end); confirmed by a read before any resend.
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

impl Crane {
    /// `POST /notes` through the queue: persisted first (with its effective
    /// `source_hash`), then sent; offline or on a transient failure it stays
    /// queued and is delivered by the drain.
    pub async fn create_note(&self, req: NewNote) -> Result<NoteOutcome, Error> {
        req.validate()?;
        let sent = req.with_effective_source_hash()?;
        let key = IdempotencyKey::generate();
        let item = NewItem {
            kind: ItemKind::Note,
            session_id: ItemKind::note_lane(key.as_str()),
            tuple: SessionTuple::unknown(),
            idempotency_key: key.as_str().to_owned(),
            body_json: serde_json::to_string(&sent)
                .map_err(|e| Error::invalid_input("body", e.to_string()))?,
            payload_hash: None,
        };
        match submit(self.inner(), item).await? {
            Ok(Delivered::Note(n)) => Ok(NoteOutcome::Stored(n)),
            Ok(_) => Err(Error::Store {
                message: "queue returned another kind's result for a note".into(),
            }),
            Err(local_id) => Ok(NoteOutcome::Queued { local_id }),
        }
    }

    /// `POST /checkpoint` through the queue, in the session's lane (after
    /// its earlier queued items, before its end). Refused when the session's
    /// end is already queued: the server would refuse a checkpoint after it.
    pub async fn checkpoint(&self, req: NewCheckpoint) -> Result<CheckpointOutcome, Error> {
        req.validate()?;
        let sid = req.session_id.clone();
        let queued_end = self
            .inner()
            .store(move |s| {
                Ok(s.pending_for_session(&sid)?
                    .into_iter()
                    .find(|i| i.kind == ItemKind::End)
                    .map(|i| i.local_id))
            })
            .await?;
        if let Some(end) = queued_end {
            return Err(Error::invalid_input(
                "session_id",
                format!(
                    "the end of session {} is already queued (item {end}); a checkpoint after \
                     it would be refused by the server, so it was not queued",
                    req.session_id
                ),
            ));
        }
        let tuple = self.cached_tuple(&req.session_id).await?;
        let key = IdempotencyKey::generate();
        let item = NewItem {
            kind: ItemKind::Checkpoint,
            session_id: req.session_id.clone(),
            tuple,
            idempotency_key: key.as_str().to_owned(),
            body_json: serde_json::to_string(&req)
                .map_err(|e| Error::invalid_input("body", e.to_string()))?,
            payload_hash: None,
        };
        match submit(self.inner(), item).await? {
            Ok(Delivered::Checkpoint(c)) => Ok(CheckpointOutcome::Stored(c)),
            Ok(_) => Err(Error::Store {
                message: "queue returned another kind's result for a checkpoint".into(),
            }),
            Err(local_id) => Ok(CheckpointOutcome::Queued { local_id }),
        }
    }
}

fn corrupt(item: &QueueItem, e: impl std::fmt::Display) -> Error {
    Error::Store {
        message: format!("queue item {} has an unreadable body: {e}", item.local_id),
    }
}

/// How a failed call of a queued note or checkpoint is settled.
fn failed(e: Error) -> Delivery {
    if e.is_transient() {
        Delivery::Transient(e)
    } else {
        Delivery::Permanent(e)
    }
}

/// Sends a queued note exactly as stored (its `source_hash` included).
pub(crate) async fn deliver_note(client: &Client, item: &QueueItem) -> Delivery {
    let req: NewNote = match serde_json::from_str(&item.body_json) {
        Ok(r) => r,
        Err(e) => return Delivery::Permanent(corrupt(item, e)),
    };
    if req.source_hash.is_none() {
        // Never send a queued create the server would not deduplicate.
        return Delivery::Permanent(corrupt(item, "the note has no source_hash"));
    }
    match client.create_note(&req).await {
        Ok(n) => Delivery::Done(Delivered::Note(Box::new(n))),
        Err(e) => failed(e),
    }
}

/// Delivers a queued checkpoint: confirm by reading, else send (see the
/// module documentation).
pub(crate) async fn deliver_checkpoint(
    inner: &Arc<Inner>,
    client: &Client,
    item: &QueueItem,
) -> Delivery {
    let req: NewCheckpoint = match serde_json::from_str(&item.body_json) {
        Ok(r) => r,
        Err(e) => return Delivery::Permanent(corrupt(item, e)),
    };
    let id = item.local_id.clone();
    let baseline = match inner.store(move |s| s.checkpoint_baseline(&id)).await {
        Ok(b) => b,
        Err(e) => return Delivery::Transient(e),
    };
    match baseline {
        // An earlier attempt may have stored it: the read decides.
        Some(after) => match client.find_ours(&req, after).await {
            Ok(Some(c)) => {
                return Delivery::Done(Delivered::Checkpoint(CheckpointCreated::from(&c)))
            }
            Ok(None) => {}
            Err(e) => return failed(e),
        },
        // First send: record the baseline durably before sending.
        None => {
            let after = match client.newest_checkpoint_number(&req.session_id).await {
                Ok(n) => n,
                Err(e) => return failed(e),
            };
            let (id, holder) = (item.local_id.clone(), inner.holder.clone());
            match inner
                .store(move |s| s.set_checkpoint_baseline(&id, &holder, after))
                .await
            {
                Ok(true) => {}
                // Not ours any more (taken over): the holder settles it.
                Ok(false) => {
                    return Delivery::Transient(Error::Store {
                        message: format!("queue item {} is no longer leased here", item.local_id),
                    })
                }
                Err(e) => return Delivery::Transient(e),
            }
        }
    }
    match client.checkpoint(&req).await {
        Ok(c) => Delivery::Done(Delivered::Checkpoint(c)),
        Err(e) => failed(e),
    }
}
