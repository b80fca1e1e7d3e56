//! The v2 generation of the service: the late-2026 worker's agent-side routes.
//!
//! The SDK will have to speak both generations while servers are upgraded, so
//! the emulator speaks both: [`route`] is the front door for an emulator
//! started with [`Protocol::V2`](super::Protocol::V2), taking over after the
//! shared part of [`App::handle`] (request counting, injected faults, the
//! `OPTIONS` preflight), so faults and the controllable clock apply to every
//! v2 route exactly as to v1's. It follows the v2 contract
//! (`docs/contract/crane-context-api-v2.md`): routing before auth (an unknown
//! route is a 404 with or without a key), three public routes, and the
//! records v2 adds (checkpoints, notes, docs, per-minute activity) in the same
//! SQLite database. Each sub-module is one group of routes; shared input and
//! identity rules live in `rules`.

mod catalog;
mod checkpoints;
mod context;
mod docs;
mod handoffs;
mod history;
mod notes;
mod queries;
mod rules;
mod sessions;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use super::app::App;
use super::clock::format_ts;
use super::input::Query;
use super::reply::{self, Reply};

pub(crate) use docs::seed as seed_doc;

/// A recognised v2 route (after routing, before auth).
enum Route {
    Sos,
    Eos,
    Update,
    Heartbeat,
    Checkpoint,
    Checkpoints,
    Siblings,
    Prior,
    History,
    Activity(String),
    Active,
    HandoffsLatest,
    Handoffs,
    HandoffStatus(String),
    Docs,
    DocsAudit,
    Doc(String, String),
    NotesCreate,
    NotesList,
    Note(String),
    NoteUpdate(String),
    NoteArchive(String),
    MemoryGate,
}

/// Maps method and path to a route; `Err` is the answer for a path the
/// service rejects before auth (unknown route, malformed docs path).
fn resolve(method: &Method, path: &str) -> Result<Route, Reply> {
    let post = method == Method::POST;
    let get = method == Method::GET;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let route = match (segments.as_slice(), post, get) {
        (["sos" | "sod"], true, _) => Some(Route::Sos),
        (["eos" | "eod"], true, _) => Some(Route::Eos),
        (["update"], true, _) => Some(Route::Update),
        (["heartbeat"], true, _) => Some(Route::Heartbeat),
        (["checkpoint"], true, _) => Some(Route::Checkpoint),
        (["checkpoints"], _, true) => Some(Route::Checkpoints),
        (["siblings"], _, true) => Some(Route::Siblings),
        (["sessions", "prior"], _, true) => Some(Route::Prior),
        (["sessions", "history"], _, true) => Some(Route::History),
        (["sessions", id, "activity"], true, _) if !id.is_empty() => {
            Some(Route::Activity((*id).to_owned()))
        }
        (["active"], _, true) => Some(Route::Active),
        (["handoffs", "latest"], _, true) => Some(Route::HandoffsLatest),
        (["handoffs"], _, true) => Some(Route::Handoffs),
        (["handoffs", id, "status"], true, _) if !id.is_empty() => {
            Some(Route::HandoffStatus((*id).to_owned()))
        }
        (["docs"], _, true) => Some(Route::Docs),
        (["docs", "audit"], _, true) => Some(Route::DocsAudit),
        (["docs", scope, name], _, true) => {
            Some(Route::Doc((*scope).to_owned(), (*name).to_owned()))
        }
        (["docs", ..], _, true) => {
            return Err(Reply::json(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "Invalid docs path" }),
                None,
            ))
        }
        (["notes"], true, _) => Some(Route::NotesCreate),
        (["notes"], _, true) => Some(Route::NotesList),
        (["notes", id], _, _) if !id.is_empty() => Some(Route::Note((*id).to_owned())),
        (["notes", id, "update"], _, _) if !id.is_empty() => {
            Some(Route::NoteUpdate((*id).to_owned()))
        }
        (["notes", id, "archive"], _, _) if !id.is_empty() => {
            Some(Route::NoteArchive((*id).to_owned()))
        }
        (["config", "memory-gate"], _, true) => Some(Route::MemoryGate),
        _ => None,
    };
    route.ok_or_else(|| reply::endpoint_not_found(method.as_str(), path))
}

/// Routes a v2 API request (not `OPTIONS`, not the control API); every
/// answer is pretty-printed as the v2 worker writes it.
pub(crate) async fn route(app: &App, req: Request<Body>, path: &str) -> Reply {
    answer(app, req, path).await.pretty()
}

async fn answer(app: &App, req: Request<Body>, path: &str) -> Reply {
    let method = req.method().clone();
    if method == Method::GET {
        match path {
            "/health" => {
                let body = json!({
                    "status": "healthy",
                    "service": "crane-context",
                    "timestamp": format_ts(app.clock.now()),
                });
                let mut reply = Reply::json(StatusCode::OK, &body, None);
                reply.compact = true;
                return reply;
            }
            "/version" => return Reply::json(StatusCode::OK, &catalog::version(app), None),
            "/ventures" => {
                return Reply::json(
                    StatusCode::OK,
                    &json!({ "ventures": catalog::ventures() }),
                    None,
                )
            }
            _ => {}
        }
    }
    let route = match resolve(&method, path) {
        Ok(route) => route,
        Err(reply) => return reply,
    };
    let corr = reply::new_correlation_id();
    let authorized = req
        .headers()
        .get("x-relay-key")
        .is_some_and(|k| k.as_bytes() == app.relay_key.as_bytes());
    if !authorized {
        return reply::unauthorized(&corr);
    }
    let query = Query::parse(req.uri().query());
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    match route {
        Route::Sos => sessions::start(app, headers, body, &corr).await,
        Route::Update => sessions::update(app, headers, body, &corr).await,
        Route::Heartbeat => sessions::heartbeat(app, headers, body, &corr).await,
        Route::Active => queries::active(app, &query, &corr),
        Route::Siblings => queries::siblings(app, &query, &corr),
        Route::Prior => queries::prior(app, &query, &corr),
        Route::History => history::history(app, &query, &corr),
        Route::Activity(id) => history::activity(app, &id, headers, body, &corr).await,
        Route::Checkpoint => checkpoints::create(app, headers, body, &corr).await,
        Route::Checkpoints => checkpoints::list(app, &query, &corr),
        Route::Eos => handoffs::end(app, headers, body, &corr).await,
        Route::HandoffsLatest => super::handoffs::latest(app, &query, &corr),
        Route::Handoffs => handoffs::list(app, &query, &corr),
        Route::HandoffStatus(id) => handoffs::set_status(app, &id, headers, body, &corr).await,
        Route::Docs => docs::list(app, &query, &corr),
        Route::DocsAudit => docs::audit(app, &query, &corr),
        Route::Doc(scope, name) => docs::get(app, &scope, &name, &corr),
        Route::NotesCreate => notes::create(app, headers, body, &corr).await,
        Route::NotesList => notes::list(app, &query, &corr),
        Route::Note(id) => notes::get(app, &id, &corr),
        Route::NoteUpdate(id) => notes::update(app, &id, headers, body, &corr).await,
        Route::NoteArchive(id) => notes::archive(app, &id, &corr),
        Route::MemoryGate => Reply::json(
            StatusCode::OK,
            &json!({ "gate": "either", "correlation_id": corr }),
            Some(&corr),
        ),
    }
}
