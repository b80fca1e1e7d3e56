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
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

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

async fn connect(co: &Checkout) -> RunningService<RoleClient, ()> {
    let cmd = tokio::process::Command::from(co.command(&["mcp"]));
    let transport = TokioChildProcess::new(cmd).expect("crane mcp spawns");
    ().serve(transport).await.expect("MCP handshake")
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> CallToolResult {
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
    let client = connect(&co).await;

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
    assert_eq!(status["queue"]["pending"], 1, "{status}");

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
    println!(
        "mcp: queued handoff delivered {} ms after the fault was cleared",
        cleared.elapsed().as_millis()
    );

    // Stored exactly once, with the summary given; the server still serves
    // and its queue is empty.
    let stored = handoffs_for(&url, &sid).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["summary"], "MCP handoff while offline");
    let synced = ok(call(&client, "crane_sync", json!({})).await);
    assert_eq!(synced["pending"], 0, "{synced}");
    assert_eq!(handoffs_for(&url, &sid).await.len(), 1);
    assert_eq!(state(&url).await["handoffs_count"], 1);
    let status = ok(call(&client, "crane_status", json!({})).await);
    assert_eq!(status["queue"]["pending"], 0, "{status}");
    assert_eq!(status["queue"]["dead"], 0, "{status}");

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
    let client = connect(&co).await;
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
