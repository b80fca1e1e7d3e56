//! The FFI layer (`crane_context::ffi`) driven from Rust: the objects the
//! Python and Swift bindings wrap, against the emulator. The binding suites
//! (bindings/python/tests, bindings/swift/Tests) cover the languages; this
//! checks the layer itself — a Rust listener through the foreign-trait
//! interface, blocking calls made from inside another tokio runtime, and the
//! error conversion. The per-call cost of the owned-runtime hop is measured
//! in `benches/ffi_overhead.rs`.
#![cfg(all(feature = "ffi", feature = "emulator"))]

mod common;

use std::sync::{Arc, Mutex};

use crane_context::ffi::{
    ClientOptions, CraneClient, CraneError, CraneEvent, CraneListener, EndOutcome, EndRequest,
    HandoffFilter, StartRequest, UpdateOutcome, UpdateRequest,
};

#[derive(Default)]
struct Events(Mutex<Vec<CraneEvent>>);

impl CraneListener for Events {
    fn on_event(&self, event: CraneEvent) -> Result<(), CraneError> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

fn start(agent: &str) -> StartRequest {
    StartRequest {
        agent: agent.into(),
        venture: "vc".into(),
        repo: "venturecrane/crane-context".into(),
        track: None,
        issue_number: None,
        branch: None,
        commit_sha: None,
        host: None,
        client: None,
        client_version: None,
        meta_json: None,
        include_docs: true,
        auto_heartbeat: false,
        client_session_id: None,
        session_group_id: None,
    }
}

fn end(payload: &str) -> EndRequest {
    EndRequest {
        summary: "done".into(),
        payload_json: payload.into(),
        status_label: None,
        to_agent: None,
        keep_session_open: false,
        last_activity_at: None,
    }
}

fn options(dir: &tempfile::TempDir) -> ClientOptions {
    ClientOptions {
        store_path: Some(dir.path().join("crane.db").display().to_string()),
        ..ClientOptions::default()
    }
}

#[test]
fn lifecycle_through_the_ffi_objects() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(common::emulator());
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Events::default());
    let listener: Arc<dyn CraneListener> = events.clone();
    let client =
        CraneClient::new(emu.url(), common::KEY.into(), options(&dir), Some(listener)).unwrap();

    let session = client.start_session_blocking(start("rs-ffi")).unwrap();
    let err = session.end_blocking(end("[1]")).unwrap_err();
    assert!(
        matches!(err, CraneError::InvalidInput { ref field, .. } if field == "payload"),
        "{err:?}"
    );
    let outcome = session.end_blocking(end(r#"{"b":1,"a":2}"#)).unwrap();
    let EndOutcome::Delivered { handoff, .. } = outcome else {
        panic!("not delivered: {outcome:?}");
    };
    assert_eq!(handoff.payload_json, r#"{"a":2,"b":1}"#);
    assert!(events
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, CraneEvent::HandoffDelivered { handoff_id, .. } if *handoff_id == handoff.id)));
    client.shutdown();
}

/// A blocking heartbeat or read runs on the calling thread's own runtime
/// with that thread's own connections (`host_thread.rs`). Those connections
/// are driven only while their thread is inside a call, so none may serve
/// the shared runtime. Here a thread makes the client's first requests (so
/// any connection it opens is the only one) and then idles, holding its
/// runtime and kept-alive connection, while the main thread starts a session
/// and updates it on the shared runtime. Had the idle connection gone to the
/// shared pool, the start would stall on it until its request timed out and
/// the SDK would report the server unreachable (checked by sending the host
/// thread's requests through the shared client).
#[test]
fn a_host_threads_connections_never_serve_the_shared_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(common::emulator());
    let dir = tempfile::tempdir().unwrap();
    let opts = ClientOptions {
        request_timeout_ms: Some(3_000),
        ..options(&dir)
    };
    let events = Arc::new(Events::default());
    let listener: Arc<dyn CraneListener> = events.clone();
    let client = CraneClient::new(emu.url(), common::KEY.into(), opts, Some(listener)).unwrap();

    let (idle_tx, idle_rx) = std::sync::mpsc::channel();
    let (leave_tx, leave_rx) = std::sync::mpsc::channel::<()>();
    let host = {
        let client = Arc::clone(&client);
        std::thread::spawn(move || {
            client.health_blocking().unwrap();
            let filter = HandoffFilter::FromAgent {
                agent: "rs-ffi-host".into(),
            };
            let page = client.handoffs_blocking(filter, None, None).unwrap();
            idle_tx.send(page.handoffs.len()).unwrap();
            // Idle, runtime and connection alive, until told to leave.
            let _ = leave_rx.recv();
        })
    };
    assert_eq!(idle_rx.recv().unwrap(), 0);

    let session = client.start_session_blocking(start("rs-ffi-host")).unwrap();
    for _ in 0..2 {
        let update = UpdateRequest {
            branch: Some("main".into()),
            commit_sha: None,
            meta_json: None,
        };
        let outcome = session.update_blocking(update).unwrap();
        assert!(
            matches!(outcome, UpdateOutcome::Applied { .. }),
            "{outcome:?}"
        );
    }
    let offline = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, CraneEvent::ConnectivityChanged { online: false }))
        .count();
    assert_eq!(
        offline, 0,
        "the shared runtime waited on a host thread's connection"
    );
    leave_tx.send(()).unwrap();
    host.join().unwrap();
    // Short-lived threads each make their runtime and connection and drop
    // them when they exit, without disturbing anything else.
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || client.health_blocking().map(|h| h.http_status))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), 200);
    }
    // The host threads' runtimes and connections are gone with them; the
    // shared runtime goes on.
    assert!(matches!(
        session.end_blocking(end("{}")).unwrap(),
        EndOutcome::Delivered { .. }
    ));
}

