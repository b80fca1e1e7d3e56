//! What each tool does, on the engine; rendering and the protocol are
//! elsewhere (`render.rs`, `server.rs`).
//!
//! Writes go through the engine (`/sod` flushes the tuple's queue first;
//! `/update` and `/eod` are queued before they are sent), reads through its
//! client. A tool that needs the session uses the handle this process holds
//! or, failing that, the session cached for this checkout by any process.

use jiff::Timestamp;
use serde_json::{json, Map, Value};

use super::params::*;
use super::render::{clip, done, Failure, ToolResult};
use super::session::{no_session, State};
use crate::engine::{CheckpointOutcome, EndOutcome, NoteOutcome, UpdateOutcome};
use crate::model::v2::{NewCheckpoint, NewNote, NoteChanges, NotesQuery, PriorSessionQuery};
use crate::model::{EndSession, Handoff, HandoffFilter, HandoffsQuery, StartSession, Update};
use crate::store::ItemState;
use crate::Error;

/// `crane_sos`: start or resume this checkout's session and keep it alive.
pub(crate) async fn sos(st: &State, a: SosArgs) -> ToolResult {
    let requested = a
        .venture
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let (venture, note) = match route(st, requested).await? {
        Route::Start { venture, note } => (venture, note),
        Route::Answer(answer) => return Ok(answer),
    };
    let id = &st.identity;
    let mut req = StartSession::new(&id.agent, &venture, &id.repo)
        .host(&id.host)
        .include_docs(a.include_docs.unwrap_or(true));
    req.client = Some(id.client.clone());
    req.client_version = id.client_version.clone();
    req.track = id.track;
    req.issue_number = a.issue_number;
    req.branch = id.branch.clone();
    req.commit_sha = id.commit_sha.clone();
    let handle = match st.crane.start_session(req.clone()).await {
        // The drain may hold this tuple's queued items in flight while the
        // start's own flush looks for them: let it finish, retry once.
        Err(Error::Offline { .. }) if st.crane.client().connectivity().is_online() => {
            let _ = st.crane.settle(crate::policy::DIRECT_CALL_DEADLINE).await;
            st.crane.start_session(req).await?
        }
        other => other?,
    };
    let resp = handle.start_response();
    let session = handle.session().clone();
    let next = handle.next_heartbeat_at();
    let status = handle
        .start_status()
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "started".into());
    // The previous handle (if any) is dropped here: same tuple, same
    // session or its successor; only the new one beats.
    *st.session.lock().await = Some(handle);
    st.set_venture(&venture);

    let last = match resp.as_ref().and_then(|r| r.last_handoff.clone()) {
        Some(h) => Some(h),
        None => st
            .crane
            .last_handoff(&venture, &id.repo, id.track)
            .await
            .ok()
            .and_then(|f| f.value),
    };
    let docs: Vec<Value> = resp
        .as_ref()
        .and_then(|r| r.documentation.as_ref())
        .map(|d| {
            d.docs
                .iter()
                .map(|doc| json!({"scope": doc.scope, "doc_name": doc.doc_name}))
                .collect()
        })
        .unwrap_or_default();
    let mut text = format!(
        "Session {} {status} for {} on {venture} / {}.\nHeartbeats are automatic while this MCP \
         server runs (next around {next}); you never need to send one.\n",
        session.id, id.agent, id.repo
    );
    if let Some(n) = &note {
        text.push_str(n);
        text.push('\n');
    }
    text.push_str(&handoff_text("Last handoff", last.as_ref()));
    if !docs.is_empty() {
        text.push_str(&format!(
            "\nDocs available ({}): read them with crane_doc or the crane://docs/{{scope}}/{{name}} resources.",
            docs.len()
        ));
    }
    text.push_str("\nEnd the session with crane_handoff; record progress with crane_checkpoint.");
    done(
        text,
        json!({
            "session_id": session.id,
            "status": status,
            "session": session,
            "next_heartbeat_at": next,
            "heartbeat_interval_seconds": resp.as_ref().map(|r| r.heartbeat_interval_seconds),
            "correlation_id": resp.as_ref().and_then(|r| r.correlation_id.clone()),
            "started": true,
            "venture": venture,
            "venture_note": note,
            "repo": id.repo,
            "agent": id.agent,
            "last_handoff": last,
            "docs": docs,
        }),
    )
}

