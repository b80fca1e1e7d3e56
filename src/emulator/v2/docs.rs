//! v2 documentation routes: `GET /docs`, `GET /docs/:scope/:doc_name`,
//! `GET /docs/audit`, and the store they read.
//!
//! Agents read a venture's documents (global ones plus the venture's scope)
//! at session start and on demand, and the audit tells them which required
//! documents are missing. Documents are uploaded through the service's admin
//! API, which is out of the agent-side contract; the emulator's control API
//! (`POST /__emulator/docs`) stands in for it so a test can seed one.

use axum::http::StatusCode;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::super::app::App;
use super::super::input::Query;
use super::super::reply::{self, Reply};
use super::{catalog, rules};
use crate::canonical::sha256_hex;

/// One stored document.
pub(super) struct Doc {
    scope: String,
    doc_name: String,
    content: String,
    content_hash: String,
    title: Option<String>,
    description: Option<String>,
    version: i64,
    updated_at: String,
}

impl Doc {
    /// The index form: no content, no description.
    pub(super) fn index(&self) -> Value {
        json!({
            "scope": self.scope, "doc_name": self.doc_name, "content_hash": self.content_hash,
            "title": self.title, "version": self.version,
        })
    }

    /// The full form, with content and description.
    pub(super) fn full(&self) -> Value {
        json!({
            "scope": self.scope, "doc_name": self.doc_name, "content_hash": self.content_hash,
            "title": self.title, "version": self.version, "content": self.content,
            "description": self.description,
        })
    }

    /// The content hash of this document.
    pub(super) fn hash(&self) -> &str {
        &self.content_hash
    }
}

const DOC_COLUMNS: &str =
    "scope, doc_name, content, content_hash, title, description, version, updated_at";

fn doc_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Doc> {
    Ok(Doc {
        scope: row.get(0)?,
        doc_name: row.get(1)?,
        content: row.get(2)?,
        content_hash: row.get(3)?,
        title: row.get(4)?,
        description: row.get(5)?,
        version: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

/// The global documents and those of `venture`'s scope, in the service's
/// order (scope descending, then name).
pub(super) fn docs_for(conn: &Connection, venture: &str) -> rusqlite::Result<Vec<Doc>> {
    let sql = format!(
        "SELECT {DOC_COLUMNS} FROM docs WHERE scope IN ('global', ?1) ORDER BY scope DESC, doc_name"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([venture], doc_from_row)?;
    rows.collect()
}

/// Stores (or replaces, bumping its version) a document: the control API's
/// stand-in for the service's admin upload.
pub(crate) fn seed(
    conn: &Connection,
    scope: &str,
    doc_name: &str,
    content: &str,
    title: Option<&str>,
    description: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO docs (scope, doc_name, content, content_hash, title, description, version, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) \
         ON CONFLICT (scope, doc_name) DO UPDATE SET content = excluded.content, \
         content_hash = excluded.content_hash, title = excluded.title, \
         description = excluded.description, version = version + 1, updated_at = excluded.updated_at",
    )?
    .execute(rusqlite::params![
        scope,
        doc_name,
        content,
        sha256_hex(content.as_bytes()),
        title,
        description,
        now
    ])?;
    Ok(())
}

/// The doc audit of `venture` against what is stored, at `now`.
pub(super) fn audit_of(
    conn: &Connection,
    venture: &str,
    now: jiff::Timestamp,
) -> rusqlite::Result<Value> {
    let present: Vec<(String, String, i64, String)> = docs_for(conn, venture)?
        .into_iter()
        .map(|d| (d.doc_name, d.scope, d.version, d.updated_at))
        .collect();
    Ok(catalog::audit(venture, &present, now))
}

/// `GET /docs?venture=`: the index of global and venture documents.
pub(crate) fn list(app: &App, query: &Query, corr: &str) -> Reply {
    let Some(venture) = query.truthy("venture") else {
        return reply::validation("venture", "Required query parameter", corr);
    };
    app.with_db(corr, |tx, _now| {
        let docs: Vec<Value> = docs_for(tx, venture)?.iter().map(Doc::index).collect();
        let mut out = Map::new();
        out.insert("count".into(), docs.len().into());
        out.insert("docs".into(), Value::Array(docs));
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}

/// `GET /docs/:scope/:doc_name`: one document with its content.
pub(crate) fn get(app: &App, scope: &str, name: &str, corr: &str) -> Reply {
    app.with_db(corr, |tx, _now| {
        let sql = format!("SELECT {DOC_COLUMNS} FROM docs WHERE scope = ?1 AND doc_name = ?2");
        let doc = tx
            .prepare_cached(&sql)?
            .query_map([scope, name], doc_from_row)?
            .next()
            .transpose()?;
        Ok(match doc {
            Some(doc) => {
                let mut out = Map::new();
                out.insert("doc".into(), doc.full());
                rules::ok(StatusCode::OK, out, corr)
            }
            None => rules::plain(
                StatusCode::NOT_FOUND,
                &format!("Document not found: {scope}/{name}"),
                corr,
            ),
        })
    })
}

/// `GET /docs/audit[?venture=]`: one venture's audit, or every venture's.
pub(crate) fn audit(app: &App, query: &Query, corr: &str) -> Reply {
    app.with_db(corr, |tx, now| {
        let mut out = Map::new();
        match query.truthy("venture") {
            Some(venture) => {
                out.insert("audit".into(), audit_of(tx, venture, now)?);
            }
            None => {
                let mut audits = Vec::new();
                for code in catalog::venture_codes() {
                    audits.push(audit_of(tx, &code, now)?);
                }
                out.insert("audits".into(), Value::Array(audits));
            }
        }
        Ok(rules::ok(StatusCode::OK, out, corr))
    })
}
