//! `crane mcp` driven over stdio by rmcp's client, as an agent CLI drives
//! it: the real executable in a temporary git checkout, against the
//! emulator in v2 mode on loopback. The server side is read through the
//! emulator's state, never through the server under test.
#![cfg(all(feature = "mcp", feature = "emulator"))]

mod common;

use std::time::{Duration, Instant};

use common::cli::Checkout;
use common::{control, fault, handoffs_for, state};
use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, ResourceUpdatedNotificationParam,
    ServerResult, SubscribeRequestParams,
};
#[allow(deprecated)] // MCP logging: what the server under test sends
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, SetLevelRequestParams};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// The tools `crane mcp` lists.
const TOOLS: &[&str] = &[
    "crane_sos",
    "crane_handoff",
    "crane_status",
    "crane_context",
    "crane_update",
    "crane_checkpoint",
    "crane_handoffs",
    "crane_prior",
    "crane_notes",
    "crane_note",
    "crane_doc",
    "crane_doc_audit",
    "crane_docs",
    "crane_ventures",
    "crane_queue",
    "crane_sync",
    "crane_preflight",
];

async fn emulator_v2() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        protocol: Protocol::V2,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// What the server sent on its own, and when it arrived.
#[derive(Debug)]
enum Told {
    /// `notifications/message`: its data.
    Log(Value, Instant),
    /// `notifications/resources/updated`: the URI.
    Updated(String, Instant),
}

/// The client side: hands the server's notifications to the test.
#[derive(Clone)]
struct Listener(mpsc::UnboundedSender<Told>);

impl ClientHandler for Listener {
    #[allow(deprecated)]
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(Told::Log(params.data, Instant::now()));
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(Told::Updated(params.uri, Instant::now()));
    }
}

type Client = RunningService<RoleClient, Listener>;

/// What the server told the client: the channel, and what arrived but was
/// not yet asked for (kept, so one wait never swallows what the next one
/// looks for: the client's handlers may run in either order for two
/// notifications sent back to back).
struct Inbox {
    rx: mpsc::UnboundedReceiver<Told>,
    unclaimed: Vec<Told>,
}

impl Inbox {
    /// Forgets everything told so far.
    fn clear(&mut self) {
        self.unclaimed.clear();
        while self.rx.try_recv().is_ok() {}
    }
}

async fn connect(co: &Checkout) -> (Client, Inbox) {
    let cmd = tokio::process::Command::from(co.command(&["mcp"]));
    let transport = TokioChildProcess::new(cmd).expect("crane mcp spawns");
    let (tx, rx) = mpsc::unbounded_channel();
    let client = Listener(tx).serve(transport).await.expect("MCP handshake");
    let inbox = Inbox {
        rx,
        unclaimed: Vec::new(),
    };
    (client, inbox)
}

