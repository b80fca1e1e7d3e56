//! The context blocks of a v2 `/sos` answer.
//!
//! At session start an agent gets what it needs to work without further
//! calls: the venture's document index (or full documents), the script index,
//! the doc audit, the last handoff of its track, the enterprise summary notes
//! and the knowledge-base index. Each block appears as the worker's source
//! decides: the documents and scripts (either form) whenever asked for, even
//! empty; `doc_audit` for every listed venture; the last handoff, enterprise
//! context and knowledge base only when they have something in them.

use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::super::records::{HandoffRecord, HANDOFF_COLUMNS};
use super::docs;
use super::notes;
use crate::canonical::sha256_hex;

/// Tags whose notes make up the knowledge base.
const KNOWLEDGE_TAGS: [&str; 5] = [
    "prd",
    "design",
    "strategy",
    "methodology",
    "market-research",
];
/// Most notes in `enterprise_context` and `knowledge_base`.
const ENTERPRISE_LIMIT: i64 = 10;
const KNOWLEDGE_LIMIT: i64 = 30;

/// Which optional blocks `/sos` asked for.
pub(super) struct Options {
    include_docs: bool,
    full_docs: bool,
    include_scripts: bool,
    full_scripts: bool,
}

impl Options {
    /// Reads `include_docs`, `docs_format`, `include_scripts`, `scripts_format`.
    pub(super) fn from_body(body: &Value) -> Self {
        let off = |field: &str| body.get(field) == Some(&Value::Bool(false));
        let full = |field: &str| body.get(field).and_then(Value::as_str) == Some("full");
        Self {
            include_docs: !off("include_docs"),
            full_docs: full("docs_format"),
            include_scripts: !off("include_scripts"),
            full_scripts: full("scripts_format"),
        }
    }
}

/// Adds the context blocks to a `/sos` answer.
pub(super) fn add_blocks(
    conn: &Connection,
    venture: &str,
    repo: &str,
    track: Option<i64>,
    options: &Options,
    now: jiff::Timestamp,
    out: &mut Map<String, Value>,
) -> rusqlite::Result<()> {
    if options.include_docs {
        let docs = docs::docs_for(conn, venture)?;
        if options.full_docs {
            // Present even when empty; the hash covers the items' hashes
            // joined with `|`.
            let joined: Vec<&str> = docs.iter().map(docs::Doc::hash).collect();
            let list: Vec<Value> = docs.iter().map(docs::Doc::full).collect();
            out.insert(
                "documentation".into(),
                json!({
                    "docs": list,
                    "count": list.len(),
                    "content_hash": sha256_hex(joined.join("|").as_bytes()),
                }),
            );
        } else {
            let list: Vec<Value> = docs.iter().map(docs::Doc::index).collect();
            out.insert(
                "doc_index".into(),
                json!({ "docs": list, "count": list.len() }),
            );
        }
    }
    // The emulator stores no scripts: both forms are present and empty.
    if options.include_scripts {
        if options.full_scripts {
            out.insert(
                "scripts".into(),
                json!({ "scripts": [], "count": 0, "content_hash": sha256_hex(b"") }),
            );
        } else {
            out.insert("script_index".into(), json!({ "scripts": [], "count": 0 }));
        }
    }
    out.insert("doc_audit".into(), docs::audit_of(conn, venture, now)?);
    if let Some(track) = track {
        let sql = format!(
            "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE venture = ?1 AND repo = ?2 AND track = ?3 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        let last = conn
            .prepare_cached(&sql)?
            .query_map(
                rusqlite::params![venture, repo, track],
                HandoffRecord::from_row,
            )?
            .next()
            .transpose()?;
        if let Some(handoff) = last {
            out.insert(
                "last_handoff".into(),
                serde_json::to_value(&handoff).unwrap_or_default(),
            );
        }
    }
    let enterprise = notes::tagged(conn, venture, &["executive-summary"], ENTERPRISE_LIMIT)?;
    if !enterprise.is_empty() {
        out.insert(
            "enterprise_context".into(),
            json!({ "count": enterprise.len(), "notes": enterprise }),
        );
    }
    let knowledge: Vec<Value> = notes::tagged(conn, venture, &KNOWLEDGE_TAGS, KNOWLEDGE_LIMIT)?
        .into_iter()
        .map(|n| {
            json!({
                "id": n["id"], "title": n["title"], "tags": n["tags"],
                "venture": n["venture"], "updated_at": n["updated_at"],
            })
        })
        .collect();
    if !knowledge.is_empty() {
        out.insert(
            "knowledge_base".into(),
            json!({ "count": knowledge.len(), "notes": knowledge }),
        );
    }
    Ok(())
}
