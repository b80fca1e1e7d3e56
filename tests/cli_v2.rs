//! The v2 commands of the `crane` binary end to end (checkpoint,
//! checkpoints, notes, prior, siblings, history, handoffs status): the real
//! executable in a temporary checkout against the emulator in v2 mode. Exit
//! codes and `--json` output are asserted; the server side is read through
//! the typed client, not through the CLI under test.
#![cfg(all(feature = "cli", feature = "emulator"))]

mod common;

use common::cli::Checkout;
use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};
use crane_context::model::v2::{CheckpointsQuery, NotesQuery};
use serde_json::Value;

async fn emulator_v2() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        protocol: Protocol::V2,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_and_checkpoints_record_and_list_progress_once() {
    let emu = emulator_v2().await;
    let co = Checkout::new(&emu.url());
    let sid = co.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    let cp = co
        .run(&[
            "checkpoint",
            "--json",
            "--summary",
            "Parsed the contract",
            "--done",
            "types",
            "--done",
            "client",
            "--blocker",
            "none yet",
            "--next",
            "cli",
        ])
        .await
        .ok()
        .json();
    assert_eq!(cp["checkpoint_number"], 1);
    assert_eq!(cp["session_id"], sid.as_str());
    let human = co.run(&["checkpoint", "--summary", "second"]).await.ok();
    assert!(
        human.stdout.contains("Checkpoint 2 stored"),
        "{}",
        human.stdout
    );

    // What the server holds, read with the library.
    let stored = common::client(&emu.url())
        .checkpoints(&CheckpointsQuery::session(&sid))
        .await
        .unwrap();
    assert_eq!(stored.count, 2);
    let first = &stored.checkpoints[1];
    assert_eq!(
        first.work_completed.as_deref(),
        Some(&["types".to_string(), "client".to_string()][..])
    );
    assert_eq!(
        first.blockers.as_deref(),
        Some(&["none yet".to_string()][..])
    );

    let listed = co.run(&["checkpoints", "--json"]).await.ok().json();
    assert_eq!(listed["count"], 2);
    assert_eq!(strings(&listed["checkpoints"][1]["next_actions"]), ["cli"]);
    let table = co.run(&["checkpoints"]).await.ok();
    assert!(
        table.stdout.contains("Parsed the contract"),
        "{}",
        table.stdout
    );

    // Bad input is a usage error (2); nothing sent.
    co.run(&["checkpoint", "--summary", " "]).await.code(2);
    // Unreachable server: queued (exit 0), or exit 3 with
    // --require-delivery; nothing reaches the server until a sync, which
    // delivers each exactly once.
    let offline = [("CRANE_CONTEXT_URL", "http://127.0.0.1:9")];
    let out = co
        .run_with(
            &["checkpoint", "--summary", "offline", "--session-id", &sid],
            &offline,
        )
        .await
        .ok();
    assert!(
        out.stdout.contains("NOT delivered yet") && out.stdout.contains("queued (item"),
        "{}",
        out.stdout
    );
    let strict = co
        .run_with(
            &[
                "checkpoint",
                "--json",
                "--summary",
                "offline strict",
                "--session-id",
                &sid,
                "--require-delivery",
            ],
            &offline,
        )
        .await
        .code(3)
        .json();
    assert_eq!(strict["queued"], true);
    let listed = co
        .run_with(&["queue", "list", "--json"], &offline)
        .await
        .ok()
        .json();
    let kinds: Vec<&str> = listed
        .as_array()
        .or_else(|| listed["items"].as_array())
        .expect("a list of items")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["checkpoint", "checkpoint"], "{listed}");
    let stored = |n: u32| {
        let (url, sid) = (emu.url(), sid.clone());
        async move {
            let c = common::client(&url)
                .checkpoints(&CheckpointsQuery::session(&sid))
                .await
                .unwrap();
            assert_eq!(c.count, n);
        }
    };
    stored(2).await;
    let synced = co.run(&["sync", "--json"]).await.ok().json();
    assert_eq!(synced["delivered"], 2, "{synced}");
    let again = co.run(&["sync", "--json"]).await.ok().json();
    assert_eq!(again["delivered"], 0, "{again}");
    stored(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_add_list_show_update_archive() {
    let emu = emulator_v2().await;
    let co = Checkout::new(&emu.url());
    let add = [
        "notes",
        "add",
        "--json",
        "--title",
        "Jitter",
        "--content",
        "Heartbeats jitter.",
        "--tag",
        "cli-notes",
        "--tag",
        "sdk",
    ];
    let note = co.run(&add).await.ok().json()["note"].clone();
    let id = note["id"].as_str().unwrap().to_owned();
    assert_eq!(note["venture"], "vc", "the checkout's venture");
    assert_eq!(strings(&note["tags"]), ["cli-notes", "sdk"]);
    // The same command again keeps one note.
    let again = co.run(&add).await.ok().json();
    assert_eq!(again["note"]["id"], id.as_str());
    let file = co.dir.path().join("note.md");
    std::fs::write(&file, "# From a file\n").unwrap();
    let from_file = co
        .run(&[
            "notes",
            "add",
            "--json",
            "--global",
            "--title",
            "File",
            "--file",
            file.to_str().unwrap(),
            "--tag",
            "cli-notes",
        ])
        .await
        .ok()
        .json();
    assert_eq!(from_file["note"]["content"], "# From a file\n");
    assert!(from_file["note"]["venture"].is_null(), "global");
    co.run(&["notes", "add", "--title", "No text"])
        .await
        .code(2);

    let list = co
        .run(&["notes", "list", "--json", "--tag", "cli-notes"])
        .await
        .ok()
        .json();
    assert_eq!(list["total_matching"], 2);
    let found = co
        .run(&[
            "notes",
            "list",
            "--json",
            "--tag",
            "cli-notes",
            "--query",
            "jitter",
        ])
        .await
        .ok()
        .json();
    assert_eq!(found["count"], 1);
    assert_eq!(found["notes"][0]["id"], id.as_str());

    let shown = co.run(&["notes", "show", &id]).await.ok();
    assert!(
        shown.stdout.contains("Heartbeats jitter."),
        "{}",
        shown.stdout
    );
    let updated = co
        .run(&[
            "notes",
            "update",
            &id,
            "--json",
            "--title",
            "Jitter (edited)",
        ])
        .await
        .ok()
        .json();
    assert_eq!(updated["note"]["title"], "Jitter (edited)");
    assert_eq!(updated["note"]["content"], "Heartbeats jitter.");
    co.run(&["notes", "archive", &id]).await.ok();
    let active = co
        .run(&["notes", "list", "--json", "--tag", "cli-notes"])
        .await
        .ok()
        .json();
    assert_eq!(active["total_matching"], 1);
    let all = co
        .run(&[
            "notes",
            "list",
            "--json",
            "--tag",
            "cli-notes",
            "--include-archived",
        ])
        .await
        .ok()
        .json();
    assert_eq!(all["total_matching"], 2);
    let missing = co
        .run(&["notes", "show", "note_01M8CQKC9F3HYAC88YDT3BEQ8J"])
        .await
        .code(1);
    assert!(
        missing.stderr.contains("Note not found"),
        "{}",
        missing.stderr
    );
    assert!(
        !missing.stderr.contains("crane sod"),
        "no session hint: {}",
        missing.stderr
    );
}

/// A v2 command against a v1 server: exit 1, and the hint says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_commands_against_a_v1_server_say_the_route_is_missing() {
    let emu = Emulator::start(EmulatorConfig {
        protocol: Protocol::V1,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let co = Checkout::new(&emu.url());
    let out = co.run(&["notes", "list", "--json"]).await.code(1);
    let err = out.err_json();
    assert_eq!(err["error"]["kind"], "not_found");
    let hint = err["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("need a v2 server"), "{hint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prior_siblings_history_and_handoff_status() {
    let emu = emulator_v2().await;
    let co = Checkout::new(&emu.url());
    let none = co.run(&["prior", "--json"]).await.ok().json();
    assert!(none["session"].is_null());
    let sid = co.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    // The session has no group: siblings says so (exit 1) unless given one.
    let out = co.run(&["siblings"]).await.code(1);
    assert!(out.stderr.contains("no session group"), "{}", out.stderr);
    let sib = co
        .run(&["siblings", "--json", "--group", "g-1"])
        .await
        .ok()
        .json();
    assert_eq!(sib["count"], 0);

    let ended = co
        .run(&["eod", "--json", "--summary", "done for today"])
        .await
        .ok()
        .json();
    let handoff_id = ended["handoff_id"].as_str().expect("handoff id").to_owned();
    let prior = co.run(&["prior", "--json"]).await.ok().json();
    assert_eq!(prior["session"]["id"], sid.as_str());
    assert_eq!(prior["session"]["status"], "ended");

    let history = co
        .run(&["history", "--json", "--days", "1"])
        .await
        .ok()
        .json();
    let vc = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["venture"] == "vc")
        .expect("a vc entry")
        .clone();
    assert_eq!(vc["total_sessions"], 1);

    let set = co
        .run(&["handoffs", "status", &handoff_id, "in-progress", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(set["handoff"]["status_label"], "in_progress");
    co.run(&["handoffs", "status", &handoff_id, "finished"])
        .await
        .code(2);
    co.run(&[
        "handoffs",
        "status",
        "ho_01M8CQKARPZ1ES2F7748R63NGV",
        "done",
    ])
    .await
    .code(1);
}

/// Offline, `crane notes add` queues the note (exit 0; 3 with
/// `--require-delivery`), and `crane sync` delivers it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_add_offline_is_queued_then_sync_delivers_it_once() {
    let emu = emulator_v2().await;
    let co = Checkout::new(&emu.url());
    let offline = [("CRANE_CONTEXT_URL", "http://127.0.0.1:9")];
    let add = |title: &'static str| {
        vec![
            "notes",
            "add",
            "--global",
            "--title",
            title,
            "--content",
            "On a train.",
            "--tag",
            "cli-offline-note",
        ]
    };
    let out = co.run_with(&add("first"), &offline).await.ok();
    assert!(
        out.stdout.contains("NOT delivered yet") && out.stdout.contains("queued (item"),
        "{}",
        out.stdout
    );
    let mut strict = add("second");
    strict.extend(["--json", "--require-delivery"]);
    let strict = co.run_with(&strict, &offline).await.code(3).json();
    assert_eq!(strict["queued"], true);
    let tagged = || async {
        common::client(&emu.url())
            .notes(&NotesQuery::new().tag("cli-offline-note"))
            .await
            .unwrap()
            .total_matching
    };
    assert_eq!(tagged().await, 0);
    let synced = co.run(&["sync", "--json"]).await.ok().json();
    assert_eq!(synced["delivered"], 2, "{synced}");
    assert_eq!(
        co.run(&["sync", "--json"]).await.ok().json()["delivered"],
        0
    );
    assert_eq!(tagged().await, 2);
}
