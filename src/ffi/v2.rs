//! The records of the v2 routes as Python and Swift see them, and their
//! conversions (the methods are in [`super::v2_client`]).
//!
//! Same rules as [`super::types`]: timestamps are ISO 8601 strings, lists
//! the server stores as JSON text arrive as real lists, flags as booleans.
//! Requests are plain records converted into the Rust builders, which
//! validate them ([`super::CraneError::InvalidInput`] names the field).

use jiff::Timestamp;

use crate::model::v2 as m;

fn iso(t: Timestamp) -> String {
    t.to_string()
}

/// `POST /checkpoint`: progress on a live session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckpointRequest {
    /// One-line summary (non-empty).
    pub summary: String,
    /// Items finished.
    #[uniffi(default = [])]
    pub work_completed: Vec<String>,
    /// What is in the way.
    #[uniffi(default = [])]
    pub blockers: Vec<String>,
    /// What comes next.
    #[uniffi(default = [])]
    pub next_actions: Vec<String>,
    /// Free text.
    #[uniffi(default = None)]
    pub notes: Option<String>,
}

impl CheckpointRequest {
    pub(crate) fn into_model(self, session_id: String) -> m::NewCheckpoint {
        let list = |v: Vec<String>| (!v.is_empty()).then_some(v);
        m::NewCheckpoint {
            session_id,
            summary: self.summary,
            work_completed: list(self.work_completed),
            blockers: list(self.blockers),
            next_actions: list(self.next_actions),
            notes: self.notes,
        }
    }
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Checkpoint {
    /// `cp_` + ULID.
    pub id: String,
    /// Its number within the session, from 1.
    pub checkpoint_number: u32,
    /// The session.
    pub session_id: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Track.
    pub track: Option<i64>,
    /// Issue number.
    pub issue_number: Option<i64>,
    /// Branch.
    pub branch: Option<String>,
    /// Commit.
    pub commit_sha: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Items finished.
    pub work_completed: Vec<String>,
    /// Blockers.
    pub blockers: Vec<String>,
    /// Next actions.
    pub next_actions: Vec<String>,
    /// Free text.
    pub notes: Option<String>,
    /// When it was stored (ISO 8601).
    pub created_at: String,
    /// Correlation id of the storing request.
    pub correlation_id: Option<String>,
}

impl From<m::Checkpoint> for Checkpoint {
    fn from(c: m::Checkpoint) -> Self {
        Self {
            id: c.id,
            checkpoint_number: c.checkpoint_number,
            session_id: c.session_id,
            venture: c.venture,
            repo: c.repo,
            track: c.track,
            issue_number: c.issue_number,
            branch: c.branch,
            commit_sha: c.commit_sha,
            summary: c.summary,
            work_completed: c.work_completed.unwrap_or_default(),
            blockers: c.blockers.unwrap_or_default(),
            next_actions: c.next_actions.unwrap_or_default(),
            notes: c.notes,
            created_at: iso(c.created_at),
            correlation_id: c.correlation_id,
        }
    }
}

/// What `POST /checkpoint` stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckpointCreated {
    /// `cp_` + ULID.
    pub checkpoint_id: String,
    /// Its number within the session.
    pub checkpoint_number: u32,
    /// The session.
    pub session_id: String,
    /// When it was stored (ISO 8601).
    pub created_at: String,
    /// Correlation id.
    pub correlation_id: Option<String>,
}

impl From<m::CheckpointCreated> for CheckpointCreated {
    fn from(c: m::CheckpointCreated) -> Self {
        Self {
            checkpoint_id: c.checkpoint_id,
            checkpoint_number: c.checkpoint_number,
            session_id: c.session_id,
            created_at: iso(c.created_at),
            correlation_id: c.correlation_id,
        }
    }
}

/// `POST /notes`: a new note (safe to repeat: sent with a content-derived
/// `source_hash` unless one is given).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NoteRequest {
    /// The text (required).
    pub content: String,
    /// Title.
    #[uniffi(default = None)]
    pub title: Option<String>,
    /// Tags.
    #[uniffi(default = [])]
    pub tags: Vec<String>,
    /// Venture code; none for a global note.
    #[uniffi(default = None)]
    pub venture: Option<String>,
    /// The session writing it.
    #[uniffi(default = None)]
    pub authored_by_session_id: Option<String>,
    /// Upsert key; derived from the content when none.
    #[uniffi(default = None)]
    pub source_hash: Option<String>,
}

