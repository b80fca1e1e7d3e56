//! The command line, as clap derive types.
//!
//! Kept apart from the commands so `crane --help`, the completions and the
//! tests all read one definition. Every value `crane sod` detects (repo,
//! venture, agent, client, host, branch, commit) has a flag that overrides it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod v2;
pub use v2::*;

/// Exit codes, shown in `crane --help` and documented in docs/cli.md (which
/// `crane manual` prints).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the operation failed (server error, server unreachable where it is needed,
     a verify or doctor check failed, no session for this checkout)
  2  usage or configuration error (bad flags or input, invalid config file,
     a key file readable by other users, no URL or key configured)
  3  the handoff (or update) was only queued locally and --require-delivery was given
  4  conflict: the session already ended with a different handoff, or a different
     end of it is already queued (nothing stored)

Configuration: CRANE_CONTEXT_URL, CRANE_CONTEXT_KEY, CRANE_ENV (profile), then
config.toml in the platform config dir (or CRANE_CONFIG); flags win.
The full manual (configuration, exit codes, agent wiring): crane manual";

/// `crane`: start, keep, and end Crane Context sessions from a checkout.
#[derive(Debug, Parser)]
#[command(
    name = "crane",
    version,
    about = "Crane Context sessions and handoffs for agents: offline-safe, fast, scriptable",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Server base URL (overrides CRANE_CONTEXT_URL and the config file).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Profile of the config file to use (overrides CRANE_ENV).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// File holding the relay key (must be chmod 600).
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Config file to read instead of the default (overrides CRANE_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the local queue and cache (overrides CRANE_HOME).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Pin the server's generation, v1 or v2, instead of detecting it with
    /// GET /version (overrides CRANE_PROTOCOL and the config file).
    #[arg(long, global = true, value_name = "v1|v2")]
    pub protocol: Option<String>,
    /// Machine-readable JSON on stdout (errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start (or resume) the session for this checkout (`/sos` on v2, `/sod` on v1).
    #[command(name = "sos", visible_alias = "sod")]
    Sod(SodArgs),
    /// End this checkout's session with a handoff (queued when offline).
    #[command(name = "eos", visible_alias = "eod")]
    Eod(EodArgs),
    /// The ventures the server lists (v2), with their org and repositories.
    Ventures,
    /// Record progress (branch, commit, metadata) on this checkout's session.
    Update(UpdateArgs),
    /// Send a heartbeat for this checkout's session now.
    Heartbeat(SessionArgs),
    /// This checkout's session, schedule, keeper and queue, from the local cache (no network).
    Status(SessionArgs),
    /// Active sessions of this agent on this repo.
    Active(TargetArgs),
    /// Read handoffs.
    Handoffs {
        /// What to read.
        #[command(subcommand)]
        command: HandoffsCommand,
    },
    /// Record progress on this checkout's session (v2; never stored twice).
    Checkpoint(CheckpointArgs),
    /// This checkout's session's checkpoints, newest first (v2).
    Checkpoints(CheckpointsArgs),
    /// Write and read notes, the service's shared memory (v2).
    Notes {
        /// What to do.
        #[command(subcommand)]
        command: NotesCommand,
    },
    /// The last session of this checkout that ended (v2).
    Prior(PriorArgs),
    /// The other active sessions of this session's group (v2).
    Siblings(SiblingsArgs),
    /// Every agent's ended sessions per venture and day (v2).
    History(HistoryArgs),
    /// Deliver the offline queue now.
    Sync,
    /// Serve this checkout's sessions to an agent as an MCP server over stdio
    /// (docs/mcp.md).
    Mcp(TargetArgs),
    /// Inspect and manage queued and dead-lettered items.
    Queue {
        /// What to do.
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Verify a deployment end to end (uses a throwaway venture/repo).
    Verify(VerifyArgs),
    /// Check configuration, key, reachability, clock, store and keepers.
    Doctor,
    /// Print the full manual (docs/cli.md, built into the binary).
    Manual,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Manage the background keeper that `crane sod` starts.
    Keeper {
        /// What to do.
        #[command(subcommand)]
        command: KeeperCommand,
    },
}

/// `crane keeper …`.
#[derive(Debug, Subcommand)]
pub enum KeeperCommand {
    /// Stop this checkout's keeper (or the given session's); the session is
    /// left to go stale unless you end it with `crane eod`.
    Stop(SessionArgs),
    /// Keep a session alive in the background (started by `crane sod`).
    #[command(hide = true)]
    Run(KeeperRunArgs),
}

/// The hidden `crane keeper run`.
#[derive(Debug, Clone, Args)]
pub struct KeeperRunArgs {
    /// The session to keep alive.
    #[arg(long)]
    pub session_id: String,
    /// The checkout whose activity keeps it alive.
    #[arg(long, value_name = "DIR")]
    pub checkout: Option<PathBuf>,
    /// Seconds without activity before it leaves.
    #[arg(long, value_name = "SECONDS")]
    pub idle_limit: Option<u64>,
}

/// Which (agent, venture, repo, track) this checkout is; detected unless given.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// Agent name (default: `<client>-<host>`).
    #[arg(long)]
    pub agent: Option<String>,
    /// Venture code (default: from the repo's org).
    #[arg(long)]
    pub venture: Option<String>,
    /// Repository `owner/name` (default: from `git remote get-url origin`).
    #[arg(long)]
    pub repo: Option<String>,
    /// Track number.
    #[arg(long)]
    pub track: Option<i64>,
    /// Client name (default: from the agent's environment, else `crane`).
    #[arg(long)]
    pub client: Option<String>,
    /// Host name (default: this machine's).
    #[arg(long)]
    pub host: Option<String>,
}

