//! The README's first command, `cargo run --example quickstart --features
//! emulator`, run as a user runs it: the whole story ends in "done." with
//! exactly one handoff on the server, a reader that stops early (`| head`)
//! ends it quietly, and no temporary folder is left behind either way.
#![cfg(feature = "emulator")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `target/debug/examples/quickstart`, which `cargo test` builds before it
/// runs the tests (this binary lives in `target/debug/deps/`).
fn quickstart() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let bin = debug
        .join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

fn leftovers(tmp: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .expect("read TMPDIR")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_story_delivers_the_offline_handoff_exactly_once_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(quickstart())
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .output()
        .expect("quickstart runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    for expected in [
        "[3] automatic heartbeat",
        "handoff queued durably as",
        "[8] the queue drains by itself",
        "server hash == local hash: true",
        "the server holds 1 handoff for the session",
        "queue now: 0 pending",
        "done.",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_reader_that_stops_early_ends_the_story_quietly_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().expect("pipe");
    let child = Command::new(quickstart())
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("quickstart starts");
    // Like `| head -3`: read three lines (the emulator and the store exist
    // by then), then close the pipe; the next write meets EPIPE.
    let mut lines = BufReader::new(reader);
    for _ in 0..3 {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).expect("read") > 0, "early EOF");
    }
    drop(lines);
    let out = child.wait_with_output().expect("quickstart ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}