impl From<NoteRequest> for m::NewNote {
    fn from(r: NoteRequest) -> Self {
        Self {
            title: r.title,
            content: r.content,
            tags: (!r.tags.is_empty()).then_some(r.tags),
            venture: r.venture,
            authored_by_session_id: r.authored_by_session_id,
            source_hash: r.source_hash,
        }
    }
}

/// `POST /notes/:id/update`: the fields to change (unset ones are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct NoteUpdate {
    /// New title.
    #[uniffi(default = None)]
    pub title: Option<String>,
    /// New content.
    #[uniffi(default = None)]
    pub content: Option<String>,
    /// New tags (replace the old ones).
    #[uniffi(default = None)]
    pub tags: Option<Vec<String>>,
    /// Move it to this venture.
    #[uniffi(default = None)]
    pub venture: Option<String>,
    /// Make it global (wins over `venture`).
    #[uniffi(default = false)]
    pub make_global: bool,
}

impl From<NoteUpdate> for m::NoteChanges {
    fn from(u: NoteUpdate) -> Self {
        Self {
            title: u.title,
            content: u.content,
            tags: u.tags,
            venture: if u.make_global {
                Some(None)
            } else {
                u.venture.map(Some)
            },
        }
    }
}

/// A stored note.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Note {
    /// `note_` + ULID.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// The text.
    pub content: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Venture code; none for a global note.
    pub venture: Option<String>,
    /// Whether it is archived.
    pub archived: bool,
    /// When it was created (ISO 8601).
    pub created_at: String,
    /// When it last changed (ISO 8601).
    pub updated_at: String,
    /// The session that wrote it.
    pub authored_by_session_id: Option<String>,
    /// Its upsert key.
    pub source_hash: Option<String>,
    /// Whether the curator allows injecting it into agent context.
    pub injectable: bool,
}

impl From<m::Note> for Note {
    fn from(n: m::Note) -> Self {
        Self {
            id: n.id,
            title: n.title,
            content: n.content,
            tags: n.tags.unwrap_or_default(),
            venture: n.venture,
            archived: n.archived,
            created_at: iso(n.created_at),
            updated_at: iso(n.updated_at),
            authored_by_session_id: n.authored_by_session_id,
            source_hash: n.source_hash,
            injectable: n.injectable,
        }
    }
}

/// `GET /notes` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct NotesFilter {
    /// Only this venture's notes.
    #[uniffi(default = None)]
    pub venture: Option<String>,
    /// With `venture`: the global notes too.
    #[uniffi(default = false)]
    pub include_global: bool,
    /// Only notes carrying any of these tags.
    #[uniffi(default = [])]
    pub tags: Vec<String>,
    /// Substring of the title or content.
    #[uniffi(default = None)]
    pub query: Option<String>,
    /// Archived notes too.
    #[uniffi(default = false)]
    pub include_archived: bool,
    /// Page size, 1–100.
    #[uniffi(default = None)]
    pub limit: Option<u32>,
    /// Cursor of the previous page's `next_cursor`.
    #[uniffi(default = None)]
    pub cursor: Option<String>,
}

impl From<NotesFilter> for m::NotesQuery {
    fn from(f: NotesFilter) -> Self {
        let mut q = m::NotesQuery {
            venture: f.venture,
            include_global: f.include_global,
            query: f.query,
            include_archived: f.include_archived,
            limit: f.limit,
            cursor: f.cursor,
            ..Default::default()
        };
        // One tag is the `tag` filter; several are the any-of `tags` filter.
        match f.tags.len() {
            0 => {}
            1 => q.tag = f.tags.into_iter().next(),
            _ => q.tags = f.tags,
        }
        q
    }
}

/// One page of notes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotePage {
    /// Newest first.
    pub notes: Vec<Note>,
    /// Notes matching on every page.
    pub total_matching: u64,
    /// Cursor of the next page, if more exist.
    pub next_cursor: Option<String>,
}