/// Waits (bounded) for the first notification `pick` accepts, among those
/// not claimed yet and then those still to come; returns what it picked and
/// when that notification arrived.
async fn wait_told<T>(
    told: &mut Inbox,
    what: &str,
    pick: impl Fn(&Told) -> Option<T>,
) -> (T, Instant) {
    let at_of = |t: &Told| match t {
        Told::Log(_, at) | Told::Updated(_, at) => *at,
    };
    if let Some(i) = told.unclaimed.iter().position(|t| pick(t).is_some()) {
        let t = told.unclaimed.remove(i);
        if let Some(v) = pick(&t) {
            return (v, at_of(&t));
        }
    }
    let deadline = Duration::from_secs(300);
    tokio::time::timeout(deadline, async {
        loop {
            let t = told.rx.recv().await.expect("server still connected");
            if let Some(v) = pick(&t) {
                return (v, at_of(&t));
            }
            told.unclaimed.push(t);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no notification: {what}"))
}

/// A log notification's data when its `event` is `event`.
fn log_event(t: &Told, event: &str) -> Option<Value> {
    match t {
        Told::Log(d, _) if d["event"] == event => Some(d.clone()),
        _ => None,
    }
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(map))
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

fn text(r: &CallToolResult) -> String {
    serde_json::to_string(&r.content).unwrap()
}

/// A successful result's structured content.
#[track_caller]
fn ok(r: CallToolResult) -> Value {
    assert_ne!(r.is_error, Some(true), "tool failed: {}", text(&r));
    r.structured_content.expect("structured content")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_handoff_is_delivered_once_by_the_running_server() {
    let emu = emulator_v2().await;
    let url = emu.url();
    let co = Checkout::new(&url);
    let (client, mut told) = connect(&co).await;

    // Ping, as rmcp's client sends it.
    let pong = client
        .send_request(ClientRequest::PingRequest(Default::default()))
        .await
        .expect("ping answered");
    assert!(matches!(pong, ServerResult::EmptyResult(_)), "{pong:?}");

    // Every tool is listed, with the TypeScript server's required arguments.
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    let mut want: Vec<String> = TOOLS.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(names, want);
    let required = |name: &str| -> Vec<String> {
        let t = tools.iter().find(|t| t.name == name).unwrap();
        let mut r: Vec<String> = t
            .input_schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        r.sort();
        r
    };
    assert_eq!(required("crane_handoff"), ["status", "summary"]);
    assert_eq!(required("crane_doc"), ["doc_name", "scope"]);
    assert_eq!(required("crane_note"), ["action"]);
    assert!(required("crane_sos").is_empty());
    assert!(required("crane_doc_audit").is_empty());

    // The client asks to hear when the latest handoff changes.
    let caps = client.peer_info().unwrap().capabilities.clone();
    let resources = caps.resources.clone().unwrap();
    assert_eq!(resources.subscribe, Some(true), "{caps:?}");
    #[allow(deprecated)]
    let logging = caps.logging.is_some();
    assert!(logging, "{caps:?}");
    #[allow(deprecated)]
    client
        .subscribe(SubscribeRequestParams::new("crane://handoff/latest"))
        .await
        .expect("resources/subscribe");

    // Start, checkpoint.
    let sos = ok(call(&client, "crane_sos", json!({})).await);
    let sid = sos["session_id"].as_str().unwrap().to_owned();
    assert_eq!(sos["venture"], "vc");
    assert_eq!(sos["repo"], "venturecrane/crane-console");
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["session_id"], sid.as_str(), "{status}");
    assert_eq!(status["kept_alive"], true, "{status}");
    let cp = ok(call(
        &client,
        "crane_checkpoint",
        json!({"summary": "parsed the contract", "next_actions": ["tools"]}),
    )
    .await);
    assert_eq!(cp["checkpoint_number"], 1);
    assert_eq!(cp["session_id"], sid.as_str());

    // A failing tool is an isError result with the typed error's kind and
    // the server's correlation id, and the server keeps serving.
    let missing = call(
        &client,
        "crane_doc",
        json!({"scope": "global", "doc_name": "no-such-doc"}),
    )
    .await;
    assert_eq!(missing.is_error, Some(true), "{}", text(&missing));
    let err = &missing.structured_content.clone().unwrap()["error"];
    assert_eq!(err["kind"], "not_found", "{err}");
    assert!(
        err["correlation_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{err}"
    );
    assert!(text(&missing).contains("Error executing crane_doc"));

    // End while the service answers 503 to everything: queued, not lost.
    fault(
        &url,
        json!({"route": "*", "mode": "status", "status": 503, "count": 1_000_000}),
    )
    .await;
    // A checkpoint and a note written now are queued too (the engine's
    // offline queue), and delivered once with the handoff.
    let cp2 = ok(call(
        &client,
        "crane_checkpoint",
        json!({"summary": "checkpoint while offline"}),
    )
    .await);
    assert_eq!(cp2["queued"], true, "{cp2}");
    let note = ok(call(
        &client,
        "crane_note",
        json!({"action": "create", "title": "offline", "content": "a note written offline"}),
    )
    .await);
    assert_eq!(note["queued"], true, "{note}");
    let ended = ok(call(
        &client,
        "crane_handoff",
        json!({"summary": "MCP handoff while offline", "status": "done", "issue_number": 16}),
    )
    .await);
    assert_eq!(ended["queued"], true, "{ended}");
    let local_id = ended["local_id"].as_str().unwrap().to_owned();
    assert!(handoffs_for(&url, &sid).await.is_empty());
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["queue"]["pending"], 3, "{status}");

    // Clear the fault: the running server delivers it by itself.
    control(&url, reqwest::Method::DELETE, "faults", None).await;
    let cleared = Instant::now();
    let deadline = cleared + Duration::from_secs(300);
    loop {
        if !handoffs_for(&url, &sid).await.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queued handoff {local_id} not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered_ms = cleared.elapsed().as_millis();
    // The client learns it without polling: the subscribed resource is
    // updated and a log message names the queued item.
    let ((), updated_at) = wait_told(&mut told, "resources/updated", |t| match t {
        Told::Updated(uri, _) if uri == "crane://handoff/latest" => Some(()),
        _ => None,
    })
    .await;
    println!(
        "mcp: queued handoff delivered {delivered_ms} ms after the fault was cleared; \
         resources/updated reached the client after {} ms",
        updated_at.duration_since(cleared).as_millis()
    );
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "crane://handoff/latest",
        ))
        .await
        .unwrap();
    let body = serde_json::to_string(&read).unwrap();
    assert!(body.contains("MCP handoff while offline"), "{body}");

    // Stored exactly once, with the summary given; the server still serves
    // and its queue is empty.
    let stored = handoffs_for(&url, &sid).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["summary"], "MCP handoff while offline");
    let synced = ok(call(&client, "crane_sync", json!({})).await);
    assert_eq!(synced["pending"], 0, "{synced}");
    assert_eq!(handoffs_for(&url, &sid).await.len(), 1);
    assert_eq!(state(&url).await["handoffs_count"], 1);
    let raw = crane_context::Client::new(&url, common::KEY).unwrap();
    let cps = raw
        .checkpoints(&crane_context::model::v2::CheckpointsQuery::session(&sid))
        .await
        .unwrap();
    let summaries: Vec<&str> = cps
        .checkpoints
        .iter()
        .filter_map(|c| c.summary.as_deref())
        .collect();
    assert_eq!(
        summaries,
        ["checkpoint while offline", "parsed the contract"],
        "each stored once, newest first"
    );
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["queue"]["pending"], 0, "{status}");
    assert_eq!(status["queue"]["dead"], 0, "{status}");
    let (logged, _) = wait_told(&mut told, "handoff_delivered log", |t| {
        log_event(t, "handoff_delivered")
    })
    .await;
    assert_eq!(logged["local_id"], local_id.as_str(), "{logged}");
    assert_eq!(logged["session_id"], sid.as_str(), "{logged}");
    assert_eq!(logged["handoff_id"], stored[0]["id"], "{logged}");

    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_reads() {
    let emu = emulator_v2().await;
    let url = emu.url();
    control(
        &url,
        reqwest::Method::POST,
        "docs",
        Some(json!({"scope": "vc", "doc_name": "guide.md", "content": "# Guide\nhello", "title": "Guide"})),
    )
    .await;
    let co = Checkout::new(&url);
    let (client, _told) = connect(&co).await;
    ok(call(&client, "crane_sos", json!({})).await);

    let ventures = ok(call(&client, "crane_ventures", json!({})).await);
    assert!(ventures["ventures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["code"] == "vc"));
    let doc = ok(call(
        &client,
        "crane_doc",
        json!({"scope": "vc", "doc_name": "guide.md", "max_chars": 3}),
    )
    .await);
    assert_eq!(doc["content"], "# G…");
    assert_eq!(doc["truncated"], true);

    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<String> = resources.iter().map(|r| r.uri.clone()).collect();
    assert!(
        uris.contains(&"crane://handoff/latest".to_owned()),
        "{uris:?}"
    );
    assert!(
        uris.contains(&"crane://docs/vc/guide.md".to_owned()),
        "{uris:?}"
    );
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "crane://docs/vc/guide.md",
        ))
        .await
        .unwrap();
    let body = serde_json::to_string(&read).unwrap();
    assert!(body.contains("hello"), "{body}");

    let note = ok(call(
        &client,
        "crane_note",
        json!({"action": "create", "content": "remember the queue", "tags": ["mcp"]}),
    )
    .await);
    let found = ok(call(&client, "crane_notes", json!({"tag": "mcp"})).await);
    assert_eq!(found["notes"][0]["id"], note["id"]);
    let bad = call(&client, "crane_note", json!({"action": "create"})).await;
    assert_eq!(bad.is_error, Some(true));
    assert_eq!(
        bad.structured_content.unwrap()["error"]["kind"],
        "invalid_input"
    );

    client.cancel().await.unwrap();
}

/// Starts `crane mcp` with raw pipes and completes the handshake.
async fn raw_server(co: &Checkout) -> tokio::process::Child {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut cmd = tokio::process::Command::from(co.command(&["mcp"]));
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("crane mcp spawns");
    let stdin = child.stdin.as_mut().unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let answer: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(answer["result"]["serverInfo"]["name"], "crane", "{answer}");
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    stdin
        .write_all(format!("{note}\n{ping}\n").as_bytes())
        .await
        .unwrap();
    let pong: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(pong["id"], 2, "{pong}");
    assert!(pong["result"].is_object(), "{pong}");
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_eof_and_sigterm_end_the_server_cleanly() {
    let emu = emulator_v2().await;
    let co = Checkout::new(&emu.url());

    // The client goes away: stdin closes, the server exits 0.
    let mut child = raw_server(&co).await;
    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("exits after stdin EOF")
        .unwrap();
    assert!(status.success(), "{status:?}");

    // SIGTERM: the same clean exit.
    let mut child = raw_server(&co).await;
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// The emulator's status of a session.
async fn session_status(url: &str, id: &str) -> Value {
    state(url).await["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id).cloned())
        .map(|s| s["status"].clone())
        .unwrap_or(Value::Null)
}

/// How many heartbeats the emulator received.
async fn heartbeats_received(url: &str) -> u64 {
    state(url).await["requests_count"]["/heartbeat"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_with_final_false_keeps_the_session_open_and_beating() {
    let emu = Emulator::start(EmulatorConfig {
        protocol: Protocol::V2,
        heartbeat_interval_seconds: (1, 2),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let url = emu.url();
    let co = Checkout::new(&url);
    let (client, mut told) = connect(&co).await;
    #[allow(deprecated)]
    client
        .set_level(SetLevelRequestParams::new(LoggingLevel::Debug))
        .await
        .expect("logging/setLevel");
    let sos = ok(call(&client, "crane_sos", json!({})).await);
    let sid = sos["session_id"].as_str().unwrap().to_owned();

    // final: false stores the handoff and leaves the session active.
    let kept = call(
        &client,
        "crane_handoff",
        json!({"summary": "halfway there", "status": "in_progress", "final": false}),
    )
    .await;
    assert!(text(&kept).contains("kept open"), "{}", text(&kept));
    let kept = ok(kept);
    assert_eq!(kept["delivered"], true, "{kept}");
    assert!(kept["ended_at"].is_null(), "{kept}");
    let stored = handoffs_for(&url, &sid).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["summary"], "halfway there");
    assert_eq!(session_status(&url, &sid).await, "active");
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["session_id"], sid.as_str(), "{status}");
    assert_eq!(status["kept_alive"], true, "{status}");

    // It keeps beating: a heartbeat of this session accepted after the
    // handoff (the engine's event, told to the client), which the emulator
    // received while the session stayed active.
    let before = heartbeats_received(&url).await;
    told.clear(); // what was told before the handoff returned
    let (beat, _) = wait_told(&mut told, "heartbeat after final=false", |t| {
        log_event(t, "heartbeat_sent").filter(|d| d["session_id"] == sid.as_str())
    })
    .await;
    assert_eq!(beat["session_id"], sid.as_str());
    assert!(heartbeats_received(&url).await > before);
    assert_eq!(session_status(&url, &sid).await, "active");

    // A later final handoff ends the same session.
    let ended = ok(call(
        &client,
        "crane_handoff",
        json!({"summary": "all done", "status": "done"}),
    )
    .await);
    assert_eq!(ended["delivered"], true, "{ended}");
    assert_eq!(ended["session_id"], sid.as_str(), "{ended}");
    assert!(!ended["ended_at"].is_null(), "{ended}");
    let stored = handoffs_for(&url, &sid).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[1]["summary"], "all done");
    assert_ne!(session_status(&url, &sid).await, "active");
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["kept_alive"], false, "{status}");

    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_final_false_handoff_is_an_error_and_stores_nothing() {
    let emu = emulator_v2().await;
    let url = emu.url();
    let co = Checkout::new(&url);
    let (client, _told) = connect(&co).await;
    let sos = ok(call(&client, "crane_sos", json!({})).await);
    let sid = sos["session_id"].as_str().unwrap().to_owned();

    fault(
        &url,
        json!({"route": "*", "mode": "status", "status": 503, "count": 1_000_000}),
    )
    .await;
    let r = call(
        &client,
        "crane_handoff",
        json!({"summary": "not now", "status": "in_progress", "final": false}),
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(
        !text(&r).to_lowercase().contains("queued as"),
        "{}",
        text(&r)
    );
    let err = r.structured_content.clone().unwrap()["error"].clone();
    assert!(err["kind"].is_string(), "{err}");
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["queue"]["pending"], 0, "{status}");
    assert_eq!(status["session_id"], sid.as_str(), "{status}");
    assert_eq!(status["kept_alive"], true, "{status}");

    // Once the service answers, still nothing was stored or sent later.
    control(&url, reqwest::Method::DELETE, "faults", None).await;
    let synced = ok(call(&client, "crane_sync", json!({})).await);
    assert_eq!(synced["pending"], 0, "{synced}");
    assert_eq!(synced["delivered"], 0, "{synced}");
    assert!(handoffs_for(&url, &sid).await.is_empty());
    assert_eq!(state(&url).await["handoffs_count"], 0);
    assert_eq!(session_status(&url, &sid).await, "active");

    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doc_audit_and_sos_for_another_venture() {
    let emu = emulator_v2().await;
    let url = emu.url();
    let co = Checkout::new(&url);
    let (client, _told) = connect(&co).await;

    // crane_doc_audit: this checkout's venture, or all; fix is refused in words.
    let one = ok(call(&client, "crane_doc_audit", json!({})).await);
    let audits = one["audits"].as_array().unwrap();
    assert_eq!(audits.len(), 1, "{one}");
    assert_eq!(audits[0]["venture"], "vc", "{one}");
    let all = ok(call(&client, "crane_doc_audit", json!({"all": true})).await);
    assert!(all["audits"].as_array().unwrap().len() > 1, "{all}");
    let fix = call(
        &client,
        "crane_doc_audit",
        json!({"venture": "ke", "fix": true}),
    )
    .await;
    assert!(text(&fix).contains("NOT done"), "{}", text(&fix));
    let fix = ok(fix);
    assert_eq!(fix["audits"][0]["venture"], "ke", "{fix}");
    assert_eq!(fix["fix"]["requested"], true);
    assert_eq!(fix["fix"]["done"], false);

    // crane_sos for a venture this checkout is not one of: nothing started,
    // the text says whose checkout this is and where ke's repos are.
    let other = call(&client, "crane_sos", json!({"venture": "ke"})).await;
    let words = text(&other);
    assert!(words.contains("No session was started"), "{words}");
    assert!(words.contains("belongs to venture vc, not ke"), "{words}");
    assert!(words.contains("venturecrane/ke-console"), "{words}");
    let other = ok(other);
    assert_eq!(other["started"], false);
    assert_eq!(other["status"], "needs_navigation");
    assert_eq!(state(&url).await["sessions_count"], 0);
    // Its own venture, named, starts as usual.
    let own = ok(call(&client, "crane_sos", json!({"venture": "vc"})).await);
    assert_eq!(own["started"], true, "{own}");
    client.cancel().await.unwrap();

    // A checkout no venture lists: the ventures are listed, nothing started.
    let stray = Checkout::with_origin(&url, "git@github.com:someone/elsewhere.git");
    let (client, _told) = connect(&stray).await;
    let none = call(&client, "crane_sos", json!({})).await;
    let words = text(&none);
    assert!(words.contains("belongs to no venture"), "{words}");
    assert!(words.contains("ke Kid Expenses"), "{words}");
    let none = ok(none);
    assert_eq!(none["status"], "select_venture");
    assert_eq!(state(&url).await["sessions_count"], 1);
    client.cancel().await.unwrap();
}
