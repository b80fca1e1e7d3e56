//! Request bodies for the write routes, with local validation.
//!
//! Requests are validated when they are built, so bad input fails at once with
//! [`Error::InvalidInput`] naming the field, and nothing invalid is ever sent
//! or queued. `EndSession` checks its payload's size against the server's limit
//! before the first byte leaves the machine; its canonical hash is computed
//! when something needs it (see [`Payload`]).

use serde::Serialize;

use crate::canonical::CanonicalPayload;
use crate::generation::Generation;
use crate::idempotency::IdempotencyKey;
use crate::model::rules_v2;
use crate::model::Payload;
use crate::model::{DocsFormat, EndReason, SessionTuple, SCHEMA_VERSION};
use crate::Error;

fn require(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    Ok(())
}

/// `POST /sos` (v2; `/sod` on v1): start or resume the session for a tuple.
#[derive(Debug, Clone, Serialize)]
pub struct StartSession {
    /// Agent name (required).
    pub agent: String,
    /// Venture code (required).
    pub venture: String,
    /// Repository (required).
    pub repo: String,
    /// Track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<i64>,
    /// Issue number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_number: Option<i64>,
    /// Client program name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Client program version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// Host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Git branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Git commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// Caller metadata (a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    /// Ask the server for the documentation bundle (default true).
    pub include_docs: bool,
    /// v2: index or full documents. Unset with `include_docs`, the client
    /// asks for `full` (the documents themselves, as v1 sends them); set
    /// `Index` for names and hashes only (`doc_index`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs_format: Option<DocsFormat>,
    /// v2: the agent's own session id (e.g. its transcript's), linking the
    /// server's session to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_session_id: Option<String>,
    /// v2: the group of sessions working together (see `/siblings`); set
    /// when the session is created, ignored on a resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_group_id: Option<String>,
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: &'static str,
    /// Idempotency key; generated when not set.
    #[serde(skip)]
    pub idempotency_key: Option<IdempotencyKey>,
}

impl StartSession {
    /// A request for the given tuple; other fields default to unset.
    pub fn new(
        agent: impl Into<String>,
        venture: impl Into<String>,
        repo: impl Into<String>,
    ) -> Self {
        Self {
            agent: agent.into(),
            venture: venture.into(),
            repo: repo.into(),
            track: None,
            issue_number: None,
            client: Some("crane-context-sdk".into()),
            client_version: Some(env!("CARGO_PKG_VERSION").into()),
            host: None,
            branch: None,
            commit_sha: None,
            meta: None,
            include_docs: true,
            docs_format: None,
            client_session_id: None,
            session_group_id: None,
            schema_version: SCHEMA_VERSION,
            idempotency_key: None,
        }
    }

    /// Sets the track.
    pub fn track(mut self, track: i64) -> Self {
        self.track = Some(track);
        self
    }
    /// Sets the issue number.
    pub fn issue_number(mut self, n: i64) -> Self {
        self.issue_number = Some(n);
        self
    }
    /// Sets client name and version.
    pub fn client(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.client = Some(name.into());
        self.client_version = Some(version.into());
        self
    }
    /// Sets the host name.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Sets the branch.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }
    /// Sets the commit.
    pub fn commit_sha(mut self, sha: impl Into<String>) -> Self {
        self.commit_sha = Some(sha.into());
        self
    }
    /// Sets caller metadata (must be a JSON object).
    pub fn meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta);
        self
    }
    /// Whether to fetch the documentation bundle.
    pub fn include_docs(mut self, yes: bool) -> Self {
        self.include_docs = yes;
        self
    }
    /// v2: how much of each document to send.
    pub fn docs_format(mut self, format: DocsFormat) -> Self {
        self.docs_format = Some(format);
        self
    }
    /// v2: the agent's own session id.
    pub fn client_session_id(mut self, id: impl Into<String>) -> Self {
        self.client_session_id = Some(id.into());
        self
    }
    /// v2: the session group.
    pub fn session_group_id(mut self, id: impl Into<String>) -> Self {
        self.session_group_id = Some(id.into());
        self
    }
    /// Uses the caller's idempotency key instead of a generated one.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// The tuple this request will start or resume.
    pub fn tuple(&self) -> SessionTuple {
        SessionTuple {
            agent: self.agent.clone(),
            venture: self.venture.clone(),
            repo: self.repo.clone(),
            track: self.track,
        }
    }

    /// Checks required fields and shapes locally.
    pub fn validate(&self) -> Result<(), Error> {
        require("agent", &self.agent)?;
        require("venture", &self.venture)?;
        require("repo", &self.repo)?;
        check_meta(self.meta.as_ref())
    }

    /// [`StartSession::validate`] plus the rules of `generation`: on v2 the
    /// agent pattern and `owner/name` repos (the venture list is checked by
    /// whoever holds it: [`crate::identity`], the engine's cache).
    pub fn validate_for(&self, generation: Generation) -> Result<(), Error> {
        self.validate()?;
        if generation == Generation::V2 {
            rules_v2::check_agent("agent", &self.agent)?;
            rules_v2::check_repo(&self.repo)?;
        }
        Ok(())
    }
}

