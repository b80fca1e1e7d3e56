//! The documentation bundle the emulator hands out from `/sod`.
//!
//! The real service returns the docs an agent should read at the start of a
//! session, with a combined `content_hash` so a client can cache them and skip
//! rewriting its copy when nothing changed. The emulator ships a few small
//! built-in documents so that clients have something real to cache and tests
//! can check the caching logic; the bundle is built once and never changes
//! during a run.

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{json, Value};

use crate::canonical::sha256_hex;

/// One documentation item, as returned inside `documentation.docs`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Doc {
    scope: &'static str,
    doc_name: &'static str,
    content: &'static str,
    content_hash: String,
    title: &'static str,
    description: &'static str,
    version: i64,
}

const AGENT_GUIDE: &str = "# Crane Context agent guide\n\n\
Start every work session with `POST /sod`; it resumes your active session for the same \
agent, venture, repo and track, or creates one. Send `/heartbeat` at the time the server \
proposes (`next_heartbeat_at`): a session without a heartbeat for 45 minutes is abandoned. \
End with `POST /eod` and a handoff: a short summary plus a JSON payload the next agent can \
act on. Retry writes with the same `Idempotency-Key`; a repeat within the hour returns the \
first answer.\n";

const HANDOFF_GUIDE: &str = "# Writing a good handoff\n\n\
- Summary: one or two sentences a teammate can read in the queue.\n\
- Payload: facts, not prose: what changed, what is blocked, what to do next.\n\
- Keep it under 800 KiB once canonical; link to large artifacts instead.\n\
- Set `to_agent` when a specific agent should pick it up.\n";

const EMULATOR_NOTE: &str = "# About this server\n\n\
This is the Crane Context protocol emulator. It speaks the v1 wire contract over real \
HTTP and keeps its data in SQLite. Its control API lives under `/__emulator/`.\n";

/// The built-in documents, hashed once.
static DOCS: LazyLock<Vec<Doc>> = LazyLock::new(|| {
    let doc = |scope, doc_name, content: &'static str, title, description| Doc {
        scope,
        doc_name,
        content,
        content_hash: sha256_hex(content.as_bytes()),
        title,
        description,
        version: 1,
    };
    vec![
        doc(
            "global",
            "crane-context-agent-guide.md",
            AGENT_GUIDE,
            "Crane Context agent guide",
            "How an agent starts, keeps alive and ends a work session",
        ),
        doc(
            "global",
            "handoff-guide.md",
            HANDOFF_GUIDE,
            "Writing a good handoff",
            "What to put in a handoff summary and payload",
        ),
        doc(
            "global",
            "emulator.md",
            EMULATOR_NOTE,
            "About this server",
            "Notes on the protocol emulator answering these requests",
        ),
    ]
});

/// The `documentation` object of a `/sod` answer: `{docs, count, content_hash}`
/// where `content_hash` is the SHA-256 of the items' hashes joined in order.
pub(crate) fn documentation() -> Value {
    static BUNDLE: LazyLock<Value> = LazyLock::new(|| {
        let joined: String = DOCS.iter().map(|d| d.content_hash.as_str()).collect();
        json!({
            "docs": *DOCS,
            "count": DOCS.len(),
            "content_hash": sha256_hex(joined.as_bytes()),
        })
    });
    BUNDLE.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_has_hashed_docs() {
        let bundle = documentation();
        assert_eq!(bundle["count"], 3);
        let docs = bundle["docs"].as_array().cloned().unwrap_or_default();
        assert_eq!(docs.len(), 3);
        for d in &docs {
            let content = d["content"].as_str().unwrap_or_default();
            assert_eq!(d["content_hash"], sha256_hex(content.as_bytes()));
            for key in ["scope", "doc_name", "title", "description", "version"] {
                assert!(d.get(key).is_some(), "{key}");
            }
        }
        assert_eq!(bundle["content_hash"].as_str().map(str::len), Some(64));
    }
}
