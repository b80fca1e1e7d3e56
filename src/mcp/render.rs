//! How tool results reach a model: text it can act on, plus the same facts
//! as structured content for programs.
//!
//! A failure is never a protocol error and never a crashed server: it is an
//! `isError` result whose text starts like the TypeScript server's
//! (`Error executing NAME: …`) and whose structured content carries the
//! typed error's `kind`, `message` and `correlation_id` (what a user quotes
//! in a bug report).

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{json, Value};

use crate::Error;

/// A tool failure: the typed error's kind, its message and correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Stable kind ([`Error::kind`], or a tool's own: `no_session`,
    /// `unknown_venture`, `unsupported`, `invalid_input`).
    pub kind: String,
    /// What went wrong and what to do.
    pub message: String,
    /// The server's correlation id, when the server answered.
    pub correlation_id: Option<String>,
}

impl Failure {
    /// A failure of the tool's own (no server involved).
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            message: message.into(),
            correlation_id: None,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self {
            kind: e.kind().to_owned(),
            correlation_id: e.correlation_id().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

/// What a tool returns before rendering.
pub type ToolResult = Result<Done, Failure>;

/// A successful result: text for the model, data for programs.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// What the model reads.
    pub text: String,
    /// The same facts, structured (a JSON object).
    pub data: Value,
}

/// A successful result.
pub fn done(text: impl Into<String>, data: Value) -> ToolResult {
    Ok(Done {
        text: text.into(),
        data,
    })
}

/// Renders a tool's outcome as an MCP result.
pub fn to_result(tool: &str, outcome: ToolResult) -> CallToolResult {
    match outcome {
        Ok(d) => {
            let mut r = CallToolResult::success(vec![ContentBlock::text(d.text)]);
            r.structured_content = Some(d.data);
            r
        }
        Err(f) => {
            let corr = f
                .correlation_id
                .as_deref()
                .map(|c| format!(" (correlation id {c})"))
                .unwrap_or_default();
            let text = format!(
                "Error executing {tool}: {} [kind: {}]{corr}",
                f.message, f.kind
            );
            let mut r = CallToolResult::error(vec![ContentBlock::text(text)]);
            r.structured_content = Some(json!({
                "error": {
                    "kind": f.kind,
                    "message": f.message,
                    "correlation_id": f.correlation_id,
                }
            }));
            r
        }
    }
}

/// At most `max` characters of `text`, with a marker when cut.
pub fn clip(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (format!("{}…", &text[..at]), true),
        None => (text.to_owned(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_kind_message_and_correlation_id() {
        let e = Error::Server {
            status: 503,
            retry_after: None,
            message: "down".into(),
            correlation_id: Some("corr_9".into()),
        };
        let r = to_result("crane_doc", Err(e.into()));
        assert_eq!(r.is_error, Some(true));
        let s = r.structured_content.unwrap();
        assert_eq!(s["error"]["kind"], "server");
        assert_eq!(s["error"]["correlation_id"], "corr_9");
        let text = serde_json::to_string(&r.content).unwrap();
        assert!(text.contains("Error executing crane_doc"), "{text}");
        assert!(text.contains("corr_9"), "{text}");
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("héllo", 2), ("hé…".to_owned(), true));
        assert_eq!(clip("hi", 5), ("hi".to_owned(), false));
    }
}
