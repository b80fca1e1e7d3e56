//! Security properties of the client against hostile servers on loopback
//! (issue #11): the relay key never leaves for another host, and what a
//! server sends back is bounded.
//!
//! Each server here is real (tokio sockets on 127.0.0.1 and 127.0.0.2); it
//! records what it received, so a test asserts on what actually crossed the
//! wire rather than on what the client believes it did.

mod common;

use common::hostile::{hostile, json_response, redirect_response};
use common::*;
use crane_context::model::{HandoffFilter, HandoffsQuery, StartSession};
use crane_context::Error;
use futures_util::StreamExt;

fn sod() -> StartSession {
    StartSession::new("cc-cli-test", "vc", "o/sec").include_docs(false)
}

/// A 3xx is not followed, whatever its kind: the host it names (another
/// loopback address, plain http) receives nothing, the error names the
/// Location (without its userinfo) and the origin is asked once.
#[tokio::test]
async fn redirects_are_not_followed_and_the_key_stays_home() {
    let elsewhere = hostile("127.0.0.2:0", |_| json_response(200, "{}")).await;
    for status in [301u16, 302, 303, 307, 308] {
        let location = format!("http://thief:pw@{}/eod", elsewhere.addr);
        let shown = format!("http://{}/eod", elsewhere.addr);
        let loc = location.clone();
        let origin = hostile("127.0.0.1:0", move |_| redirect_response(status, &loc)).await;
        // Pinned: the request under test is the keyed one, not the probe.
        let pinned = client_config(&origin.url()).protocol(crane_context::Generation::V1);
        let err = crane_context::Client::with_config(pinned)
            .unwrap()
            .start_session(&sod())
            .await
            .unwrap_err();
        match &err {
            Error::Redirected {
                status: s,
                location,
            } => {
                assert_eq!(*s, status);
                assert_eq!(location, &shown);
            }
            other => panic!("HTTP {status}: want Redirected, got {other:?}"),
        }
        assert!(!err.to_string().contains("pw@"), "{err}");
        assert!(!err.is_transient());
        let sent = origin.requests();
        assert_eq!(sent.len(), 1, "a redirect is permanent: no retry");
        assert!(sent[0].head.to_ascii_lowercase().contains("x-relay-key"));
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect target received {:?}",
        elsewhere.requests()
    );
}

/// One handoff as the server lists it.
fn handoff_json(i: usize) -> String {
    format!(
        r#"{{"actor_key_id":"3ebd13c0000708e1","branch":"main","commit_sha":"abc","created_at":"2026-11-23T11:46:27.087Z","creation_correlation_id":"corr_x","from_agent":"cc-cli-host","id":"ho_{i:026}","issue_number":null,"payload_hash":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","payload_json":"{{}}","payload_size_bytes":2,"repo":"o/sec","schema_version":"1.0","session_id":"sess_01M843N5M3HK0BW7GMNX93ZPYS","status_label":null,"summary":"s","to_agent":null,"track":null,"venture":"vc"}}"#
    )
}

/// A `/handoffs` page answer.
fn page_json(items: usize, next: Option<&str>) -> String {
    let handoffs: Vec<String> = (0..items).map(handoff_json).collect();
    let next = next.map_or("null".to_owned(), |c| format!("\"{c}\""));
    format!(
        r#"{{"handoffs":[{}],"next_cursor":{next},"has_more":{},"count":{items}}}"#,
        handoffs.join(","),
        next != "null"
    )
}

/// The cursor a recorded request asked for.
fn cursor_of(head: &str) -> Option<String> {
    let target = head.split_whitespace().nth(1)?;
    target
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("cursor="))
        .map(str::to_owned)
}

fn by_session() -> HandoffsQuery {
    HandoffsQuery::new(HandoffFilter::Session(
        "sess_01M843N5M3HK0BW7GMNX93ZPYS".into(),
    ))
}

