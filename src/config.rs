//! Client configuration and the relay key.
//!
//! The relay key is wrapped in [`RelayKey`], whose `Debug` and `Display` show
//! only its public fingerprint (the server's `actor_key_id`), so it cannot end
//! up in a log line, an error or a panic message by accident. Plain `http://`
//! is refused for anything but loopback unless explicitly allowed, because the
//! key travels in a header.

use std::time::Duration;

use reqwest::Url;

use crate::canonical::sha256_hex;
use crate::policy;
use crate::retry::RetryPolicy;
use crate::Error;

/// The server's name for a relay key: the first 16 hex chars of SHA-256(key).
pub(crate) fn actor_key_id_of(key: &str) -> String {
    let mut hash = sha256_hex(key.as_bytes());
    hash.truncate(16);
    hash
}

/// The shared secret sent as `X-Relay-Key`. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayKey(String);

impl RelayKey {
    /// Wraps a key; empty or whitespace-only keys are rejected.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid_input("relay_key", "is empty"));
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_input(
                "relay_key",
                "contains characters not allowed in an HTTP header",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The server's name for this key: first 16 hex chars of SHA-256(key).
    pub fn actor_key_id(&self) -> String {
        actor_key_id_of(&self.0)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RelayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelayKey(actor_key_id={})", self.actor_key_id())
    }
}

impl std::fmt::Display for RelayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key {}", self.actor_key_id())
    }
}

/// Everything a [`crate::Client`] needs; build it with [`ClientConfig::new`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://crane-context.example.workers.dev`.
    pub base_url: Url,
    /// The relay key.
    pub relay_key: RelayKey,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Per-attempt timeout.
    pub request_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Retry policy for writes (`/sod`, `/update`, `/eod`) and reads.
    pub retry: RetryPolicy,
    /// Retry policy for `/heartbeat` (brief).
    pub heartbeat_retry: RetryPolicy,
    /// Largest response body read, in bytes (default
    /// [`policy::MAX_RESPONSE_BYTES`]); a larger one is
    /// [`Error::ResponseTooLarge`].
    pub max_response_bytes: u64,
    /// Pins the server's generation (`None`: detect it with `GET /version`
    /// and remember it; see [`crate::generation`]).
    pub protocol: Option<crate::generation::Generation>,
}

impl ClientConfig {
    /// A configuration with default timeouts and retries. The URL must be
    /// `https://`, or `http://` on a loopback address.
    pub fn new(base_url: &str, relay_key: RelayKey) -> Result<Self, Error> {
        let base_url = parse_base_url(base_url, false)?;
        Ok(Self {
            base_url,
            relay_key,
            connect_timeout: policy::CONNECT_TIMEOUT,
            request_timeout: policy::REQUEST_TIMEOUT,
            user_agent: format!("crane-context/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            heartbeat_retry: RetryPolicy::heartbeat(),
            max_response_bytes: policy::MAX_RESPONSE_BYTES,
            protocol: None,
        })
    }

    /// Like [`ClientConfig::new`] but allows plain `http://` to any host
    /// (the key then crosses the network unencrypted).
    pub fn new_allow_insecure(base_url: &str, relay_key: RelayKey) -> Result<Self, Error> {
        let mut me = Self::new("http://127.0.0.1", relay_key)?;
        me.base_url = parse_base_url(base_url, true)?;
        Ok(me)
    }

    /// Sets both timeouts.
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Pins the server's generation instead of detecting it.
    pub fn protocol(mut self, generation: crate::generation::Generation) -> Self {
        self.protocol = Some(generation);
        self
    }

    /// Sets the retry policy for writes and reads.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

/// Parses and checks a base URL: `https://`, or plain `http://` to loopback
/// (or anywhere with `allow_insecure`), with a host and no userinfo.
pub fn parse_base_url(text: &str, allow_insecure: bool) -> Result<Url, Error> {
    let url = Url::parse(text.trim()).map_err(|e| {
        let shown = crate::redact::redact_url_text(text);
        Error::invalid_input("url", format!("{shown:?} is not a URL: {e}"))
    })?;
    // The relay key is the credential. A user name or password in the URL
    // would be sent as Basic auth and shown wherever the URL is (doctor,
    // errors, the keeper's command line), so it is refused, unechoed.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(
            "url",
            format!(
                "{} has a user name or password in it; remove it (the relay key is the credential)",
                crate::redact::redact_url(&url)
            ),
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure || is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid_input(
                "url",
                format!("{url} uses plain http to a non-loopback host; use https (or allow insecure http explicitly)"),
            ))
        }
        other => {
            return Err(Error::invalid_input(
                "url",
                format!("unsupported scheme {other:?}; use https"),
            ))
        }
    }
    if url.host_str().is_none() {
        return Err(Error::invalid_input("url", format!("{url} has no host")));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_never_printed() {
        let k = RelayKey::new("test-relay-key-0123456789abcdef").unwrap();
        assert_eq!(k.actor_key_id(), "3ebd13c0000708e1");
        let cfg = ClientConfig::new("http://127.0.0.1:1", k.clone()).unwrap();
        let dbg = format!("{cfg:?} {k} {k:?}");
        assert!(!dbg.contains("test-relay-key"), "{dbg}");
        assert!(dbg.contains("3ebd13c0000708e1"));
    }

    #[test]
    fn url_rules() {
        assert!(parse_base_url("https://x.example", false).is_ok());
        assert!(parse_base_url("http://localhost:8787", false).is_ok());
        assert!(parse_base_url("http://[::1]:1", false).is_ok());
        assert!(matches!(
            parse_base_url("http://x.example", false),
            Err(Error::InvalidInput { .. })
        ));
        assert!(parse_base_url("http://x.example", true).is_ok());
        assert!(parse_base_url("ftp://x", false).is_err());
        assert!(parse_base_url("not a url", false).is_err());
        let e = parse_base_url("https://u:hunter2@x.example/", false).unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "url"));
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = parse_base_url("https://u:hunter2@x .example/", false).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(RelayKey::new("  ").is_err());
        assert!(RelayKey::new("a\nb").is_err());
    }
}
