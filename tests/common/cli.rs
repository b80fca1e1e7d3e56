//! Running the real `crane` executable the way an agent does: in a temporary
//! git checkout with its own `CRANE_HOME` and config file, configured through
//! the environment, against a server over loopback. Shared by `tests/cli.rs`
//! and `tests/cli_security.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_crane");

/// What a `crane` run produced.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Out {
    /// Standard output parsed as JSON (panics with both streams otherwise).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Standard error parsed as JSON (a `--json` error).
    pub fn err_json(&self) -> Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", self.stderr))
    }

    /// Both streams, for greps.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, want: i32) -> Self {
        assert_eq!(
            self.code, want,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        self.code(0)
    }
}

/// Runs git in `dir`, asserting success.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git runs")
        .success();
    assert!(ok, "git {args:?}");
}

/// Sets a file's mode.
#[cfg(unix)]
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A temporary checkout of `venturecrane/crane-console` with its own store and config.
pub struct Checkout {
    /// The temporary folder holding everything below.
    pub dir: tempfile::TempDir,
    /// The git checkout (the commands' working directory).
    pub repo: PathBuf,
    /// `CRANE_HOME`.
    pub home: PathBuf,
    /// `CRANE_CONFIG` (empty at first).
    pub config: PathBuf,
    /// `CRANE_CONTEXT_URL`.
    pub url: String,
    /// `CRANE_CONTEXT_KEY`.
    pub key: String,
}

impl Checkout {
    /// A checkout whose origin is `git@github.com:venturecrane/crane-console.git`.
    pub fn new(url: &str) -> Self {
        Self::with_origin(url, "git@github.com:venturecrane/crane-console.git")
    }

    /// A checkout with the given origin remote.
    pub fn with_origin(url: &str, origin: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("demo");
        std::fs::create_dir(&repo).unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["remote", "add", "origin", origin]);
        let home = dir.path().join("home");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "").unwrap();
        Self {
            repo,
            home,
            config,
            url: url.to_owned(),
            key: super::KEY.to_owned(),
            dir,
        }
    }

    /// `crane args…` with this checkout's environment, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(&self.repo)
            .env("CRANE_CONTEXT_URL", &self.url)
            .env("CRANE_CONTEXT_KEY", &self.key)
            .env("CRANE_HOME", &self.home)
            .env("CRANE_CONFIG", &self.config)
            .env("HOSTNAME", "testhost")
            .env("NO_COLOR", "1")
            .env_remove("CRANE_ENV")
            .env_remove("CRANE_KEEPER_IDLE_SECONDS")
            .env_remove("CLAUDE_CLI_VERSION")
            .env_remove("CODEX_CLI_VERSION")
            .env_remove("GEMINI_CLI_VERSION")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs `crane args…` off the async threads (the emulator keeps serving).
    pub async fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, &[]).await
    }

    /// Like [`Checkout::run`] with extra environment variables.
    pub async fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || c.output())
            .await
            .unwrap()
            .expect("crane runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `crane sod --json --no-keepalive` plus `extra`; returns the JSON.
    pub async fn sod(&self, extra: &[&str]) -> Value {
        let mut args = vec!["sod", "--json", "--no-keepalive"];
        args.extend_from_slice(extra);
        self.run(&args).await.ok().json()
    }
}
