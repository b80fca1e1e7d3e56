//! `crane notes add|list|show|update|archive` (v2).
//!
//! `add` is safe to repeat: the library sends every create with a
//! `source_hash` derived from the note's content, which the server treats as
//! an upsert key, so running the same `crane notes add` twice (or a retry
//! after a lost answer) leaves one note. That is also why `add` goes through
//! the engine's queue: offline the note is queued with its `source_hash`
//! and delivered later (a resend is an upsert, never a second note); the
//! command says it is queued and why, and exits 0 (3 with
//! `--require-delivery`).

use std::io::Read;

use crane_context::engine::NoteOutcome;
use crane_context::model::v2::{NewNote, Note, NoteChanges, NotesQuery};
use jiff::Timestamp;
use serde_json::json;

use crate::args::{ContentArgs, NotesAddArgs, NotesListArgs, NotesUpdateArgs};
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliError, CliResult, EXIT_OK, EXIT_QUEUED};
use crate::output::{table, truncate, when, Style};

use super::reads::{client, record};

/// The text of `--content TEXT` or `--file PATH` (`-` is stdin), if given.
fn read_content(args: &ContentArgs) -> CliResult<Option<String>> {
    match (&args.content, &args.file) {
        (Some(text), _) => Ok(Some(text.clone())),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::Usage(format!("cannot read the note from stdin: {e}")))?;
            Ok(Some(text))
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(|e| CliError::Usage(format!("cannot read --file {}: {e}", path.display()))),
        (None, None) => Ok(None),
    }
}

/// Runs `crane notes add`.
pub async fn add(ctx: &Ctx, args: &NotesAddArgs) -> CliResult<u8> {
    let content = read_content(&args.content)?
        .ok_or_else(|| CliError::Usage("give the note's text with --content or --file".into()))?;
    let mut req = NewNote::new(content).title(&args.title);
    if !args.tags.is_empty() {
        req = req.tags(args.tags.clone());
    }
    if !args.global {
        let c = Checkout::detect(
            &args.target,
            ctx.settings()?,
            ctx.origin_cache().as_deref(),
            &ctx.knowledge(),
        )?;
        if let Some(s) = ctx
            .open_store()
            .ok()
            .and_then(|s| s.get_current_session(&c.tuple()).ok().flatten())
        {
            req = req.authored_by(s.session_id);
        }
        req = req.venture(c.venture);
    }
    let engine = Engine::open(ctx).await?;
    let outcome = engine.crane.create_note(req).await;
    let why = match &outcome {
        Ok(NoteOutcome::Queued { local_id }) => {
            engine.crane.why_queued(local_id).await.ok().flatten()
        }
        _ => None,
    };
    engine.finish().await;
    let out = &ctx.out;
    let note = match outcome? {
        NoteOutcome::Stored(note) => note,
        NoteOutcome::Queued { local_id } => {
            if out.is_json() {
                out.emit_json(&json!({
                    "delivered": false, "queued": true, "local_id": local_id,
                    "why": why.as_ref().map(ToString::to_string),
                }));
            } else {
                let why = why.map_or_else(
                    || "it is waiting in the queue".to_owned(),
                    |w| w.to_string(),
                );
                out.line(format!(
                    "Note {} — {why}; it is queued (item {local_id}) and will be delivered \
                     once by `crane sync` (or a running session keeper, or the next crane \
                     write command); a \
                     resend updates the same note, never adds one.",
                    out.paint("NOT delivered yet", Style::Yellow)
                ));
            }
            return Ok(if args.require_delivery {
                EXIT_QUEUED
            } else {
                EXIT_OK
            });
        }
    };
    if out.is_json() {
        out.emit_json(&json!({ "delivered": true, "queued": false, "note": note }));
        return Ok(EXIT_OK);
    }
    out.line(format!(
        "Note {} {}",
        note.id,
        out.paint("stored", Style::Green)
    ));
    if note.created_at != note.updated_at {
        out.line("(an identical note already existed: it was kept, not duplicated)");
    }
    if note.archived {
        out.warn(format!(
            "note {} is archived: an identical note was archived earlier",
            note.id
        ));
    }
    Ok(EXIT_OK)
}

