//! Issue #11 end to end through the real `crane` executable: secrets (the
//! relay key, a token in the git remote, a password in the server URL) never
//! reach output, errors or files, and everything written is private.
//!
//! Runs the binary in a temporary checkout against the in-process emulator
//! over loopback, with the harness `tests/cli.rs` uses
//! (`tests/common/cli.rs`). Run with
//! `cargo test --all-features --test cli_security`.
#![cfg(all(feature = "cli", feature = "emulator"))]

mod common;

use common::cli::{chmod, Checkout};
use std::path::{Path, PathBuf};

/// A token planted in the git remote; must appear nowhere.
const GIT_TOKEN: &str = "ghp_PlantedGitToken0123456789abcdef";

/// A temporary checkout whose origin carries a token.
fn checkout(url: &str) -> Checkout {
    let origin =
        format!("https://x-access-token:{GIT_TOKEN}@github.com/venturecrane/crane-console.git");
    Checkout::with_origin(url, &origin)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A config file with a typo, an unquoted value, an unterminated string or
/// a list where the key should be: parse errors name the file, line 3 and
/// the field, and never echo the key — in plain and `--json` errors and in
/// `crane doctor`.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_name_the_line_and_field_never_the_key() {
    const SECRET: &str = "cfg-secret-relay-key-0123456789";
    let emu = common::emulator().await;
    let c = checkout(&emu.url());
    let head = format!("[profiles.local]\nurl = \"{}\"\n", emu.url());
    for line in [
        format!("kee = \"{SECRET}\""),
        format!("key = {SECRET}"),
        format!("key = \"{SECRET}"),
        format!("key = [\"{SECRET}\"]"),
    ] {
        std::fs::write(&c.config, format!("{head}{line}\n")).unwrap();
        chmod(&c.config, 0o600);
        for args in [
            &["status"][..],
            &["--json", "status"],
            &["sod", "--no-keepalive"],
            &["--json", "sod", "--no-keepalive"],
            &["doctor"],
            &["doctor", "--json"],
        ] {
            let out = c.run(args).await;
            // `status` answers from local files and only warns.
            if args.contains(&"sod") || args.contains(&"doctor") {
                assert_ne!(out.code, 0, "{line} {args:?}: {}", out.all());
            }
            assert!(
                !out.all().contains(SECRET),
                "{line} {args:?}: {}",
                out.all()
            );
            assert!(
                out.all().contains("line 3"),
                "{line} {args:?}: {}",
                out.all()
            );
            assert!(
                out.all().contains(&c.config.display().to_string()),
                "{args:?}: {}",
                out.all()
            );
        }
    }
}

/// A token in the origin URL reaches neither the origin cache nor any output,
/// and a password in the server URL is refused without being repeated.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_tokens_and_url_passwords_never_reach_files_or_output() {
    let emu = common::emulator().await;
    let c = checkout(&emu.url());
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["sod", "--json", "--no-keepalive"],
        &["status", "--json"],
        &["doctor", "--json"],
    ] {
        let out = c.run(args).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.all());
        assert!(!out.all().contains(GIT_TOKEN), "{args:?}: {}", out.all());
    }
    let sod = c.run(&["sod", "--json", "--no-keepalive"]).await;
    let v: serde_json::Value = serde_json::from_str(&sod.stdout).unwrap();
    assert_eq!(v["checkout"]["repo"], "venturecrane/crane-console");
    let files = files_under(&c.home);
    assert!(
        files.iter().any(|f| f.ends_with("origin-cache.json")),
        "{files:?}"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(GIT_TOKEN), "{} holds the token", f.display());
        assert!(!text.contains("x-access-token"), "{}", f.display());
    }

    let with_password = emu.url().replace("http://", "http://agent:hunter2pw@");
    for args in [
        &["doctor"][..],
        &["doctor", "--json"],
        &["--json", "status"],
    ] {
        let out = c
            .run_with(args, &[("CRANE_CONTEXT_URL", &with_password)])
            .await;
        assert!(!out.all().contains("hunter2pw"), "{args:?}: {}", out.all());
    }
    let out = c
        .run_with(
            &["sod", "--no-keepalive"],
            &[("CRANE_CONTEXT_URL", &with_password)],
        )
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("password"), "{}", out.stderr);
    assert!(!out.all().contains("hunter2pw"), "{}", out.all());
}

