//! The client tells v1 from v2 (`GET /version`), uses the right route
//! names, remembers the generation in the store, re-detects when a v2 route
//! is missing, honours a pin, applies v2's identity rules locally, and
//! delivers an end queued against v1 after the server was upgraded to v2.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::engine::{Clock, Crane, CraneConfig};
use crane_context::generation::{GenerationInfo, GenerationSource};
use crane_context::model::{EndSession, StartSession};
use crane_context::store::{QueueLimits, Store};
use crane_context::{Client, EndOutcome, Error, Generation};
use serde_json::json;

fn sos() -> StartSession {
    StartSession::new("cc-gen-host", "vc", "venturecrane/gen")
        .track(1)
        .include_docs(false)
}

fn count(state: &serde_json::Value, path: &str) -> u64 {
    state["requests_count"][path].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn the_generation_is_probed_and_the_routes_follow_it() {
    for (protocol, generation, start, end_path) in [
        (Protocol::V1, Generation::V1, "/sod", "/eod"),
        (Protocol::V2, Generation::V2, "/sos", "/eos"),
    ] {
        let emu = emulator_of(protocol).await;
        let url = emu.url();
        let c = client(&url);
        let info = c.generation_info().await.unwrap();
        assert_eq!(info.generation, generation);
        assert_eq!(info.source, GenerationSource::Probed);
        let version = c.version().await.unwrap();
        assert_eq!(version.is_some(), generation == Generation::V2);
        if let Some(v) = version {
            assert!(v.commit.is_some() && v.schema_version.is_some(), "{v:?}");
        }
        let s = c.start_session(&sos()).await.unwrap();
        let end = EndSession::new(&s.session_id, "done", &json!({"k": 1})).unwrap();
        let r = c.end_session(&end).await.unwrap();
        assert!(r.ended_at.is_some());
        let st = state(&url).await;
        assert_eq!((count(&st, start), count(&st, end_path)), (1, 1), "{st}");
        // One probe for the generation, one for version(): no probe per call.
        assert_eq!(count(&st, "/version"), 2, "{st}");
    }
}

#[tokio::test]
async fn ventures_are_listed_on_v2_and_missing_on_v1() {
    let v2 = emulator_of(Protocol::V2).await;
    let ventures = client(&v2.url()).ventures().await.unwrap();
    let ke = ventures.iter().find(|v| v.code == "ke").expect("ke listed");
    assert!(ke.repos.iter().any(|r| r == "ke-console"), "{ke:?}");
    let v1 = emulator_of(Protocol::V1).await;
    assert!(matches!(
        client(&v1.url()).ventures().await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_pinned_generation_is_not_probed() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let c = Client::with_config(client_config(&url).protocol(Generation::V1)).unwrap();
    c.start_session(&sos()).await.unwrap();
    let st = state(&url).await;
    assert_eq!(count(&st, "/version"), 0, "{st}");
    assert_eq!((count(&st, "/sod"), count(&st, "/sos")), (1, 0), "{st}");
}

async fn engine_on(url: &str, dir: &Arc<tempfile::TempDir>) -> Crane {
    engine_at(url, Arc::clone(dir), Clock::system()).await.crane
}

#[tokio::test]
async fn the_generation_is_remembered_in_the_store_between_engines() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let first = engine_on(&url, &dir).await;
    first.start_session(sos()).await.unwrap();
    first.close().await.unwrap();
    drop(first);
    let second = engine_on(&url, &dir).await;
    let info = second.client().generation_info().await.unwrap();
    assert_eq!(
        (info.generation, info.source),
        (Generation::V2, GenerationSource::Remembered)
    );
    second.start_session(sos().track(2)).await.unwrap();
    let st = state(&url).await;
    assert_eq!(
        count(&st, "/version"),
        1,
        "one probe for both engines: {st}"
    );
    assert_eq!(count(&st, "/sos"), 2, "{st}");
}

/// The store says v2 (say, a server that was downgraded): `/sos` answers
/// `404 Endpoint not found`, the client probes again and resends on `/sod`.
#[tokio::test]
async fn a_missing_v2_route_makes_the_client_probe_again() {
    let emu = emulator_of(Protocol::V1).await;
    let url = emu.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crane.db");
    let store = Store::open(&path, QueueLimits::default()).unwrap();
    let config = client_config(&url);
    store
        .put_generation(
            config.base_url.as_str(),
            &GenerationInfo {
                generation: Generation::V2,
                version: None,
                source: GenerationSource::Probed,
                detected_at_ms: jiff::Timestamp::now().as_millisecond(),
            },
        )
        .unwrap();
    drop(store);
    let crane = Crane::open(CraneConfig::new(config).store_path(&path))
        .await
        .unwrap();
    crane.start_session(sos()).await.unwrap();
    let st = state(&url).await;
    assert_eq!(
        (
            count(&st, "/sos"),
            count(&st, "/version"),
            count(&st, "/sod")
        ),
        (1, 1, 1),
        "{st}"
    );
    let remembered = crane
        .store()
        .generation_of(crane.client().config().base_url.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(remembered.generation, Generation::V1);
}

#[tokio::test]
async fn v2_identity_rules_are_checked_before_sending() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let c = client(&url);
    let bad_agent = StartSession::new("Bad.Agent", "vc", "venturecrane/gen");
    assert!(matches!(
        c.start_session(&bad_agent).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "agent"
    ));
    let bad_repo = StartSession::new("cc-gen-host", "vc", "not a repo");
    assert!(matches!(
        c.start_session(&bad_repo).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "repo"
    ));
    let end = EndSession::new("sess_1", "s", &json!({})).unwrap();
    assert!(matches!(
        c.end_session(&end).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "session_id"
    ));
    let st = state(&url).await;
    assert_eq!(
        (count(&st, "/sos"), count(&st, "/eos")),
        (0, 0),
        "nothing sent: {st}"
    );
    // v1 accepts what v2 refuses: the rule is v2's only.
    let v1 = emulator_of(Protocol::V1).await;
    assert!(client(&v1.url()).start_session(&bad_agent).await.is_ok());
}

#[tokio::test]
async fn keep_session_open_leaves_the_session_active_on_v2_and_is_refused_on_v1() {
    let emu = emulator_of(Protocol::V2).await;
    let c = client(&emu.url());
    let s = c.start_session(&sos()).await.unwrap();
    let first = EndSession::new(&s.session_id, "midway", &json!({"n": 1}))
        .unwrap()
        .keep_session_open(true)
        .last_activity_at("2026-11-26T20:00:00.000Z");
    let r = c.end_session(&first).await.unwrap();
    assert_eq!(r.ended_at, None);
    c.heartbeat(&s.session_id).await.expect("still active");
    let v1 = emulator_of(Protocol::V1).await;
    let c1 = client(&v1.url());
    let s1 = c1.start_session(&sos()).await.unwrap();
    let keep = EndSession::new(&s1.session_id, "midway", &json!({}))
        .unwrap()
        .keep_session_open(true);
    assert!(matches!(
        c1.end_session(&keep).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "keep_session_open"
    ));
}

/// An end queued while a v1 server was away is delivered by the v2 server
/// that replaced it (same address, same data): the engine probes again
/// after the outage and sends it on `/eos`, with the key it was queued with.
#[tokio::test]
async fn an_end_queued_under_v1_is_delivered_after_the_upgrade_to_v2() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("server.db");
    let v1 = emulator_speaking(Some(db.clone()), None, Protocol::V1).await;
    let (url, addr) = (v1.url(), v1.addr());
    let mut e = engine(&url).await;
    let s = e.crane.start_session(sos()).await.unwrap();
    v1.shutdown().await;
    let req = EndSession::new(s.session_id(), "after the upgrade", &json!({"k": "v"})).unwrap();
    let hash = req.payload.hash().unwrap().to_owned();
    let outcome = s.end(req).await.unwrap();
    assert!(matches!(outcome, EndOutcome::Queued { .. }), "{outcome:?}");

    let v2 = emulator_speaking(Some(db), Some(addr), Protocol::V2).await;
    e.crane.sync().await.unwrap();
    e.events.wait_for_delivery(Duration::from_secs(20)).await;
    let st = state(&v2.url()).await;
    assert_eq!((count(&st, "/eos"), count(&st, "/eod")), (1, 0), "{st}");
    let stored = handoffs_for(&v2.url(), s.session_id()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["payload_hash"], hash.as_str());
}

/// A handoff that keeps the session open is sent now or fails; it is never
/// queued (a resend after the server's key expired would store it twice).
#[tokio::test]
async fn a_keep_open_handoff_is_never_queued() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let e = engine(&url).await;
    let s = e.crane.start_session(sos()).await.unwrap();
    let keep = |summary: &str| {
        EndSession::new(s.session_id(), summary, &json!({"n": 1}))
            .unwrap()
            .keep_session_open(true)
    };
    match e.crane.end_session(keep("midway")).await.unwrap() {
        EndOutcome::Delivered(r) => assert_eq!(r.ended_at, None),
        other => panic!("{other:?}"),
    }
    fault(
        &url,
        json!({"route": "/eos", "mode": "status", "status": 503, "count": 20}),
    )
    .await;
    let failed = e.crane.end_session(keep("later")).await;
    assert!(
        matches!(failed, Err(Error::Server { status: 503, .. })),
        "{failed:?}"
    );
    let counts = e.crane.queue_counts().await.unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0));
    assert_eq!(handoffs_for(&url, s.session_id()).await.len(), 1);
}

