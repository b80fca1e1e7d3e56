//! The context blocks a v2 `/sos` answer carries besides the session: the
//! documentation index or bundle, the venture's documentation audit, the
//! last handoff of the track, and two lists of notes (the venture's
//! executive summaries, and its knowledge base). Each is optional: the
//! server omits a block that failed or is empty (except the indexes), and a
//! v1 server sends none of the v2 ones.

use serde::{Deserialize, Serialize};

/// A required document of the audit that is missing (or stale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditedDoc {
    /// The document's name, e.g. `roadmap.md`.
    pub doc_name: String,
    /// Whether the venture must have it.
    #[serde(default)]
    pub required: Option<bool>,
    /// What it should hold.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the server can generate it.
    #[serde(default)]
    pub auto_generate: Option<bool>,
    /// What a generator would read.
    #[serde(default)]
    pub generation_sources: Vec<String>,
    /// Stale documents: days since the last update.
    #[serde(default)]
    pub days_since_update: Option<i64>,
    /// Stale documents: the threshold they passed.
    #[serde(default)]
    pub staleness_threshold_days: Option<i64>,
}

/// A document of the audit that is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresentDoc {
    /// The document's name.
    pub doc_name: String,
    /// `global` or the venture code.
    #[serde(default)]
    pub scope: Option<String>,
    /// Its version.
    #[serde(default)]
    pub version: Option<serde_json::Value>,
    /// When it was last updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `doc_audit`: which of the venture's required documents exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocAudit {
    /// The venture code.
    #[serde(default)]
    pub venture: Option<String>,
    /// Its name.
    #[serde(default)]
    pub venture_name: Option<String>,
    /// `complete`, `incomplete` or `warning`.
    #[serde(default)]
    pub status: Option<String>,
    /// Required documents that do not exist.
    #[serde(default)]
    pub missing: Vec<AuditedDoc>,
    /// Documents older than their threshold.
    #[serde(default)]
    pub stale: Vec<AuditedDoc>,
    /// Documents that exist.
    #[serde(default)]
    pub present: Vec<PresentDoc>,
    /// One line, e.g. `SMD Ventures: 7 missing`.
    #[serde(default)]
    pub summary: Option<String>,
}

/// A note as the `/sos` blocks carry it: the full note in
/// `enterprise_context`, its summary (no content) in `knowledge_base`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextNote {
    /// `note_` + ULID.
    pub id: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Its text (full notes only).
    #[serde(default)]
    pub content: Option<String>,
    /// Its tags as the server sends them: JSON text of a string list.
    #[serde(default)]
    pub tags: Option<String>,
    /// Its venture (`None`: global).
    #[serde(default)]
    pub venture: Option<String>,
    /// When it was created (full notes only).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was last updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl ContextNote {
    /// The tags, decoded from their JSON text (empty when absent or unreadable).
    pub fn tag_list(&self) -> Vec<String> {
        self.tags
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

/// `enterprise_context` or `knowledge_base`: a list of notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteBlock {
    /// The notes.
    #[serde(default)]
    pub notes: Vec<ContextNote>,
    /// How many.
    #[serde(default)]
    pub count: u32,
}

/// How much of each document `/sos` sends (`docs_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocsFormat {
    /// Names, hashes and titles only (`doc_index`; the v2 default).
    Index,
    /// Whole documents (`documentation`).
    Full,
}

#[cfg(test)]
mod tests {
    use crate::generation::ServerVersion;
    use crate::model::{EndSessionResponse, StartSessionResponse, Ventures};

    fn body(text: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["response"]["body"].clone()
    }

    /// The recorded v2 answers decode into the typed blocks, field for field.
    #[test]
    fn recorded_v2_answers_decode() {
        let sos: StartSessionResponse = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/crane-context-v2/102-sos-with-context.json"
        )))
        .unwrap();
        let audit = sos.doc_audit.unwrap();
        assert_eq!(audit.status.as_deref(), Some("incomplete"));
        assert_eq!(audit.missing.len(), 7);
        assert_eq!(sos.documentation.unwrap().docs.len(), 1);
        let ec = sos.enterprise_context.unwrap();
        assert_eq!(ec.notes[0].tag_list(), ["executive-summary"]);
        assert!(ec.notes[0].content.is_some());
        let kb = sos.knowledge_base.unwrap();
        assert_eq!((kb.count, kb.notes[0].content.is_none()), (1, true));
        assert_eq!(sos.session.session_group_id, None);

        let eos: EndSessionResponse = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/crane-context-v2/055-eos-keep-session-open.json"
        )))
        .unwrap();
        assert_eq!(eos.ended_at, None);

        let version: ServerVersion = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/crane-context-v2/002-version.json"
        )))
        .unwrap();
        assert_eq!(version.schema_version, Some(55));
        let ventures: Ventures = serde_json::from_value(body(include_str!(
            "../../tests/fixtures/crane-context-v2/003-ventures.json"
        )))
        .unwrap();
        assert!(ventures.ventures.iter().any(|v| v.code == "ke"));
    }
}
