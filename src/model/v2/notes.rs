//! Notes: the service's shared memory (`/notes`).
//!
//! A plain `POST /notes` is not idempotent: every call creates a note, so a
//! retry after a lost answer would duplicate it. With a `source_hash` the
//! server turns the create into an upsert on that hash (same note updated,
//! still 201). [`NewNote`] therefore always carries one: the caller's, or
//! one derived from the note's content ([`NewNote::content_source_hash`]),
//! which makes every create — retried, or queued and sent after a restart —
//! safe to repeat. The price, documented where it shows: creating a note
//! identical (title, content, tags, venture) to an existing one returns that
//! note instead of a second copy, archived or not.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::wire;
use crate::canonical::CanonicalPayload;
use crate::Error;

/// Largest note content the server accepts, in bytes.
pub const MAX_NOTE_BYTES: usize = 512_000;
/// Most tags on one note.
pub const MAX_NOTE_TAGS: usize = 20;
/// Longest tag, in characters (the server answers 500, not 400, past it).
pub const MAX_TAG_CHARS: usize = 50;

/// Prefix of the `source_hash` this SDK derives, so its hashes are told
/// apart from an importer's.
const DERIVED_PREFIX: &str = "crane-sdk:sha256:";

/// A stored note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// `note_` + ULID.
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// The text.
    pub content: String,
    /// Tags (stored by the server as JSON text).
    #[serde(default, deserialize_with = "wire::text_list")]
    pub tags: Option<Vec<String>>,
    /// Venture code; `None` is a global note.
    #[serde(default)]
    pub venture: Option<String>,
    /// Whether it is archived (the server sends 0/1).
    #[serde(default, deserialize_with = "wire::flag")]
    pub archived: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// First 16 hex characters of SHA-256 of the writer's relay key.
    #[serde(default)]
    pub actor_key_id: Option<String>,
    /// Server-side metadata as JSON text.
    #[serde(default)]
    pub meta_json: Option<String>,
    /// The session that wrote it, when given.
    #[serde(default)]
    pub authored_by_session_id: Option<String>,
    /// The upsert key it was created with, if any.
    #[serde(default)]
    pub source_hash: Option<String>,
    /// Embedding model, when the server embedded it.
    #[serde(default)]
    pub embedding_model: Option<String>,
    /// Embedding version.
    #[serde(default)]
    pub embedding_version: Option<String>,
    /// Hash of the embedded text.
    #[serde(default)]
    pub embedding_hash: Option<String>,
    /// Whether the curator allows injecting it into agent context (0/1 on the wire).
    #[serde(default, deserialize_with = "wire::flag")]
    pub injectable: bool,
    /// Whether the curator failed to parse it (0/1 on the wire).
    #[serde(default, deserialize_with = "wire::flag")]
    pub curator_parse_error: bool,
}

/// `POST /notes`: create a note (an upsert on its `source_hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNote {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The text (required, at most [`MAX_NOTE_BYTES`] bytes).
    pub content: String,
    /// Tags (at most [`MAX_NOTE_TAGS`], each at most [`MAX_TAG_CHARS`] characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Venture code; `None` writes a global note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venture: Option<String>,
    /// The session writing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authored_by_session_id: Option<String>,
    /// Upsert key. `None` here means "derive one from the content" when sent
    /// (see [`NewNote::effective_source_hash`]); the server never sees a
    /// create without one from this SDK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_hash: Option<String>,
}

