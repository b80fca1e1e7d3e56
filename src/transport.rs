//! One HTTP exchange, and the single place its outcome is classified.
//!
//! Every response or transport failure is mapped here to [`Outcome`]:
//! success (including idempotent replays), a truncated replay (the server's
//! 409 that means "the original succeeded"), transient (connect errors,
//! timeouts, resets, 408, 429, 5xx — with the server's `Retry-After`), or
//! permanent (400, 401, 403, 404, 409, 413 …). Retry loops, the offline queue
//! and heartbeats all act on this classification; none re-derives it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;

use crate::config::ClientConfig;
use crate::connectivity::Connectivity;
use crate::error::FieldError;
use crate::host_thread;
use crate::model::SessionStatus;
use crate::policy;
use crate::Error;

/// A response that reached us.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Bytes,
    pub correlation_id: Option<String>,
    pub idempotency_hit: bool,
}

/// The classified outcome of one attempt.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 2xx, fresh or replayed.
    Success(Reply),
    /// 409 + `X-Idempotency-Truncated`: the original request succeeded but its
    /// stored answer is too large to replay.
    TruncatedReplay,
    /// Worth retrying (after at least the error's `retry_after`, if any).
    Transient { error: Error },
    /// Retrying the same request cannot succeed.
    Permanent(Error),
}

/// The shared HTTP machinery of a client.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    /// How `http` was made, to make the same client for a host thread that
    /// drives its own calls (see `host_thread.rs`).
    settings: HttpSettings,
    /// Liveness token of this transport's per-thread clients.
    owner: Arc<()>,
    key_header: HeaderValue,
    max_response_bytes: u64,
    pub(crate) connectivity: Connectivity,
}

/// An API path; the base URL's own path is kept as a prefix.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}

/// What a transport's HTTP client is made from.
#[derive(Debug, Clone)]
struct HttpSettings {
    base: Url,
    user_agent: HeaderValue,
    connect_timeout: Duration,
    request_timeout: Duration,
}

impl HttpSettings {
    fn build(&self) -> Result<reqwest::Client, Error> {
        let mut defaults = HeaderMap::new();
        defaults.insert(USER_AGENT, self.user_agent.clone());
        let builder = crate::tls::configure(reqwest::Client::builder(), &self.base)?;
        builder
            .default_headers(defaults)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            // Never follow a redirect: reqwest keeps custom headers such as
            // X-Relay-Key across hops, so a 3xx would hand the key to the host
            // the server names (and a plain-http one at that). A 3xx becomes
            // `Error::Redirected`, naming the Location so the user can fix
            // the URL; every request sent goes to the checked base URL only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Network {
                message: format!("could not build the HTTP client: {}", error_chain(&e)),
            })
    }
}

impl Transport {
    pub(crate) fn new(config: &ClientConfig, connectivity: Connectivity) -> Result<Self, Error> {
        let mut key_header = HeaderValue::from_str(config.relay_key.expose())
            .map_err(|_| Error::invalid_input("relay_key", "not a valid header value"))?;
        key_header.set_sensitive(true);
        let settings = HttpSettings {
            base: config.base_url.clone(),
            user_agent: HeaderValue::from_str(&config.user_agent)
                .map_err(|_| Error::invalid_input("user_agent", "not a valid header value"))?,
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
        };
        let http = settings.build()?;
        Ok(Self {
            http,
            settings,
            owner: Arc::new(()),
            key_header,
            max_response_bytes: config.max_response_bytes,
            connectivity,
        })
    }

    /// The client to send with: the shared one, or on a host thread driving
    /// its own call, that thread's (see `host_thread.rs`).
    fn http(&self) -> Result<reqwest::Client, Outcome> {
        if !host_thread::driving() {
            return Ok(self.http.clone());
        }
        host_thread::client(&self.owner, || self.settings.build()).map_err(Outcome::Permanent)
    }

