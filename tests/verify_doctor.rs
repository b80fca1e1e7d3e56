//! `verify` and `doctor` as library calls with typed reports (#14), against
//! both generations over loopback.

mod common;

use common::*;
use crane_context::doctor::{self, CheckoutFacts, DoctorOptions, Level};
use crane_context::emulator::Protocol;
use crane_context::identity::VentureReason;
use crane_context::settings::{Overrides, Settings};
use crane_context::store::{QueueLimits, Store};
use crane_context::verify::{self, StepResult, VerifyOptions};
use crane_context::Generation;

/// Verification passes with its defaults on both generations: on v2 under
/// a venture the server lists, on v1 under its own.
#[tokio::test]
async fn verify_passes_with_its_defaults_on_both_generations() {
    for (protocol, generation, venture) in [
        (Protocol::V1, Generation::V1, "crane-verify"),
        (Protocol::V2, Generation::V2, "vc"),
    ] {
        let emu = emulator_of(protocol).await;
        let report = verify::run(&client(&emu.url()), VerifyOptions::default()).await;
        assert!(report.passed, "{protocol:?}: {report:#?}");
        assert_eq!(report.generation, Some(generation));
        assert_eq!(report.venture, venture);
        assert!(report.repo.starts_with("crane-verify/run-"));
        assert_eq!(report.steps.len(), 10);
        assert!(report.steps.iter().all(|s| s.result == StepResult::Pass));
    }
}

#[tokio::test]
async fn verify_reports_a_venture_the_server_refuses() {
    let emu = emulator_of(Protocol::V2).await;
    let options = VerifyOptions {
        venture: Some("not-listed".into()),
        host: None,
    };
    let report = verify::run(&client(&emu.url()), options).await;
    assert!(!report.passed);
    let create = report
        .steps
        .iter()
        .find(|s| s.name == "create session")
        .unwrap();
    assert_eq!(create.result, StepResult::Fail);
    assert!(create.detail.contains("venture"), "{}", create.detail);
}

fn settings_for(url: &str, dir: &std::path::Path) -> Settings {
    let config = dir.join("config.toml");
    std::fs::write(&config, "").unwrap();
    let config = config.display().to_string();
    let env = |name: &str| match name {
        "CRANE_CONTEXT_URL" => Some(url.to_owned()),
        "CRANE_CONTEXT_KEY" => Some(KEY.to_owned()),
        "CRANE_CONFIG" => Some(config.clone()),
        _ => None,
    };
    Settings::resolve_with(&Overrides::default(), &env).unwrap()
}

/// The doctor names the generation with the server's commit and schema
/// version, and the venture of a `venturecrane/ke-console` checkout with
/// its reason: `ke` from the server's list on v2, `vc` from the org map on v1.
#[tokio::test]
async fn doctor_reports_generation_version_and_the_venture_with_its_reason() {
    for protocol in [Protocol::V1, Protocol::V2] {
        let emu = emulator_of(protocol).await;
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(&emu.url(), dir.path());
        let store = Store::open(&dir.path().join("crane.db"), QueueLimits::default()).unwrap();
        let report = doctor::run(DoctorOptions {
            settings: Some(&settings),
            client: None,
            store: Some(&store),
            checkout: Some(CheckoutFacts {
                owner: "venturecrane",
                repo_name: "ke-console",
                explicit: None,
            }),
        })
        .await;
        assert!(report.ok, "{report:#?}");
        let check = |name: &str| {
            report
                .checks
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no {name} check: {report:#?}"))
                .clone()
        };
        let generation = check("generation");
        let venture = report.venture.clone().unwrap();
        match protocol {
            Protocol::V2 => {
                assert!(
                    generation.detail.starts_with("v2: commit ")
                        && generation.detail.contains("schema version"),
                    "{}",
                    generation.detail
                );
                let info = report.generation.clone().unwrap();
                assert!(info.version.unwrap().schema_version.is_some());
                assert_eq!(venture.code, "ke");
                assert!(matches!(venture.reason, VentureReason::ServerList { .. }));
            }
            _ => {
                assert!(generation.detail.starts_with("v1"), "{}", generation.detail);
                assert_eq!(venture.code, "vc");
                assert!(matches!(venture.reason, VentureReason::OrgMap { .. }));
            }
        }
        assert_eq!(check("venture").level, Level::Ok);
        // The probe was remembered in the store.
        let remembered = store
            .generation_of(&format!("{}/", emu.url()))
            .unwrap()
            .map(|i| i.generation);
        assert_eq!(remembered, report.generation.map(|g| g.generation));
    }
}