impl NewNote {
    /// A note with this content; other fields unset.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            title: None,
            content: content.into(),
            tags: None,
            venture: None,
            authored_by_session_id: None,
            source_hash: None,
        }
    }
    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets the tags.
    pub fn tags(mut self, tags: Vec<String>) -> Self {
        self.tags = Some(tags);
        self
    }
    /// Files it under a venture (else it is global).
    pub fn venture(mut self, venture: impl Into<String>) -> Self {
        self.venture = Some(venture.into());
        self
    }
    /// Names the session writing it.
    pub fn authored_by(mut self, session_id: impl Into<String>) -> Self {
        self.authored_by_session_id = Some(session_id.into());
        self
    }
    /// Uses the caller's upsert key (e.g. an importer's hash of the source
    /// file: a later create with the same key updates the same note).
    pub fn source_hash(mut self, hash: impl Into<String>) -> Self {
        self.source_hash = Some(hash.into());
        self
    }

    /// The key derived from the note's content: `crane-sdk:sha256:` and the
    /// SHA-256 of the RFC 8785 JSON of `{content, tags, title, venture}`.
    /// Equal notes get equal keys, so a repeated create is an upsert that
    /// changes nothing.
    pub fn content_source_hash(&self) -> Result<String, Error> {
        let value = serde_json::json!({
            "content": self.content,
            "tags": self.tags,
            "title": self.title,
            "venture": self.venture,
        });
        let canonical = CanonicalPayload::any_json(&value)?;
        Ok(format!("{DERIVED_PREFIX}{}", canonical.hash()))
    }

    /// The `source_hash` this request is sent with: the caller's, else the
    /// content-derived one.
    pub fn effective_source_hash(&self) -> Result<String, Error> {
        match &self.source_hash {
            Some(h) => Ok(h.clone()),
            None => self.content_source_hash(),
        }
    }

    /// The request as sent: with its effective `source_hash` filled in.
    pub fn with_effective_source_hash(&self) -> Result<Self, Error> {
        let mut me = self.clone();
        me.source_hash = Some(self.effective_source_hash()?);
        Ok(me)
    }

    /// Checks the fields the server checks, with its limits, before anything is sent.
    pub fn validate(&self) -> Result<(), Error> {
        check_content(&self.content)?;
        check_tags(self.tags.as_deref())?;
        if let Some(v) = &self.venture {
            wire::required("venture", v)?;
        }
        if let Some(h) = &self.source_hash {
            wire::required("source_hash", h)?;
        }
        Ok(())
    }
}

fn check_content(content: &str) -> Result<(), Error> {
    if content.trim().is_empty() {
        return Err(Error::invalid_input("content", "must not be empty"));
    }
    if content.len() > MAX_NOTE_BYTES {
        return Err(Error::PayloadTooLarge {
            message: format!(
                "note content is {} bytes, over the server's limit of {MAX_NOTE_BYTES}",
                content.len()
            ),
            correlation_id: None,
        });
    }
    Ok(())
}

fn check_tags(tags: Option<&[String]>) -> Result<(), Error> {
    let Some(tags) = tags else { return Ok(()) };
    if tags.len() > MAX_NOTE_TAGS {
        return Err(Error::invalid_input(
            "tags",
            format!("at most {MAX_NOTE_TAGS} tags, got {}", tags.len()),
        ));
    }
    for t in tags {
        if t.trim().is_empty() {
            return Err(Error::invalid_input("tags", "a tag must not be empty"));
        }
        let n = t.chars().count();
        if n > MAX_TAG_CHARS {
            return Err(Error::invalid_input(
                "tags",
                format!("tag {t:?} is {n} characters, over {MAX_TAG_CHARS}"),
            ));
        }
    }
    Ok(())
}

/// `POST /notes/:id/update`: the fields to change (unset fields are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NoteChanges {
    /// New title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// New tags (replace the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New venture: `Some(Some(code))` moves it, `Some(None)` makes it global.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venture: Option<Option<String>>,
}

impl NoteChanges {
    /// No changes yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets the content.
    pub fn content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }
    /// Replaces the tags.
    pub fn tags(mut self, tags: Vec<String>) -> Self {
        self.tags = Some(tags);
        self
    }
    /// Moves it to a venture, or (`None`) makes it global.
    pub fn venture(mut self, venture: Option<String>) -> Self {
        self.venture = Some(venture);
        self
    }
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
    /// Checks the changed fields with the create limits; an empty change is refused.
    pub fn validate(&self) -> Result<(), Error> {
        if self.is_empty() {
            return Err(Error::invalid_input(
                "changes",
                "name at least one of title, content, tags, venture",
            ));
        }
        if let Some(c) = &self.content {
            check_content(c)?;
        }
        check_tags(self.tags.as_deref())?;
        if let Some(Some(v)) = &self.venture {
            wire::required("venture", v)?;
        }
        Ok(())
    }
}

