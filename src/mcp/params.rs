//! The tools' input types: their JSON Schemas are what `tools/list` shows.
//!
//! Names and required fields follow the TypeScript `crane-mcp` server where
//! it has the tool; every field this server adds is optional. Unknown
//! fields are ignored (not refused), so a prompt written for the TypeScript
//! server's extra flags (`override_*`, `mode`) still works.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// `crane_sos`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct SosArgs {
    /// Venture code; default: this checkout's (org map, else `GET /ventures`).
    /// Another venture's code starts nothing and answers where its
    /// repositories are.
    pub venture: Option<String>,
    /// `full` or `fleet` (accepted for compatibility; both start the session).
    pub mode: Option<String>,
    /// Issue being worked on.
    pub issue_number: Option<i64>,
    /// Ask the service for the documentation bundle (default true).
    pub include_docs: Option<bool>,
}

/// How the work stands at a handoff.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HandoffStatus {
    /// Work continues.
    InProgress,
    /// Waiting on something.
    Blocked,
    /// Finished.
    Done,
}

impl HandoffStatus {
    /// The wire label.
    pub fn label(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Blocked => "blocked",
            Self::Done => "done",
        }
    }
}

/// `crane_handoff`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct HandoffArgs {
    /// What was done and what comes next, for the next agent.
    pub summary: String,
    /// `in_progress`, `blocked` or `done`.
    pub status: HandoffStatus,
    /// Issue the work was on (recorded in the payload).
    pub issue_number: Option<i64>,
    /// Accepted for compatibility; the session's own venture is used.
    pub venture: Option<String>,
    /// `false` = store the handoff but keep the session open (v2; sent now or
    /// fails, never queued). Default true: end the session.
    #[serde(rename = "final")]
    pub is_final: Option<bool>,
    /// The agent the handoff is for.
    pub to_agent: Option<String>,
    /// Structured handoff data, a JSON object (default `{}`).
    pub payload: Option<Value>,
}

/// `crane_update`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct UpdateArgs {
    /// Branch (default: the one detected at start).
    pub branch: Option<String>,
    /// Commit SHA.
    pub commit_sha: Option<String>,
    /// Metadata, a JSON object.
    pub meta: Option<Value>,
}

/// `crane_checkpoint`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CheckpointArgs {
    /// What was reached.
    pub summary: String,
    /// Work completed since the last checkpoint.
    pub work_completed: Option<Vec<String>>,
    /// What blocks progress.
    pub blockers: Option<Vec<String>>,
    /// What comes next.
    pub next_actions: Option<Vec<String>>,
    /// Free-form notes.
    pub notes: Option<String>,
}

/// `crane_handoffs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct HandoffsArgs {
    /// How many handoffs of the history to list (1–100, default 10).
    pub limit: Option<u32>,
}

/// `crane_prior`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct PriorArgs {
    /// Only a session that ended within this many hours.
    pub within_hours: Option<u32>,
}

/// `crane_notes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct NotesArgs {
    /// Venture code (default: all ventures).
    pub venture: Option<String>,
    /// Only notes with this tag.
    pub tag: Option<String>,
    /// Text to search for.
    pub q: Option<String>,
    /// How many (default 10).
    pub limit: Option<u32>,
}

/// What `crane_note` does.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoteAction {
    /// Create a note (`content` required).
    Create,
    /// Update note `id`.
    Update,
}

/// `crane_note`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoteArgs {
    /// `create` or `update`.
    pub action: NoteAction,
    /// The note to update (`update`).
    pub id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Content (required for `create`).
    pub content: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Venture code (omit for a global note).
    pub venture: Option<String>,
}

/// `crane_doc`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DocArgs {
    /// `global` or a venture code.
    pub scope: String,
    /// The document's name.
    pub doc_name: String,
    /// Cut the content after this many characters.
    pub max_chars: Option<usize>,
    /// Only the title, description and size.
    pub summary_only: Option<bool>,
}

/// `crane_doc_audit`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DocAuditArgs {
    /// Venture code to audit (default: this checkout's).
    pub venture: Option<String>,
    /// Audit every venture.
    pub all: Option<bool>,
    /// Accepted for compatibility, not done: this server does not generate
    /// or upload documents (the result says so).
    pub fix: Option<bool>,
}

/// `crane_docs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DocsArgs {
    /// Venture code (default: this checkout's).
    pub venture: Option<String>,
}

/// What `crane_queue` does.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueueAction {
    /// List pending and dead items.
    #[default]
    List,
    /// Move dead item `local_id` back to pending and deliver it.
    Retry,
}

/// `crane_queue`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct QueueArgs {
    /// `list` (default) or `retry`.
    pub action: Option<QueueAction>,
    /// The item to retry.
    pub local_id: Option<String>,
}
