//! Request and response types of the routes the v2 service added
//! (`docs/contract/crane-context-api-v2.md`), beyond the session life cycle.
//!
//! Same rules as the v1 types: each mirrors a contract table field by field,
//! nullable fields are `Option`, unknown fields are ignored and unknown enum
//! values decode to an `Unknown` variant. Two v2 quirks are absorbed here so
//! callers never see them: list fields the server stores as **JSON text**
//! (checkpoint lists, note tags) decode into real lists, and SQLite's 0/1
//! flags (`archived`, `injectable`) into booleans. Both still decode from
//! their natural forms, so a value this crate serialized reads back.
//!
//! Requests are validated when built or sent ([`crate::Error::InvalidInput`]
//! naming the field), so what the server would refuse — or worse, answer
//! with a 500, as it does for a 51-character tag — never leaves the machine.

mod active;
mod checkpoint;
mod docs;
mod handoffs;
mod notes;
mod sessions;
mod venture;
pub(crate) mod wire;

pub use active::ActiveFilter;
pub use checkpoint::{
    Checkpoint, CheckpointCreated, CheckpointList, CheckpointsQuery, NewCheckpoint,
};
pub use docs::{
    AuditedDoc, Doc, DocAudit, DocAuditStatus, DocList, DocSummary, DocsAudit, MemoryGate,
    MissingDoc, StaleDoc,
};
pub(crate) use docs::{DocReply, MemoryGateReply};
pub use handoffs::{HandoffDates, HandoffStatusLabel};
pub(crate) use handoffs::{HandoffReply, StatusChange};
pub use notes::{
    ArchivedNote, NewNote, Note, NoteChanges, NotePage, NotePagination, NoteReply, NotesQuery,
    MAX_NOTE_BYTES, MAX_NOTE_TAGS, MAX_TAG_CHARS,
};
pub use sessions::{
    ActivityBatch, ActivityEvent, ActivityReport, HistoryBlock, HistoryEntry, PriorSession,
    PriorSessionQuery, SessionHistory, Sibling, Siblings, MAX_ACTIVITY_EVENTS,
};
pub use venture::{Venture, VentureList};
