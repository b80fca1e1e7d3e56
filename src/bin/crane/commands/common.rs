//! Helpers several commands share: finding this checkout's session in the
//! cache, and reading JSON arguments.

use std::io::Read;
use std::path::Path;

use crane_context::model::Session;
use crane_context::store::{CachedSession, Store};
use serde_json::Value;

use crate::args::SessionArgs;
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// The session a command acts on: `--session-id`, else the cached current
/// session of this checkout's (agent, venture, repo, track).
pub struct Target {
    /// The session id.
    pub session_id: String,
    /// The cache entry, when the session is cached on this machine.
    pub cached: Option<CachedSession>,
}

/// Finds the session for `args`; an error when this checkout has none.
pub fn resolve_session(ctx: &Ctx, store: &Store, args: &SessionArgs) -> CliResult<Target> {
    if let Some(id) = &args.session_id {
        let id = id.trim().to_owned();
        if id.is_empty() {
            return Err(CliError::Usage("--session-id must not be empty".into()));
        }
        let cached = store.current_session_by_id(&id)?;
        return Ok(Target {
            session_id: id,
            cached,
        });
    }
    let checkout = Checkout::detect(
        &args.target,
        ctx.settings()?,
        ctx.origin_cache().as_deref(),
        &ctx.knowledge_in(store),
    )?;
    match store.get_current_session(&checkout.tuple())? {
        Some(c) => Ok(Target {
            session_id: c.session_id.clone(),
            cached: Some(c),
        }),
        None => Err(CliError::Failed(format!(
            "no session for this checkout (agent {}, venture {}, repo {}{}); start one with \
             `crane sod`, or pass --session-id",
            checkout.agent,
            checkout.venture,
            checkout.repo,
            checkout
                .track
                .map(|t| format!(", track {t}"))
                .unwrap_or_default()
        ))),
    }
}

/// Records that a command acted on the target's session, when it is cached
/// here (its keeper counts this as activity; see `activity.rs`).
pub fn note_activity(ctx: &Ctx, target: &Target) {
    if let (Some(c), Ok(dir)) = (&target.cached, ctx.data_dir()) {
        crate::activity::touch(&dir, &c.session_id);
    }
}

/// The server's session record kept in the cache, when it can be read.
pub fn cached_record(c: &CachedSession) -> Option<Session> {
    serde_json::from_str(&c.session_json).ok()
}

/// Parses `--meta`: a JSON object.
pub fn parse_meta(text: Option<&str>) -> CliResult<Option<Value>> {
    let Some(text) = text else { return Ok(None) };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CliError::Usage(format!("--meta is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(CliError::Usage("--meta must be a JSON object".into()));
    }
    Ok(Some(value))
}

/// Reads the handoff payload from `--payload-file`, `--payload -` (stdin) or
/// `--payload JSON`; `{}` when none is given.
pub fn read_payload(file: Option<&Path>, inline: Option<&str>) -> CliResult<Value> {
    let (text, origin) = match (file, inline) {
        (Some(path), _) => (
            std::fs::read_to_string(path).map_err(|e| {
                CliError::Usage(format!(
                    "cannot read --payload-file {}: {e}",
                    path.display()
                ))
            })?,
            format!("--payload-file {}", path.display()),
        ),
        (None, Some("-")) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::Usage(format!("cannot read the payload from stdin: {e}")))?;
            (text, "the payload on stdin".to_owned())
        }
        (None, Some(json)) => (json.to_owned(), "--payload".to_owned()),
        (None, None) => return Ok(Value::Object(Default::default())),
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{origin} is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(CliError::Usage(format!("{origin} must be a JSON object")));
    }
    Ok(value)
}
