//! The v2 methods of the FFI client (`crane_context::ffi::CraneClient`)
//! driven from Rust against the emulator in v2 mode: a session with a
//! checkpoint, a note and a handoff, then the reads, through the records
//! the Python and Swift bindings see.
#![cfg(all(feature = "ffi", feature = "emulator"))]

mod common;

use crane_context::emulator::{Emulator, EmulatorConfig, Protocol};
use crane_context::ffi::{
    ActiveFilter, CheckpointRequest, ClientOptions, CraneClient, CraneError, EndOutcome,
    EndRequest, HandoffStatusLabel, HandoffWindow, MemoryGate, NoteRequest, NoteUpdate,
    NotesFilter, StartRequest,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_session_with_a_checkpoint_a_note_and_a_handoff() {
    let emu = Emulator::start(EmulatorConfig {
        protocol: Protocol::V2,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = ClientOptions {
        store_path: Some(dir.path().join("crane.db").display().to_string()),
        ..ClientOptions::default()
    };
    let url = emu.url();
    tokio::task::spawn_blocking(move || {
        let client = CraneClient::new(url, common::KEY.into(), options, None).unwrap();
        let session = client
            .start_session_blocking(StartRequest {
                agent: "crane-ffi-test".into(),
                venture: "vc".into(),
                repo: "venturecrane/ffi".into(),
                track: Some(1),
                issue_number: None,
                branch: None,
                commit_sha: None,
                host: None,
                client: None,
                client_version: None,
                meta_json: None,
                include_docs: false,
                auto_heartbeat: false,
                client_session_id: None,
                session_group_id: None,
            })
            .unwrap();
        let sid = session.session_id();

        let cp = client
            .checkpoint_blocking(
                sid.clone(),
                CheckpointRequest {
                    summary: "halfway".into(),
                    work_completed: vec!["a".into()],
                    blockers: vec![],
                    next_actions: vec!["b".into()],
                    notes: None,
                },
            )
            .unwrap();
        assert_eq!(cp.checkpoint_number, 1);
        let cps = client.checkpoints_blocking(sid.clone(), None).unwrap();
        assert_eq!(cps.len(), 1);
        assert_eq!(cps[0].next_actions, ["b"]);
        assert!(cps[0].blockers.is_empty());

        let req = NoteRequest {
            content: "learned".into(),
            title: Some("Lesson".into()),
            tags: vec!["ffi-test".into()],
            venture: Some("vc".into()),
            authored_by_session_id: Some(sid.clone()),
            source_hash: None,
        };
        let note = client.create_note_blocking(req.clone()).unwrap();
        assert_eq!(client.create_note_blocking(req).unwrap().id, note.id);
        assert_eq!(note.tags, ["ffi-test"]);
        let page = client
            .notes_blocking(NotesFilter {
                tags: vec!["ffi-test".into()],
                ..NotesFilter::default()
            })
            .unwrap();
        assert_eq!((page.total_matching, page.next_cursor), (1, None));
        let edited = client
            .update_note_blocking(
                note.id.clone(),
                NoteUpdate {
                    make_global: true,
                    ..NoteUpdate::default()
                },
            )
            .unwrap();
        assert_eq!(edited.venture, None);
        assert!(
            client
                .archive_note_blocking(note.id.clone())
                .unwrap()
                .archived
        );

        let active = client
            .active_blocking(ActiveFilter {
                repo: Some("venturecrane/ffi".into()),
                ..ActiveFilter::default()
            })
            .unwrap();
        assert_eq!(active.sessions.len(), 1);
        assert_eq!(active.sessions[0].session_group_id, None);

        let ended = session
            .end_blocking(EndRequest {
                summary: "done".into(),
                payload_json: "{\"next\":\"tests\"}".into(),
                status_label: None,
                to_agent: None,
                keep_session_open: false,
                last_activity_at: None,
            })
            .unwrap();
        let EndOutcome::Delivered { handoff, .. } = ended else {
            panic!("{ended:?}")
        };
        let set = client
            .set_handoff_status_blocking(handoff.id.clone(), HandoffStatusLabel::InProgress)
            .unwrap();
        assert_eq!(set.status_label.as_deref(), Some("in_progress"));
        let window = client
            .handoffs_in_window_blocking(
                None,
                HandoffWindow {
                    created_after: Some(handoff.created_at.clone()),
                    created_before: None,
                },
                None,
                None,
            )
            .unwrap();
        assert_eq!(window.total, Some(1));
        // The window pager walks the same listing page by page, and refuses a
        // window the server would refuse before sending anything.
        let pager = client
            .handoff_window_pager(
                None,
                HandoffWindow {
                    created_after: Some(handoff.created_at.clone()),
                    created_before: None,
                },
                Some(1),
            )
            .unwrap();
        let page = pager.next_page_blocking().unwrap().expect("one page");
        assert_eq!(page.handoffs.len(), 1);
        assert!(pager.next_page_blocking().unwrap().is_none());
        let refused = client
            .handoff_window_pager(
                None,
                HandoffWindow {
                    created_after: None,
                    created_before: Some(handoff.created_at.clone()),
                },
                None,
            )
            .err();
        assert!(
            matches!(refused, Some(CraneError::InvalidInput { .. })),
            "{refused:?}"
        );
        let prior = client
            .prior_session_blocking(
                "crane-ffi-test".into(),
                "vc".into(),
                "venturecrane/ffi".into(),
                Some(1),
                None,
            )
            .unwrap()
            .expect("the ended session");
        assert_eq!(prior.id, sid);
        assert!(!client.session_history_blocking(Some(1)).unwrap().is_empty());
        assert_eq!(client.memory_gate_blocking().unwrap(), MemoryGate::Either);
        assert!(!client.doc_audits_blocking(None).unwrap().is_empty());

        // Errors cross as typed errors naming the field or the server's answer.
        let bad = client.checkpoint_blocking(
            sid.clone(),
            CheckpointRequest {
                summary: " ".into(),
                work_completed: vec![],
                blockers: vec![],
                next_actions: vec![],
                notes: None,
            },
        );
        assert!(
            matches!(bad, Err(CraneError::InvalidInput { .. })),
            "{bad:?}"
        );
        let window = client.handoffs_in_window_blocking(
            None,
            HandoffWindow {
                created_after: Some("yesterday".into()),
                created_before: None,
            },
            None,
            None,
        );
        assert!(
            matches!(window, Err(CraneError::InvalidInput { .. })),
            "{window:?}"
        );
        let gone = client.note_blocking("note_01M8CQKC9F3HYAC88YDT3BEQ8J".into());
        assert!(matches!(gone, Err(CraneError::NotFound { .. })), "{gone:?}");
    })
    .await
    .unwrap();
}