    /// Sends one request and classifies the outcome. Updates connectivity.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<Bytes>,
        idempotency_key: Option<&str>,
        authenticated: bool,
    ) -> Outcome {
        match self
            .fetch(method, path, query, body, idempotency_key, authenticated)
            .await
        {
            Ok((status, headers, body)) => classify(status, &headers, body),
            Err(failure) => failure,
        }
    }

    /// Sends one request and returns the raw answer; a transport failure is
    /// returned already classified. Updates connectivity.
    pub(crate) async fn fetch(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<Bytes>,
        idempotency_key: Option<&str>,
        authenticated: bool,
    ) -> Result<(StatusCode, HeaderMap, Bytes), Outcome> {
        let mut req = self
            .http()?
            .request(method, join(&self.settings.base, path));
        if !query.is_empty() {
            req = req.query(query);
        }
        if authenticated {
            req = req.header("X-Relay-Key", self.key_header.clone());
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(b);
        }
        let resp = req.send().await.map_err(|e| self.transport_failure(e))?;
        self.read_response(resp).await
    }

    /// Like [`Transport::send`] (authenticated, no idempotency key), and also
    /// says whether the request can have reached the server: `false` only
    /// when no connection was made (refused, unresolvable, TLS failed), so
    /// not a byte of the request was sent. Writes the server does not
    /// deduplicate resend blindly only then.
    pub(crate) async fn send_tracked(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> (Outcome, bool) {
        let http = match self.http() {
            Ok(http) => http,
            Err(failure) => return (failure, false),
        };
        let mut req = http
            .request(method, join(&self.settings.base, path))
            .header("X-Relay-Key", self.key_header.clone());
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(b);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                let reached = !e.is_connect();
                return (self.transport_failure(e), reached);
            }
        };
        match self.read_response(resp).await {
            Ok((status, headers, body)) => (classify(status, &headers, body), true),
            Err(failure) => (failure, true),
        }
    }

    async fn read_response(
        &self,
        resp: reqwest::Response,
    ) -> Result<(StatusCode, HeaderMap, Bytes), Outcome> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = self.read_capped(resp).await?;
        self.connectivity.mark_online();
        Ok((status, headers, body))
    }

    /// Reads a body chunk by chunk, stopping as soon as it passes the cap
    /// (a declared `Content-Length` over it is refused before reading). The
    /// client's request timeout bounds the whole read.
    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<Bytes, Outcome> {
        let status = resp.status().as_u16();
        let limit = self.max_response_bytes;
        let too_large = || {
            // The server answered; it is reachable.
            self.connectivity.mark_online();
            Outcome::Permanent(Error::ResponseTooLarge {
                status,
                limit_bytes: limit,
            })
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_failure(e))? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn transport_failure(&self, e: reqwest::Error) -> Outcome {
        let message = error_chain(&e);
        let error = if e.is_timeout() {
            Error::Timeout { message }
        } else {
            Error::Network { message }
        };
        // A connect failure or timeout means the server is unreachable; a
        // reset after connecting may be a single dropped connection.
        if e.is_connect() || e.is_timeout() {
            self.connectivity.mark_offline(&error.to_string());
        }
        Outcome::Transient { error }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    correlation_id: Option<String>,
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Classifies a response that arrived.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Outcome {
    let header_corr = header_str(headers, "x-correlation-id");
    let hit = header_str(headers, "x-idempotency-hit").is_some_and(|v| v == "true");
    if status.is_success() {
        return Outcome::Success(Reply {
            status: status.as_u16(),
            body,
            correlation_id: header_corr,
            idempotency_hit: hit,
        });
    }
    if status == StatusCode::CONFLICT
        && header_str(headers, "x-idempotency-truncated").is_some_and(|v| v == "true")
    {
        return Outcome::TruncatedReplay;
    }
    if status.is_redirection() {
        let location = header_str(headers, reqwest::header::LOCATION.as_str())
            .map(|l| crate::redact::redact_url_text(&l))
            .unwrap_or_else(|| "(none)".into());
        return Outcome::Permanent(Error::Redirected {
            status: status.as_u16(),
            location,
        });
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let (message, details, body_corr) = match parsed {
        Some(b) => {
            let msg = b
                .error
                .or(b.message)
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            (msg, b.details, b.correlation_id)
        }
        None => (non_json_message(status, &body), None, None),
    };
    let correlation_id = header_corr.or(body_corr);
    let retry_after = header_str(headers, RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(&v));
    let code = status.as_u16();
    let error = match code {
        400 => Error::Validation {
            fields: field_errors(details.as_ref(), &message),
            message,
            correlation_id,
        },
        401 | 403 => Error::Unauthorized {
            message,
            correlation_id,
        },
        404 => Error::NotFound {
            message,
            correlation_id,
        },
        409 => Error::SessionNotActive {
            status: details
                .as_ref()
                .and_then(|d| d.get("status"))
                .and_then(|s| serde_json::from_value::<SessionStatus>(s.clone()).ok()),
            message,
            correlation_id,
        },
        413 => Error::PayloadTooLarge {
            message,
            correlation_id,
        },
        429 => Error::RateLimited {
            retry_after,
            message,
            correlation_id,
        },
        _ => Error::Server {
            status: code,
            retry_after,
            message,
            correlation_id,
        },
    };
    if code == 408 || code == 429 || status.is_server_error() {
        Outcome::Transient { error }
    } else {
        Outcome::Permanent(error)
    }
}

fn non_json_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(policy::ERROR_BODY_EXCERPT)
        .collect();
    if text.trim().is_empty() {
        format!("HTTP {} with an empty body", status.as_u16())
    } else {
        format!(
            "HTTP {} with a non-JSON body: {}",
            status.as_u16(),
            text.trim()
        )
    }
}

fn field_errors(details: Option<&Value>, message: &str) -> Vec<FieldError> {
    match details {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| serde_json::from_value::<FieldError>(i.clone()).ok())
            .collect(),
        Some(Value::String(s)) if message.contains("idempotency") => vec![FieldError {
            field: "Idempotency-Key".into(),
            message: s.clone(),
        }],
        _ => Vec::new(),
    }
}

/// `Retry-After`: delta-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let delta = when.duration_since(jiff::Timestamp::now());
    Some(Duration::from_secs(delta.as_secs().max(0) as u64))
}