fn check_meta(meta: Option<&serde_json::Value>) -> Result<(), Error> {
    let max = crate::policy::MAX_JSON_DEPTH;
    if meta.is_some_and(|m| crate::canonical::deeper_than(m, max)) {
        return Err(Error::invalid_input(
            "meta",
            format!("nests deeper than {max} levels"),
        ));
    }
    match meta {
        Some(m) if !m.is_object() => Err(Error::invalid_input(
            "meta",
            format!(
                "must be a JSON object, got {}",
                crate::canonical::json_type_name(m)
            ),
        )),
        _ => Ok(()),
    }
}

/// `POST /update`: record progress on a session.
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    /// The session.
    pub session_id: String,
    /// New branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// New commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// Metadata (a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: &'static str,
    /// Idempotency key; generated when not set.
    #[serde(skip)]
    pub idempotency_key: Option<IdempotencyKey>,
}

impl Update {
    /// An update with no changes yet (still refreshes the heartbeat).
    pub fn new(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
            branch: None,
            commit_sha: None,
            meta: None,
            schema_version: SCHEMA_VERSION,
            idempotency_key: None,
        }
    }
    /// Sets the branch.
    pub fn branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = Some(branch.into());
        self
    }
    /// Sets the commit.
    pub fn commit_sha(mut self, sha: impl Into<String>) -> Self {
        self.commit_sha = Some(sha.into());
        self
    }
    /// Sets metadata (must be a JSON object).
    pub fn meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta);
        self
    }
    /// Uses the caller's idempotency key.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }
    /// Checks required fields and shapes locally.
    pub fn validate(&self) -> Result<(), Error> {
        require("session_id", &self.session_id)?;
        check_meta(self.meta.as_ref())?;
        check_body_size(self)
    }

    /// [`Update::validate`] plus v2's session id pattern on v2.
    pub fn validate_for(&self, generation: Generation) -> Result<(), Error> {
        self.validate()?;
        if generation == Generation::V2 {
            rules_v2::check_session_id(&self.session_id)?;
        }
        Ok(())
    }
}

/// `POST /eos` (v2; `/eod` on v1): store a handoff and end the session
/// (or, v2 with `keep_session_open`, leave it active).
#[derive(Debug, Clone, Serialize)]
pub struct EndSession {
    /// The session to end.
    pub session_id: String,
    /// One-line summary (non-empty).
    pub summary: String,
    /// The payload (validated; canonical form on demand).
    pub payload: Payload,
    /// Status label, e.g. `in-progress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_label: Option<String>,
    /// Intended next agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_agent: Option<String>,
    /// End reason (server default: manual).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// v2: store the handoff but leave the session active (the server then
    /// answers `ended_at: null`). Refused locally on a v1 server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_session_open: Option<bool>,
    /// v2: when the agent last worked (stored on the session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<String>,
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: &'static str,
    /// Idempotency key; generated when not set.
    #[serde(skip)]
    pub idempotency_key: Option<IdempotencyKey>,
}

impl EndSession {
    /// Builds and validates an end request: the summary must be non-empty, the
    /// payload a JSON object of at most 819,200 canonical bytes.
    pub fn new(
        session_id: impl Into<String>,
        summary: impl Into<String>,
        payload: &serde_json::Value,
    ) -> Result<Self, Error> {
        Self::with_payload(session_id, summary, Payload::new(payload)?)
    }

    /// Like [`EndSession::new`] with an already canonical payload.
    pub fn with_canonical(
        session_id: impl Into<String>,
        summary: impl Into<String>,
        payload: CanonicalPayload,
    ) -> Result<Self, Error> {
        Self::with_payload(session_id, summary, Payload::from(payload))
    }

    /// Like [`EndSession::new`] with an already validated payload.
    pub fn with_payload(
        session_id: impl Into<String>,
        summary: impl Into<String>,
        payload: Payload,
    ) -> Result<Self, Error> {
        let me = Self {
            session_id: session_id.into(),
            summary: summary.into(),
            payload,
            status_label: None,
            to_agent: None,
            end_reason: None,
            keep_session_open: None,
            last_activity_at: None,
            schema_version: SCHEMA_VERSION,
            idempotency_key: None,
        };
        me.validate()?;
        Ok(me)
    }

