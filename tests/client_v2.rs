//! The v2 routes beyond the session life cycle, through the typed client,
//! against the emulator in v2 mode over loopback: each success, the
//! failures of the contract, bad input refused before sending, and the
//! retry rules of the writes the server does not deduplicate (checkpoints
//! never stored twice, note creates safe to repeat).
#![cfg(feature = "emulator")]

mod common;

use common::*;
use crane_context::emulator::{Emulator, EmulatorConfig, EmulatorHandle, Protocol};
use crane_context::model::v2::*;
use crane_context::model::*;
use crane_context::{Client, Error};
use serde_json::{json, Value};

const AGENT: &str = "crane-sdk-test-host";

async fn emulator_v2() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        protocol: Protocol::V2,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// Starts a session through the raw route (the v2 fields of `/sos` are
/// another part of the SDK), returning its id.
async fn sos(url: &str, repo: &str, track: i64, extra: Value) -> String {
    let mut body = json!({"agent": AGENT, "venture": "vc", "repo": repo, "track": track,
        "host": "test-host", "branch": "main"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let resp = reqwest::Client::new()
        .post(format!("{url}/sos"))
        .header("X-Relay-Key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    v["session_id"].as_str().unwrap().to_owned()
}

async fn end(c: &Client, sid: &str, summary: &str) -> Handoff {
    let end = EndSession::new(sid, summary, &json!({"n": 1})).unwrap();
    c.end_session(&end).await.unwrap().handoff
}

async fn checkpoint_count(c: &Client, sid: &str) -> usize {
    c.checkpoints(&CheckpointsQuery::session(sid).limit(100))
        .await
        .unwrap()
        .checkpoints
        .len()
}

fn cp(sid: &str) -> NewCheckpoint {
    NewCheckpoint::new(sid, "Parsed the contract")
        .work_completed(vec!["types".into()])
        .blockers(vec![])
        .next_actions(vec!["client".into(), "cli".into()])
        .notes("first")
}

#[tokio::test]
async fn checkpoints_are_stored_listed_and_refused_when_they_must_be() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let sid = sos(&emu.url(), "o/cp", 1, json!({})).await;
    let first = c.checkpoint(&cp(&sid)).await.unwrap();
    assert_eq!(first.checkpoint_number, 1);
    assert_eq!(first.session_id, sid);
    let second = c
        .checkpoint(&NewCheckpoint::new(&sid, "second"))
        .await
        .unwrap();
    assert_eq!(second.checkpoint_number, 2);

    let list = c
        .checkpoints(&CheckpointsQuery::session(&sid))
        .await
        .unwrap();
    assert_eq!(list.count, 2);
    assert_eq!(list.checkpoints[0].id, second.checkpoint_id, "newest first");
    let stored = &list.checkpoints[1];
    assert_eq!(stored.id, first.checkpoint_id);
    assert_eq!(
        stored.next_actions.as_deref(),
        Some(&["client".to_string(), "cli".to_string()][..])
    );
    assert_eq!(stored.blockers.as_deref(), Some(&[][..]));
    assert_eq!(stored.repo, "o/cp");
    assert!(cp(&sid).same_content(stored));

    let q = CheckpointsQuery::Venture {
        venture: "vc".into(),
        repo: Some("o/cp".into()),
        track: Some(1),
        limit: Some(1),
    };
    let by_venture = c.checkpoints(&q).await.unwrap();
    assert_eq!(by_venture.count, 1);
    assert_eq!(by_venture.checkpoints[0].id, second.checkpoint_id);

    // Local refusals: nothing is sent.
    let before = state(&emu.url()).await;
    for bad in [
        NewCheckpoint::new(&sid, "  "),
        NewCheckpoint::new("", "s"),
        NewCheckpoint::new("sess_1/../x", "s"),
    ] {
        assert!(matches!(
            c.checkpoint(&bad).await,
            Err(Error::InvalidInput { .. })
        ));
    }
    assert!(matches!(
        c.checkpoints(&CheckpointsQuery::session(&sid).limit(101))
            .await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(state(&emu.url()).await["requests"], before["requests"]);

    // Server refusals: unknown session, ended session.
    let unknown = c
        .checkpoint(&NewCheckpoint::new("sess_01M8CQK98TCC0ZE0AQ5AP1RA1R", "s"))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    end(&c, &sid, "done").await;
    let ended = c.checkpoint(&NewCheckpoint::new(&sid, "late")).await;
    assert!(
        matches!(
            ended,
            Err(Error::SessionNotActive {
                status: Some(SessionStatus::Ended),
                ..
            })
        ),
        "{ended:?}"
    );
    assert_eq!(checkpoint_count(&c, &sid).await, 2);
}

/// The server stores the checkpoint and the answer is lost: the client
/// reads it back instead of sending it again.
#[tokio::test]
async fn a_checkpoint_whose_answer_is_lost_is_confirmed_not_duplicated() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let sid = sos(&emu.url(), "o/lost", 1, json!({})).await;
    // An identical earlier checkpoint must not be taken for ours.
    let earlier = c.checkpoint(&cp(&sid)).await.unwrap();
    for mode in ["drop_after", "truncate_after"] {
        fault(&emu.url(), json!({"route": "/checkpoint", "mode": mode})).await;
        let got = c.checkpoint(&cp(&sid)).await.unwrap();
        assert_ne!(got.checkpoint_id, earlier.checkpoint_id, "{mode}");
        let list = c
            .checkpoints(&CheckpointsQuery::session(&sid))
            .await
            .unwrap();
        assert_eq!(list.checkpoints[0].id, got.checkpoint_id, "{mode}");
    }
    assert_eq!(checkpoint_count(&c, &sid).await, 3, "one per call");
}

/// The server answered 503 without storing anything: confirmed absent by
/// a read, then sent again, and stored once.
#[tokio::test]
async fn a_checkpoint_refused_by_an_answering_server_is_resent_once() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let sid = sos(&emu.url(), "o/503", 1, json!({})).await;
    fault(
        &emu.url(),
        json!({"route": "/checkpoint", "mode": "status", "status": 503, "count": 2}),
    )
    .await;
    let got = c.checkpoint(&cp(&sid)).await.unwrap();
    assert_eq!(got.checkpoint_number, 1);
    assert_eq!(checkpoint_count(&c, &sid).await, 1);
}

/// The connection broke after the request was sent and nothing is stored
/// (yet): the attempt may still be running, so it is not resent; the error
/// says so.
#[tokio::test]
async fn a_checkpoint_cut_off_in_flight_is_reported_not_resent() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let sid = sos(&emu.url(), "o/cut", 1, json!({})).await;
    fault(
        &emu.url(),
        json!({"route": "/checkpoint", "mode": "drop_before"}),
    )
    .await;
    let err = c.checkpoint(&cp(&sid)).await.unwrap_err();
    assert!(err.is_connectivity(), "{err:?}");
    assert!(err.to_string().contains("not resent"), "{err}");
    assert_eq!(checkpoint_count(&c, &sid).await, 0);
    // A later call is a new checkpoint and goes through.
    assert_eq!(c.checkpoint(&cp(&sid)).await.unwrap().checkpoint_number, 1);
}

/// No server at all: nothing can have been stored; a typed connectivity error.
#[tokio::test]
async fn a_checkpoint_to_an_unreachable_server_fails_with_a_connectivity_error() {
    let emu = emulator_v2().await;
    let url = emu.url();
    emu.shutdown().await;
    let c = client(&url);
    let err = c
        .checkpoint(&NewCheckpoint::new("sess_01M8CQK98TCC0ZE0AQ5AP1RA1R", "s"))
        .await
        .unwrap_err();
    assert!(err.is_connectivity(), "{err:?}");
}

#[tokio::test]
async fn notes_are_created_once_listed_paged_updated_and_archived() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let tag = "sdk-notes-test".to_string();
    let new = NewNote::new("Heartbeats jitter by 120 s.")
        .title("Jitter")
        .tags(vec![tag.clone(), "sdk".into()])
        .venture("vc");
    let note = c.create_note(&new).await.unwrap();
    assert_eq!(note.content, "Heartbeats jitter by 120 s.");
    assert_eq!(
        note.tags.as_deref(),
        Some(&[tag.clone(), "sdk".to_string()][..])
    );
    assert_eq!(
        note.source_hash.as_deref(),
        Some(new.content_source_hash().unwrap().as_str())
    );
    assert!(!note.archived);

    // The same note again is the same note (the create is an upsert).
    let again = c.create_note(&new).await.unwrap();
    assert_eq!(again.id, note.id);
    // The answer lost after the server stored it: the retry is the same note.
    fault(&emu.url(), json!({"route": "/notes", "mode": "drop_after"})).await;
    let note = c.create_note(&new).await.unwrap();
    assert_eq!(note.id, again.id);
    // Different content is a different note.
    let other = c
        .create_note(&NewNote::new("Second").tags(vec![tag.clone()]).venture("vc"))
        .await
        .unwrap();
    assert_ne!(other.id, note.id);

    let q = NotesQuery::new().tag(&tag).limit(1);
    let page1 = c.notes(&q).await.unwrap();
    assert_eq!((page1.count, page1.total_matching), (1, 2));
    assert_eq!(page1.notes[0].id, other.id, "newest first");
    let q2 = q.after(&page1).expect("a second page");
    let page2 = c.notes(&q2).await.unwrap();
    assert_eq!(page2.notes[0].id, note.id);
    assert!(q2.after(&page2).is_none());
    let found = c
        .notes(&NotesQuery::new().tag(&tag).query("jitter"))
        .await
        .unwrap();
    assert_eq!(found.notes.len(), 1);
    assert_eq!(found.notes[0].id, note.id);

    assert_eq!(c.note(&note.id).await.unwrap(), note);
    let edited = c
        .update_note(
            &note.id,
            &NoteChanges::new()
                .title("Jitter (edited)")
                .tags(vec![tag.clone(), "edited".into()]),
        )
        .await
        .unwrap();
    assert_eq!(edited.title.as_deref(), Some("Jitter (edited)"));
    assert_eq!(edited.content, note.content);
    let archived = c.archive_note(&note.id).await.unwrap();
    assert!(archived.archived);
    let active = c.notes(&NotesQuery::new().tag(&tag)).await.unwrap();
    assert_eq!(active.total_matching, 1);
    let all = c
        .notes(&NotesQuery::new().tag(&tag).include_archived(true))
        .await
        .unwrap();
    assert_eq!(all.total_matching, 2);

    // Failures: unknown note, unknown venture; local refusals send nothing.
    let unknown = c.note("note_01M8CQKC9F3HYAC88YDT3BEQ8J").await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    let venture = c.create_note(&NewNote::new("x").venture("zzz")).await;
    assert!(
        matches!(venture, Err(Error::Validation { .. })),
        "{venture:?}"
    );
    let before = state(&emu.url()).await;
    let long_tag = NewNote::new("x").tags(vec!["t".repeat(51)]);
    assert!(matches!(
        c.create_note(&long_tag).await,
        Err(Error::InvalidInput { .. })
    ));
    let big = NewNote::new("x".repeat(MAX_NOTE_BYTES + 1));
    assert!(matches!(
        c.create_note(&big).await,
        Err(Error::PayloadTooLarge { .. })
    ));
    assert!(matches!(
        c.update_note(&note.id, &NoteChanges::new()).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        c.note("../notes").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        c.notes(&NotesQuery::new().limit(0)).await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(state(&emu.url()).await["requests"], before["requests"]);
}

#[tokio::test]
async fn siblings_prior_sessions_activity_and_history() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let group = json!({"session_group_id": "group-sdk-test"});
    let a = sos(&emu.url(), "o/group", 2, group.clone()).await;
    let b = sos(&emu.url(), "o/group", 3, group).await;
    let sib = c.siblings("group-sdk-test", None).await.unwrap();
    assert_eq!(sib.count, 2);
    assert_eq!(sib.session_group_id, "group-sdk-test");
    let others = c.siblings("group-sdk-test", Some(&a)).await.unwrap();
    assert_eq!(others.siblings.len(), 1);
    assert_eq!(others.siblings[0].id, b);
    assert_eq!(others.siblings[0].track, Some(3));
    assert!(matches!(
        c.siblings("", None).await,
        Err(Error::InvalidInput { .. })
    ));

    // Activity inside the session's lifetime is kept once per minute.
    // Two instants of one minute (the next one, so after the session's start
    // and never split by a minute boundary).
    let now = jiff::Timestamp::now();
    let minute = jiff::Timestamp::from_second((now.as_second() / 60 + 1) * 60).unwrap();
    let batch = ActivityBatch::new([
        minute + jiff::SignedDuration::from_secs(1),
        minute + jiff::SignedDuration::from_secs(2),
    ]);
    let first = c.record_activity(&a, &batch).await.unwrap();
    assert_eq!(first.recorded, 1, "{first:?}");
    let again = c.record_activity(&a, &batch).await.unwrap();
    assert_eq!((again.recorded, again.skipped), (0, 1), "{again:?}");
    let early = ActivityBatch::new([now - jiff::SignedDuration::from_hours(2)]);
    assert_eq!(
        c.record_activity(&a, &early)
            .await
            .unwrap()
            .skipped_out_of_window,
        1
    );
    let bad = ActivityBatch {
        events: vec![ActivityEvent {
            ts: "yesterday".into(),
        }],
        source: None,
    };
    assert!(matches!(
        c.record_activity(&a, &bad).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        c.record_activity("sess_x", &batch).await,
        Err(Error::InvalidInput { .. })
    ));

    // Prior: none while active; the ended one after /eos.
    let q = PriorSessionQuery::new(AGENT, "vc", "o/group").track(2);
    assert_eq!(c.prior_session(&q).await.unwrap(), None);
    end(&c, &a, "group member done").await;
    let prior = c
        .prior_session(&q)
        .await
        .unwrap()
        .expect("the ended session");
    assert_eq!(prior.id, a);
    assert_eq!(prior.status, SessionStatus::Ended);
    assert_eq!(prior.session_group_id.as_deref(), Some("group-sdk-test"));
    assert!(matches!(
        c.prior_session(&q.clone().within_hours(0)).await,
        Err(Error::InvalidInput { .. })
    ));

    // History: the ended session is counted under its venture.
    let history = c.session_history(Some(1)).await.unwrap();
    let vc = history
        .entries
        .iter()
        .find(|e| e.venture == "vc")
        .expect("a vc entry");
    assert_eq!(vc.total_sessions, 1);
    assert!(vc.blocks[0].repos.contains(&"o/group".to_string()));
    assert!(matches!(
        c.session_history(Some(91)).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn handoff_status_dates_totals_and_optional_active_filters() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    let before = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let s1 = sos(&emu.url(), "o/ho", 1, json!({})).await;
    let h1 = end(&c, &s1, "first").await;
    let s2 = sos(&emu.url(), "o/ho", 2, json!({})).await;

    // /active: no filter, venture only, agent+track.
    let all = c.active(&ActiveFilter::all()).await.unwrap();
    assert!(all.sessions.iter().any(|s| s.id == s2));
    let by_track = c
        .active(&ActiveFilter::all().agent(AGENT).venture("vc").track(2))
        .await
        .unwrap();
    assert_eq!(by_track.count, 1);
    assert_eq!(by_track.sessions[0].id, s2);
    let gone = c.active(&ActiveFilter::all().repo("o/none")).await.unwrap();
    assert_eq!(gone.count, 0);

    let h2 = end(&c, &s2, "second").await;

    // Status label.
    let updated = c
        .set_handoff_status(&h1.id, HandoffStatusLabel::Blocked)
        .await
        .unwrap();
    assert_eq!(updated.status_label.as_deref(), Some("blocked"));
    assert_eq!(updated.payload_hash, h1.payload_hash);
    let unknown = c
        .set_handoff_status("ho_01M8CQKARPZ1ES2F7748R63NGV", HandoffStatusLabel::Done)
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert!("in-progress".parse::<HandoffStatusLabel>().is_err());

    // Pages carry total; date windows filter.
    let repo = HandoffFilter::Repo {
        venture: "vc".into(),
        repo: "o/ho".into(),
    };
    let page = c
        .handoffs(&HandoffsQuery::new(repo.clone()).limit(1))
        .await
        .unwrap();
    assert_eq!((page.count, page.total), (1, Some(2)));
    assert_eq!(page.handoffs[0].id, h2.id);
    let after_h1 = c
        .handoffs(&HandoffsQuery::new(repo.clone()).created_after(h2.created_at))
        .await
        .unwrap();
    assert_eq!(after_h1.total, Some(1));
    let window = c
        .handoffs(
            &HandoffsQuery::new(HandoffFilter::Dates)
                .created_after(before)
                .created_before(h2.created_at),
        )
        .await
        .unwrap();
    assert_eq!(window.handoffs.len(), 1);
    assert_eq!(window.handoffs[0].id, h1.id);
    let only_before = HandoffsQuery::new(HandoffFilter::Dates).created_before(before);
    assert!(matches!(
        c.handoffs(&only_before).await,
        Err(Error::InvalidInput { .. })
    ));

    // /handoffs/latest decodes the v2 record.
    let latest = c
        .latest_handoff(&LatestHandoffQuery::Session(s1.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.status_label.as_deref(), Some("blocked"));
}

#[tokio::test]
async fn docs_audits_and_the_memory_gate() {
    let emu = emulator_v2().await;
    let c = client(&emu.url());
    control(
        &emu.url(),
        reqwest::Method::POST,
        "docs",
        Some(
            json!({"scope": "vc", "doc_name": "vc-api.md", "content": "# API\n",
            "title": "API", "description": "the API"}),
        ),
    )
    .await;
    let list = c.docs("vc").await.unwrap();
    assert_eq!(list.count as usize, list.docs.len());
    let listed = list
        .docs
        .iter()
        .find(|d| d.doc_name == "vc-api.md")
        .expect("the seeded doc");
    let doc = c.doc("vc", "vc-api.md").await.unwrap();
    assert_eq!(doc.content, "# API\n");
    assert_eq!(doc.content_hash, listed.content_hash);
    let missing = c.doc("vc", "nope.md").await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(matches!(
        c.doc("vc", "a/b").await,
        Err(Error::InvalidInput { .. })
    ));

    let audit = c.doc_audit("vc").await.unwrap();
    assert_eq!(audit.venture, "vc");
    assert!(audit.present.iter().any(|d| d.doc_name == "vc-api.md"));
    assert!(audit.missing.iter().all(|d| d.doc_name != "vc-api.md"));
    let audits = c.doc_audits().await.unwrap();
    assert!(audits.len() > 1 && audits.iter().any(|a| a.venture == "vc"));

    assert_eq!(c.memory_gate().await.unwrap(), MemoryGate::Either);
}