/// The permission bits of `p` (not following a symlink).
#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// Asserts every file under `home` is 0600 and every directory 0700, and
/// that no temporary file was left behind.
#[cfg(unix)]
fn assert_private(home: &Path, after: &str) {
    assert_eq!(mode(home), 0o700, "after {after}: {}", home.display());
    for f in files_under(home) {
        assert_eq!(mode(&f), 0o600, "after {after}: {}", f.display());
        let mut d = f.parent();
        while let Some(dir) = d.filter(|d| d.starts_with(home)) {
            assert_eq!(mode(dir), 0o700, "after {after}: {}", dir.display());
            d = dir.parent();
        }
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "after {after}: left {name}");
    }
}

/// Whichever command runs first in a fresh home, everything written is 0600
/// in 0700 directories; files an older version left wide are tightened.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_written_is_private_whichever_command_runs_first() {
    let emu = common::emulator().await;
    for first in [
        &["sod", "--json", "--no-keepalive"][..],
        &["status", "--json"],
        &["doctor", "--json"],
        &["queue", "list", "--json"],
        &["handoffs", "latest", "--json"],
    ] {
        let c = checkout(&emu.url());
        let out = c.run(first).await;
        assert!(out.code == 0 || out.code == 1, "{first:?}: {}", out.all());
        assert_private(&c.home, &format!("{first:?}"));
        let out = c.run(&["sod", "--json", "--no-keepalive"]).await;
        assert_eq!(out.code, 0, "{}", out.all());
        assert_private(&c.home, &format!("{first:?} then sod"));
    }

    // A home an older version left readable by others is tightened.
    let c = checkout(&emu.url());
    assert_eq!(c.run(&["sod", "--json", "--no-keepalive"]).await.code, 0);
    chmod(&c.home, 0o755);
    for f in files_under(&c.home) {
        chmod(&f, 0o644);
    }
    chmod(&c.home.join("docs"), 0o755);
    assert_eq!(c.run(&["sod", "--json", "--no-keepalive"]).await.code, 0);
    assert_eq!(c.run(&["status", "--json"]).await.code, 0);
    assert_private(&c.home, "tightening");
}

/// `queue export -o` writes 0600 even over an existing 0644 file, and
/// refuses a symbolic link instead of writing through it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_private_and_never_follow_symlinks() {
    let emu = common::emulator().await;
    let c = checkout(&emu.url());
    let out_file = c.dir.path().join("export.json");
    std::fs::write(&out_file, "old").unwrap();
    chmod(&out_file, 0o644);
    let o = out_file.to_str().unwrap();
    let out = c.run(&["queue", "export", "-o", o]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(mode(&out_file), 0o600);
    assert!(std::fs::read_to_string(&out_file).unwrap().contains('{'));

    let victim = c.dir.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let link = c.dir.path().join("link.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = c
        .run(&["queue", "export", "-o", link.to_str().unwrap()])
        .await;
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// With no system certificate store at all (an empty `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`), plain-http loopback works, and https gets as far as the
/// TLS handshake, whose failure names its cause (here: the server does not
/// speak TLS), instead of the client failing to build.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_system_certificate_store_is_needed() {
    let emu = common::emulator().await;
    let c = checkout(&emu.url());
    let empty_dir = c.dir.path().join("no-certs");
    std::fs::create_dir(&empty_dir).unwrap();
    let empty_file = c.dir.path().join("no-certs.pem");
    std::fs::write(&empty_file, "").unwrap();
    let no_store = [
        ("SSL_CERT_FILE", empty_file.to_str().unwrap()),
        ("SSL_CERT_DIR", empty_dir.to_str().unwrap()),
    ];
    let out = c
        .run_with(&["sod", "--json", "--no-keepalive"], &no_store)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let out = c
        .run_with(&["handoffs", "latest", "--json"], &no_store)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());

    // A server that answers any connection with plain HTTP at once.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = plain.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut sock, _)) = plain.accept().await {
            let _ = sock
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let https = format!("https://{addr}");
    let env = [
        no_store[0],
        no_store[1],
        ("CRANE_CONTEXT_URL", https.as_str()),
    ];
    let out = c.run_with(&["handoffs", "latest", "--json"], &env).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        !out.all().contains("could not build the HTTP client"),
        "{}",
        out.all()
    );
    let lower = out.all().to_lowercase();
    assert!(
        lower.contains("tls") || lower.contains("handshake") || lower.contains("corrupt"),
        "a TLS failure names its cause: {}",
        out.all()
    );
    server.abort();
}

