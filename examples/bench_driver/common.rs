//! Shared helpers: latency statistics, /proc readings, the emulator as a
//! child process, a bare reqwest client that makes sessions, result files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

/// The relay key every emulator in the benchmarks accepts.
pub const KEY: &str = crane_context::emulator::DEFAULT_RELAY_KEY;

/// Where result files go: `$CRANE_BENCH_OUT` or `target/bench`.
pub fn out_dir() -> PathBuf {
    let dir = std::env::var_os("CRANE_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("bench"));
    std::fs::create_dir_all(&dir).expect("create the bench output directory");
    dir
}

/// The cargo target directory holding this example (`…/target`).
pub fn target_dir() -> PathBuf {
    // …/target/release/examples/bench_driver
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the driver runs from target/<profile>/examples")
}

/// The release binaries directory (`…/target/release`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("bin dir")
}

/// A scratch directory on the same disk as the work tree (never tmpfs).
pub fn disk_scratch(name: &str) -> PathBuf {
    let dir = target_dir().join("bench-tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Writes one result file as pretty JSON.
pub fn write_result(name: &str, value: &Value) {
    let path = out_dir().join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(value).expect("serialize result");
    std::fs::write(&path, text).expect("write result");
    eprintln!("wrote {}", path.display());
}

/// p50/p99/mean of latency samples, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Lat {
    pub n: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
}

impl Lat {
    pub fn of(samples: &[Duration]) -> Lat {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(|a, b| a.total_cmp(b));
        let n = us.len().max(1);
        Lat {
            n: us.len(),
            p50_us: percentile(&us, 50.0),
            p99_us: percentile(&us, 99.0),
            mean_us: us.iter().sum::<f64>() / n as f64,
        }
    }

    pub fn json(&self) -> Value {
        json!({"n": self.n, "p50_us": round2(self.p50_us), "p99_us": round2(self.p99_us), "mean_us": round2(self.mean_us)})
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0)
}

/// Clock ticks per second of `/proc/*/stat` CPU times (USER_HZ, 100 on Linux).
pub const USER_HZ: f64 = 100.0;

/// CPU time (user + system) this process has used, in seconds.
pub fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = text.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    let stime: f64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    (utime + stime) / USER_HZ
}

/// A `crane-context-emulator` child process, killed (by its pid) on drop.
pub struct EmulatorProcess {
    child: Child,
    pub url: String,
}

impl EmulatorProcess {
    pub fn start(extra: &[&str]) -> EmulatorProcess {
        let bin = bin_dir().join("crane-context-emulator");
        let mut child = Command::new(&bin)
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (build it with --features emulator)",
                    bin.display()
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read emulator banner");
        let url = line
            .trim()
            .rsplit_once(' ')
            .map(|(_, u)| u.to_owned())
            .expect("emulator prints its URL");
        EmulatorProcess { child, url }
    }

    /// CPU seconds the emulator process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let text =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = text.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let u: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        let s: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        (u + s) / USER_HZ
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain reqwest client as a script or a hand-written integration would use.
pub fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .expect("reqwest client")
}

/// The `/sod` body for a distinct tuple: its own agent, one of 16 repos
/// (a busy machine's backlog spans a few repos, not one per handoff).
pub fn sod_body(prefix: &str, i: usize) -> Value {
    json!({
        "agent": format!("bench-{prefix}-{i}"),
        "venture": "vc",
        "repo": format!("bench/{prefix}-{}", i % 16),
        "include_docs": false,
        "schema_version": "1.0",
    })
}

/// Starts `n` sessions with a bare concurrent client; returns their ids in order.
pub async fn start_sessions(url: &str, prefix: &str, n: usize, concurrency: usize) -> Vec<String> {
    let http = bare_client();
    let sod = format!("{url}/sod");
    stream::iter(0..n)
        .map(|i| {
            let (http, sod) = (http.clone(), sod.clone());
            let body = sod_body(prefix, i);
            async move {
                let r = http
                    .post(&sod)
                    .header("X-Relay-Key", KEY)
                    .header("Idempotency-Key", ulid::Ulid::new().to_string())
                    .json(&body)
                    .send()
                    .await
                    .expect("sod");
                assert!(r.status().is_success(), "sod failed: {}", r.status());
                let v: Value = r.json().await.expect("sod body");
                v["session_id"].as_str().expect("session_id").to_owned()
            }
        })
        .buffered(concurrency)
        .collect()
        .await
}

pub use crate::payload::{canonical_len, payload_of};

/// `uptime` load averages, for the record.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