/// Walks pages (at most `cap` of them, so a client that would page forever
/// still ends the test) and returns how many arrived and the error, if any.
async fn walk(url: &str, cap: usize) -> (usize, Option<Error>) {
    let c = client(url);
    let mut pages = std::pin::pin!(c.handoff_pages(by_session()).take(cap));
    let mut n = 0;
    while let Some(p) = pages.next().await {
        match p {
            Ok(_) => n += 1,
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// A server answering `has_more: true` with the same cursor forever: the
/// walk stops with a typed error instead of paging forever.
#[tokio::test]
async fn a_repeated_cursor_stops_the_walk() {
    let server = hostile("127.0.0.1:0", |_| {
        json_response(200, &page_json(1, Some("same")))
    })
    .await;
    let (pages, err) = walk(&server.url(), 50).await;
    assert!(
        matches!(err, Some(Error::PagingStopped { pages: 2, .. })),
        "{pages} pages, {err:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

/// A cycle of two cursors (A → B → A) is caught too.
#[tokio::test]
async fn a_cursor_cycle_stops_the_walk() {
    let server = hostile("127.0.0.1:0", |r| {
        let next = match cursor_of(&r.head).as_deref() {
            Some("a") => "b",
            _ => "a",
        };
        json_response(200, &page_json(1, Some(next)))
    })
    .await;
    let (_, err) = walk(&server.url(), 50).await;
    assert!(
        matches!(err, Some(Error::PagingStopped { pages: 3, .. })),
        "{err:?}"
    );
}

/// "More follow" with an empty page makes no progress: stopped.
#[tokio::test]
async fn an_empty_page_that_claims_more_stops_the_walk() {
    let server = hostile("127.0.0.1:0", |r| {
        let n = cursor_of(&r.head).map_or(0, |c| c.len());
        json_response(200, &page_json(0, Some(&"x".repeat(n + 1))))
    })
    .await;
    let (_, err) = walk(&server.url(), 50).await;
    assert!(
        matches!(err, Some(Error::PagingStopped { pages: 1, .. })),
        "{err:?}"
    );
}

/// Fresh cursors forever: the walk ends at its documented ceiling.
#[tokio::test]
async fn endless_fresh_cursors_stop_at_the_ceiling() {
    let server = hostile("127.0.0.1:0", |r| {
        let n: u64 = cursor_of(&r.head).and_then(|c| c.parse().ok()).unwrap_or(0);
        json_response(200, &page_json(1, Some(&(n + 1).to_string())))
    })
    .await;
    let ceiling = crane_context::policy::MAX_PAGES_PER_WALK as usize;
    let (pages, err) = walk(&server.url(), ceiling + 10).await;
    assert_eq!(pages, ceiling - 1, "{err:?}");
    assert!(
        matches!(err, Some(Error::PagingStopped { pages, .. }) if pages as usize == ceiling),
        "{err:?}"
    );
}

/// A body past the cap stops the read as it streams (no Content-Length,
/// so only counting the bytes can catch it), and a declared Content-Length
/// past the cap is refused before reading.
#[tokio::test]
async fn bodies_past_the_cap_are_refused_while_streaming() {
    let cap = crane_context::policy::MAX_RESPONSE_BYTES as usize;
    let streamed = hostile("127.0.0.1:0", move |_| {
        let mut r =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                .to_vec();
        r.extend(std::iter::repeat_n(b' ', cap + 1));
        r
    })
    .await;
    let err = client(&streamed.url())
        .start_session(&sod())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { status: 200, limit_bytes } if limit_bytes as usize == cap),
        "{err:?}"
    );
    assert_eq!(streamed.requests().len(), 1, "not retried");

    let declared = hostile("127.0.0.1:0", |_| {
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 52428800\r\nconnection: close\r\n\r\n{}".to_vec()
    })
    .await;
    let err = client(&declared.url())
        .start_session(&sod())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err:?}");
}

/// The measurement behind `policy::MAX_RESPONSE_BYTES`: the largest
/// legitimate answers — a `/sod` with docs, and an `/eod` and a
/// `/handoffs/latest` holding a maximal payload made of characters that
/// JSON escapes twice (`"` inside `payload_json`) — fit with at least eight
/// times room. (A measurement, not a regression test: it held before too.)
#[tokio::test]
async fn the_largest_legitimate_answers_fit_well_under_the_cap() {
    let emu = emulator().await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", emu.url()))
            .header("x-relay-key", KEY)
            .json(&body)
            .send()
    };
    let sod = post(
        "/sod",
        serde_json::json!({"agent": "cc-cli-test", "venture": "vc", "repo": "o/big", "docs_format": "full"}),
    )
    .await
    .unwrap();
    assert!(sod.status().is_success());
    let sod = sod.bytes().await.unwrap();
    let sid = serde_json::from_slice::<serde_json::Value>(&sod).unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        String::from_utf8_lossy(&sod).contains("\"documentation\""),
        "docs included"
    );
    // Canonical `{"q":"\"\"…"}`: each quote is 2 bytes; stay just under 800 KiB.
    let quotes = (819_200 - 16) / 2;
    let payload = serde_json::json!({"q": "\"".repeat(quotes)});
    let eod = post(
        "/eod",
        serde_json::json!({"session_id": sid, "summary": "big", "payload": payload}),
    )
    .await
    .unwrap();
    assert!(eod.status().is_success(), "{}", eod.status());
    let eod = eod.bytes().await.unwrap();
    let latest = http
        .get(format!("{}/handoffs/latest?session_id={sid}", emu.url()))
        .header("x-relay-key", KEY)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let cap = crane_context::policy::MAX_RESPONSE_BYTES as usize;
    println!(
        "sod with docs {} B, eod {} B, latest {} B, cap {cap} B",
        sod.len(),
        eod.len(),
        latest.len()
    );
    assert!(eod.len() > 1_500_000, "the payload was escaped twice");
    for (what, n) in [
        ("sod", sod.len()),
        ("eod", eod.len()),
        ("latest", latest.len()),
    ] {
        assert!(n * 8 <= cap, "{what}: {n} bytes leaves less than 8x room");
    }
}
