//! `crane-context-emulator`: the protocol emulator as a standalone server.
//!
//! Tests in other languages (the Python and Swift bindings), benchmarks and
//! people trying the SDK need a Crane Context server without deploying one.
//! This binary runs [`crane_context::emulator`] on a port, prints exactly one
//! line to stdout — `crane-context-emulator listening on http://ADDR` — so a
//! parent process can read the address, logs anything else to stderr, and
//! shuts down cleanly on SIGINT or SIGTERM. Bad flags exit with status 2.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use crane_context::emulator::{Emulator, EmulatorConfig};

const USAGE: &str = "\
Usage: crane-context-emulator [OPTIONS]

Runs a local Crane Context server with a control API under /__emulator/.

Options:
  --port N                    Port to listen on; 0 picks a free one [default: 0]
  --bind ADDR                 Address to listen on [default: 127.0.0.1]
  --key KEY                   Accepted X-Relay-Key [env: CRANE_EMULATOR_KEY]
                              [default: test-relay-key-0123456789abcdef]
  --db PATH                   SQLite file to keep data in [default: in memory]
  --heartbeat-interval MIN-MAX
                              Range of proposed heartbeat intervals, seconds [default: 480-720]
  --protocol v1|v2            Wire contract to speak [default: v2, the service of
                              today; v1 is the January worker]
  -h, --help                  Print this help";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Run(EmulatorConfig),
    Help,
}

/// Parses the arguments (without the program name); `env_key` is the value of
/// `CRANE_EMULATOR_KEY`, overridden by `--key`.
fn parse_args(args: Vec<String>, env_key: Option<String>) -> Result<Command, String> {
    let mut config = EmulatorConfig::default();
    if let Some(key) = env_key.filter(|k| !k.is_empty()) {
        config.relay_key = key;
    }
    let mut ip: IpAddr = config.bind.ip();
    let mut port: u16 = 0;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(Command::Help);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                port = v.parse().map_err(|_| format!("invalid port: {v}"))?;
            }
            "--bind" => {
                let v = value()?;
                ip = v
                    .parse()
                    .map_err(|_| format!("invalid bind address: {v}"))?;
            }
            "--key" => config.relay_key = value()?,
            "--protocol" => config.protocol = value()?.parse()?,
            "--db" => config.db_path = Some(PathBuf::from(value()?)),
            "--heartbeat-interval" => {
                let v = value()?;
                config.heartbeat_interval_seconds = parse_range(&v).ok_or_else(|| {
                    format!("invalid heartbeat interval (want MIN-MAX seconds): {v}")
                })?;
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if config.relay_key.is_empty() {
        return Err("the relay key must not be empty".into());
    }
    config.bind = SocketAddr::new(ip, port);
    Ok(Command::Run(config))
}

/// `MIN-MAX` with `MIN <= MAX`.
fn parse_range(text: &str) -> Option<(u64, u64)> {
    let (min, max) = text.split_once('-')?;
    let (min, max) = (min.trim().parse().ok()?, max.trim().parse().ok()?);
    (min <= max).then_some((min, max))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(args, std::env::var("CRANE_EMULATOR_KEY").ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("crane-context-emulator: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let db = config
        .db_path
        .as_ref()
        .map_or_else(|| "in memory".to_owned(), |p| p.display().to_string());
    let protocol = format!("{:?}", config.protocol).to_lowercase();
    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("crane-context-emulator: {error}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "crane-context-emulator listening on {}",
            emulator.url()
        );
        let _ = stdout.flush();
    }
    eprintln!(
        "crane-context-emulator: protocol {protocol}; database {db}; control API at {}/__emulator/",
        emulator.url()
    );
    crane_context::signals::stop_requested().await;
    eprintln!("crane-context-emulator: shutting down");
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crane_context::emulator::Protocol;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_all_flags() {
        let parsed = parse_args(
            args(&[
                "--port",
                "8080",
                "--bind=0.0.0.0",
                "--key",
                "k",
                "--db",
                "x.db",
                "--heartbeat-interval",
                "1-2",
                "--protocol",
                "v2",
            ]),
            Some("env-key".into()),
        );
        let Ok(Command::Run(c)) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(c.bind, "0.0.0.0:8080".parse().unwrap_or(c.bind));
        assert_eq!(c.relay_key, "k");
        assert_eq!(c.db_path, Some(PathBuf::from("x.db")));
        assert_eq!(c.heartbeat_interval_seconds, (1, 2));
        assert_eq!(c.protocol, Protocol::V2);
    }

    #[test]
    fn env_key_and_defaults() {
        let Ok(Command::Run(c)) = parse_args(vec![], Some("env-key".into())) else {
            panic!("defaults must parse");
        };
        assert_eq!(c.relay_key, "env-key");
        assert_eq!(c.bind.port(), 0);
        assert_eq!(c.db_path, None);
        assert_eq!(c.protocol, Protocol::V2);
    }

    #[test]
    fn rejects_bad_flags() {
        for bad in [
            &["--port", "x"][..],
            &["--port"],
            &["--nope"],
            &["--heartbeat-interval", "5-1"],
            &["--bind", "localhost:1"],
            &["--protocol", "v3"],
        ] {
            assert!(parse_args(args(bad), None).is_err(), "{bad:?}");
        }
        assert_eq!(parse_args(args(&["--help"]), None), Ok(Command::Help));
    }
}