impl From<m::NotePage> for NotePage {
    fn from(p: m::NotePage) -> Self {
        Self {
            next_cursor: p.next_cursor(),
            notes: p.notes.into_iter().map(Note::from).collect(),
            total_matching: p.total_matching,
        }
    }
}

/// An active session of the same group.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Sibling {
    /// Session id.
    pub id: String,
    /// Its agent.
    pub agent: String,
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Track.
    pub track: Option<i64>,
    /// Issue number.
    pub issue_number: Option<i64>,
    /// Branch.
    pub branch: Option<String>,
    /// Last heartbeat (ISO 8601; stale sessions are listed too).
    pub last_heartbeat_at: String,
}

impl From<m::Sibling> for Sibling {
    fn from(s: m::Sibling) -> Self {
        Self {
            id: s.id,
            agent: s.agent,
            venture: s.venture,
            repo: s.repo,
            track: s.track,
            issue_number: s.issue_number,
            branch: s.branch,
            last_heartbeat_at: iso(s.last_heartbeat_at),
        }
    }
}

/// One block of work in a day of the session history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryBlock {
    /// Start (ISO 8601).
    pub start: String,
    /// End (ISO 8601).
    pub end: String,
    /// Sessions in the block.
    pub session_count: u32,
    /// Hosts seen.
    pub hosts: Vec<String>,
    /// Repositories seen.
    pub repos: Vec<String>,
    /// Branches seen.
    pub branches: Vec<String>,
    /// Issues seen.
    pub issues: Vec<i64>,
}

/// One venture's work on one day (UTC−7).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryEntry {
    /// Venture code.
    pub venture: String,
    /// `YYYY-MM-DD` in UTC−7.
    pub work_date: String,
    /// Blocks of work.
    pub blocks: Vec<HistoryBlock>,
    /// Ended sessions that day.
    pub total_sessions: u32,
}

impl From<m::HistoryEntry> for HistoryEntry {
    fn from(e: m::HistoryEntry) -> Self {
        Self {
            venture: e.venture,
            work_date: e.work_date,
            total_sessions: e.total_sessions,
            blocks: e
                .blocks
                .into_iter()
                .map(|b| HistoryBlock {
                    start: iso(b.start),
                    end: iso(b.end),
                    session_count: b.session_count,
                    hosts: b.hosts,
                    repos: b.repos,
                    branches: b.branches,
                    issues: b.issues,
                })
                .collect(),
        }
    }
}

/// What `POST /sessions/:id/activity` kept.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActivityReport {
    /// Minutes newly stored.
    pub recorded: u32,
    /// Minutes already stored.
    pub skipped: u32,
    /// Events outside the session's lifetime.
    pub skipped_out_of_window: u32,
}

impl From<m::ActivityReport> for ActivityReport {
    fn from(r: m::ActivityReport) -> Self {
        Self {
            recorded: r.recorded,
            skipped: r.skipped,
            skipped_out_of_window: r.skipped_out_of_window,
        }
    }
}

/// The labels `POST /handoffs/:id/status` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HandoffStatusLabel {
    /// The work is done.
    Done,
    /// Someone is on it.
    InProgress,
    /// It cannot go on.
    Blocked,
    /// Ready to be picked up.
    Ready,
}

impl From<HandoffStatusLabel> for m::HandoffStatusLabel {
    fn from(l: HandoffStatusLabel) -> Self {
        match l {
            HandoffStatusLabel::Done => Self::Done,
            HandoffStatusLabel::InProgress => Self::InProgress,
            HandoffStatusLabel::Blocked => Self::Blocked,
            HandoffStatusLabel::Ready => Self::Ready,
        }
    }
}

/// A document: content empty in listings.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Doc {
    /// `global` or a venture code.
    pub scope: String,
    /// File-like name.
    pub doc_name: String,
    /// Title.
    pub title: Option<String>,
    /// Version.
    pub version: Option<i64>,
    /// SHA-256 of the content.
    pub content_hash: Option<String>,
    /// The text (empty in a listing).
    pub content: String,
    /// Description.
    pub description: Option<String>,
}

