//! What a session handle keeps of its `/sos` answer: exactly what the
//! server sent that start, also now that the blocks describing the venture
//! (doc audit, doc index, notes) are kept once per venture and shared
//! between the venture's handles (`src/engine/start_blocks.rs`).

mod common;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::model::{DocAudit, StartSession};
use crane_context::SessionHandle;
use serde_json::json;

fn start(repo: &str) -> StartSession {
    StartSession::new("cc-blocks", "vc", repo).include_docs(false)
}

fn audit(handle: &SessionHandle) -> DocAudit {
    handle
        .start_response()
        .and_then(|r| r.doc_audit)
        .expect("a v2 /sos answer carries the venture's doc audit")
}

fn missing(audit: &DocAudit, doc: &str) -> bool {
    audit.missing.iter().any(|d| d.doc_name == doc)
}

#[tokio::test]
async fn each_handle_returns_the_blocks_of_its_own_answer_when_the_venture_changes() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let e = engine(&url).await;
    let a = e.crane.start_session(start("o/a")).await.unwrap();
    let b = e.crane.start_session(start("o/b")).await.unwrap();
    let before = audit(&a);
    assert_eq!(audit(&b), before);
    assert!(missing(&before, "design-spec.md"), "{before:?}");

    // The venture gains a document: later starts get the new audit, the
    // handles started before keep the one they were sent.
    reqwest::Client::new()
        .post(format!("{url}/__emulator/docs"))
        .json(&json!({"scope": "vc", "doc_name": "design-spec.md", "content": "# Design"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let c = e.crane.start_session(start("o/c")).await.unwrap();
    let after = audit(&c);
    assert!(!missing(&after, "design-spec.md"), "{after:?}");
    assert_eq!(audit(&a), before);
    assert_eq!(audit(&b), before);

    // And it is the server's own answer, as a plain client call gets it.
    let direct = e.crane.client().start_session(&start("o/d")).await.unwrap();
    assert_eq!(direct.doc_audit, Some(after));
}
