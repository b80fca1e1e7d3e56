//! Every route of the typed client against the emulator over loopback:
//! each success, each failure status of the contract, and bad input that
//! must fail locally without sending anything.

mod common;

use common::*;
use crane_context::model::*;
use crane_context::{Client, Error, IdempotencyKey, RetryPolicy};
use futures_util::TryStreamExt;
use serde_json::json;

fn sod(repo: &str) -> StartSession {
    StartSession::new("cc-cli-test", "vc", repo)
        .track(1)
        .branch("main")
        .include_docs(false)
}

#[tokio::test]
async fn full_lifecycle_and_queries() {
    let emu = emulator().await;
    let c = client(&emu.url());
    let health = c.health().await.unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);

    let started = c
        .start_session(&sod("o/life").include_docs(true))
        .await
        .unwrap();
    assert_eq!(started.status, SodStatus::Created);
    assert!((480..=720).contains(&started.heartbeat_interval_seconds));
    let docs = started.documentation.as_ref().expect("docs by default");
    assert_eq!(docs.count as usize, docs.docs.len());
    let resumed = c.start_session(&sod("o/life")).await.unwrap();
    assert_eq!(resumed.status, SodStatus::Resumed);
    assert_eq!(resumed.session_id, started.session_id);
    assert!(resumed.documentation.is_none());

    let sid = started.session_id.clone();
    let up = c
        .update(
            &Update::new(&sid)
                .branch("feat")
                .commit_sha("abc")
                .meta(json!({"f": 1})),
        )
        .await
        .unwrap();
    assert_eq!(up.session_id, sid);
    let hb = c.heartbeat(&sid).await.unwrap();
    assert!(hb.next_heartbeat_at > hb.last_heartbeat_at);

    let active = c
        .active_sessions(&ActiveQuery::new("cc-cli-test", "vc", "o/life"))
        .await
        .unwrap();
    assert_eq!(active.count, 1);
    assert_eq!(active.sessions[0].branch.as_deref(), Some("feat"));
    assert_eq!(active.sessions[0].meta_json.as_deref(), Some("{\"f\":1}"));

    let payload = json!({"z": 1, "nested": {"b": "é", "a": 1.5e-7}, "a": [3, 1, 2]});
    let end = EndSession::new(&sid, "done", &payload)
        .unwrap()
        .status_label("in-progress")
        .to_agent("cc-next");
    let local_hash = end.payload.hash().unwrap().to_owned();
    let ended = c.end_session(&end).await.unwrap();
    assert_eq!(ended.handoff.payload_hash, local_hash);
    assert!(ended.handoff.hash_matches());
    assert_eq!(ended.handoff.payload().unwrap(), payload);
    assert_eq!(ended.handoff.branch.as_deref(), Some("feat"));

    let latest = c
        .latest_handoff(&LatestHandoffQuery::Session(sid.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, ended.handoff_id);
    let by_track = c
        .latest_handoff(&LatestHandoffQuery::Track {
            venture: "vc".into(),
            repo: "o/life".into(),
            track: 1,
        })
        .await
        .unwrap();
    assert_eq!(by_track.map(|h| h.id), Some(ended.handoff_id.clone()));
    let none = c
        .latest_handoff(&LatestHandoffQuery::Issue {
            venture: "vc".into(),
            repo: "o/life".into(),
            issue_number: 999,
        })
        .await
        .unwrap();
    assert!(none.is_none());
    let active = c
        .active_sessions(&ActiveQuery::new("cc-cli-test", "vc", "o/life"))
        .await
        .unwrap();
    assert_eq!(active.count, 0);
}

#[tokio::test]
async fn pagination_walks_every_page_newest_first() {
    let emu = emulator().await;
    let c = client(&emu.url());
    let mut ids = Vec::new();
    for i in 0..7 {
        let s = c.start_session(&sod("o/pages").track(i)).await.unwrap();
        let e = c
            .end_session(
                &EndSession::new(&s.session_id, format!("p{i}"), &json!({"i": i})).unwrap(),
            )
            .await
            .unwrap();
        ids.push(e.handoff_id);
    }
    ids.reverse();
    let q = HandoffsQuery::new(HandoffFilter::Repo {
        venture: "vc".into(),
        repo: "o/pages".into(),
    })
    .limit(3);
    let first = c.handoffs(&q).await.unwrap();
    assert_eq!(first.count, 3);
    assert!(first.has_more);
    let pages: Vec<HandoffPage> = c.handoff_pages(q.clone()).try_collect().await.unwrap();
    assert_eq!(pages.len(), 3);
    let all: Vec<Handoff> = c.all_handoffs(q).try_collect().await.unwrap();
    assert_eq!(all.iter().map(|h| h.id.clone()).collect::<Vec<_>>(), ids);
    let by_agent: Vec<Handoff> = c
        .all_handoffs(HandoffsQuery::new(HandoffFilter::FromAgent("cc-cli-test".into())).limit(100))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_agent.len(), 7);
    let track2 = c
        .handoffs(&HandoffsQuery::new(HandoffFilter::Track {
            venture: "vc".into(),
            repo: "o/pages".into(),
            track: 2,
        }))
        .await
        .unwrap();
    assert_eq!(track2.count, 1);
}