/// A target plus an explicit session id.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// Which checkout.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Use this session instead of the checkout's cached one.
    #[arg(long)]
    pub session_id: Option<String>,
}

/// `crane sod`.
#[derive(Debug, Clone, Args)]
pub struct SodArgs {
    /// Which checkout.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Issue number.
    #[arg(long)]
    pub issue: Option<i64>,
    /// Branch (default: from git).
    #[arg(long)]
    pub branch: Option<String>,
    /// Commit SHA (default: from git).
    #[arg(long)]
    pub commit: Option<String>,
    /// Client version (default: from the agent's environment).
    #[arg(long)]
    pub client_version: Option<String>,
    /// Metadata, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub meta: Option<String>,
    /// Do not fetch the documentation bundle.
    #[arg(long)]
    pub no_docs: bool,
    /// v2: the agent's own session id (e.g. its transcript's).
    #[arg(long, value_name = "ID")]
    pub client_session_id: Option<String>,
    /// v2: the group of sessions working together (see `/siblings`).
    #[arg(long, value_name = "ID")]
    pub session_group_id: Option<String>,
    /// Do not start a background keeper (heartbeats and queue delivery).
    #[arg(long)]
    pub no_keepalive: bool,
    /// Seconds without a `crane` command for the session and without a change
    /// to the checkout's git HEAD, index or top folder before the keeper
    /// leaves (default 5400, 90 minutes).
    #[arg(
        long,
        env = "CRANE_KEEPER_IDLE_SECONDS",
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub keeper_idle_seconds: Option<u64>,
}

/// `crane eod`.
#[derive(Debug, Clone, Args)]
pub struct EodArgs {
    /// Which session.
    #[command(flatten)]
    pub session: SessionArgs,
    /// One-line summary of the work.
    #[arg(long)]
    pub summary: String,
    /// Payload (a JSON object) from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "payload")]
    pub payload_file: Option<PathBuf>,
    /// Payload as JSON text, or `-` to read it from stdin.
    #[arg(long, value_name = "JSON|-")]
    pub payload: Option<String>,
    /// Status label, e.g. `in-progress` or `done`.
    #[arg(long)]
    pub status_label: Option<String>,
    /// The agent the handoff is for.
    #[arg(long)]
    pub to_agent: Option<String>,
    /// Exit 3 when the handoff could only be queued locally.
    #[arg(long)]
    pub require_delivery: bool,
    /// v2: store the handoff but keep the session active (never queued:
    /// sent now or an error).
    #[arg(long)]
    pub keep_open: bool,
    /// v2: when the agent last worked (ISO 8601), stored on the session.
    #[arg(long, value_name = "TIME")]
    pub last_activity_at: Option<String>,
}

/// `crane update`.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// Which session.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Branch (default: from git).
    #[arg(long)]
    pub branch: Option<String>,
    /// Commit SHA (default: from git).
    #[arg(long)]
    pub commit: Option<String>,
    /// Metadata, a JSON object.
    #[arg(long, value_name = "JSON")]
    pub meta: Option<String>,
    /// Exit 3 when the update could only be queued locally.
    #[arg(long)]
    pub require_delivery: bool,
}

/// `crane handoffs …`.
#[derive(Debug, Subcommand)]
pub enum HandoffsCommand {
    /// The newest handoff for this venture/repo (and track or issue).
    Latest(HandoffsLatestArgs),
    /// Handoffs newest first, one page or (`--all`) every page.
    List(HandoffsListArgs),
    /// Set a handoff's status label: done, in-progress, blocked or ready (v2).
    Status(HandoffStatusArgs),
}

/// `crane handoffs latest`.
#[derive(Debug, Clone, Args)]
pub struct HandoffsLatestArgs {
    /// Which checkout.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The newest handoff of this issue.
    #[arg(long, conflicts_with = "session_id")]
    pub issue: Option<i64>,
    /// The handoff that ended this session.
    #[arg(long)]
    pub session_id: Option<String>,
    /// Also print the payload.
    #[arg(long)]
    pub payload: bool,
}

/// `crane handoffs list`.
#[derive(Debug, Clone, Args)]
pub struct HandoffsListArgs {
    /// Which checkout.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only this issue.
    #[arg(long)]
    pub issue: Option<i64>,
    /// Handoffs written by this agent (any repo).
    #[arg(long, conflicts_with_all = ["session_id", "issue"])]
    pub from_agent: Option<String>,
    /// Handoffs of this session.
    #[arg(long, conflicts_with = "issue")]
    pub session_id: Option<String>,
    /// Page size (1–100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Follow the cursors to the last page.
    #[arg(long)]
    pub all: bool,
}

/// `crane queue …`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Queued items, oldest first.
    List {
        /// Only items in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
    },
    /// Everything about one item, including its request body.
    Show {
        /// The item's local id.
        local_id: String,
    },
    /// Move a dead item back to pending and try to deliver it now.
    Retry {
        /// The item's local id.
        local_id: String,
    },
    /// Delete an item for good (asks for confirmation).
    Drop {
        /// The item's local id.
        local_id: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Every item with everything stored about it, as JSON.
    Export {
        /// Only items in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Write to this file (mode 600) instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// A queue state on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    /// Waiting to be delivered.
    Pending,
    /// Failed permanently.
    Dead,
}

/// `crane verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Venture code of the throwaway session [default: v1 `crane-verify`;
    /// v2 the first venture the server lists, as v2 accepts only those].
    #[arg(long)]
    pub venture: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 15)]
    pub timeout: u64,
}
