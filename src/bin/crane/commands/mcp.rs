//! `crane mcp`: serve this checkout's sessions to an agent over MCP (stdio).
//!
//! Thin: detects the checkout the way every command does (git, the
//! org→venture map), opens the engine on the configured server and store,
//! and hands both (with the engine's event stream) to the library's server (`crane_context::mcp`), which owns
//! the tools, the heartbeats, the queue and the shutdown. Nothing but
//! protocol messages goes to stdout; a failure to start goes to stderr.

use crane_context::mcp::{self, Identity};

use crate::args::TargetArgs;
use crate::checkout::Checkout;
use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliError, CliResult};
use crate::git;

/// Runs `crane mcp`.
pub async fn run(ctx: &Ctx, target: &TargetArgs) -> CliResult<u8> {
    let identity = identity(ctx, target)?;
    let engine = Engine::open(ctx).await?;
    // The engine's events become the client's notifications.
    let (crane, events) = (engine.crane, engine.events);
    mcp::serve_stdio(crane, identity, events)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(0)
}

/// The checkout's identity. An org the config does not map leaves the
/// venture to the server (`crane_sos`'s `venture`, else `GET /ventures`).
fn identity(ctx: &Ctx, target: &TargetArgs) -> CliResult<Identity> {
    let settings = ctx.settings()?;
    let cache = ctx.origin_cache();
    let knowledge = ctx.knowledge();
    let checkout = match Checkout::detect(target, settings, cache.as_deref(), &knowledge) {
        Ok(c) => (c, true),
        Err(e) => {
            // Only an unknown venture is left to the server: detect again
            // with a placeholder venture and forget it.
            let mut with_venture = target.clone();
            with_venture.venture = Some("-".into());
            match Checkout::detect(&with_venture, settings, cache.as_deref(), &knowledge) {
                Ok(c) if target.venture.is_none() => (c, false),
                _ => return Err(e),
            }
        }
    };
    let (c, venture_known) = checkout;
    let head = git::head();
    Ok(Identity {
        agent: c.agent,
        venture: venture_known.then_some(c.venture),
        repo: c.repo,
        track: c.track,
        client: c.client,
        client_version: c.client_version,
        host: c.host,
        branch: head.branch,
        commit_sha: head.commit,
    })
}
