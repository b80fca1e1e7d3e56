//! What the host passes in: client options and the write requests.
//!
//! Every field but the essential ones has a default, so Python reads
//! `StartRequest(agent="a", venture="vc", repo="o/r")` and Swift
//! `StartRequest(agent: "a", venture: "vc", repo: "o/r")`. Each record turns
//! into the Rust request through the Rust builders, whose validation is the
//! only validation: JSON text that does not parse, or is not an object, is
//! [`CraneError::InvalidInput`](super::CraneError::InvalidInput).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ClientConfig, RelayKey};
use crate::engine::CraneConfig;
use crate::model::{EndSession, Payload, StartSession, Update};
use crate::Error;

use super::listener::{CraneListener, ListenerAdapter};

/// How a [`CraneClient`](super::CraneClient) is set up; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ClientOptions {
    /// The queue/cache file; default `$CRANE_HOME/crane.db` or the platform data dir.
    #[uniffi(default = None)]
    pub store_path: Option<String>,
    /// Allow plain `http://` to a non-loopback host (the key then travels unencrypted).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
    /// TCP/TLS connect timeout, milliseconds (default 5000).
    #[uniffi(default = None)]
    pub connect_timeout_ms: Option<u64>,
    /// Per-attempt request timeout, milliseconds (default 30000).
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u64>,
    /// Largest random amount a heartbeat is sent early, milliseconds (default 15000).
    #[uniffi(default = None)]
    pub heartbeat_jitter_ms: Option<u64>,
    /// Most items the offline queue holds (default: the SDK's limit).
    #[uniffi(default = None)]
    pub max_queue_items: Option<u64>,
    /// `User-Agent` header (default `crane-context/<version>`).
    #[uniffi(default = None)]
    pub user_agent: Option<String>,
    /// Re-home a queued handoff whose session ended or was abandoned without
    /// it (deliver it in a new session of the same agent/venture/repo/track);
    /// `false`: such an item is dead, with the reason. Default: on (with
    /// `from_env`: `CRANE_REHOME`, else the config file's `rehome_abandoned`).
    #[uniffi(default = None)]
    pub rehome_abandoned: Option<bool>,
    /// The config file's profile `from_env` reads (default: `CRANE_ENV`, else
    /// the file's default profile). Ignored by the explicit URL and key constructor.
    #[uniffi(default = None)]
    pub profile: Option<String>,
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The HTTP client's configuration for an explicit URL and key.
pub(crate) fn client_config(
    url: &str,
    relay_key: &str,
    allow_insecure_http: bool,
) -> Result<ClientConfig, Error> {
    let key = RelayKey::new(relay_key)?;
    if allow_insecure_http {
        ClientConfig::new_allow_insecure(url, key)
    } else {
        ClientConfig::new(url, key)
    }
}

/// Builds the engine configuration around a client configuration, and the
/// adapter of the host's listener (kept by the client, to detach it on close).
pub(crate) fn crane_config(
    mut client: ClientConfig,
    options: ClientOptions,
    listener: Option<Arc<dyn CraneListener>>,
) -> (CraneConfig, Option<Arc<ListenerAdapter>>) {
    if let Some(ms) = options.connect_timeout_ms {
        client.connect_timeout = millis(ms);
    }
    if let Some(ms) = options.request_timeout_ms {
        client.request_timeout = millis(ms);
    }
    if let Some(agent) = options.user_agent {
        client.user_agent = agent;
    }
    let mut config = CraneConfig::new(client);
    config.store_path = options.store_path.map(PathBuf::from);
    if let Some(ms) = options.heartbeat_jitter_ms {
        config.heartbeat_jitter = millis(ms);
    }
    if let Some(n) = options.max_queue_items {
        config.queue_limits.max_items = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(on) = options.rehome_abandoned {
        config.rehome_abandoned = on;
    }
    let adapter = listener.map(|l| Arc::new(ListenerAdapter::new(l)));
    if let Some(adapter) = &adapter {
        config.listener = adapter.clone();
    }
    (config, adapter)
}

fn json_object(field: &str, text: Option<String>) -> Result<Option<serde_json::Value>, Error> {
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| Error::invalid_input(field, format!("is not valid JSON: {e}")))
    })
    .transpose()
}

/// Starts (or resumes) the session of an (agent, venture, repo, track).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StartRequest {
    /// Agent name, e.g. `cc-cli-host`.
    pub agent: String,
    /// Venture code, e.g. `vc`.
    pub venture: String,
    /// Repository, `owner/name`.
    pub repo: String,
    /// Work track.
    #[uniffi(default = None)]
    pub track: Option<i64>,
    /// Issue number.
    #[uniffi(default = None)]
    pub issue_number: Option<i64>,
    /// Git branch.
    #[uniffi(default = None)]
    pub branch: Option<String>,
    /// Git commit.
    #[uniffi(default = None)]
    pub commit_sha: Option<String>,
    /// Host name.
    #[uniffi(default = None)]
    pub host: Option<String>,
    /// Client program name (default `crane-context-sdk`).
    #[uniffi(default = None)]
    pub client: Option<String>,
    /// Client program version.
    #[uniffi(default = None)]
    pub client_version: Option<String>,
    /// Caller metadata: JSON text of an object.
    #[uniffi(default = None)]
    pub meta_json: Option<String>,
    /// Ask the server for the documentation bundle.
    #[uniffi(default = true)]
    pub include_docs: bool,
    /// Send heartbeats automatically on the server's schedule.
    #[uniffi(default = true)]
    pub auto_heartbeat: bool,
    /// v2: the agent's own session id (e.g. its transcript's).
    #[uniffi(default = None)]
    pub client_session_id: Option<String>,
    /// v2: the group of sessions working together.
    #[uniffi(default = None)]
    pub session_group_id: Option<String>,
}

