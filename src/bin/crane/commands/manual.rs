//! `crane manual`: the CLI's manual, built into the binary.
//!
//! An installed `crane` has no checkout beside it, so `crane --help` cannot
//! send its user to `docs/cli.md`; the same text is compiled in instead and
//! printed here (one source: the file in the repository).

use serde_json::json;

use crate::context::Ctx;
use crate::error::CliResult;

/// docs/cli.md at build time.
const MANUAL: &str = include_str!("../../../../docs/cli.md");

/// Prints the manual (wrapped in JSON under `--json`).
pub fn run(ctx: &Ctx) -> CliResult<u8> {
    if ctx.out.is_json() {
        ctx.out.emit_json(&json!({"manual": MANUAL}));
    } else {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(MANUAL.as_bytes());
    }
    Ok(0)
}
