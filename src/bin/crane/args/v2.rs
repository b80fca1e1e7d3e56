//! The command-line types of the v2 commands: checkpoints, notes, prior
//! session, siblings, history and a handoff's status label.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use crane_context::model::v2::HandoffStatusLabel;

use super::{SessionArgs, TargetArgs};

/// `crane checkpoint`.
#[derive(Debug, Clone, Args)]
pub struct CheckpointArgs {
    /// Which session (default: this checkout's).
    #[command(flatten)]
    pub session: SessionArgs,
    /// What was achieved, one line.
    #[arg(long)]
    pub summary: String,
    /// An item finished (repeatable).
    #[arg(long = "done", value_name = "ITEM")]
    pub done: Vec<String>,
    /// Something in the way (repeatable).
    #[arg(long = "blocker", value_name = "ITEM")]
    pub blockers: Vec<String>,
    /// What comes next (repeatable).
    #[arg(long = "next", value_name = "ITEM")]
    pub next: Vec<String>,
    /// Free-text notes.
    #[arg(long)]
    pub notes: Option<String>,
    /// Exit 3 when the checkpoint could only be queued locally.
    #[arg(long)]
    pub require_delivery: bool,
}

/// `crane checkpoints`.
#[derive(Debug, Clone, Args)]
pub struct CheckpointsArgs {
    /// Which session (default: this checkout's).
    #[command(flatten)]
    pub session: SessionArgs,
    /// How many, newest first (1–100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
}

/// `crane notes …`.
#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// Write a note (safe to repeat: the same note is not stored twice).
    Add(NotesAddArgs),
    /// Notes newest first, filtered.
    List(NotesListArgs),
    /// One note in full.
    Show {
        /// The note's id (`note_…`).
        id: String,
    },
    /// Change a note's title, content or tags.
    Update(NotesUpdateArgs),
    /// Archive a note (hidden from lists unless `--include-archived`).
    Archive {
        /// The note's id (`note_…`).
        id: String,
    },
}

/// Where a note's text comes from.
#[derive(Debug, Clone, Args)]
#[group(required = false, multiple = false)]
pub struct ContentArgs {
    /// The text.
    #[arg(long, value_name = "TEXT")]
    pub content: Option<String>,
    /// Read the text from a file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// `crane notes add`.
#[derive(Debug, Clone, Args)]
pub struct NotesAddArgs {
    /// Title.
    #[arg(long)]
    pub title: String,
    /// The text (one of --content, --file is required).
    #[command(flatten)]
    pub content: ContentArgs,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// A global note (no venture; by default it is filed under this
    /// checkout's venture, or `--venture`).
    #[arg(long, conflicts_with = "venture")]
    pub global: bool,
    /// Which checkout (its venture files the note).
    #[command(flatten)]
    pub target: TargetArgs,
    /// Exit 3 when the note could only be queued locally.
    #[arg(long)]
    pub require_delivery: bool,
}

/// `crane notes list`.
#[derive(Debug, Clone, Args)]
pub struct NotesListArgs {
    /// Only notes with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only notes whose title or content contains this text.
    #[arg(long, value_name = "TEXT")]
    pub query: Option<String>,
    /// Only this venture's notes (default: every venture's and the global ones).
    #[arg(long)]
    pub venture: Option<String>,
    /// Archived notes too.
    #[arg(long)]
    pub include_archived: bool,
    /// Page size (1–100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Continue after this cursor (printed by the previous page).
    #[arg(long)]
    pub cursor: Option<String>,
}

/// `crane notes update`.
#[derive(Debug, Clone, Args)]
pub struct NotesUpdateArgs {
    /// The note's id (`note_…`).
    pub id: String,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    /// New text.
    #[command(flatten)]
    pub content: ContentArgs,
    /// New tags, replacing the old ones (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// `crane prior`.
#[derive(Debug, Clone, Args)]
pub struct PriorArgs {
    /// Which checkout.
    #[command(flatten)]
    pub target: TargetArgs,
    /// How far back, in hours (1–720).
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub within_hours: u32,
}

/// `crane siblings`.
#[derive(Debug, Clone, Args)]
pub struct SiblingsArgs {
    /// Which session (default: this checkout's); it is left out of the list.
    #[command(flatten)]
    pub session: SessionArgs,
    /// The session group (default: the session's).
    #[arg(long, value_name = "ID")]
    pub group: Option<String>,
}

/// `crane history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// How many days back (1–90).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub days: u32,
}

/// `crane handoffs status`.
#[derive(Debug, Clone, Args)]
pub struct HandoffStatusArgs {
    /// The handoff's id (`ho_…`).
    pub id: String,
    /// The new label.
    #[arg(value_enum)]
    pub label: LabelArg,
}

/// A handoff status label on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabelArg {
    /// The work is done.
    Done,
    /// Someone is on it.
    InProgress,
    /// It cannot go on.
    Blocked,
    /// Ready to be picked up.
    Ready,
}

impl From<LabelArg> for HandoffStatusLabel {
    fn from(l: LabelArg) -> Self {
        match l {
            LabelArg::Done => Self::Done,
            LabelArg::InProgress => Self::InProgress,
            LabelArg::Blocked => Self::Blocked,
            LabelArg::Ready => Self::Ready,
        }
    }
}
