//! Request and response types of the Crane Context wire contract: the v1
//! routes here, what the v2 service added in [`v2`].
//!
//! These are plain serde types that mirror the contract field by field, so a
//! reader can check them against `crane-context-api.md`. Two rules hold
//! throughout: fields the server may send as `null` are `Option`, and unknown
//! fields are ignored (newer servers add them), as are unknown enum values,
//! which decode to an `Unknown` variant instead of failing the whole response.

mod handoff;
mod health;
mod payload;
mod query;
mod request;
mod response;
pub mod rules_v2;
mod session;
mod sos_context;
pub mod v2;
mod venture;

pub use handoff::Handoff;
pub use health::{HealthReport, HealthStatus};
pub use payload::Payload;
pub use query::{ActiveQuery, HandoffFilter, HandoffsQuery, LatestHandoffQuery};
pub use request::{EndSession, StartSession, Update};
pub use response::{
    ActiveSessions, DocItem, Documentation, EndSessionResponse, HandoffPage, HeartbeatResponse,
    LatestHandoff, SodStatus, StartSessionResponse, UpdateResponse,
};
pub use session::{EndReason, Session, SessionStatus, SessionTuple};
pub use sos_context::{AuditedDoc, ContextNote, DocAudit, DocsFormat, NoteBlock, PresentDoc};
pub use venture::{Venture, Ventures};

/// The schema version this SDK speaks, sent in every JSON body.
pub const SCHEMA_VERSION: &str = "1.0";