impl From<m::DocSummary> for Doc {
    fn from(d: m::DocSummary) -> Self {
        Self {
            scope: d.scope,
            doc_name: d.doc_name,
            title: d.title,
            version: d.version,
            content_hash: d.content_hash,
            content: String::new(),
            description: None,
        }
    }
}

impl From<m::Doc> for Doc {
    fn from(d: m::Doc) -> Self {
        Self {
            scope: d.scope,
            doc_name: d.doc_name,
            title: d.title,
            version: d.version,
            content_hash: d.content_hash,
            content: d.content,
            description: d.description,
        }
    }
}

/// One venture's documentation audit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocAudit {
    /// Venture code.
    pub venture: String,
    /// Venture name.
    pub venture_name: String,
    /// `complete`, `incomplete`, `warning` (or `unknown`).
    pub status: String,
    /// Names of required docs that do not exist.
    pub missing: Vec<String>,
    /// Names of docs past the staleness threshold.
    pub stale: Vec<String>,
    /// Names of docs present and fresh.
    pub present: Vec<String>,
    /// One line.
    pub summary: String,
}

impl From<m::DocAudit> for DocAudit {
    fn from(a: m::DocAudit) -> Self {
        Self {
            status: match a.status {
                m::DocAuditStatus::Complete => "complete",
                m::DocAuditStatus::Incomplete => "incomplete",
                m::DocAuditStatus::Warning => "warning",
                m::DocAuditStatus::Unknown => "unknown",
            }
            .into(),
            venture: a.venture,
            venture_name: a.venture_name,
            missing: a.missing.into_iter().map(|d| d.doc_name).collect(),
            stale: a.stale.into_iter().map(|d| d.doc.doc_name).collect(),
            present: a.present.into_iter().map(|d| d.doc_name).collect(),
            summary: a.summary,
        }
    }
}

/// Who must approve a memory note before it is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MemoryGate {
    /// The captain.
    CaptainApproved,
    /// The curator (injectable).
    Injectable,
    /// Either.
    Either,
    /// Both.
    Both,
    /// A value this SDK does not know.
    Unknown,
}

impl From<m::MemoryGate> for MemoryGate {
    fn from(g: m::MemoryGate) -> Self {
        match g {
            m::MemoryGate::CaptainApproved => Self::CaptainApproved,
            m::MemoryGate::Injectable => Self::Injectable,
            m::MemoryGate::Either => Self::Either,
            m::MemoryGate::Both => Self::Both,
            m::MemoryGate::Unknown => Self::Unknown,
        }
    }
}

/// `GET /active` filters (v2: any subset, or none).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ActiveFilter {
    /// Only this agent.
    #[uniffi(default = None)]
    pub agent: Option<String>,
    /// Only this venture.
    #[uniffi(default = None)]
    pub venture: Option<String>,
    /// Only this repository.
    #[uniffi(default = None)]
    pub repo: Option<String>,
    /// Only this track.
    #[uniffi(default = None)]
    pub track: Option<i64>,
}

impl From<ActiveFilter> for m::ActiveFilter {
    fn from(f: ActiveFilter) -> Self {
        Self {
            agent: f.agent,
            venture: f.venture,
            repo: f.repo,
            track: f.track,
        }
    }
}

/// A date window on `GET /handoffs` (ISO 8601 bounds).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct HandoffWindow {
    /// Created at or after this time.
    #[uniffi(default = None)]
    pub created_after: Option<String>,
    /// Created strictly before this time.
    #[uniffi(default = None)]
    pub created_before: Option<String>,
}

impl HandoffWindow {
    pub(crate) fn into_model(self) -> Result<m::HandoffDates, crate::Error> {
        let parse = |field: &str, v: Option<String>| {
            v.map(|t| {
                t.parse::<Timestamp>().map_err(|e| {
                    crate::Error::invalid_input(field, format!("not an ISO 8601 time: {e}"))
                })
            })
            .transpose()
        };
        Ok(m::HandoffDates {
            created_after: parse("created_after", self.created_after)?,
            created_before: parse("created_before", self.created_before)?,
        })
    }
}
