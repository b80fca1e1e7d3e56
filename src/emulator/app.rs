//! The emulator's shared state and the front door every request goes through.
//!
//! One [`App`] is shared by all connections: the configuration, the SQLite
//! connection (behind one mutex, so a route's read-check-write — including the
//! idempotency check and store — is a single serialized transaction and two
//! racing copies of a request can never both act), the adjustable clock, the
//! fault queue and the request counters. [`App::handle`] is the only entry
//! point: control routes go to `control`, API requests are counted, meet any
//! injected fault, then are routed the way the service routes them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jiff::Timestamp;
use rand::Rng as _;
use rusqlite::{Connection, Transaction};
use serde_json::json;

use super::clock::{format_ts, Clock};
use super::faults::{FaultAction, Faults};
use super::input::Query;
use super::reply::{self, Reply};
use super::{control, handoffs, idempotency, sessions, v2};

/// What the connection should do after a request was handled.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Send this response.
    Respond(Reply),
    /// Close the connection without sending anything.
    Drop,
}

/// State shared by every connection of one emulator.
pub(crate) struct App {
    /// The accepted `X-Relay-Key`.
    pub(crate) relay_key: String,
    /// First 16 hex characters of SHA-256(relay key), stamped on records.
    pub(crate) actor_key_id: String,
    /// Inclusive range the proposed heartbeat interval is drawn from.
    pub(crate) heartbeat_range: (u64, u64),
    /// The wire contract spoken.
    pub(crate) protocol: super::Protocol,
    /// When the emulator started (`deployed_at` of v2's `/version`).
    pub(crate) started_at: std::time::SystemTime,
    /// The database; one connection, one transaction at a time.
    pub(crate) db: Mutex<Connection>,
    /// The emulator clock.
    pub(crate) clock: Clock,
    /// Pending injected faults.
    pub(crate) faults: Faults,
    /// Requests received per API route path.
    pub(crate) requests: Mutex<BTreeMap<String, u64>>,
}

impl App {
    /// Handles one request from start to finish.
    pub(crate) async fn handle(&self, req: Request<Body>) -> Outcome {
        let path = req.uri().path().to_owned();
        if path == "/__emulator" || path.starts_with("/__emulator/") {
            return Outcome::Respond(control::handle(self, req).await);
        }
        if let Ok(mut counts) = self.requests.lock() {
            *counts.entry(path.clone()).or_insert(0) += 1;
        }
        let mut drop_after = false;
        let mut truncate_after = false;
        match self.faults.take(&path) {
            Some(FaultAction::Status {
                status,
                retry_after,
            }) => {
                let corr = reply::new_correlation_id();
                let mut r = reply::error(status, "Injected fault", None, &corr);
                r.retry_after = retry_after;
                return Outcome::Respond(r);
            }
            Some(FaultAction::DropBefore) => return Outcome::Drop,
            Some(FaultAction::DropAfter) => drop_after = true,
            Some(FaultAction::TruncateAfter) => truncate_after = true,
            Some(FaultAction::Delay(pause)) => tokio::time::sleep(pause).await,
            None => {}
        }
        let mut reply = self.route(req, &path).await;
        if truncate_after {
            let half = reply.body.len() / 2;
            reply.body.truncate(half);
        }
        if drop_after {
            Outcome::Drop
        } else {
            Outcome::Respond(reply)
        }
    }

    /// Routes an API request as the service does.
    async fn route(&self, req: Request<Body>, path: &str) -> Reply {
        let method = req.method().clone();
        if method == Method::OPTIONS {
            return Reply::preflight();
        }
        if self.protocol == super::Protocol::V2 {
            return v2::route(self, req, path).await;
        }
        if method == Method::GET && path == "/health" {
            let body = json!({
                "status": "healthy",
                "service": "crane-context",
                "timestamp": format_ts(self.clock.now()),
            });
            return Reply::json(StatusCode::OK, &body, None);
        }
        let known = matches!(
            (&method, path),
            (&Method::POST, "/sod" | "/update" | "/heartbeat" | "/eod")
                | (&Method::GET, "/active" | "/handoffs/latest" | "/handoffs")
        );
        if !known {
            return reply::endpoint_not_found(method.as_str(), path);
        }
        let corr = reply::new_correlation_id();
        let authorized = req
            .headers()
            .get("x-relay-key")
            .is_some_and(|k| k.as_bytes() == self.relay_key.as_bytes());
        if !authorized {
            return reply::unauthorized(&corr);
        }
        let query = Query::parse(req.uri().query());
        let (parts, body) = req.into_parts();
        match path {
            "/sod" => sessions::start_of_day(self, &parts.headers, body, &corr).await,
            "/update" => sessions::update(self, &parts.headers, body, &corr).await,
            "/heartbeat" => sessions::heartbeat(self, &parts.headers, body, &corr).await,
            "/active" => sessions::active(self, &query, &corr),
            "/eod" => handoffs::end_of_day(self, &parts.headers, body, &corr).await,
            "/handoffs/latest" => handoffs::latest(self, &query, &corr),
            _ => handoffs::list(self, &query, &corr),
        }
    }

    /// A heartbeat interval drawn uniformly from the configured range.
    pub(crate) fn heartbeat_interval(&self) -> u64 {
        let (min, max) = self.heartbeat_range;
        rand::rng().random_range(min.min(max)..=max.max(min))
    }

    /// Runs `work` in one transaction at one instant of the emulator clock;
    /// storage errors (and a poisoned lock) become a `500`.
    pub(crate) fn with_db<F>(&self, corr: &str, work: F) -> Reply
    where
        F: FnOnce(&Transaction<'_>, Timestamp) -> rusqlite::Result<Reply>,
    {
        let Ok(conn) = self.db.lock() else {
            return reply::internal("Internal error: database lock poisoned", corr);
        };
        let result = conn.unchecked_transaction().and_then(|tx| {
            let now = self.clock.now();
            let reply = work(&tx, now)?;
            tx.commit()?;
            Ok(reply)
        });
        result.unwrap_or_else(|e| reply::internal(&format!("D1_ERROR: {e}"), corr))
    }

    /// Like [`App::with_db`], wrapped in the idempotency check and store for
    /// `endpoint`: a live stored answer is replayed instead of running `work`,
    /// and a successful answer from `work` is stored under `key`.
    pub(crate) fn idempotent<F>(
        &self,
        endpoint: &str,
        key: Option<&str>,
        corr: &str,
        work: F,
    ) -> Reply
    where
        F: FnOnce(&Transaction<'_>, Timestamp) -> rusqlite::Result<Reply>,
    {
        self.with_db(corr, |tx, now| {
            if let Some(key) = key {
                let replay = if self.protocol == super::Protocol::V2 {
                    let cutoff = now.strftime("%Y-%m-%d %H:%M:%S").to_string();
                    idempotency::lookup_live_after(tx, endpoint, key, &cutoff)?
                } else {
                    idempotency::lookup(tx, endpoint, key, now)?
                };
                if let Some(replay) = replay {
                    return Ok(replay);
                }
            }
            let mut reply = work(tx, now)?;
            if self.protocol == super::Protocol::V2 {
                // Stored as sent: the v2 worker's size limit applies to the
                // pretty-printed body.
                reply = reply.pretty();
            }
            if let Some(key) = key.filter(|_| reply.is_success()) {
                idempotency::store(tx, endpoint, key, &reply, now)?;
            }
            Ok(reply)
        })
    }
}