impl StartRequest {
    /// The Rust request (validated when sent).
    pub(crate) fn into_model(self) -> Result<StartSession, Error> {
        let mut req = StartSession::new(self.agent, self.venture, self.repo);
        req.track = self.track;
        req.issue_number = self.issue_number;
        req.branch = self.branch;
        req.commit_sha = self.commit_sha;
        req.host = self.host;
        if let Some(client) = self.client {
            req.client = Some(client);
            req.client_version = self.client_version;
        } else if self.client_version.is_some() {
            req.client_version = self.client_version;
        }
        req.meta = json_object("meta_json", self.meta_json)?;
        req.include_docs = self.include_docs;
        req.client_session_id = self.client_session_id;
        req.session_group_id = self.session_group_id;
        Ok(req)
    }
}

/// Progress on a session; also refreshes its heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct UpdateRequest {
    /// New branch.
    #[uniffi(default = None)]
    pub branch: Option<String>,
    /// New commit.
    #[uniffi(default = None)]
    pub commit_sha: Option<String>,
    /// Metadata: JSON text of an object.
    #[uniffi(default = None)]
    pub meta_json: Option<String>,
}

impl UpdateRequest {
    /// The Rust request for a session (validated when sent).
    pub(crate) fn into_model(self, session_id: String) -> Result<Update, Error> {
        let mut req = Update::new(session_id);
        req.branch = self.branch;
        req.commit_sha = self.commit_sha;
        req.meta = json_object("meta_json", self.meta_json)?;
        Ok(req)
    }
}

/// The handoff that ends a session.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EndRequest {
    /// One-line summary (non-empty).
    pub summary: String,
    /// The payload: JSON text of an object, at most 800 KiB once canonical.
    pub payload_json: String,
    /// Status label, e.g. `in-progress`.
    #[uniffi(default = None)]
    pub status_label: Option<String>,
    /// The intended next agent.
    #[uniffi(default = None)]
    pub to_agent: Option<String>,
    /// v2: store the handoff and keep the session active (and beating);
    /// sent now or an error, never queued.
    #[uniffi(default = false)]
    pub keep_session_open: bool,
    /// v2: when the agent last worked (ISO 8601), stored on the session.
    #[uniffi(default = None)]
    pub last_activity_at: Option<String>,
}

impl EndRequest {
    /// The Rust request for a session, validated (size limit included).
    pub(crate) fn into_model(self, session_id: String) -> Result<EndSession, Error> {
        let payload = Payload::from_json_str(&self.payload_json)?;
        let mut req = EndSession::with_payload(session_id, self.summary, payload)?;
        req.status_label = self.status_label;
        req.to_agent = self.to_agent;
        if self.keep_session_open {
            req.keep_session_open = Some(true);
        }
        req.last_activity_at = self.last_activity_at;
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(payload: &str) -> Result<EndSession, Error> {
        EndRequest {
            summary: "done".into(),
            payload_json: payload.into(),
            status_label: None,
            to_agent: None,
            keep_session_open: false,
            last_activity_at: None,
        }
        .into_model("sess_1".into())
    }

    #[test]
    fn payload_must_be_a_json_object() {
        assert!(end(r#"{"next":"tests"}"#).is_ok());
        for bad in ["[1,2]", "\"text\"", "not json", "42"] {
            assert!(matches!(end(bad), Err(Error::InvalidInput { .. })), "{bad}");
        }
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(900_000));
        assert!(matches!(end(&big), Err(Error::PayloadTooLarge { .. })));
    }

    #[test]
    fn options_build_a_config() {
        let options = ClientOptions {
            store_path: Some("/tmp/x.db".into()),
            heartbeat_jitter_ms: Some(0),
            request_timeout_ms: Some(1500),
            ..ClientOptions::default()
        };
        let Ok(client) = client_config("http://127.0.0.1:9", "k", false) else {
            panic!("loopback http must be accepted");
        };
        let (config, _) = crane_config(client, options, None);
        assert_eq!(config.heartbeat_jitter, Duration::ZERO);
        assert_eq!(config.client.request_timeout, Duration::from_millis(1500));
        assert_eq!(config.store_path, Some(PathBuf::from("/tmp/x.db")));
        assert!(client_config("http://example.com", "k", false).is_err());
        assert!(client_config("http://example.com", "k", true).is_ok());
        assert!(client_config("https://example.com", " ", false).is_err());
    }
}
