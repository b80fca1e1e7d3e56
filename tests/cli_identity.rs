//! The CLI files a checkout's session under the venture today's clients
//! choose: on v2 from the server's venture list (`venturecrane/ke-console`
//! is `ke`, not the org's `vc`), on v1 from the org map; a repository no
//! venture lists is refused with the org's ventures named; `--venture` and
//! `CRANE_VENTURE` name it explicitly; `crane ventures` lists them.

#![cfg(feature = "cli")]

mod common;

use common::cli::Checkout;
use crane_context::emulator::Protocol;

const KE: &str = "https://github.com/venturecrane/ke-console.git";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sos_on_v2_files_ke_console_under_ke() {
    let emu = common::emulator_of(Protocol::V2).await;
    let c = Checkout::with_origin(&emu.url(), KE);
    let out = c
        .run(&["sos", "--json", "--no-keepalive"])
        .await
        .ok()
        .json();
    assert_eq!(out["session"]["venture"], "ke", "{out}");
    assert_eq!(out["session"]["repo"], "venturecrane/ke-console");
    let st = common::state(&emu.url()).await;
    assert_eq!(st["requests_count"]["/sos"], 1, "{st}");
    // The alias still works, and the list is cached: no second fetch.
    let again = c
        .run(&["sod", "--json", "--no-keepalive"])
        .await
        .ok()
        .json();
    assert_eq!(again["session"]["id"], out["session"]["id"]);
    let st = common::state(&emu.url()).await;
    assert_eq!(st["requests_count"]["/ventures"], 1, "{st}");
    assert_eq!(st["requests_count"]["/version"], 1, "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sos_on_v1_keeps_the_org_rule() {
    let emu = common::emulator_of(Protocol::V1).await;
    let c = Checkout::with_origin(&emu.url(), KE);
    let out = c
        .run(&["sos", "--json", "--no-keepalive"])
        .await
        .ok()
        .json();
    assert_eq!(out["session"]["venture"], "vc", "{out}");
    let st = common::state(&emu.url()).await;
    assert_eq!(st["requests_count"]["/sod"], 1, "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_repo_is_refused_naming_the_orgs_ventures_unless_named() {
    let emu = common::emulator_of(Protocol::V2).await;
    let c = Checkout::with_origin(&emu.url(), "git@github.com:venturecrane/unlisted.git");
    let out = c.run(&["sos", "--json", "--no-keepalive"]).await;
    assert_ne!(out.code, 0, "{}", out.all());
    let err = out.all();
    assert!(
        err.contains("ke (repos: ke-console)") && err.contains("--venture"),
        "{err}"
    );
    let st = common::state(&emu.url()).await;
    assert!(st["requests_count"]["/sos"].is_null(), "nothing sent: {st}");
    let named = c
        .run_with(
            &["sos", "--json", "--no-keepalive"],
            &[("CRANE_VENTURE", "smd")],
        )
        .await
        .ok()
        .json();
    assert_eq!(named["session"]["venture"], "smd");
    let flag = c
        .run(&[
            "sos",
            "--json",
            "--no-keepalive",
            "--venture",
            "ss",
            "--track",
            "2",
        ])
        .await
        .ok()
        .json();
    assert_eq!(flag["session"]["venture"], "ss");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ventures_lists_the_servers_ventures() {
    let emu = common::emulator_of(Protocol::V2).await;
    let c = Checkout::new(&emu.url());
    let out = c.run(&["ventures", "--json"]).await.ok().json();
    let list = out["ventures"].as_array().unwrap();
    assert!(list.iter().any(|v| v["code"] == "ke"), "{out}");
    let v1 = common::emulator_of(Protocol::V1).await;
    let c1 = Checkout::new(&v1.url());
    assert_ne!(c1.run(&["ventures"]).await.code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_shows_generation_commit_schema_and_the_venture_with_why() {
    let emu = common::emulator_of(Protocol::V2).await;
    let c = Checkout::with_origin(&emu.url(), KE);
    let out = c.run(&["doctor", "--json"]).await.ok().json();
    let check = |name: &str| {
        out["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {out}"))
    };
    let generation = check("generation")["detail"].as_str().unwrap().to_owned();
    assert!(
        generation.starts_with("v2: commit ") && generation.contains("schema version"),
        "{generation}"
    );
    let venture = check("venture")["detail"].as_str().unwrap().to_owned();
    assert!(
        venture.starts_with("ke — ") && venture.contains("ke-console"),
        "{venture}"
    );
    assert_eq!(out["venture"]["code"], "ke");
    assert_eq!(out["generation"]["generation"], "v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_keep_open_leaves_the_session_open_then_eos_ends_it() {
    let emu = common::emulator_of(Protocol::V2).await;
    let c = Checkout::with_origin(&emu.url(), KE);
    let started = c
        .run(&["sos", "--json", "--no-keepalive"])
        .await
        .ok()
        .json();
    let kept = c
        .run(&["eos", "--json", "--summary", "midway", "--keep-open"])
        .await
        .ok()
        .json();
    assert_eq!(kept["delivered"], true, "{kept}");
    assert!(kept["ended_at"].is_null(), "{kept}");
    let ended = c
        .run(&[
            "eod",
            "--json",
            "--summary",
            "done",
            "--last-activity-at",
            "2026-11-26T20:00:00.000Z",
        ])
        .await
        .ok()
        .json();
    assert_eq!(ended["session_id"], started["session"]["id"]);
    assert!(ended["ended_at"].is_string(), "{ended}");
    let st = common::state(&emu.url()).await;
    assert_eq!(st["handoffs_count"], 2, "{st}");
}