/// Decodes a success body into `T`, as a typed error if it does not fit.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| Error::Decode {
        status: reply.status,
        message: if reply.body.is_empty() {
            "empty response body".into()
        } else {
            format!("unexpected response body: {e}")
        },
        correlation_id: reply.correlation_id.clone().or_else(|| {
            serde_json::from_slice::<ErrorBody>(&reply.body)
                .ok()
                .and_then(|b| b.correlation_id)
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdrs(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn classifies_statuses() {
        let body = Bytes::from_static(br#"{"error":"Session is not active","details":{"session_id":"s","status":"abandoned"},"correlation_id":"corr_b"}"#);
        match classify(StatusCode::CONFLICT, &hdrs(&[]), body) {
            Outcome::Permanent(Error::SessionNotActive {
                status,
                correlation_id,
                ..
            }) => {
                assert_eq!(status, Some(SessionStatus::Abandoned));
                assert_eq!(correlation_id.as_deref(), Some("corr_b"));
            }
            other => panic!("{other:?}"),
        }
        let truncated = hdrs(&[
            ("x-idempotency-hit", "true"),
            ("x-idempotency-truncated", "true"),
        ]);
        assert!(matches!(
            classify(StatusCode::CONFLICT, &truncated, Bytes::new()),
            Outcome::TruncatedReplay
        ));
        match classify(
            StatusCode::TOO_MANY_REQUESTS,
            &hdrs(&[("retry-after", "7")]),
            Bytes::new(),
        ) {
            Outcome::Transient {
                error: error @ Error::RateLimited { .. },
            } => {
                assert_eq!(error.retry_after(), Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        let html = Bytes::from_static(b"<html><body>502 Bad Gateway</body></html>");
        match classify(
            StatusCode::BAD_GATEWAY,
            &hdrs(&[("x-correlation-id", "corr_h")]),
            html,
        ) {
            Outcome::Transient {
                error:
                    Error::Server {
                        status: 502,
                        message,
                        correlation_id,
                        ..
                    },
            } => {
                assert!(message.contains("non-JSON"), "{message}");
                assert_eq!(correlation_id.as_deref(), Some("corr_h"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(StatusCode::REQUEST_TIMEOUT, &hdrs(&[]), Bytes::new()),
            Outcome::Transient { .. }
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &hdrs(&[]), Bytes::new()),
            Outcome::Permanent(Error::Unauthorized { .. })
        ));
        assert!(matches!(
            classify(StatusCode::PAYLOAD_TOO_LARGE, &hdrs(&[]), Bytes::new()),
            Outcome::Permanent(Error::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("12"), Some(Duration::from_secs(12)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn join_keeps_base_path() {
        let b = Url::parse("https://h.example/api/").unwrap();
        assert_eq!(join(&b, "/sod").as_str(), "https://h.example/api/sod");
        let b = Url::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            join(&b, "/handoffs/latest").as_str(),
            "http://127.0.0.1:9/handoffs/latest"
        );
    }
}
