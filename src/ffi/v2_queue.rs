//! `CraneClient`'s queued forms of the two v2 writes that are safe to queue
//! offline: `checkpoint_or_queue` and `create_note_or_queue` (the engine's
//! [`crate::engine::Crane::checkpoint`] and
//! [`crate::engine::Crane::create_note`]).
//!
//! Kept beside, not instead of, `checkpoint` and `create_note` (which fail
//! when the server cannot be reached), so the hand-written Python and Swift
//! layers keep their calls. The queued forms persist the write first and
//! say whether it was stored now or queued; a queued item is delivered by
//! the engine's drain exactly once (see `engine/v2_writes.rs`) and reported
//! through `CraneEvent::NoteDelivered` / `CheckpointDelivered`.

use crate::engine::{self, Crane};
use crate::Error;

use super::client::CraneClient;
use super::runtime::{block, run};
use super::v2::{CheckpointCreated, CheckpointRequest, Note, NoteRequest};
use super::CraneError;

/// Result of `checkpoint_or_queue`.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CheckpointOutcome {
    /// The server stored it.
    Stored {
        /// The stored checkpoint.
        checkpoint: CheckpointCreated,
    },
    /// Queued; delivered later, before the session's end, never twice.
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

/// Result of `create_note_or_queue`.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum NoteOutcome {
    /// The server stored it (or returned the identical existing note).
    Stored {
        /// The note.
        note: Note,
    },
    /// Queued; delivered later, once (a resend is an upsert).
    Queued {
        /// Queue item id.
        local_id: String,
    },
}

async fn checkpoint(
    c: Crane,
    session_id: String,
    r: CheckpointRequest,
) -> Result<CheckpointOutcome, Error> {
    Ok(match c.checkpoint(r.into_model(session_id)).await? {
        engine::CheckpointOutcome::Stored(cp) => CheckpointOutcome::Stored {
            checkpoint: cp.into(),
        },
        engine::CheckpointOutcome::Queued { local_id } => CheckpointOutcome::Queued { local_id },
    })
}

async fn create_note(c: Crane, r: NoteRequest) -> Result<NoteOutcome, Error> {
    Ok(match c.create_note(r.into()).await? {
        engine::NoteOutcome::Stored(n) => NoteOutcome::Stored { note: (*n).into() },
        engine::NoteOutcome::Queued { local_id } => NoteOutcome::Queued { local_id },
    })
}

#[uniffi::export(async_runtime = "tokio")]
impl CraneClient {
    /// `POST /checkpoint` (v2) through the offline queue: persisted first,
    /// sent now if it can be, else queued in the session's lane (after its
    /// earlier updates, before its end). Every resend is preceded by a read
    /// of the session's checkpoints, so it is never stored twice.
    pub async fn checkpoint_or_queue(
        &self,
        session_id: String,
        request: CheckpointRequest,
    ) -> Result<CheckpointOutcome, CraneError> {
        run(checkpoint(self.c(), session_id, request)).await
    }

    /// `POST /notes` (v2) through the offline queue: persisted first with
    /// its `source_hash`, sent now if it can be, else queued and delivered
    /// later (a resend is an upsert: never a second note).
    pub async fn create_note_or_queue(
        &self,
        request: NoteRequest,
    ) -> Result<NoteOutcome, CraneError> {
        run(create_note(self.c(), request)).await
    }
}

#[uniffi::export]
impl CraneClient {
    /// Blocking form of `checkpoint_or_queue`.
    pub fn checkpoint_or_queue_blocking(
        &self,
        session_id: String,
        request: CheckpointRequest,
    ) -> Result<CheckpointOutcome, CraneError> {
        block(checkpoint(self.c(), session_id, request))
    }

    /// Blocking form of `create_note_or_queue`.
    pub fn create_note_or_queue_blocking(
        &self,
        request: NoteRequest,
    ) -> Result<NoteOutcome, CraneError> {
        block(create_note(self.c(), request))
    }
}
