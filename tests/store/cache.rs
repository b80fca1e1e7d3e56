//! The local cache: current sessions, last handoffs, documentation.

use crane_context::store::{CachedSession, QueueLimits, Store};

use super::*;

#[test]
fn the_current_session_cache_round_trips() {
    let (_dir, _path, store) = temp_store();
    let s = CachedSession {
        session_id: "sess_1".into(),
        tuple: tuple(None),
        session_json: "{\"id\":\"sess_1\"}".into(),
        next_heartbeat_at_ms: None,
        heartbeat_interval_seconds: None,
        updated_at_ms: T0,
        keeper_pid: None,
    };
    store.put_current_session(&s).unwrap();
    assert_eq!(
        store.get_current_session(&tuple(None)).unwrap().as_ref(),
        Some(&s)
    );
    assert_eq!(
        store.get_current_session(&tuple(Some(1))).unwrap(),
        None,
        "exact tuple match"
    );

    assert!(store
        .set_heartbeat_schedule("sess_1", T0 + 600_000, 600, T0 + 1)
        .unwrap());
    assert!(store.set_keeper_pid("sess_1", Some(4242)).unwrap());
    assert!(!store.set_keeper_pid("sess_unknown", Some(1)).unwrap());
    let got = store.current_session_by_id("sess_1").unwrap().unwrap();
    assert_eq!(got.next_heartbeat_at_ms, Some(T0 + 600_000));
    assert_eq!(got.heartbeat_interval_seconds, Some(600));
    assert_eq!((got.updated_at_ms, got.keeper_pid), (T0 + 1, Some(4242)));
    assert_eq!(store.list_current_sessions().unwrap(), vec![got]);

    assert!(store.clear_current_session("sess_1").unwrap());
    assert!(!store.clear_current_session("sess_1").unwrap());
    assert_eq!(store.get_current_session(&tuple(None)).unwrap(), None);
}

#[test]
fn the_last_handoff_cache_round_trips_per_track() {
    let (_dir, _path, store) = temp_store();
    store
        .put_last_handoff("vc", "o/r", None, "{\"id\":\"ho_1\"}", T0)
        .unwrap();
    store
        .put_last_handoff("vc", "o/r", Some(3), "{\"id\":\"ho_2\"}", T0)
        .unwrap();
    store
        .put_last_handoff("vc", "o/r", None, "{\"id\":\"ho_3\"}", T0 + 1)
        .unwrap();
    let got = store.get_last_handoff("vc", "o/r", None).unwrap().unwrap();
    assert_eq!(
        (got.value.as_str(), got.fetched_at_ms),
        ("{\"id\":\"ho_3\"}", T0 + 1)
    );
    let got = store
        .get_last_handoff("vc", "o/r", Some(3))
        .unwrap()
        .unwrap();
    assert_eq!(got.value, "{\"id\":\"ho_2\"}");
    assert_eq!(store.get_last_handoff("vc", "o/r", Some(4)).unwrap(), None);
}

#[test]
fn docs_are_rewritten_only_when_their_hash_changes() {
    let (_dir, path, store) = temp_store();
    assert_eq!(store.get_docs().unwrap(), None);
    assert!(store.put_docs("h1", "[1]", T0).unwrap());
    // Same hash: only the fetch time moves, even if the caller passes other text.
    assert!(!store.put_docs("h1", "[ignored]", T0 + 5).unwrap());
    let got = store.get_docs().unwrap().unwrap();
    assert_eq!(got.value, ("h1".to_string(), "[1]".to_string()));
    assert_eq!(got.fetched_at_ms, T0 + 5);
    assert!(store.put_docs("h2", "[2]", T0 + 9).unwrap());
    drop(store);
    let got = Store::open(&path, QueueLimits::default())
        .unwrap()
        .get_docs()
        .unwrap()
        .unwrap();
    assert_eq!((got.value.1.as_str(), got.fetched_at_ms), ("[2]", T0 + 9));
}

#[test]
fn a_cached_handoff_is_found_by_its_session_id_field_only() {
    let (_dir, _path, store) = temp_store();
    store
        .put_last_handoff(
            "vc",
            "o/r",
            None,
            r#"{"id":"ho_1","session_id":"sess_A","payload":{"note":"follows sess_B"}}"#,
            T0,
        )
        .unwrap();
    store
        .put_last_handoff("vc", "o/other", None, "not json sess_C", T0)
        .unwrap();
    let found = store.cached_handoff_of_session("sess_A").unwrap();
    assert!(found.is_some_and(|j| j.contains("ho_1")));
    // Named only inside the payload: not that session's handoff.
    assert_eq!(store.cached_handoff_of_session("sess_B").unwrap(), None);
    // In a row that is not JSON: proves nothing.
    assert_eq!(store.cached_handoff_of_session("sess_C").unwrap(), None);
    assert_eq!(store.cached_handoff_of_session("sess_D").unwrap(), None);
}

/// The lookup reads the JSON, not its text: a handoff whose JSON spells the
/// session id with escapes, or is spaced out, is found, and a session id
/// that JSON must escape is found in the JSON that escapes it.
#[test]
fn a_cached_handoff_is_found_however_its_json_spells_the_session_id() {
    let (_dir, _path, store) = temp_store();
    let rows = [
        ("o/escaped", r#"{"id":"ho_e","session_id":"\u0073ess_E"}"#),
        (
            "o/spaced",
            "{ \"id\" : \"ho_s\",\n  \"session_id\" : \"sess_S\" }",
        ),
        ("o/quote", r#"{"id":"ho_q","session_id":"sess_\"Q"}"#),
        ("o/slash", r#"{"id":"ho_l","session_id":"sess\/L"}"#),
        (
            "o/newline",
            r#"{"id":"ho_n","summary":"a\nb","session_id":"sess_N"}"#,
        ),
    ];
    for (repo, json) in rows {
        store.put_last_handoff("vc", repo, None, json, T0).unwrap();
    }
    for (sid, id) in [
        ("sess_E", "ho_e"),
        ("sess_S", "ho_s"),
        ("sess_\"Q", "ho_q"),
        ("sess/L", "ho_l"),
        ("sess_N", "ho_n"),
    ] {
        let found = store.cached_handoff_of_session(sid).unwrap();
        assert!(found.is_some_and(|j| j.contains(id)), "{sid}");
    }
    // A prefix of a stored id is another session.
    assert_eq!(store.cached_handoff_of_session("sess_").unwrap(), None);
    assert_eq!(store.cached_handoff_of_session("ess_S").unwrap(), None);
}
