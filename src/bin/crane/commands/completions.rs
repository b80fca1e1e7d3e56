//! `crane completions <shell>`: a completion script generated from the same
//! clap definition the binary parses, so it never drifts from the flags.

use clap::CommandFactory;
use serde_json::json;

use crate::args::Cli;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// Prints the completion script for `shell` (wrapped in JSON under `--json`).
pub fn run(ctx: &Ctx, shell: clap_complete::Shell) -> CliResult<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "crane", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| CliError::Failed(format!("completion script is not UTF-8: {e}")))?;
    if ctx.out.is_json() {
        ctx.out
            .emit_json(&json!({"shell": shell.to_string(), "script": script}));
    } else {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(script.as_bytes());
    }
    Ok(0)
}
