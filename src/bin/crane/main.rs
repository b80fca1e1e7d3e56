//! `crane`: the command agents (and people) run to start, keep and end Crane
//! Context sessions from a checkout.
//!
//! A thin consumer of the `crane_context` library: sessions, retries, the
//! offline queue and the cache are the library's; this binary detects the
//! checkout, resolves configuration (also the library's, `settings`), prints
//! results as text or `--json`, and maps failures to documented exit codes
//! (see `crane --help` and docs/cli.md).

mod activity;
mod args;
mod checkout;
mod commands;
mod context;
mod doctor;
mod engine;
mod error;
mod git;
mod keeper;
mod origin_cache;
mod output;
mod parse;
mod state;
mod verify;

use std::process::ExitCode;

use crate::context::Ctx;
use crate::error::EXIT_USAGE;

fn main() -> ExitCode {
    if is_version_query() {
        // Answered before clap builds the whole command tree (about a
        // third of the command's own CPU): the same line clap prints.
        println!("crane {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cli = match parse::parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let ctx = Ctx::new(cli.global);
    match commands::run(&ctx, cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            ctx.out.error(&e);
            e.to_exit()
        }
    }
}

/// Whether the command line is exactly `crane --version` or `crane -V`.
fn is_version_query() -> bool {
    let mut args = std::env::args_os().skip(1);
    matches!(
        (args.next(), args.next()),
        (Some(a), None) if a == "--version" || a == "-V"
    )
}