#[test]
fn blocking_calls_work_inside_another_runtime() {
    let emu_rt = tokio::runtime::Runtime::new().unwrap();
    let emu = emu_rt.block_on(common::emulator());
    let dir = tempfile::tempdir().unwrap();
    let host = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Constructing and blocking from inside a (current-thread) runtime must
    // neither panic ("cannot block within a runtime") nor deadlock: the work
    // runs on the bindings' own runtime.
    host.block_on(async {
        let client = CraneClient::new(emu.url(), common::KEY.into(), options(&dir), None).unwrap();
        assert_eq!(client.queue_counts_blocking().unwrap().pending, 0);
        let wrong = CraneClient::new(emu.url(), "wrong-key".into(), options(&dir), None).unwrap();
        assert_eq!(
            wrong.health_blocking().map(|h| h.http_status),
            Ok(200),
            "health needs no key"
        );
        let err = wrong.start_session(start("rs-wrong")).await.err();
        assert!(
            matches!(
                err,
                Some(CraneError::Unauthorized {
                    correlation_id: Some(_),
                    ..
                })
            ),
            "{err:?}"
        );
    });
}

/// `verify` and `doctor` through the FFI objects (#14): typed reports, no CLI.
#[test]
fn verify_and_doctor_through_the_ffi() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(common::emulator_of(crane_context::emulator::Protocol::V2));
    let dir = tempfile::tempdir().unwrap();
    let client = CraneClient::new(emu.url(), common::KEY.into(), options(&dir), None).unwrap();
    let report = client.verify_blocking(None).unwrap();
    assert!(report.passed, "{report:#?}");
    assert_eq!(report.generation.as_deref(), Some("v2"));
    let doctor = client
        .doctor_blocking(Some("venturecrane/ke-console".into()), None)
        .unwrap();
    assert!(doctor.ok, "{doctor:#?}");
    assert_eq!(doctor.generation.as_deref(), Some("v2"));
    assert!(doctor.schema_version.is_some() && doctor.server_commit.is_some());
    assert_eq!(doctor.venture.as_deref(), Some("ke"));
    assert!(doctor
        .checks
        .iter()
        .any(|c| c.name == "generation" && c.level == crane_context::ffi::CheckLevel::Ok));
    client.shutdown();
}

/// The v2 session fields through the FFI records: a group id on start, a
/// handoff that keeps the session open (it still beats), then the end.
#[test]
fn v2_fields_through_the_ffi_records() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emu = rt.block_on(common::emulator_of(crane_context::emulator::Protocol::V2));
    let dir = tempfile::tempdir().unwrap();
    let client = CraneClient::new(emu.url(), common::KEY.into(), options(&dir), None).unwrap();
    let mut req = start("rs-ffi-v2");
    req.session_group_id = Some("grp-ffi".into());
    req.client_session_id = Some("transcript-1".into());
    let session = client.start_session_blocking(req).unwrap();
    let mut keep = end(r#"{"midway":true}"#);
    keep.keep_session_open = true;
    let EndOutcome::Delivered { ended_at, .. } = session.end_blocking(keep).unwrap() else {
        panic!("a kept-open handoff is delivered or fails");
    };
    assert_eq!(ended_at, None);
    session.heartbeat_now_blocking().expect("still active");
    let EndOutcome::Delivered { ended_at, .. } = session.end_blocking(end("{}")).unwrap() else {
        panic!("not delivered");
    };
    assert!(ended_at.is_some());
    client.shutdown();
}
