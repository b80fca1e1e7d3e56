//! The `crane` binary end to end: the real executable, run as an agent would
//! run it, in a temporary git checkout, against the in-process emulator over
//! loopback, with configuration from the environment and a temporary
//! `CRANE_HOME`.
//!
//! Each test asserts exit codes and parses `--json` output; the server side
//! is checked through the emulator's `/__emulator/state`, never through the
//! CLI under test. Run with `cargo test --features cli,emulator --test cli`.
#![cfg(all(feature = "cli", feature = "emulator"))]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::cli::{chmod, git, Checkout};
use serde_json::{json, Value};

async fn handoffs_of(url: &str, session_id: &str) -> Vec<Value> {
    common::handoffs_for(url, session_id).await
}

/// Whether `pid` is a live (not zombie) process.
#[cfg(target_os = "linux")]
fn pid_alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

/// Kills a keeper a failed test left behind.
struct KillOnDrop(u64);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.to_string()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sod_creates_then_resumes_with_the_documented_json() {
    let emu = common::emulator().await;
    // A v2 server serves the documents it was given (the v1 worker had built-in ones).
    common::control(
        &emu.url(),
        reqwest::Method::POST,
        "docs",
        Some(json!({"scope": "global", "doc_name": "team-guide.md", "content": "# Guide\n"})),
    )
    .await;
    let c = Checkout::new(&emu.url());
    let first = c.sod(&[]).await;
    assert_eq!(first["status"], "created");
    let id = first["session_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sess_"), "{first}");
    assert_eq!(first["session"]["id"], id.as_str());
    assert_eq!(first["checkout"]["agent"], "crane-testhost");
    assert_eq!(first["checkout"]["client"], "crane");
    assert_eq!(first["checkout"]["venture"], "vc");
    assert_eq!(first["checkout"]["repo"], "venturecrane/crane-console");
    let interval = first["heartbeat_interval_seconds"].as_u64().unwrap();
    assert!((480..=720).contains(&interval));
    assert!(first["last_handoff"].is_null());
    assert_eq!(first["active_sessions"], json!([]));
    assert!(first["keeper"].is_null());
    let docs = &first["docs"];
    assert_eq!(docs["rewritten"], true);
    let files = docs["files"].as_array().unwrap();
    assert!(!files.is_empty());
    let dir = PathBuf::from(docs["dir"].as_str().unwrap());
    assert!(dir.starts_with(&c.home));
    for f in files {
        assert!(dir.join(f.as_str().unwrap()).is_file(), "{f}");
    }

    let second = c.sod(&[]).await;
    assert_eq!(second["status"], "resumed");
    assert_eq!(second["session_id"], id.as_str());
    assert_eq!(
        second["docs"]["rewritten"], false,
        "same content_hash: not rewritten"
    );

    // Every detected value can be overridden; the agent's environment names the client.
    let mut cmd = c.command(&[
        "sod",
        "--json",
        "--no-keepalive",
        "--repo",
        "acme/tool",
        "--venture",
        "smd",
        "--track",
        "3",
    ]);
    cmd.env("CLAUDE_CLI_VERSION", "1.2.3");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["checkout"]["agent"], "claude-code-testhost");
    assert_eq!(v["checkout"]["client_version"], "1.2.3");
    assert_eq!(v["session"]["repo"], "acme/tool");
    assert_eq!(v["session"]["venture"], "smd");
    assert_eq!(v["session"]["track"], 3);

    // Text mode says what happened.
    let text = c.run(&["sod", "--no-keepalive"]).await.ok();
    assert!(
        text.stdout.contains("resumed") && text.stdout.contains(&id),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains('\x1b'), "no colour off a terminal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_heartbeat_record_the_servers_schedule() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let id = c.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    let up = c
        .run(&[
            "update",
            "--json",
            "--branch",
            "feature/x",
            "--commit",
            "abc123",
            "--meta",
            r#"{"step":2}"#,
        ])
        .await
        .ok()
        .json();
    assert_eq!(up["applied"], true);
    assert_eq!(up["session_id"], id.as_str());
    assert_eq!(up["branch"], "feature/x");
    let hb = c.run(&["heartbeat", "--json"]).await.ok().json();
    assert_eq!(hb["session_id"], id.as_str());
    let interval = hb["heartbeat_interval_seconds"].as_u64().unwrap();
    assert!((480..=720).contains(&interval));
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert_eq!(status["session"]["session_id"], id.as_str());
    assert_eq!(status["session"]["heartbeat_interval_seconds"], interval);
    assert_eq!(
        status["session"]["next_heartbeat_at"],
        hb["next_heartbeat_at"]
    );
    assert_eq!(status["connectivity"]["online"], true);
    let state = common::state(&emu.url()).await;
    assert_eq!(state["requests_count"]["/update"], 1);
    assert_eq!(state["requests_count"]["/heartbeat"], 1);

    // --meta must be a JSON object: a usage error, nothing sent.
    c.run(&["update", "--meta", "[1]"]).await.code(2);
    let state = common::state(&emu.url()).await;
    assert_eq!(state["requests_count"]["/update"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_answers_from_the_cache_without_touching_the_network() {
    let emu = common::emulator().await;
    let mut c = Checkout::new(&emu.url());
    let id = c.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    emu.shutdown().await;

    // A server that accepts connections but never answers: any request would
    // hang for seconds, and the listener would see the connection.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    c.url = format!("http://{}", silent.local_addr().unwrap());
    let start = Instant::now();
    let status = c.run(&["status", "--json"]).await.ok().json();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "status took {took:?}");
    assert!(
        silent.accept().is_err(),
        "status must not connect to the server"
    );
    assert_eq!(status["session"]["session_id"], id.as_str());
    assert_eq!(status["queue"]["pending"], 0);
    assert_eq!(status["keeper"], Value::Null);
    let text = c.run(&["status"]).await.ok();
    assert!(text.stdout.contains(&id), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eod_delivers_the_handoff_and_proves_the_hash() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let id = c.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    let payload = c.dir.path().join("payload.json");
    std::fs::write(
        &payload,
        r#"{"next":["tests","docs"],"note":"café","ratio":1.5e-7}"#,
    )
    .unwrap();
    let payload_arg = payload.to_str().unwrap();
    let end = c
        .run(&[
            "eod",
            "--json",
            "--summary",
            "shipped the CLI",
            "--payload-file",
            payload_arg,
            "--status-label",
            "done",
            "--to-agent",
            "cc-reviewer",
        ])
        .await
        .ok()
        .json();
    assert_eq!(end["delivered"], true);
    assert_eq!(end["queued"], false);
    assert_eq!(end["hash_verified"], true);
    assert_eq!(end["session_id"], id.as_str());
    assert_eq!(end["handoff"]["status_label"], "done");
    assert_eq!(end["handoff"]["to_agent"], "cc-reviewer");
    let stored = handoffs_of(&emu.url(), &id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["payload_hash"], end["payload_hash"]);
    // The session left the cache: no session for this checkout any more.
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert!(status["session"].is_null(), "{status}");
    let again = c.run(&["eod", "--summary", "again"]).await.code(1);
    assert!(again.stderr.contains("crane sod"), "{}", again.stderr);
    // Bad payloads are usage errors.
    c.sod(&[]).await;
    c.run(&["eod", "--summary", "x", "--payload", "[1,2]"])
        .await
        .code(2);
    c.run(&["eod", "--summary", "x", "--payload", "{not json"])
        .await
        .code(2);
}

/// Issue #10 B: a second, different `crane eod` of an ended session was
/// reported "delivered (matches the local hash)" because both payloads were
/// `{}`. It is a conflict (exit 4) naming the stored handoff, and the
/// identical command again reports the stored handoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_different_eod_of_an_ended_session_is_a_conflict() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let id = c.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    let first = c
        .run(&["eod", "--json", "--summary", "first"])
        .await
        .ok()
        .json();
    let handoff_id = first["handoff_id"].as_str().unwrap().to_owned();
    let second = c
        .run(&["eod", "--session-id", &id, "--summary", "second"])
        .await
        .code(4);
    assert!(
        second.stderr.contains(&handoff_id) && second.stderr.contains("first"),
        "{}",
        second.stderr
    );
    assert!(!second.stdout.contains("delivered"), "{}", second.stdout);
    let same = c
        .run(&["eod", "--json", "--session-id", &id, "--summary", "first"])
        .await
        .ok()
        .json();
    assert_eq!(same["handoff_id"], handoff_id.as_str());
    assert_eq!(handoffs_of(&emu.url(), &id).await.len(), 1);
    let queue = c.run(&["queue", "list", "--json"]).await.ok().json();
    assert_eq!(queue["items"].as_array().map_or(0, Vec::len), 0, "{queue}");
}

/// Issue #10 D: a 131,000-character summary (quotes, two bytes each in
/// JSON) with a payload just under 819,200 canonical bytes is over the
/// server's 1 MiB body limit. It was queued, then 413'd; it is bad input
/// (exit 2) and nothing is queued or sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eod_over_the_body_limit_is_refused_before_anything_is_queued() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let id = c.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    let payload = c.dir.path().join("big.json");
    let blob = "x".repeat(819_200 - 100);
    std::fs::write(&payload, format!(r#"{{"b":"{blob}"}}"#)).unwrap();
    let summary = "\"".repeat(131_000);
    c.run(&[
        "eod",
        "--summary",
        &summary,
        "--payload-file",
        payload.to_str().unwrap(),
    ])
    .await
    .code(2);
    let queue = c.run(&["queue", "list", "--json"]).await.ok().json();
    assert_eq!(queue["items"].as_array().map_or(0, Vec::len), 0, "{queue}");
    assert!(handoffs_of(&emu.url(), &id).await.is_empty());
}

/// Issue #10 F: `crane sync` exited 0 while an item stayed pending because
/// another (live) process held it. It reports why each item waits and exits
/// 1 whenever anything is left pending. (This test process is that live
/// holder: its liveness lock is held while `crane sync` runs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exits_1_and_says_why_when_items_stay_pending() {
    use crane_context::store::{ItemKind, NewItem, Owner, QueueLimits, SessionTuple, Store};
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let db = c.home.join("crane.db");
    let store = Store::open(&db, QueueLimits::default()).unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    let held = store
        .enqueue(
            NewItem {
                kind: ItemKind::Update,
                session_id: "sess_01JAAAAAAAAAAAAAAAAAAAAAAA".into(),
                tuple: SessionTuple {
                    agent: "a".into(),
                    venture: "vc".into(),
                    repo: "o/r".into(),
                    track: None,
                },
                idempotency_key: "k-held-by-a-live-process-0001".into(),
                body_json: r#"{"session_id":"sess_01JAAAAAAAAAAAAAAAAAAAAAAA"}"#.into(),
                payload_hash: None,
            },
            now,
        )
        .unwrap();
    let me = Owner::claim(&db);
    let leased = store.lease_ready(me.id(), i64::MAX / 4, now, 10).unwrap();
    assert_eq!(leased.len(), 1);
    let report = c.run(&["sync", "--json"]).await.code(1).json();
    assert_eq!(report["pending"], 1, "{report}");
    let waiting = &report["waiting"][0];
    assert_eq!(waiting["local_id"], held.as_str(), "{report}");
    let why = waiting["why"].as_str().unwrap_or("");
    assert!(
        why.contains(&format!("process {} (alive)", std::process::id())),
        "{why}"
    );
    drop(me);
}

/// Issue #10, re-homing: a handoff queued while offline whose session another
/// agent's `crane sod` abandoned is dead with the reason when `CRANE_REHOME=0`,
/// and with re-homing on (the default) `crane sync` delivers it in a new
/// session of the tuple and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_rehomes_a_handoff_whose_session_was_abandoned_and_says_so() {
    let db = tempfile::tempdir().unwrap();
    let db_path = db.path().join("emu.db");
    let emu = common::emulator_with(Some(db_path.clone()), None).await;
    let addr = emu.addr();
    let c = Checkout::new(&emu.url());
    let started = c.sod(&["--track", "3"]).await;
    let s1 = started["session_id"].as_str().unwrap().to_owned();
    emu.shutdown().await;
    c.run(&["eod", "--track", "3", "--summary", "offline work"])
        .await
        .ok();

    // Back online 46 minutes later: another agent of the same tuple starts
    // (abandoning s1) and finishes.
    let emu = common::emulator_with(Some(db_path), Some(addr)).await;
    let url = emu.url();
    common::advance_clock(&url, 46 * 60).await;
    let who = &started["checkout"];
    let sod = crane_context::model::StartSession::new(
        who["agent"].as_str().unwrap(),
        who["venture"].as_str().unwrap(),
        who["repo"].as_str().unwrap(),
    )
    .track(3)
    .include_docs(false);
    let raw = common::client(&url);
    let other = raw.start_session(&sod).await.unwrap().session_id;
    assert_ne!(other, s1);
    let end = crane_context::model::EndSession::new(&other, "theirs", &json!({})).unwrap();
    raw.end_session(&end).await.unwrap();

    let off = c
        .run_with(&["sync", "--json"], &[("CRANE_REHOME", "0")])
        .await
        .code(1)
        .json();
    assert_eq!(off["dead"], 1, "{off}");
    let why = off["errors"][0].as_str().unwrap_or("");
    assert!(
        why.contains(&format!("session {s1} was abandoned")) && why.contains("re-homing is off"),
        "{why}"
    );

    // Retried with re-homing on: delivered once, in a new session.
    let store = crane_context::store::Store::open(
        &c.home.join(crane_context::store::DB_FILE_NAME),
        crane_context::store::QueueLimits::default(),
    )
    .unwrap();
    let dead = store
        .list(Some(crane_context::store::ItemState::Dead))
        .unwrap();
    store.retry_dead(&dead[0].local_id, 0).unwrap();
    drop(store);
    let on = c.run(&["sync", "--json"]).await.ok().json();
    assert_eq!(
        (on["delivered"].clone(), on["pending"].clone()),
        (json!(1), json!(0)),
        "{on}"
    );
    let said = on["rehomed"][0].as_str().unwrap_or("");
    assert!(
        said.contains(&format!("session {s1} had ended without it")),
        "{on}"
    );
    let state = common::state(&url).await;
    let mine: Vec<&Value> = state["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["summary"] == "offline work")
        .collect();
    assert_eq!(mine.len(), 1, "{state}");
    let home = mine[0]["session_id"].as_str().unwrap();
    assert!(said.ends_with(home), "{said} / {home}");
    let session = state["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == home)
        .unwrap();
    let meta: Value = serde_json::from_str(session["meta_json"].as_str().unwrap()).unwrap();
    assert_eq!(meta["crane_rehome"]["from_session_id"], s1.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eod_offline_is_queued_then_sync_delivers_exactly_once() {
    let db = tempfile::tempdir().unwrap();
    let db_path = db.path().join("emu.db");
    let emu = common::emulator_with(Some(db_path.clone()), None).await;
    let addr = emu.addr();
    let c = Checkout::new(&emu.url());
    let s1 = c.sod(&["--track", "1"]).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s2 = c.sod(&["--track", "2"]).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.shutdown().await;

    let queued = c
        .run(&["eod", "--track", "1", "--summary", "offline handoff"])
        .await
        .ok();
    assert!(
        queued.stdout.contains("NOT delivered yet"),
        "{}",
        queued.stdout
    );
    assert!(queued.stdout.contains("crane sync"), "{}", queued.stdout);
    let strict = c
        .run(&[
            "eod",
            "--json",
            "--track",
            "2",
            "--summary",
            "must deliver",
            "--require-delivery",
        ])
        .await
        .code(3)
        .json();
    assert_eq!(strict["queued"], true);
    assert!(strict["local_id"].is_string());

    let status = c
        .run(&["status", "--json", "--track", "1"])
        .await
        .ok()
        .json();
    assert_eq!(status["queue"]["pending"], 2);
    assert_eq!(status["connectivity"]["online"], false);
    // Still offline: sync cannot deliver and says so with exit 1.
    let offline = c.run(&["sync", "--json"]).await.code(1).json();
    assert_eq!(offline["pending"], 2);
    assert_eq!(offline["delivered"], 0);

    let emu = common::emulator_with(Some(db_path), Some(addr)).await;
    let synced = c.run(&["sync", "--json"]).await.ok().json();
    assert_eq!(synced["delivered"], 2, "{synced}");
    assert_eq!(synced["pending"], 0);
    let again = c.run(&["sync", "--json"]).await.ok().json();
    assert_eq!(again["delivered"], 0);
    for (sid, summary) in [(&s1, "offline handoff"), (&s2, "must deliver")] {
        let stored = handoffs_of(&emu.url(), sid).await;
        assert_eq!(stored.len(), 1, "exactly once for {sid}: {stored:?}");
        assert_eq!(stored[0]["summary"], summary);
    }
    let state = common::state(&emu.url()).await;
    assert_eq!(state["requests_count"]["/eos"], 2, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_list_show_retry_drop_export_with_dead_items() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let s1 = c.sod(&["--track", "1"]).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.sod(&["--track", "2"]).await;
    // The server rejects both handoffs once: each becomes a dead item.
    common::fault(
        &emu.url(),
        json!({"route": "/eos", "mode": "status", "status": 400, "count": 2}),
    )
    .await;
    let failed = c
        .run(&["eod", "--json", "--track", "1", "--summary", "first"])
        .await
        .code(1);
    let err = failed.err_json();
    assert_eq!(err["error"]["kind"], "validation");
    assert_eq!(err["error"]["exit_code"], 1);
    c.run(&["eod", "--track", "2", "--summary", "second"])
        .await
        .code(1);

    let list = c
        .run(&["queue", "list", "--json", "--state", "dead"])
        .await
        .ok()
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(list["counts"]["dead"], 2);
    let first = items
        .iter()
        .find(|i| i["session_id"] == s1.as_str())
        .unwrap();
    let first_id = first["local_id"].as_str().unwrap().to_owned();
    let second_id = items
        .iter()
        .find(|i| i["session_id"] != s1.as_str())
        .unwrap()["local_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        first["last_error"].as_str().unwrap().contains("validation"),
        "{first}"
    );

    let show = c
        .run(&["queue", "show", "--json", &first_id])
        .await
        .ok()
        .json();
    assert_eq!(show["body"]["summary"], "first");
    assert_eq!(show["state"], "dead");
    let text = c.run(&["queue", "show", &first_id]).await.ok();
    assert!(
        text.stdout.contains("first") && text.stdout.contains("dead"),
        "{}",
        text.stdout
    );

    let export = c.run(&["queue", "export"]).await.ok().json();
    assert_eq!(export["items"].as_array().unwrap().len(), 2);
    let file = c.dir.path().join("export.json");
    let file_arg = file.to_str().unwrap();
    c.run(&["queue", "export", "--output", file_arg]).await.ok();
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(exported["items"].as_array().unwrap().len(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // Retry: the fault is used up, so the handoff is delivered now.
    let retried = c
        .run(&["queue", "retry", "--json", &first_id])
        .await
        .ok()
        .json();
    assert_eq!(retried["result"], "delivered", "{retried}");
    assert_eq!(handoffs_of(&emu.url(), &s1).await.len(), 1);

    // Drop asks; without a terminal and without --yes it refuses (exit 2).
    let refused = c.run(&["queue", "drop", &second_id]).await.code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(
        c.run(&["queue", "list", "--json"]).await.ok().json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let dropped = c
        .run(&["queue", "drop", "--yes", "--json", &second_id])
        .await
        .ok()
        .json();
    assert_eq!(dropped["dropped"], second_id.as_str());
    let empty = c.run(&["queue", "list", "--json"]).await.ok().json();
    assert_eq!(empty["items"], json!([]));
    c.run(&["queue", "show", &second_id]).await.code(1);
    c.run(&["queue", "retry", "nope"]).await.code(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoffs_latest_and_list_follow_cursors() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let none = c.run(&["handoffs", "latest", "--json"]).await.ok().json();
    assert!(none["handoff"].is_null());
    for n in 1..=3 {
        c.sod(&[]).await;
        c.run(&["eod", "--summary", &format!("handoff {n}")])
            .await
            .ok();
    }
    let latest = c
        .run(&["handoffs", "latest", "--json", "--payload"])
        .await
        .ok()
        .json();
    assert_eq!(latest["handoff"]["summary"], "handoff 3");
    assert_eq!(latest["stale"], false);
    assert_eq!(latest["payload"], json!({}));
    let page = c
        .run(&["handoffs", "list", "--json", "--limit", "1"])
        .await
        .ok()
        .json();
    assert_eq!(page["count"], 1);
    assert_eq!(page["has_more"], true);
    assert!(page["next_cursor"].is_string());
    let all = c
        .run(&["handoffs", "list", "--json", "--limit", "1", "--all"])
        .await
        .ok()
        .json();
    assert_eq!(all["count"], 3, "{all}");
    assert!(all["pages"].as_u64().unwrap() >= 3);
    let summaries: Vec<&str> = all["handoffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        summaries,
        ["handoff 3", "handoff 2", "handoff 1"],
        "newest first"
    );
    let text = c.run(&["handoffs", "list", "--all"]).await.ok();
    assert!(text.stdout.contains("handoff 2"), "{}", text.stdout);
    c.run(&["handoffs", "list", "--limit", "0"]).await.code(2);
    let by_agent = c
        .run(&[
            "handoffs",
            "list",
            "--json",
            "--from-agent",
            "crane-testhost",
        ])
        .await
        .ok()
        .json();
    assert_eq!(by_agent["count"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_lists_this_agents_sessions() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let s1 = c.sod(&[]).await["session_id"].as_str().unwrap().to_owned();
    c.sod(&["--track", "2"]).await;
    let active = c.run(&["active", "--json"]).await.ok().json();
    assert_eq!(active["count"], 2, "{active}");
    let mine: Vec<&Value> = active["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["this_checkout"] == true)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], s1.as_str());
    assert_eq!(mine[0]["stale"], false);
    let text = c.run(&["active"]).await.ok();
    assert!(text.stdout.contains("this checkout"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_against_the_emulator_and_fails_against_a_broken_server() {
    let emu = common::emulator().await;
    let mut c = Checkout::new(&emu.url());
    let ok = c.run(&["verify", "--json"]).await.ok().json();
    assert_eq!(ok["passed"], true, "{ok}");
    let steps = ok["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "health",
            "auth enforced",
            "create session",
            "resume session",
            "update",
            "heartbeat",
            "end with handoff",
            "latest handoff",
            "history",
            "idempotent replay"
        ]
    );
    assert!(steps
        .iter()
        .all(|s| s["result"] == "pass" && s["latency_ms"].is_u64()));
    assert!(ok["repo"]
        .as_str()
        .unwrap()
        .starts_with("crane-verify/run-"));
    let text = c.run(&["verify"]).await.ok();
    assert!(
        text.stdout.contains("PASS") && !text.stdout.contains("FAIL"),
        "{}",
        text.stdout
    );

    // A route failing: the history step fails, the exit code is 1.
    common::fault(
        &emu.url(),
        json!({"route": "/handoffs", "mode": "status", "status": 500, "count": 10}),
    )
    .await;
    let broken = c.run(&["verify", "--json"]).await.code(1).json();
    assert_eq!(broken["passed"], false);
    let history = broken["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "history")
        .unwrap();
    assert_eq!(history["result"], "fail", "{broken}");
    let text = c.run(&["verify"]).await.code(1);
    assert!(text.stdout.contains("FAIL"), "{}", text.stdout);

    // The wrong key: creating the session fails, later steps are skipped.
    c.key = "definitely-not-the-key-0123456789".into();
    let wrong = c.run(&["verify", "--json"]).await.code(1).json();
    assert_eq!(wrong["passed"], false);
    let create = wrong["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "create session")
        .unwrap();
    assert_eq!(create["result"], "fail");
    assert!(
        create["detail"].as_str().unwrap().contains("unauthorized"),
        "{create}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_shows_the_key_fingerprint_never_the_key() {
    let emu = common::emulator().await;
    let mut c = Checkout::new(&emu.url());
    let out = c.run(&["doctor", "--json"]).await.ok();
    assert!(!out.stdout.contains(common::KEY));
    let doc = out.json();
    assert_eq!(doc["ok"], true, "{doc}");
    let check = |name: &str| {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no check {name}: {doc}"))
    };
    assert!(check("key")["detail"]
        .as_str()
        .unwrap()
        .contains("3ebd13c0000708e1"));
    assert_eq!(check("reachable")["level"], "ok");
    assert_eq!(check("auth")["level"], "ok");
    assert_eq!(check("clock")["level"], "ok");
    assert_eq!(check("store")["level"], "ok");
    let text = c.run(&["doctor"]).await.ok();
    assert!(text.stdout.contains("3ebd13c0000708e1") && !text.stdout.contains(common::KEY));

    c.key = "wrong-key-0123456789abcdef".into();
    let rejected = c.run(&["doctor", "--json"]).await.code(1).json();
    assert_eq!(rejected["ok"], false);
    emu.shutdown().await;
    c.key = common::KEY.into();
    let down = c.run(&["doctor", "--json"]).await.code(1).json();
    let reach = down["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "reachable")
        .unwrap();
    assert_eq!(reach["level"], "fail");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readable_key_files_and_bad_config_are_refused_with_the_fix() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let cfg = c.dir.path().join("keyed.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.local]\nurl = \"{}\"\nkey = \"{}\"\n",
            emu.url(),
            common::KEY
        ),
    )
    .unwrap();
    chmod(&cfg, 0o644);
    let cfg_arg = cfg.to_str().unwrap();
    let out = c
        .run(&["--config", cfg_arg, "sod", "--no-keepalive"])
        .await
        .code(2);
    assert!(
        out.stderr.contains(&format!("chmod 600 {}", cfg.display())),
        "{}",
        out.stderr
    );
    let j = c
        .run(&["--json", "--config", cfg_arg, "active"])
        .await
        .code(2)
        .err_json();
    assert_eq!(j["error"]["kind"], "invalid_input");
    // Fixed: the profile works (and wins over the environment when named).
    chmod(&cfg, 0o600);
    let mut cmd = c.command(&[
        "--config",
        cfg_arg,
        "--profile",
        "local",
        "sod",
        "--json",
        "--no-keepalive",
    ]);
    cmd.env("CRANE_CONTEXT_KEY", "wrong-key-0123456789abcdef");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let key_file = c.dir.path().join("relay.key");
    std::fs::write(&key_file, common::KEY).unwrap();
    chmod(&key_file, 0o644);
    let kf = key_file.to_str().unwrap();
    let out = c.run(&["--key-file", kf, "heartbeat"]).await.code(2);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);

    std::fs::write(&c.config, "default_profile = [").unwrap();
    let out = c.run(&["sod"]).await.code(2);
    assert!(
        out.stderr.contains(&c.config.display().to_string()),
        "{}",
        out.stderr
    );
    std::fs::write(&c.config, "").unwrap();
    let out = c
        .run(&["--url", "http://crane.example", "sod"])
        .await
        .code(2);
    assert!(out.stderr.contains("allow_insecure_http"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_and_missing_configuration_exit_2() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    c.run(&["sod", "--bogus"]).await.code(2);
    c.run(&["eod"]).await.code(2);
    c.run(&[
        "eod",
        "--summary",
        "x",
        "--payload",
        "{}",
        "--payload-file",
        "f",
    ])
    .await
    .code(2);
    c.run(&["queue", "drop"]).await.code(2);
    c.run(&["nonsense"]).await.code(2);
    c.run(&["sod", "--meta", "not json"]).await.code(2);
    let help = c.run(&["--help"]).await.ok();
    assert!(help.stdout.contains("Exit codes") && help.stdout.contains("--require-delivery"));
    let mut cmd = c.command(&["sod"]);
    cmd.env_remove("CRANE_CONTEXT_URL");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRANE_CONTEXT_URL"));
    // Outside a checkout the repository must be given.
    let mut cmd = c.command(&["sod"]);
    cmd.current_dir(c.dir.path());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--repo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_points_to_the_built_in_manual_and_a_closed_pipe_is_quiet() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    // An installed binary has no docs/ beside it: --help names `crane manual`,
    // which prints docs/cli.md as compiled in.
    let help = c.run(&["--help"]).await.ok();
    assert!(help.stdout.contains("crane manual"), "{}", help.stdout);
    assert!(!help.stdout.contains("See docs/cli.md"), "{}", help.stdout);
    let manual = c.run(&["manual"]).await.ok();
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md")).unwrap();
    assert_eq!(manual.stdout, doc);
    let json = c.run(&["manual", "--json"]).await.ok().json();
    assert_eq!(json["manual"], doc.as_str());
    // `crane … | head` with the reader already gone: every write meets EPIPE;
    // the command still does its work and exits with its own code, quietly.
    for args in [
        &["manual"][..],
        &["completions", "bash"],
        &["--help"],
        &["status"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = c.command(args);
        cmd.stdout(writer);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_started_by_sod_shows_in_status_and_stops_on_eod() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let sod = c.run(&["sod", "--json"]).await.ok().json();
    let pid = sod["keeper"]["pid"].as_u64().expect("a keeper pid");
    let _guard = KillOnDrop(pid);
    assert_eq!(sod["keeper"]["started"], true);
    assert!(pid_alive(pid));
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert_eq!(status["keeper"]["pid"], pid);
    assert_eq!(status["keeper"]["alive"], true);

    // A second sod resumes and keeps the same keeper: one per session.
    let again = c.run(&["sod", "--json"]).await.ok().json();
    assert_eq!(again["status"], "resumed");
    assert_eq!(again["keeper"]["pid"], pid);
    assert_eq!(again["keeper"]["started"], false);

    let end = c
        .run(&["eod", "--json", "--summary", "done"])
        .await
        .ok()
        .json();
    assert_eq!(end["delivered"], true);
    assert_eq!(end["keeper_stopped"], true, "{end}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid_alive(pid) {
        assert!(Instant::now() < deadline, "keeper {pid} still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert!(status["session"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_parses_for_every_command() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    c.sod(&[]).await;
    for args in [
        &["status", "--json"][..],
        &["active", "--json"],
        &["update", "--json"],
        &["heartbeat", "--json"],
        &["handoffs", "latest", "--json"],
        &["handoffs", "list", "--json"],
        &["queue", "list", "--json"],
        &["queue", "export", "--json"],
        &["sync", "--json"],
        &["doctor", "--json"],
        &["completions", "bash", "--json"],
        &["eod", "--json", "--summary", "json"],
    ] {
        let out = c.run(args).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let v = out.json();
        assert!(v.is_object(), "{args:?}: {v}");
    }
    // Errors are JSON on stderr, with the exit code and a kind.
    let err = c.run(&["heartbeat", "--json"]).await.code(1).err_json();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no session"),
        "{err}"
    );
    let comp = c.run(&["completions", "zsh"]).await.ok();
    assert!(comp.stdout.contains("crane"));
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_delivers_a_handoff_queued_offline_when_the_server_returns() {
    let db = tempfile::tempdir().unwrap();
    let db_path = db.path().join("emu.db");
    let emu = common::emulator_with(Some(db_path.clone()), None).await;
    let addr = emu.addr();
    let c = Checkout::new(&emu.url());
    let sod = c.run(&["sod", "--json"]).await.ok().json();
    let id = sod["session_id"].as_str().unwrap().to_owned();
    let pid = sod["keeper"]["pid"].as_u64().expect("a keeper pid");
    let _guard = KillOnDrop(pid);
    emu.shutdown().await;

    let queued = c
        .run(&["eod", "--json", "--summary", "left offline"])
        .await
        .ok()
        .json();
    assert_eq!(queued["queued"], true);
    assert_eq!(queued["keeper_pid"], pid, "the keeper stays to deliver it");
    assert!(pid_alive(pid));

    let emu = common::emulator_with(Some(db_path), Some(addr)).await;
    // The keeper notices the server (its probe backs off up to 30 s), delivers
    // the handoff and exits: wait for that, bounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while pid_alive(pid) {
        assert!(
            Instant::now() < deadline,
            "keeper {pid} did not deliver and exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = handoffs_of(&emu.url(), &id).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["summary"], "left offline");
    let queue = c.run(&["queue", "list", "--json"]).await.ok().json();
    assert_eq!(queue["items"], json!([]));
}

/// Waits for a keeper to exit; fails the test when it is still running after
/// `within` (a bound against hanging, not a timing assertion).
async fn wait_keeper_exit(pid: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while pid_alive(pid) {
        assert!(Instant::now() < deadline, "keeper {pid} still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `crane sod --json` with a keeper and `extra`; returns the JSON and its keeper's pid.
async fn sod_with_keeper(c: &Checkout, extra: &[&str]) -> (Value, u64) {
    let mut args = vec!["sod", "--json"];
    args.extend_from_slice(extra);
    let sod = c.run(&args).await.ok().json();
    let pid = sod["keeper"]["pid"].as_u64().expect("a keeper pid");
    assert_eq!(sod["keeper"]["started"], true, "{sod}");
    (sod, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_leaves_by_itself_after_the_idle_limit() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    // The idle limit from the config file (the flag is tested below).
    std::fs::write(&c.config, "keeper_idle_seconds = 1\n").unwrap();
    let (sod, pid) = sod_with_keeper(&c, &[]).await;
    let _guard = KillOnDrop(pid);
    wait_keeper_exit(pid, Duration::from_secs(60)).await;
    // The session is left to go stale: still cached, no keeper recorded.
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert_eq!(
        status["session"]["session_id"], sod["session_id"],
        "{status}"
    );
    assert!(status["keeper"].is_null(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_idle_limit_is_postponed_by_crane_commands() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let (_, pid) = sod_with_keeper(&c, &["--keeper-idle-seconds", "4"]).await;
    let _guard = KillOnDrop(pid);
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert_eq!(status["keeper"]["idle_limit_seconds"], 4, "{status}");
    assert!(status["keeper"]["started_at"].is_string(), "{status}");
    assert!(status["keeper"]["last_activity_at"].is_string(), "{status}");
    assert!(status["keeper"]["age_seconds"].is_u64(), "{status}");
    // Updates well within the limit, for more than twice the limit: the keeper stays.
    let busy_until = Instant::now() + Duration::from_secs(9);
    while Instant::now() < busy_until {
        c.run(&["update", "--json"]).await.ok();
        assert!(
            pid_alive(pid),
            "keeper {pid} left while crane update kept running"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Once the commands stop, it leaves.
    wait_keeper_exit(pid, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_leaves_when_its_checkout_is_removed() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let (_, pid) = sod_with_keeper(&c, &[]).await;
    let _guard = KillOnDrop(pid);
    assert!(pid_alive(pid));
    std::fs::remove_dir_all(&c.repo).unwrap();
    wait_keeper_exit(pid, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crane_keeper_stop_stops_it_and_status_shows_it() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    let (sod, pid) = sod_with_keeper(&c, &[]).await;
    let _guard = KillOnDrop(pid);
    let plain = c.run(&["status"]).await.ok();
    assert!(plain.stdout.contains("last activity"), "{}", plain.stdout);
    let doctor = c.run(&["doctor", "--json"]).await.json();
    let keeper = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "keeper")
        .cloned()
        .unwrap_or_default();
    assert_eq!(keeper["data"]["pid"], pid, "{doctor}");
    assert!(
        keeper["data"]["activity"]["last_activity_at"].is_string(),
        "{doctor}"
    );

    let stop = c.run(&["keeper", "stop", "--json"]).await.ok().json();
    assert_eq!(stop["stopped"], true, "{stop}");
    assert_eq!(stop["pid"], pid, "{stop}");
    assert_eq!(stop["session_id"], sod["session_id"]);
    wait_keeper_exit(pid, Duration::from_secs(10)).await;
    let status = c.run(&["status", "--json"]).await.ok().json();
    assert!(status["keeper"].is_null(), "{status}");
    assert!(status["session"].is_object(), "{status}");

    // Nothing left to stop is not an error; it says so.
    let again = c.run(&["keeper", "stop"]).await.ok();
    assert!(
        again.stdout.contains("No keeper is running"),
        "{}",
        again.stdout
    );
    // A checkout without a session: exit 1, as every session command.
    let other = Checkout::new(&emu.url());
    other.run(&["keeper", "stop"]).await.code(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_sends_the_checkouts_branch_and_commit_from_git() {
    let emu = common::emulator().await;
    let c = Checkout::new(&emu.url());
    git(&c.repo, &["checkout", "-q", "-b", "feature/y"]);
    git(
        &c.repo,
        &[
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "one",
        ],
    );
    let sha = Command::new("git")
        .current_dir(&c.repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    let sha = String::from_utf8(sha.stdout).unwrap().trim().to_owned();
    c.sod(&[]).await;
    let up = c.run(&["update", "--json"]).await.ok().json();
    assert_eq!(up["applied"], true);
    assert_eq!(up["branch"], "feature/y");
    assert_eq!(up["commit_sha"], sha.as_str());
    // Detached: a commit, no branch.
    git(&c.repo, &["checkout", "-q", "--detach"]);
    let up = c.run(&["update", "--json"]).await.ok().json();
    assert_eq!(up["branch"], Value::Null);
    assert_eq!(up["commit_sha"], sha.as_str());
}