#[tokio::test]
async fn failure_statuses_are_typed_with_correlation_ids() {
    let emu = emulator().await;
    let c = client(&emu.url());
    // 401: wrong key.
    let wrong = Client::new(&emu.url(), "not-the-key-at-all").unwrap();
    match wrong.start_session(&sod("o/err")).await {
        Err(Error::Unauthorized { correlation_id, .. }) => {
            assert!(correlation_id.unwrap().starts_with("corr_"))
        }
        other => panic!("{other:?}"),
    }
    // 404: unknown session.
    assert!(matches!(
        c.heartbeat("sess_01ZZZZZZZZZZZZZZZZZZZZZZZZ").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.update(&Update::new("sess_01ZZZZZZZZZZZZZZZZZZZZZZZZ"))
            .await,
        Err(Error::NotFound { .. })
    ));
    // 409: ended session.
    let s = c.start_session(&sod("o/err")).await.unwrap();
    c.end_session(&EndSession::new(&s.session_id, "x", &json!({})).unwrap())
        .await
        .unwrap();
    match c.heartbeat(&s.session_id).await {
        Err(
            e @ Error::SessionNotActive {
                status: Some(SessionStatus::Ended),
                ..
            },
        ) => {
            assert!(e.correlation_id().is_some());
        }
        other => panic!("{other:?}"),
    }
    // A second, different end of an ended session is a conflict, not a success.
    match c
        .end_session(&EndSession::new(&s.session_id, "other", &json!({"x": 1})).unwrap())
        .await
    {
        Err(Error::HandoffConflict {
            server_hash: Some(_),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // 400: the server's validation (a bad cursor).
    let q = HandoffsQuery::new(HandoffFilter::Repo {
        venture: "vc".into(),
        repo: "o/err".into(),
    })
    .cursor("!!!");
    match c.handoffs(&q).await {
        Err(Error::Validation {
            fields,
            correlation_id,
            ..
        }) => {
            assert_eq!(fields[0].field, "cursor");
            assert!(correlation_id.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_input_is_rejected_locally_and_nothing_is_sent() {
    let emu = emulator().await;
    let c = client(&emu.url());
    let before = state(&emu.url()).await["requests_count"].clone();
    assert!(
        matches!(Client::new(&emu.url(), ""), Err(Error::InvalidInput { ref field, .. }) if field == "relay_key")
    );
    assert!(
        matches!(Client::new("http://example.com", KEY), Err(Error::InvalidInput { ref field, .. }) if field == "url")
    );
    assert!(
        matches!(EndSession::new("s", "  ", &json!({})), Err(Error::InvalidInput { ref field, .. }) if field == "summary")
    );
    assert!(
        matches!(EndSession::new("s", "x", &json!([1])), Err(Error::InvalidInput { ref field, .. }) if field == "payload")
    );
    let big = json!({"blob": "x".repeat(819_200)});
    assert!(matches!(
        EndSession::new("s", "x", &big),
        Err(Error::PayloadTooLarge { .. })
    ));
    assert!(
        matches!(c.start_session(&StartSession::new("", "vc", "r")).await, Err(Error::InvalidInput { ref field, .. }) if field == "agent")
    );
    assert!(
        matches!(c.start_session(&sod("o/x").meta(json!("str"))).await, Err(Error::InvalidInput { ref field, .. }) if field == "meta")
    );
    let q = HandoffsQuery::new(HandoffFilter::FromAgent("a".into())).limit(500);
    assert!(
        matches!(c.handoffs(&q).await, Err(Error::InvalidInput { ref field, .. }) if field == "limit")
    );
    assert!(IdempotencyKey::parse("short").is_err());
    let after = state(&emu.url()).await["requests_count"].clone();
    assert_eq!(before, after, "no request may reach the server");
}

#[tokio::test]
async fn unreachable_server_and_garbage_bodies_are_typed_errors() {
    // Nothing listens on this port once the emulator is shut down.
    let emu = emulator().await;
    let url = emu.url();
    emu.shutdown().await;
    let c = client(&url);
    let e = c.heartbeat("sess_x").await.unwrap_err();
    assert!(matches!(e, Error::Network { .. }), "{e:?}");
    assert!(e.is_connectivity());
    assert!(!c.connectivity().is_online());

    // A server that answers HTML.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let body = "<html>oops</html>";
            let _ = s
                .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes())
                .await;
        }
    });
    let c =
        Client::with_config(client_config(&format!("http://{addr}")).retry(RetryPolicy::none()))
            .unwrap();
    match c.heartbeat("sess_x").await {
        Err(Error::Decode {
            status: 200,
            message,
            ..
        }) => assert!(message.contains("unexpected response body"), "{message}"),
        other => panic!("{other:?}"),
    }
}
