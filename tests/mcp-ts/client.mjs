// Drives `crane mcp` with the official TypeScript MCP client
// (@modelcontextprotocol/sdk), as Claude Code and other agent CLIs do:
// list tools, start a session, checkpoint, end while the emulator answers
// 503 to everything, clear the fault, and see the handoff stored exactly
// once while the server keeps running — and told to the client by a
// resources/updated notification (subscribed) and a log message. Prints `mcp-ts: N passed, 0 failed`
// (and the delivery time, never asserted); exits 1 on the first failure.
//
// Usage: node client.mjs CRANE_BIN EMULATOR_BIN
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [craneBin, emulatorBin] = process.argv.slice(2);
const KEY = "test-relay-key-0123456789abcdef";
let passed = 0;

function check(cond, what, detail) {
  if (!cond) {
    console.error(`FAIL: ${what}${detail === undefined ? "" : `\n${JSON.stringify(detail, null, 2)}`}`);
    console.log(`mcp-ts: ${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed += 1;
  console.log(`ok - ${what}`);
}

async function startEmulator() {
  const child = spawn(emulatorBin, ["--protocol", "v2"], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const url = line.replace(/^.*listening on /, "").trim();
  return { child, url };
}

async function control(url, method, path, body) {
  const r = await fetch(`${url}/__emulator/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`control ${method} ${path}: ${r.status}`);
  return r.json();
}

async function handoffsFor(url, sessionId) {
  const s = await control(url, "GET", "state");
  return s.handoffs.filter((h) => h.session_id === sessionId);
}

const git = (cwd, args) => execFileSync("git", args, { cwd, stdio: "ignore" });

const { child: emulator, url } = await startEmulator();
const dir = mkdtempSync(join(tmpdir(), "crane-mcp-ts-"));
let client;
try {
  const repo = join(dir, "demo");
  mkdirSync(repo);
  git(repo, ["init", "-q"]);
  git(repo, ["remote", "add", "origin", "git@github.com:venturecrane/demo.git"]);
  const config = join(dir, "config.toml");
  writeFileSync(config, "");
  const env = { ...process.env };
  for (const k of ["CRANE_ENV", "CLAUDE_CLI_VERSION", "CODEX_CLI_VERSION", "GEMINI_CLI_VERSION"]) delete env[k];
  Object.assign(env, {
    CRANE_CONTEXT_URL: url,
    CRANE_CONTEXT_KEY: KEY,
    CRANE_HOME: join(dir, "home"),
    CRANE_CONFIG: config,
    HOSTNAME: "testhost",
    NO_COLOR: "1",
  });
  const transport = new StdioClientTransport({ command: craneBin, args: ["mcp"], cwd: repo, env, stderr: "inherit" });
  client = new Client({ name: "crane-mcp-ts-test", version: "0.0.0" });
  // What the server says on its own, with when it arrived.
  const told = [];
  let onTold = () => {};
  const hear = (kind) => (n) => {
    told.push({ kind, params: n.params, at: Date.now() });
    onTold();
  };
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, hear("updated"));
  client.setNotificationHandler(LoggingMessageNotificationSchema, hear("log"));
  const waitTold = (pred, ms) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no such notification")), ms);
      const look = () => {
        const hit = told.find(pred);
        if (hit) {
          clearTimeout(timer);
          onTold = () => {};
          resolve(hit);
        }
      };
      onTold = look;
      look();
    });
  await client.connect(transport);
  check(client.getServerVersion()?.name === "crane", "initialize: server is crane", client.getServerVersion());
  await client.ping();
  check(true, "ping answered");

  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const name of ["crane_sos", "crane_handoff", "crane_status", "crane_notes", "crane_note", "crane_doc", "crane_ventures", "crane_context", "crane_preflight"]) {
    check(name in byName, `tools/list has ${name}`);
  }
  check("crane_doc_audit" in byName, "tools/list has crane_doc_audit");
  check(client.getServerCapabilities()?.resources?.subscribe === true, "server offers resources/subscribe", client.getServerCapabilities());
  await client.subscribeResource({ uri: "crane://handoff/latest" });
  await client.setLoggingLevel("info");
  const req = (n) => [...(byName[n].inputSchema.required ?? [])].sort();
  check(JSON.stringify(req("crane_handoff")) === '["status","summary"]', "crane_handoff requires summary and status (as the TS server)", req("crane_handoff"));
  check(JSON.stringify(req("crane_doc")) === '["doc_name","scope"]', "crane_doc requires scope and doc_name (as the TS server)", req("crane_doc"));

  const call = (name, args = {}) => client.callTool({ name, arguments: args });
  const sos = await call("crane_sos");
  check(!sos.isError && sos.structuredContent?.session_id?.startsWith("sess_"), "crane_sos starts a session", sos);
  const sid = sos.structuredContent.session_id;

  const cp = await call("crane_checkpoint", { summary: "ts client checkpoint" });
  check(!cp.isError && cp.structuredContent.checkpoint_number === 1, "crane_checkpoint stores checkpoint 1", cp);

  const missing = await call("crane_doc", { scope: "global", doc_name: "no-such-doc" });
  const err = missing.structuredContent?.error;
  check(missing.isError === true && err?.kind === "not_found" && typeof err?.correlation_id === "string", "a failing tool is isError with kind and correlation id", missing);

  await control(url, "POST", "faults", { route: "*", mode: "status", status: 503, count: 1000000 });
  const end = await call("crane_handoff", { summary: "TS client handoff while offline", status: "done" });
  check(!end.isError && end.structuredContent.queued === true, "crane_handoff under 503 answers queued", end);
  check(/queued as \S+, will be delivered/.test(end.content[0].text), "its text says 'queued as L, will be delivered'", end.content);
  check((await handoffsFor(url, sid)).length === 0, "nothing stored while the service fails");

  await control(url, "DELETE", "faults");
  const cleared = Date.now();
  let stored = [];
  while (Date.now() - cleared < 300_000) {
    stored = await handoffsFor(url, sid);
    if (stored.length > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = Date.now() - cleared;
  check(stored.length === 1, "the running server delivered the queued handoff", stored);
  const updated = await waitTold((t) => t.kind === "updated" && t.params.uri === "crane://handoff/latest", 300_000);
  check(true, "notifications/resources/updated for crane://handoff/latest");
  const logged = await waitTold((t) => t.kind === "log" && t.params.data?.event === "handoff_delivered", 300_000);
  check(logged.params.data.local_id === end.structuredContent.local_id, "a log message names the delivered item", logged);
  console.log(`mcp-ts: queued handoff delivered ${ms} ms after the fault was cleared; resources/updated arrived after ${updated.at - cleared} ms`);
  const status = await call("crane_status");
  check(!status.isError && status.structuredContent.queue.pending === 0, "server still running, queue empty", status);
  const synced = await call("crane_sync");
  check(!synced.isError && (await handoffsFor(url, sid)).length === 1, "stored exactly once (after a sync too)");
  check(stored[0].summary === "TS client handoff while offline", "the stored summary is the one sent", stored[0]);

  const res = await client.listResources();
  check(res.resources.some((r) => r.uri === "crane://handoff/latest"), "resources/list has crane://handoff/latest", res);
  const audit = await call("crane_doc_audit", { fix: true });
  check(!audit.isError && audit.structuredContent.fix.done === false && /NOT done/.test(audit.content[0].text), "crane_doc_audit answers and says fix was not done", audit);
  const latest = await client.readResource({ uri: "crane://handoff/latest" });
  check(latest.contents[0].text.includes("TS client handoff while offline"), "crane://handoff/latest reads the handoff", latest);
} catch (e) {
  check(false, `unexpected exception: ${e?.stack ?? e}`);
} finally {
  if (client) await client.close();
  emulator.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
console.log(`mcp-ts: ${passed} passed, 0 failed`);
