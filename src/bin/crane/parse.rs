//! Parsing the command line: the commands an agent runs at every step
//! through a tree of one subcommand, everything else through clap's whole
//! tree.
//!
//! Building the whole command tree (every subcommand's arguments, about
//! two hundred of them) and matching against it was a third of `crane
//! status`'s instructions (callgrind: 0.77 M of 2.5 M), paid again by each
//! `crane heartbeat` or `crane update` an agent runs. Those commands are
//! first parsed with a tree holding the global options and only the
//! subcommand named first on the line, built by the same derive
//! (`<T as clap::Args>::augment_args`), so its arguments are the whole
//! tree's. That parse is used only when it succeeds; any error, help or
//! version request, or a line not starting with one of those commands,
//! goes to the whole tree, which prints exactly what it always printed.
//! The tests below check that both trees hold the same arguments and parse
//! a set of lines to the same result.

use clap::{Args, Command as ClapCommand, CommandFactory, FromArgMatches};

use crate::args::{Cli, EodArgs, Global, SessionArgs, SodArgs, UpdateArgs};

/// The command line of this process, parsed by clap.
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os().collect())
}

fn parse_from(argv: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    if let Some(cli) = argv
        .get(1)
        .and_then(|name| name.to_str())
        .and_then(pruned)
        .and_then(|tree| parse_with(tree, &argv).ok())
    {
        return Ok(cli);
    }
    parse_with(Cli::command(), &argv)
}

/// Parses `argv` with `tree`, formatting an error with it.
///
/// The tree and the matches are left to the process's exit instead of
/// dropped (`Cli::try_parse` would drop them: about a tenth of the
/// instructions of the whole tree's parse); `crane` parses at most twice
/// per process, so nothing accumulates.
fn parse_with(mut tree: ClapCommand, argv: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
    let parsed = tree
        .try_get_matches_from_mut(argv)
        .and_then(|matches| {
            let cli = Cli::from_arg_matches(&matches);
            std::mem::forget(matches);
            cli
        })
        .map_err(|e| e.format(&mut tree));
    std::mem::forget(tree);
    parsed
}

/// The tree of one subcommand, for the commands an agent runs at every
/// step; `None` for every other name. The names and aliases are those of
/// `args::Command`'s variants (the test `pruned_trees_match_the_whole_tree`
/// compares them).
fn pruned(name: &str) -> Option<ClapCommand> {
    let sub = match name {
        "sos" | "sod" => SodArgs::augment_args(ClapCommand::new("sos").visible_alias("sod")),
        "eos" | "eod" => EodArgs::augment_args(ClapCommand::new("eos").visible_alias("eod")),
        "update" => UpdateArgs::augment_args(ClapCommand::new("update")),
        "heartbeat" => SessionArgs::augment_args(ClapCommand::new("heartbeat")),
        "status" => SessionArgs::augment_args(ClapCommand::new("status")),
        _ => return None,
    };
    Some(
        Global::augment_args(ClapCommand::new("crane"))
            .subcommand_required(true)
            .subcommand(sub),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 7] = ["sos", "sod", "eos", "eod", "update", "heartbeat", "status"];

    fn argv(line: &str) -> Vec<std::ffi::OsString> {
        std::iter::once("crane")
            .chain(line.split_whitespace())
            .map(Into::into)
            .collect()
    }

    fn described(cmd: &ClapCommand) -> Vec<String> {
        let mut args: Vec<String> = cmd.get_arguments().map(|a| format!("{a:?}")).collect();
        args.sort();
        args
    }

    #[test]
    fn pruned_trees_match_the_whole_tree() {
        let mut whole = Cli::command();
        whole.build();
        for name in NAMES {
            let Some(mut tree) = pruned(name) else {
                panic!("{name} has no pruned tree");
            };
            tree.build();
            let mine = tree.get_subcommands().next();
            let theirs = whole.find_subcommand(name);
            let (Some(mine), Some(theirs)) = (mine, theirs) else {
                panic!("{name}: subcommand missing");
            };
            assert_eq!(mine.get_name(), theirs.get_name(), "{name}");
            assert_eq!(
                mine.get_visible_aliases().collect::<Vec<_>>(),
                theirs.get_visible_aliases().collect::<Vec<_>>(),
                "{name}"
            );
            assert_eq!(described(mine), described(theirs), "{name}'s arguments");
        }
        assert!(pruned("handoffs").is_none() && pruned("--json").is_none());
    }

    #[test]
    fn pruned_parses_equal_whole_parses() {
        let lines = [
            "status",
            "status --agent a --json",
            "status --session-id sess_1 --url http://x --home /tmp/h",
            "sod --agent a --no-keepalive --no-docs",
            "sos --venture vc --repo o/r --track 2",
            "eod --summary done --agent a",
            "eos --summary done --payload-file p.json --require-delivery",
            "update --agent a --branch b --commit abc --require-delivery",
            "heartbeat --agent a --protocol v2",
            // Errors, help and version: the pruned parse fails, the whole
            // tree answers.
            "status --nonsense",
            "status --help",
            "status --version",
            "eod",
            "heartbeat extra",
        ];
        for line in lines {
            let whole = parse_with(Cli::command(), &argv(line));
            let ours = parse_from(argv(line));
            match (whole, ours) {
                (Ok(w), Ok(o)) => assert_eq!(format!("{w:?}"), format!("{o:?}"), "{line}"),
                (Err(w), Err(o)) => {
                    assert_eq!(w.kind(), o.kind(), "{line}");
                    assert_eq!(w.to_string(), o.to_string(), "{line}");
                }
                (w, o) => panic!("{line}: whole tree {w:?}, ours {o:?}"),
            }
        }
    }

    #[test]
    fn the_fast_path_answers_the_lines_it_is_for() {
        // Without this the equality test above would pass with no fast
        // path at all.
        for line in ["status --agent a", "eod --summary s", "sod", "update"] {
            let argv = argv(line);
            let tree = argv[1].to_str().and_then(pruned);
            assert!(
                tree.is_some_and(|t| parse_with(t, &argv).is_ok()),
                "{line} did not parse with its pruned tree"
            );
        }
    }
}