/// `last_activity_at` survives the queue (it is read back from the stored body).
#[tokio::test]
async fn last_activity_at_is_delivered_from_the_queue() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let mut e = engine(&url).await;
    let s = e.crane.start_session(sos()).await.unwrap();
    e.go_offline("test: queue only");
    let req = EndSession::new(s.session_id(), "queued", &json!({}))
        .unwrap()
        .last_activity_at("2026-11-26T20:00:00.000Z");
    assert!(matches!(
        e.crane.end_session(req).await.unwrap(),
        EndOutcome::Queued { .. }
    ));
    e.crane.sync().await.unwrap();
    e.events.wait_for_delivery(Duration::from_secs(20)).await;
    let sessions = client(&url)
        .active_sessions(&crane_context::model::ActiveQuery::new(
            "cc-gen-host",
            "vc",
            "venturecrane/gen",
        ))
        .await
        .unwrap();
    assert!(sessions.sessions.is_empty(), "ended");
    let prior: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{url}/sessions/prior?agent=cc-gen-host&venture=vc&repo=venturecrane/gen"
        ))
        .header("X-Relay-Key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        prior["session"]["last_activity_at"], "2026-11-26T20:00:00.000Z",
        "{prior}"
    );
}

/// On v2 the engine refuses a venture the server does not list before
/// sending anything (the list is cached: one GET /ventures for both starts).
#[tokio::test]
async fn the_engine_refuses_an_unlisted_venture_on_v2_only() {
    let emu = emulator_of(Protocol::V2).await;
    let url = emu.url();
    let e = engine(&url).await;
    let bad = StartSession::new("cc-gen-host", "kidexpenses", "venturecrane/gen");
    let err = e.crane.start_session(bad.clone()).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, message } if field == "venture" && message.contains("ke")),
        "{err:?}"
    );
    e.crane.start_session(sos()).await.unwrap();
    let st = state(&url).await;
    assert_eq!(
        (count(&st, "/sos"), count(&st, "/ventures")),
        (1, 1),
        "{st}"
    );
    let v1 = emulator_of(Protocol::V1).await;
    let e1 = engine(&v1.url()).await;
    e1.crane
        .start_session(bad)
        .await
        .expect("v1 accepts any venture");
}