/// `GET /notes`: filters, newest first, paged by cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotesQuery {
    /// Only this venture's notes.
    pub venture: Option<String>,
    /// With `venture`: also the global notes.
    pub include_global: bool,
    /// Only notes carrying this tag.
    pub tag: Option<String>,
    /// Only notes carrying any of these tags.
    pub tags: Vec<String>,
    /// Substring of the title or content.
    pub query: Option<String>,
    /// Archived notes too.
    pub include_archived: bool,
    /// Page size, 1–100 (server default 20).
    pub limit: Option<u32>,
    /// Cursor of a previous page (`pagination.next_cursor`).
    pub cursor: Option<String>,
}

impl NotesQuery {
    /// Every active note, first page.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only this venture's notes.
    pub fn venture(mut self, venture: impl Into<String>) -> Self {
        self.venture = Some(venture.into());
        self
    }
    /// With a venture: the global notes too.
    pub fn include_global(mut self, yes: bool) -> Self {
        self.include_global = yes;
        self
    }
    /// Only notes carrying this tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }
    /// Only notes carrying any of these tags.
    pub fn any_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }
    /// Only notes whose title or content contains `text`.
    pub fn query(mut self, text: impl Into<String>) -> Self {
        self.query = Some(text.into());
        self
    }
    /// Archived notes too.
    pub fn include_archived(mut self, yes: bool) -> Self {
        self.include_archived = yes;
        self
    }
    /// Sets the page size (1–100, checked when sent).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
    /// Continues from a cursor.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// The query for the page after `page`, or `None` after the last one.
    pub fn after(&self, page: &NotePage) -> Option<Self> {
        page.next_cursor().map(|c| self.clone().cursor(c))
    }
    /// Checks the page size (the server misbehaves on 0 and answers 500 to
    /// a non-number) and the tag filters (500 past 50 characters).
    pub fn validate(&self) -> Result<(), Error> {
        wire::limit(self.limit, crate::model::query::MAX_PAGE_SIZE)?;
        let tags: Vec<String> = self.tag.iter().chain(&self.tags).cloned().collect();
        check_tags(Some(&tags))?;
        if self.tags.iter().any(|t| t.contains(',')) {
            return Err(Error::invalid_input(
                "tags",
                "a tag in an any-of filter must not contain a comma",
            ));
        }
        Ok(())
    }
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(x) = &self.venture {
            v.push(("venture", x.clone()));
        }
        if self.include_global {
            v.push(("include_global", "true".into()));
        }
        if let Some(x) = &self.tag {
            v.push(("tag", x.clone()));
        }
        if !self.tags.is_empty() {
            v.push(("tags", self.tags.join(",")));
        }
        if let Some(x) = &self.query {
            v.push(("q", x.clone()));
        }
        if self.include_archived {
            v.push(("include_archived", "true".into()));
        }
        if let Some(l) = self.limit {
            v.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.cursor {
            v.push(("cursor", c.clone()));
        }
        v
    }
}

/// The `pagination` object of a notes page (present only when more exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotePagination {
    /// Cursor of the next page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One page of `GET /notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotePage {
    /// Newest first.
    pub notes: Vec<Note>,
    /// Notes on this page.
    pub count: u32,
    /// Notes matching the filters, on every page.
    pub total_matching: u64,
    /// Present only when more pages exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<NotePagination>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl NotePage {
    /// The cursor of the next page, if more exist.
    pub fn next_cursor(&self) -> Option<String> {
        self.pagination.as_ref().and_then(|p| p.next_cursor.clone())
    }
}

/// `{note}`: the answer of `POST /notes`, `GET /notes/:id` and `POST /notes/:id/update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteReply {
    /// The note.
    pub note: Note,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// `POST /notes/:id/archive` success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedNote {
    /// The note, now archived.
    pub note: Note,
    /// Always true.
    pub archived: bool,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}