/// What `crane_sos` does with the venture asked for.
enum Route {
    /// Start the session for this venture (with a remark for the model).
    Start {
        venture: String,
        note: Option<String>,
    },
    /// Start nothing: this answer explains why and what to do.
    Answer(super::render::Done),
}

/// Decides `crane_sos`'s venture. The TypeScript server's rules: a
/// `venture` that is not this checkout's starts nothing and answers how to
/// get there; a checkout no venture lists starts nothing and lists the
/// ventures. One departure: a `venture` named for a checkout no venture
/// lists starts the session under it (as `crane sod --venture` does), and
/// says the repository is not among its repos.
async fn route(st: &State, requested: Option<&str>) -> Result<Route, Failure> {
    let id = &st.identity;
    let ours = match (requested, st.known_venture()) {
        // Resuming: the venture the session was started for.
        (None, Some(v)) => Ok(v),
        _ => st.checkout_venture().await,
    };
    let start = |venture: String, note: Option<String>| Ok(Route::Start { venture, note });
    match (requested, ours) {
        (None, Ok(v)) => start(v, None),
        (Some(r), Ok(v)) if r.eq_ignore_ascii_case(&v) => start(v, None),
        (Some(r), Ok(v)) => {
            let list = st.crane.ventures().await.map(|f| f.value).ok();
            let target = list
                .as_ref()
                .and_then(|l| l.iter().find(|x| x.code.eq_ignore_ascii_case(r)));
            let repos: Vec<String> = target
                .map(|t| {
                    t.repos
                        .iter()
                        .map(|name| format!("{}/{name}", t.org.as_deref().unwrap_or("?")))
                        .collect()
                })
                .unwrap_or_default();
            let where_to = match (target, repos.is_empty()) {
                (None, _) => format!(
                    "The service lists no venture {r:?}{}.",
                    list.as_ref()
                        .map(|l| format!(
                            " (ventures: {})",
                            l.iter()
                                .map(|x| x.code.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                        .unwrap_or_default()
                ),
                (Some(_), true) => format!("The service lists no repository for {r}."),
                (Some(t), false) => format!(
                    "To work on {} ({r}), start your agent in a checkout of one of its \
                     repositories — {} — and call crane_sos there.",
                    t.name.as_deref().unwrap_or(r),
                    repos.join(", ")
                ),
            };
            Ok(Route::Answer(super::render::Done {
                text: format!(
                    "No session was started: this checkout ({}) belongs to venture {v}, not {r}.\n\
                     {where_to}\nTo work here instead, call crane_sos without `venture`.",
                    id.repo
                ),
                data: json!({
                    "started": false,
                    "status": "needs_navigation",
                    "checkout_venture": v,
                    "target_venture": r,
                    "target_repos": repos,
                    "repo": id.repo,
                }),
            }))
        }
        // No venture lists this repository.
        (requested, Err(Error::InvalidInput { .. })) => {
            let list = st
                .crane
                .ventures()
                .await
                .map(|f| f.value)
                .unwrap_or_default();
            if let Some(r) = requested {
                if let Some(t) = list.iter().find(|x| x.code.eq_ignore_ascii_case(r)) {
                    let note = format!(
                        "Note: this repository ({}) is not among {}'s repositories ({}); the \
                         session is recorded under {} because you named it.",
                        id.repo,
                        t.code,
                        t.repos.join(", "),
                        t.code
                    );
                    return start(t.code.clone(), Some(note));
                }
            }
            let mut text = format!(
                "No session was started: {}this checkout ({}) belongs to no venture the service \
                 lists.\nVentures:",
                requested
                    .map(|r| format!("the service lists no venture {r:?}, and "))
                    .unwrap_or_default(),
                id.repo
            );
            for v in &list {
                text.push_str(&format!(
                    "\n- {} {} — org {}, repos: {}",
                    v.code,
                    v.name.as_deref().unwrap_or(""),
                    v.org.as_deref().unwrap_or("?"),
                    v.repos.join(", ")
                ));
            }
            text.push_str(
                "\nCall crane_sos with `venture` set to one of these codes to record this \
                 repository's session under it, or start your agent in one of the repositories \
                 listed.",
            );
            Ok(Route::Answer(super::render::Done {
                text,
                data: json!({"started": false, "status": "select_venture", "ventures": list,
                             "repo": id.repo}),
            }))
        }
        // The venture list cannot be had (offline, never fetched): a named
        // venture is sent as is and the service decides.
        (Some(r), Err(_)) => start(r.to_owned(), None),
        (None, Err(e)) => Err(Failure::new(
            "unknown_venture",
            format!("{e}; pass `venture` to name it"),
        )),
    }
}

fn handoff_text(title: &str, h: Option<&Handoff>) -> String {
    match h {
        None => format!("{title}: none yet for this repository."),
        Some(h) => format!(
            "{title} ({}, from {}, {}): {}",
            h.id,
            h.from_agent,
            h.status_label.as_deref().unwrap_or("no status"),
            clip(&h.summary, 500).0
        ),
    }
}

/// `crane_handoff`: end the session with a handoff (queued when offline).
pub(crate) async fn handoff(st: &State, a: HandoffArgs) -> ToolResult {
    // `final: false` (v2): store the handoff and keep the session open. Such
    // an end is sent now or fails, never queued (see `EndSession`), and the
    // session keeps its heartbeats.
    let keep_open = a.is_final == Some(false);
    let mut payload = match a.payload {
        None => Value::Object(Map::new()),
        Some(Value::Object(m)) => Value::Object(m),
        Some(_) => {
            return Err(Error::invalid_input("payload", "must be a JSON object").into());
        }
    };
    if let (Some(n), Some(obj)) = (a.issue_number, payload.as_object_mut()) {
        obj.entry("issue_number").or_insert(json!(n));
    }
    // The handle leaves the shared slot while the end runs (so status and
    // other tools never wait on it) and comes back if the end failed.
    let held = st.session.lock().await.take();
    let attempt = end(
        st,
        held.as_ref(),
        &a.summary,
        a.status,
        a.to_agent,
        &payload,
        keep_open,
    )
    .await;
    if attempt.is_err() || keep_open {
        if let Some(h) = held {
            let mut slot = st.session.lock().await;
            if slot.is_none() {
                *slot = Some(h);
            }
        }
    }
    let (session_id, outcome) = attempt?;
    match outcome {
        EndOutcome::Delivered(r) => done(
            format!(
                "Handoff {} delivered; session {} {}.",
                r.handoff_id,
                r.session_id,
                if r.ended_at.is_some() {
                    "ended"
                } else {
                    "kept open (final=false): call crane_handoff again to end it"
                }
            ),
            json!({
                "delivered": true,
                "queued": false,
                "session_id": r.session_id,
                "handoff_id": r.handoff_id,
                "ended_at": r.ended_at,
                "correlation_id": r.correlation_id,
            }),
        ),
        EndOutcome::Queued { local_id } => {
            let why = why_queued(st, &local_id).await;
            done(
                format!(
                    "Handoff queued as {local_id}, will be delivered: {}. It is saved in the local \
                     queue; this MCP server delivers it exactly once as soon as the service \
                     answers (if it exits first, `crane sync`, `crane sod` or the next `crane mcp` \
                     does). Nothing more to do.",
                    why.as_deref().unwrap_or("the service could not be reached")
                ),
                json!({
                    "delivered": false,
                    "queued": true,
                    "local_id": local_id,
                    "session_id": session_id,
                    "why": why,
                }),
            )
        }
    }
}

/// Ends the held session (stopping its heartbeats) or this checkout's
/// cached one, through the engine's queue.
async fn end(
    st: &State,
    held: Option<&crate::engine::SessionHandle>,
    summary: &str,
    status: HandoffStatus,
    to_agent: Option<String>,
    payload: &Value,
    keep_open: bool,
) -> Result<(String, EndOutcome), Failure> {
    let session_id = match held {
        Some(h) => h.session_id().to_owned(),
        None => st.session_id().await?,
    };
    let mut req = EndSession::new(&session_id, summary, payload)?;
    req.status_label = Some(status.label().to_owned());
    req.to_agent = to_agent;
    if keep_open {
        req = req.keep_session_open(true);
    }
    let outcome = match held {
        Some(h) => h.end(req).await?,
        None => st.crane.end_session(req).await?,
    };
    Ok((session_id, outcome))
}

/// `crane_status`: local and instant (no network).
pub(crate) async fn status(st: &State) -> ToolResult {
    let counts = st.crane.queue_counts().await?;
    let online = st.crane.client().connectivity().is_online();
    let held = st.session.lock().await;
    let (session_id, next, beating) = match held.as_ref() {
        Some(h) => (
            Some(h.session_id().to_owned()),
            Some(h.next_heartbeat_at()),
            h.is_beating(),
        ),
        None => (None, None, false),
    };
    drop(held);
    let cached = match (&session_id, st.known_venture()) {
        (None, Some(v)) => st
            .crane
            .store()
            .get_current_session(&st.tuple(&v))
            .map_err(Error::from)?
            .map(|c| c.session_id),
        _ => None,
    };
    let id = &st.identity;
    let mut text = match (&session_id, &cached) {
        (Some(s), _) => format!(
            "Session {s} is open and kept alive by this server (next heartbeat around {}).",
            next.map(|t| t.to_string()).unwrap_or_default()
        ),
        (None, Some(c)) => format!(
            "Session {c} is cached for this checkout but not kept alive by this server \
             (call crane_sos to resume it)."
        ),
        (None, None) => "No session is open: call crane_sos to start one.".to_owned(),
    };
    text.push_str(&format!(
        "\nQueue: {} pending, {} dead. Service: {}.",
        counts.pending,
        counts.dead,
        if online { "reachable" } else { "unreachable" }
    ));
    done(
        text,
        json!({
            "session_id": session_id.or(cached.clone()),
            "kept_alive": beating,
            "next_heartbeat_at": next,
            "queue": {"pending": counts.pending, "dead": counts.dead},
            "online": online,
            "checkout": {
                "agent": id.agent, "venture": st.known_venture(), "repo": id.repo,
                "track": id.track, "client": id.client, "host": id.host,
            },
        }),
    )
}

/// `crane_context`: the session and the repository's last handoff.
pub(crate) async fn context(st: &State) -> ToolResult {
    let venture = st.venture(None).await?;
    let id = &st.identity;
    let held = st.session.lock().await;
    let session = held.as_ref().map(|h| h.session().clone());
    drop(held);
    let last = st.crane.last_handoff(&venture, &id.repo, id.track).await?;
    let mut text = match &session {
        Some(s) => format!(
            "Session {} ({}) on {} / {}, branch {}.\n",
            s.id,
            s.agent,
            s.venture,
            s.repo,
            s.branch.as_deref().unwrap_or("-")
        ),
        None => "No session is open in this server: call crane_sos.\n".to_owned(),
    };
    text.push_str(&handoff_text("Last handoff", last.value.as_ref()));
    if last.stale {
        text.push_str(" (cached; the service is unreachable)");
    }
    done(
        text,
        json!({"session": session, "venture": venture, "repo": id.repo,
               "last_handoff": last.value, "last_handoff_stale": last.stale}),
    )
}

/// `crane_update`: record branch/commit/metadata (queued when offline).
pub(crate) async fn update(st: &State, a: UpdateArgs) -> ToolResult {
    let sid = st.session_id().await?;
    let mut req = Update::new(&sid);
    req.branch = a.branch.or_else(|| st.identity.branch.clone());
    req.commit_sha = a.commit_sha.or_else(|| st.identity.commit_sha.clone());
    req.meta = a.meta;
    match st.crane.update(req).await? {
        UpdateOutcome::Applied(_) => done(
            format!("Session {sid} updated."),
            json!({"session_id": sid, "applied": true, "queued": false}),
        ),
        UpdateOutcome::Queued { local_id } => done(
            format!("Update queued as {local_id}, will be delivered when the service answers."),
            json!({"session_id": sid, "applied": false, "queued": true, "local_id": local_id}),
        ),
    }
}

/// `crane_checkpoint`: record progress on the live session (v2).
pub(crate) async fn checkpoint(st: &State, a: CheckpointArgs) -> ToolResult {
    let sid = st.session_id().await?;
    let mut req = NewCheckpoint::new(&sid, &a.summary);
    req.work_completed = a.work_completed;
    req.blockers = a.blockers;
    req.next_actions = a.next_actions;
    req.notes = a.notes;
    // Through the engine: offline it is queued (in the session's lane, before
    // its end) and confirmed by a read before any resend, so never stored twice.
    match st.crane.checkpoint(req).await? {
        CheckpointOutcome::Stored(c) => done(
            format!(
                "Checkpoint {} stored ({}) on session {}.",
                c.checkpoint_number, c.checkpoint_id, c.session_id
            ),
            serde_json::to_value(&c).unwrap_or(Value::Null),
        ),
        CheckpointOutcome::Queued { local_id } => queued_write(st, "Checkpoint", &local_id).await,
    }
}

/// Why a queued item waits, as the engine tells it (`None` if it cannot).
async fn why_queued(st: &State, local_id: &str) -> Option<String> {
    st.crane
        .why_queued(local_id)
        .await
        .ok()
        .flatten()
        .map(|w| w.to_string())
}

/// The result of a write the engine queued: what, why, and that nothing
/// more is needed.
async fn queued_write(st: &State, what: &str, local_id: &str) -> ToolResult {
    let why = why_queued(st, local_id).await;
    done(
        format!(
            "{what} queued as {local_id}, will be delivered exactly once: {}. It is saved in \
             the local queue; this MCP server delivers it as soon as the service answers.",
            why.as_deref().unwrap_or("the service could not be reached")
        ),
        json!({"queued": true, "local_id": local_id, "why": why}),
    )
}

/// `crane_handoffs`: the latest handoff and the repository's history.
pub(crate) async fn handoffs(st: &State, a: HandoffsArgs) -> ToolResult {
    let venture = st.venture(None).await?;
    let repo = st.identity.repo.clone();
    let limit = a.limit.unwrap_or(10).clamp(1, 100);
    let q = HandoffsQuery::new(HandoffFilter::Repo {
        venture: venture.clone(),
        repo: repo.clone(),
    })
    .limit(limit);
    let page = st.crane.client().handoffs(&q).await?;
    let mut text = handoff_text("Latest handoff", page.handoffs.first());
    text.push_str(&format!("\nHistory ({} shown):", page.handoffs.len()));
    for h in &page.handoffs {
        text.push_str(&format!(
            "\n- {} {} [{}] {}",
            h.created_at,
            h.id,
            h.status_label.as_deref().unwrap_or("-"),
            clip(&h.summary, 160).0
        ));
    }
    done(
        text,
        json!({"latest": page.handoffs.first(), "handoffs": page.handoffs,
               "has_more": page.has_more, "venture": venture, "repo": repo}),
    )
}

/// `crane_prior`: the last ended session of this checkout (v2).
pub(crate) async fn prior(st: &State, a: PriorArgs) -> ToolResult {
    let venture = st.venture(None).await?;
    let id = &st.identity;
    let mut q = PriorSessionQuery::new(&id.agent, &venture, &id.repo);
    q.track = id.track;
    q.within_hours = a.within_hours;
    let s = st.crane.client().prior_session(&q).await?;
    let text = match &s {
        Some(s) => format!(
            "Prior session {} ({:?}), started {}, last heartbeat {}.",
            s.id, s.status, s.created_at, s.last_heartbeat_at
        ),
        None => "No prior session of this checkout.".to_owned(),
    };
    done(text, json!({"session": s}))
}

/// `crane_notes`: search or list notes (v2).
pub(crate) async fn notes(st: &State, a: NotesArgs) -> ToolResult {
    let mut q = NotesQuery::new();
    q.venture = a.venture;
    q.tag = a.tag;
    q.query = a.q;
    q.limit = Some(a.limit.unwrap_or(10));
    let page = st.crane.client().notes(&q).await?;
    let mut text = format!(
        "{} note(s) of {} matching:",
        page.notes.len(),
        page.total_matching
    );
    for n in &page.notes {
        text.push_str(&format!(
            "\n- {} {}: {}",
            n.id,
            n.title.as_deref().unwrap_or("(untitled)"),
            clip(&n.content, 200).0
        ));
    }
    done(
        text,
        json!({"notes": page.notes, "total_matching": page.total_matching}),
    )
}

/// `crane_note`: create or update a note (v2).
pub(crate) async fn note(st: &State, a: NoteArgs) -> ToolResult {
    let client = st.crane.client();
    let n = match a.action {
        NoteAction::Create => {
            let content = a
                .content
                .ok_or_else(|| Error::invalid_input("content", "required to create a note"))?;
            let mut req = NewNote::new(content);
            req.title = a.title;
            req.tags = a.tags;
            req.venture = a.venture;
            if let Some(h) = st.session.lock().await.as_ref() {
                req.authored_by_session_id = Some(h.session_id().to_owned());
            }
            match st.crane.create_note(req).await? {
                NoteOutcome::Stored(n) => *n,
                NoteOutcome::Queued { local_id } => {
                    return queued_write(st, "Note", &local_id).await
                }
            }
        }
        NoteAction::Update => {
            let id =
                a.id.ok_or_else(|| Error::invalid_input("id", "required to update a note"))?;
            let mut c = NoteChanges::new();
            c.title = a.title;
            c.content = a.content;
            c.tags = a.tags;
            if let Some(v) = a.venture {
                c.venture = Some(Some(v));
            }
            client.update_note(&id, &c).await?
        }
    };
    done(
        format!(
            "Note {} {}.",
            n.id,
            match a.action {
                NoteAction::Create => "created",
                NoteAction::Update => "updated",
            }
        ),
        serde_json::to_value(&n).unwrap_or(Value::Null),
    )
}

/// `crane_doc`: one document (v2).
pub(crate) async fn doc(st: &State, a: DocArgs) -> ToolResult {
    let d = st.crane.client().doc(&a.scope, &a.doc_name).await?;
    let size = d.content.chars().count();
    if a.summary_only.unwrap_or(false) {
        return done(
            format!(
                "{}/{}: {} — {} ({size} characters)",
                d.scope,
                d.doc_name,
                d.title.as_deref().unwrap_or("(untitled)"),
                d.description.as_deref().unwrap_or("no description")
            ),
            json!({"scope": d.scope, "doc_name": d.doc_name, "title": d.title,
                   "description": d.description, "chars": size, "version": d.version}),
        );
    }
    let (content, cut) = clip(&d.content, a.max_chars.unwrap_or(usize::MAX));
    done(
        content.clone(),
        json!({"scope": d.scope, "doc_name": d.doc_name, "title": d.title,
               "content": content, "truncated": cut, "chars": size, "version": d.version,
               "content_hash": d.content_hash}),
    )
}

/// `crane_docs`: the global and the venture's documents (v2).
pub(crate) async fn docs(st: &State, a: DocsArgs) -> ToolResult {
    let venture = st.venture(a.venture.as_deref()).await?;
    let list = st.crane.client().docs(&venture).await?;
    let mut text = format!("{} document(s) for {venture}:", list.docs.len());
    for d in &list.docs {
        text.push_str(&format!(
            "\n- {}/{}{}",
            d.scope,
            d.doc_name,
            d.title
                .as_deref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        ));
    }
    done(text, json!({"venture": venture, "docs": list.docs}))
}

/// `crane_ventures`: the service's ventures with their repositories (v2).
pub(crate) async fn ventures(st: &State) -> ToolResult {
    let fresh = st.crane.ventures().await?;
    let list = fresh.value;
    let (owner, name) = st.identity.owner_and_name();
    let mut text = format!(
        "{} venture(s){}:",
        list.len(),
        if fresh.stale {
            " (cached: the server is unreachable)"
        } else {
            ""
        }
    );
    for v in &list {
        let here = if v.lists_repo(owner, name) {
            " (this checkout)"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n- {} {} — org {}, repos: {}{here}",
            v.code,
            v.name.as_deref().unwrap_or(""),
            v.org.as_deref().unwrap_or("?"),
            v.repos.join(", ")
        ));
    }
    done(text, json!({"ventures": list, "stale": fresh.stale}))
}

/// `crane_queue`: list pending and dead items, or retry a dead one.
pub(crate) async fn queue(st: &State, a: QueueArgs) -> ToolResult {
    if a.action.unwrap_or_default() == QueueAction::Retry {
        let id = a
            .local_id
            .ok_or_else(|| Error::invalid_input("local_id", "required to retry"))?;
        st.crane.retry_dead(&id).await?;
        return done(
            format!("Item {id} is pending again and will be delivered."),
            json!({"retried": id}),
        );
    }
    let items = st.crane.queue_items(None).await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "local_id": i.local_id, "kind": i.kind.as_str(), "state": i.state.as_str(),
                "session_id": i.session_id, "attempts": i.attempts,
                "next_attempt_at": Timestamp::from_millisecond(i.next_attempt_at_ms).ok(),
                "last_error": i.last_error, "last_correlation_id": i.last_correlation_id,
            })
        })
        .collect();
    let pending = items
        .iter()
        .filter(|i| i.state == ItemState::Pending)
        .count();
    let mut text = format!(
        "{pending} pending, {} dead.",
        items.len().saturating_sub(pending)
    );
    for r in &rows {
        text.push_str(&format!(
            "\n- {} {} {} (attempts {}){}",
            r["local_id"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            r["state"].as_str().unwrap_or(""),
            r["attempts"],
            r["last_error"]
                .as_str()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    done(text, json!({"items": rows}))
}

/// `crane_sync`: deliver the queue now.
pub(crate) async fn sync(st: &State) -> ToolResult {
    let r = st.crane.sync().await?;
    done(
        format!(
            "Delivered {}, retrying {}, dead {}, dropped {}; {} pending.",
            r.delivered, r.retrying, r.dead, r.dropped, r.pending
        ),
        json!({"delivered": r.delivered, "retrying": r.retrying, "dead": r.dead,
               "dropped": r.dropped, "pending": r.pending}),
    )
}

/// `crane_preflight`: configuration, checkout and reachability.
pub(crate) async fn preflight(st: &State) -> ToolResult {
    let id = &st.identity;
    let health = st.crane.client().health().await;
    let venture = match &health {
        Ok(_) => st.venture(None).await,
        Err(_) => st.known_venture().ok_or_else(no_session),
    };
    let counts = st.crane.queue_counts().await?;
    let mut lines = vec![format!(
        "Checkout: {} as {} (client {}, host {})",
        id.repo, id.agent, id.client, id.host
    )];
    lines.push(match &venture {
        Ok(v) => format!("Venture: {v}"),
        Err(f) => format!("Venture: unknown — {}", f.message),
    });
    lines.push(match &health {
        Ok(h) => format!("Service: reachable ({:?})", h.status),
        Err(e) => format!("Service: NOT reachable — {e}"),
    });
    lines.push(format!(
        "Queue: {} pending, {} dead",
        counts.pending, counts.dead
    ));
    let ready = health.is_ok() && venture.is_ok();
    lines.push(if ready {
        "Ready: call crane_sos to start the session.".into()
    } else {
        "Not ready (a handoff would still be queued safely).".into()
    });
    done(
        lines.join("\n"),
        json!({
            "ready": ready,
            "reachable": health.is_ok(),
            "service_error": health.as_ref().err().map(|e| json!({"kind": e.kind(), "message": e.to_string()})),
            "venture": venture.as_ref().ok(),
            "repo": id.repo, "agent": id.agent,
            "queue": {"pending": counts.pending, "dead": counts.dead},
        }),
    )
}

/// `crane_doc_audit`: `GET /docs/audit` for one venture or all (v2). `fix`
/// is not done here (generating documents needs the repository's sources
/// and a writer this SDK does not have): the result says so.
pub(crate) async fn doc_audit(st: &State, a: DocAuditArgs) -> ToolResult {
    let all = a.all.unwrap_or(false);
    let audits = if all {
        st.crane.client().doc_audits().await?
    } else {
        let venture = st.venture(a.venture.as_deref()).await?;
        vec![st.crane.client().doc_audit(&venture).await?]
    };
    let mut text = String::new();
    for au in &audits {
        text.push_str(&format!(
            "{} ({}): {}\n",
            au.venture_name,
            au.venture,
            serde_json::to_value(au.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
        for m in &au.missing {
            text.push_str(&format!(
                "- missing {} [{}]{}\n",
                m.doc_name,
                if m.required {
                    "required"
                } else {
                    "recommended"
                },
                m.description
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ));
        }
        for s in &au.stale {
            text.push_str(&format!(
                "- stale {} ({} days old, threshold {})\n",
                s.doc.doc_name, s.days_since_update, s.staleness_threshold_days
            ));
        }
        for p in &au.present {
            text.push_str(&format!("- present {}\n", p.doc_name));
        }
        text.push_str(&format!("Summary: {}\n", au.summary));
    }
    let fix = a.fix.unwrap_or(false);
    if fix {
        text.push_str(
            "fix=true was NOT done: this server does not generate or upload documents, so \
             nothing was changed. Write the missing documents and upload them with the service's \
             own tools; this SDK has no document upload.",
        );
    }
    done(
        text.trim_end().to_owned(),
        json!({
            "audits": audits,
            "all": all,
            "fix": {"requested": fix, "done": false,
                     "reason": fix.then_some("this server does not generate or upload documents")},
        }),
    )
}