/// Runs `args` in plain and `--json` form and keeps everything printed.
async fn both_forms(c: &Checkout, args: &[&str], env: &[(&str, &str)], seen: &mut Vec<String>) {
    let plain = c.run_with(args, env).await;
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(args);
    let json = c.run_with(&json_args, env).await;
    seen.push(format!("$ crane {args:?}\n{}", plain.all()));
    seen.push(format!("$ crane --json {args:?}\n{}", json.all()));
}

/// Every command's plain and JSON output, its error paths (wrong key,
/// server gone, unknown session, bad config, bad flags) and every file the
/// SDK writes are searched for the relay key and a token planted in the git
/// remote: neither appears anywhere.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_output_or_file() {
    let emu = common::emulator().await;
    let c = checkout(&emu.url());
    let export = c.dir.path().join("export.json");
    let export_arg = export.to_str().unwrap().to_owned();
    let mut seen = Vec::new();
    let none: &[(&str, &str)] = &[];
    let online: Vec<Vec<&str>> = vec![
        vec!["sod", "--no-keepalive"],
        vec!["status"],
        vec!["update", "--meta", r#"{"step":1}"#],
        vec!["heartbeat"],
        vec!["active"],
        vec!["handoffs", "latest", "--payload"],
        vec!["handoffs", "list", "--all"],
        vec!["queue", "list"],
        vec!["doctor"],
        vec!["sync"],
        vec!["eod", "--summary", "done", "--payload", r#"{"next":"x"}"#],
        vec!["handoffs", "latest", "--payload"],
        vec![
            "handoffs",
            "list",
            "--session-id",
            "sess_00000000000000000000000000",
        ],
        vec![
            "heartbeat",
            "--session-id",
            "sess_00000000000000000000000000",
        ],
        vec!["queue", "show", "nope"],
        vec!["completions", "bash"],
    ];
    for args in &online {
        both_forms(&c, args, none, &mut seen).await;
    }
    // Wrong key: unauthorized everywhere it matters.
    let wrong = [("CRANE_CONTEXT_KEY", "wrong-key-0123456789abcdef")];
    for args in [&["sod", "--no-keepalive"][..], &["doctor"], &["active"]] {
        both_forms(&c, args, &wrong, &mut seen).await;
    }
    // A config file with the key inline and a typo; and bad flags.
    std::fs::write(
        &c.config,
        format!(
            "[profiles.p]\nurl = \"{}\"\nkee = \"{}\"\n",
            emu.url(),
            common::KEY
        ),
    )
    .unwrap();
    chmod(&c.config, 0o600);
    for args in [&["sod", "--no-keepalive"][..], &["doctor"], &["status"]] {
        both_forms(&c, args, none, &mut seen).await;
    }
    std::fs::write(&c.config, "").unwrap();
    both_forms(&c, &["sod", "--track", "x"], none, &mut seen).await;
    // The server gone: queued work, offline reads, failing doctor and sync.
    assert_eq!(c.run(&["sod", "--json", "--no-keepalive"]).await.code, 0);
    emu.shutdown().await;
    for args in [
        &["update", "--meta", r#"{"step":2}"#][..],
        &["eod", "--summary", "offline", "--payload", r#"{"k":1}"#],
        &["handoffs", "latest"],
        &["sync"],
        &["doctor"],
        &["status"],
        &["queue", "list"],
    ] {
        both_forms(&c, args, none, &mut seen).await;
    }
    let out = c.run(&["queue", "export", "-o", &export_arg]).await;
    seen.push(out.all());

    // The commands really ran: a session, a refused key, a described config
    // error and an offline queue all show up.
    let all = seen.join("\n");
    for expected in ["sess_", "unauthorized", "line 3", "queued"] {
        assert!(all.contains(expected), "no {expected:?} in:\n{all}");
    }
    for text in &seen {
        assert!(!text.contains(common::KEY), "the key was printed:\n{text}");
        assert!(
            !text.contains(GIT_TOKEN),
            "the git token was printed:\n{text}"
        );
    }
    let mut files = files_under(&c.home);
    files.push(export.clone());
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for secret in [common::KEY, GIT_TOKEN] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds a secret",
                f.display()
            );
        }
    }
}