    /// Sets the status label.
    pub fn status_label(mut self, label: impl Into<String>) -> Self {
        self.status_label = Some(label.into());
        self
    }
    /// Sets the intended next agent.
    pub fn to_agent(mut self, agent: impl Into<String>) -> Self {
        self.to_agent = Some(agent.into());
        self
    }
    /// Sets the end reason.
    pub fn end_reason(mut self, reason: EndReason) -> Self {
        self.end_reason = Some(reason);
        self
    }
    /// v2: keep the session open after storing the handoff.
    pub fn keep_session_open(mut self, yes: bool) -> Self {
        self.keep_session_open = Some(yes);
        self
    }
    /// v2: when the agent last worked (ISO 8601).
    pub fn last_activity_at(mut self, at: impl Into<String>) -> Self {
        self.last_activity_at = Some(at.into());
        self
    }
    /// Whether the session stays open after this handoff.
    pub fn keeps_session_open(&self) -> bool {
        self.keep_session_open == Some(true)
    }
    /// Uses the caller's idempotency key.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }
    /// [`EndSession::validate`] plus the rules of `generation`: on v2 the
    /// session id and `to_agent` patterns; on v1 the v2-only
    /// `keep_session_open` is refused (a v1 server would end the session).
    pub fn validate_for(&self, generation: Generation) -> Result<(), Error> {
        self.validate()?;
        match generation {
            Generation::V2 => {
                rules_v2::check_session_id(&self.session_id)?;
                if let Some(to) = &self.to_agent {
                    rules_v2::check_agent("to_agent", to)?;
                }
            }
            Generation::V1 if self.keeps_session_open() => {
                return Err(Error::invalid_input(
                    "keep_session_open",
                    "this server speaks v1, which always ends the session; nothing was sent",
                ))
            }
            Generation::V1 => {}
        }
        Ok(())
    }
    /// Checks required fields locally, and that the request fits the
    /// server's 1 MiB body limit ([`crate::policy::MAX_REQUEST_BODY_BYTES`]):
    /// a payload within its own limit plus a long summary can still exceed it.
    pub fn validate(&self) -> Result<(), Error> {
        require("session_id", &self.session_id)?;
        require("summary", &self.summary)?;
        check_body_size(self)
    }
}

/// Refuses a request whose JSON body would exceed the server's limit.
fn check_body_size<T: Serialize>(req: &T) -> Result<(), Error> {
    let size = serialized_len(req)?;
    let max = crate::policy::MAX_REQUEST_BODY_BYTES;
    if size > max {
        return Err(Error::PayloadTooLarge {
            message: format!(
                "the request body would be {size} bytes, over the server's limit of {max} \
                 (summary, labels and payload together); nothing was queued or sent"
            ),
            correlation_id: None,
        });
    }
    Ok(())
}

/// The length of `value`'s JSON text, counted without building it.
fn serialized_len<T: Serialize>(value: &T) -> Result<usize, Error> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)
        .map_err(|e| Error::invalid_input("body", format!("cannot be serialized: {e}")))?;
    Ok(count.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::MAX_PAYLOAD_BYTES;
    use serde_json::json;

    /// A payload whose canonical form is `size` bytes: `{"b":"xxx…"}`.
    fn payload_of(size: usize) -> serde_json::Value {
        json!({ "b": "x".repeat(size - 8) })
    }

    /// Issue #10 D: a payload just under its own limit plus a long summary
    /// is over the server's 1 MiB body limit: refused before it is queued.
    #[test]
    fn an_end_over_the_body_limit_is_refused_locally() {
        let payload = payload_of(MAX_PAYLOAD_BYTES - 100);
        assert!(EndSession::new("sess_1", "short", &payload).is_ok());
        // 131,000 characters of two UTF-8 bytes each.
        let refused = EndSession::new("sess_1", "é".repeat(131_000), &payload).err();
        assert!(
            matches!(
                refused,
                Some(Error::PayloadTooLarge {
                    correlation_id: None,
                    ..
                })
            ),
            "{refused:?}"
        );
        // Fields set after construction are checked by `validate` too.
        let mut req = EndSession::new("sess_1", "short", &payload).unwrap();
        req.to_agent = Some("a".repeat(300_000));
        assert!(matches!(
            req.validate().err(),
            Some(Error::PayloadTooLarge { .. })
        ));
    }

    fn nested(depth: usize) -> serde_json::Value {
        let mut v = json!({});
        for _ in 1..depth {
            v = json!({ "n": v });
        }
        v
    }

    /// Deeper payloads could be queued but never read back from the queue
    /// (or by the emulator): refused before anything is stored.
    #[test]
    fn payloads_and_meta_nested_too_deep_are_refused_locally() {
        let max = crate::policy::MAX_JSON_DEPTH;
        assert!(EndSession::new("sess_1", "s", &nested(max)).is_ok());
        let refused = EndSession::new("sess_1", "s", &nested(max + 1)).err();
        assert!(matches!(refused, Some(Error::InvalidInput { .. })));
        let mut up = Update::new("sess_1");
        up.meta = Some(nested(max + 1));
        assert!(matches!(up.validate(), Err(Error::InvalidInput { .. })));
        up.meta = Some(nested(max));
        assert!(up.validate().is_ok());
    }
}