/// Runs `crane notes list`.
pub async fn list(ctx: &Ctx, args: &NotesListArgs) -> CliResult<u8> {
    let mut q = NotesQuery::new()
        .include_archived(args.include_archived)
        .limit(args.limit);
    q.tag = args.tag.clone();
    q.query = args.query.clone();
    q.venture = args.venture.clone();
    q.cursor = args.cursor.clone();
    let result = client(ctx)?.notes(&q).await;
    record(ctx, &result);
    let page = result?;
    let out = &ctx.out;
    let next = page.next_cursor();
    if out.is_json() {
        out.emit_json(&json!({
            "notes": page.notes, "count": page.count, "total_matching": page.total_matching,
            "next_cursor": next, "correlation_id": page.correlation_id,
        }));
        return Ok(EXIT_OK);
    }
    if page.notes.is_empty() {
        out.line("No notes.");
        return Ok(EXIT_OK);
    }
    let now = Timestamp::now();
    let rows: Vec<Vec<String>> = page
        .notes
        .iter()
        .map(|n| {
            vec![
                n.id.clone(),
                n.venture.clone().unwrap_or_else(|| "global".into()),
                when(n.updated_at, now),
                truncate(n.title.as_deref().unwrap_or("-"), 40),
                n.tags.clone().unwrap_or_default().join(","),
                if n.archived {
                    "archived".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    for line in table(&["NOTE", "VENTURE", "UPDATED", "TITLE", "TAGS", ""], &rows) {
        out.line(line);
    }
    out.line(format!(
        "{} of {} matching",
        page.count, page.total_matching
    ));
    if let Some(c) = next {
        out.line(format!("more: crane notes list … --cursor {c}"));
    }
    Ok(EXIT_OK)
}

fn print_note(ctx: &Ctx, n: &Note) {
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({ "note": n }));
        return;
    }
    let now = Timestamp::now();
    out.line(format!("Note {}", out.paint(&n.id, Style::Bold)));
    out.field("title", n.title.as_deref().unwrap_or("-"));
    out.field("venture", n.venture.as_deref().unwrap_or("global"));
    out.field("tags", n.tags.clone().unwrap_or_default().join(", "));
    out.field("created", when(n.created_at, now));
    out.field("updated", when(n.updated_at, now));
    if n.archived {
        out.field("archived", "yes");
    }
    out.line("");
    out.line(&n.content);
}

/// Runs `crane notes show ID`.
pub async fn show(ctx: &Ctx, id: &str) -> CliResult<u8> {
    let result = client(ctx)?.note(id).await;
    record(ctx, &result);
    print_note(ctx, &result?);
    Ok(EXIT_OK)
}

/// Runs `crane notes update ID`.
pub async fn update(ctx: &Ctx, args: &NotesUpdateArgs) -> CliResult<u8> {
    let mut changes = NoteChanges::new();
    changes.title = args.title.clone();
    changes.content = read_content(&args.content)?;
    if !args.tags.is_empty() {
        changes.tags = Some(args.tags.clone());
    }
    let result = client(ctx)?.update_note(&args.id, &changes).await;
    record(ctx, &result);
    print_note(ctx, &result?);
    Ok(EXIT_OK)
}

/// Runs `crane notes archive ID`.
pub async fn archive(ctx: &Ctx, id: &str) -> CliResult<u8> {
    let result = client(ctx)?.archive_note(id).await;
    record(ctx, &result);
    let n = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({ "note": n, "archived": true }));
    } else {
        out.line(format!(
            "Note {} {}",
            n.id,
            out.paint("archived", Style::Green)
        ));
    }
    Ok(EXIT_OK)
}
