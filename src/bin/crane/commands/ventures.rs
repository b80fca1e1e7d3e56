//! `crane ventures`: the ventures the server lists (v2), with the org and
//! repositories each covers, i.e. what `crane sos` matches a checkout
//! against. From the store's cache while fresh, else from the server; from
//! the cache however old (and said so) while the server is unreachable.

use serde_json::json;

use crate::context::Ctx;
use crate::engine::Engine;
use crate::error::{CliError, CliResult};
use crate::output::Style;

/// Runs `crane ventures`.
pub async fn run(ctx: &Ctx) -> CliResult<u8> {
    let engine = Engine::open(ctx).await?;
    let generation = engine.crane.client().generation().await;
    let result = match generation {
        Ok(crane_context::Generation::V1) => Err(CliError::Failed(
            "this server speaks v1, which has no venture list; ventures come from the org map \
             ([ventures] in the config file)"
                .into(),
        )),
        _ => engine.crane.ventures().await.map_err(CliError::from),
    };
    engine.finish().await;
    let fresh = result?;
    let out = &ctx.out;
    if out.is_json() {
        out.emit_json(&json!({
            "ventures": fresh.value,
            "stale": fresh.stale,
            "age_seconds": fresh.age.map(|a| a.as_secs()),
        }));
        return Ok(0);
    }
    for v in &fresh.value {
        out.line(format!(
            "{:<6} {:<28} org {:<20} repos: {}",
            out.paint(&v.code, Style::Bold),
            v.name.as_deref().unwrap_or(""),
            v.org.as_deref().unwrap_or("-"),
            v.repos.join(", ")
        ));
    }
    if fresh.stale {
        out.line(out.paint(
            "(from the local cache: the server could not be reached)",
            Style::Yellow,
        ));
    }
    Ok(0)
}
