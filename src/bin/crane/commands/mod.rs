//! The commands, and the one place that maps a parsed command line to them.
//!
//! Local commands (`status`, `queue list|show|drop|export`, `completions`,
//! `manual`)
//! run without an async runtime and without touching the network; the others
//! run on a single-threaded tokio runtime built only when needed.

mod checkpoint;
pub(crate) mod common;
mod completions;
mod eod;
mod keeper_stop;
mod manual;
#[cfg(feature = "mcp")]
mod mcp;
mod notes;
mod queue;
mod reads;
mod sod;
mod status;
mod sync;
mod update;
mod v2_reads;
mod ventures;

use crate::args::{Command, HandoffsCommand, KeeperCommand, NotesCommand, QueueCommand};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::{doctor, keeper, verify};

/// Runs a command; `Ok` carries the exit code.
pub fn run(ctx: &Ctx, command: Command) -> CliResult<u8> {
    match command {
        Command::Status(args) => status::run(ctx, &args),
        Command::Completions { shell } => completions::run(ctx, shell),
        Command::Manual => manual::run(ctx),
        Command::Queue { command } if !matches!(command, QueueCommand::Retry { .. }) => {
            queue::run_local(ctx, &command)
        }
        other => run_on_runtime(ctx, other),
    }
}

/// Runs a command that needs the async runtime.
///
/// Never inlined: the future of [`run_async`] holds the state of every
/// async command (46 KiB), and inlined into `main` its stack frame made
/// every `crane` process, `crane status` included, probe eleven stack
/// pages (eleven page faults) before doing anything.
#[inline(never)]
fn run_on_runtime(ctx: &Ctx, command: Command) -> CliResult<u8> {
    runtime()?.block_on(run_async(ctx, command))
}

fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}

async fn run_async(ctx: &Ctx, command: Command) -> CliResult<u8> {
    match command {
        Command::Sod(args) => sod::run(ctx, &args).await,
        Command::Eod(args) => eod::run(ctx, &args).await,
        Command::Update(args) => update::update(ctx, &args).await,
        Command::Heartbeat(args) => update::heartbeat(ctx, &args).await,
        Command::Active(args) => reads::active(ctx, &args).await,
        Command::Handoffs { command } => match command {
            HandoffsCommand::Latest(args) => reads::latest(ctx, &args).await,
            HandoffsCommand::List(args) => reads::list(ctx, &args).await,
            HandoffsCommand::Status(args) => v2_reads::handoff_status(ctx, &args).await,
        },
        Command::Checkpoint(args) => checkpoint::add(ctx, &args).await,
        Command::Checkpoints(args) => checkpoint::list(ctx, &args).await,
        Command::Notes { command } => match command {
            NotesCommand::Add(args) => notes::add(ctx, &args).await,
            NotesCommand::List(args) => notes::list(ctx, &args).await,
            NotesCommand::Show { id } => notes::show(ctx, &id).await,
            NotesCommand::Update(args) => notes::update(ctx, &args).await,
            NotesCommand::Archive { id } => notes::archive(ctx, &id).await,
        },
        Command::Prior(args) => v2_reads::prior(ctx, &args).await,
        Command::Siblings(args) => v2_reads::siblings(ctx, &args).await,
        Command::History(args) => v2_reads::history(ctx, &args).await,
        Command::Sync => sync::run(ctx).await,
        #[cfg(feature = "mcp")]
        Command::Mcp(target) => mcp::run(ctx, &target).await,
        #[cfg(not(feature = "mcp"))]
        Command::Mcp(_) => Err(CliError::Usage(
            "this crane was built without the `mcp` feature (cargo build --features mcp)".into(),
        )),
        Command::Queue {
            command: QueueCommand::Retry { local_id },
        } => queue::retry(ctx, &local_id).await,
        Command::Verify(args) => verify::run(ctx, &args).await,
        Command::Ventures => ventures::run(ctx).await,
        Command::Doctor => doctor::run(ctx).await,
        Command::Keeper { command } => match command {
            KeeperCommand::Run(args) => keeper::run(ctx, &args).await,
            KeeperCommand::Stop(args) => keeper_stop::run(ctx, &args).await,
        },
        // Local commands never get here (see `run`); answered the same way.
        Command::Status(args) => status::run(ctx, &args),
        Command::Completions { shell } => completions::run(ctx, shell),
        Command::Manual => manual::run(ctx),
        Command::Queue { command } => queue::run_local(ctx, &command),
    }
}
