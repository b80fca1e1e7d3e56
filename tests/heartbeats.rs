//! Automatic heartbeats on tokio's paused clock: the exact schedule the
//! server proposes, resets by `/update`, retries on failure, the session
//! lost on 409, an immediate beat after a wall-clock jump, and stopping.
//!
//! The emulator runs in the same single-threaded runtime, so sleeps of many
//! minutes take no real time while every request still crosses loopback.

mod common;

use std::time::Duration;

use common::*;
use crane_context::emulator::Protocol;
use crane_context::engine::{Clock, Event};
use crane_context::model::{StartSession, Update};
use jiff::Timestamp;
use serde_json::json;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(3600);

fn sod(repo: &str) -> StartSession {
    StartSession::new("cc-beat", "vc", repo)
        .track(1)
        .include_docs(false)
}

fn secs_until(at: Timestamp) -> f64 {
    at.duration_since(Timestamp::now()).as_secs_f64()
}

both_generations!(
    beats_follow_the_server_schedule_exactly,
    start_paused = true
);
async fn beats_follow_the_server_schedule_exactly(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let mut e = engine(&emu.url()).await;
    let s = e.crane.start_session(sod("o/beat")).await.unwrap();
    // The server says "now" and "next"; with zero jitter the beat is due
    // exactly that far ahead on the monotonic clock.
    let mut expected = s.start_response().unwrap().heartbeat_interval_seconds as f64;
    let mut last = Instant::now();
    for _ in 0..4 {
        let ev = e
            .events
            .wait_for(WAIT, |e| matches!(e, Event::HeartbeatSent { .. }))
            .await;
        let gap = last.elapsed().as_secs_f64();
        assert!(
            (gap - expected).abs() < 0.01,
            "gap {gap} vs scheduled {expected}"
        );
        assert!(
            (480.0..=720.0).contains(&gap),
            "server intervals are 480-720 s, got {gap}"
        );
        let Event::HeartbeatSent {
            interval_seconds, ..
        } = ev
        else {
            unreachable!()
        };
        expected = interval_seconds as f64;
        last = Instant::now();
    }
    let hb = state(&emu.url()).await["requests_count"]["/heartbeat"]
        .as_u64()
        .unwrap();
    assert_eq!(hb, 4);
}

both_generations!(update_resets_the_schedule, start_paused = true);
async fn update_resets_the_schedule(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let mut e = engine(&emu.url()).await;
    let s = e.crane.start_session(sod("o/reset")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(300)).await;
    let up = s
        .update(Update::new(s.session_id()).branch("b"))
        .await
        .unwrap();
    let crane_context::UpdateOutcome::Applied(r) = up else {
        panic!("{up:?}")
    };
    let expected = secs_until(r.next_heartbeat_at);
    let t = Instant::now();
    let ev = e
        .events
        .wait_for(WAIT, |e| matches!(e, Event::HeartbeatSent { .. }))
        .await;
    let gap = t.elapsed().as_secs_f64();
    assert!((gap - expected).abs() < 0.5, "gap {gap} vs {expected}");
    let Event::HeartbeatSent {
        next_heartbeat_at, ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(
        s.next_heartbeat_at(),
        next_heartbeat_at,
        "the handle follows the newest schedule"
    );
}

both_generations!(
    failures_retry_with_backoff_then_recover,
    start_paused = true
);
async fn failures_retry_with_backoff_then_recover(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let mut e = engine(&emu.url()).await;
    let s = e.crane.start_session(sod("o/fail")).await.unwrap();
    // 4 attempts per beat (the test retry policy), 2 beats fail in full.
    fault(
        &emu.url(),
        json!({"route": "/heartbeat", "mode": "status", "status": 500, "count": 8}),
    )
    .await;
    let first = e
        .events
        .wait_for(WAIT, |e| matches!(e, Event::HeartbeatFailed { .. }))
        .await;
    assert!(matches!(first, Event::HeartbeatFailed { attempt: 1, .. }));
    let t = Instant::now();
    let second = e
        .events
        .wait_for(WAIT, |e| matches!(e, Event::HeartbeatFailed { .. }))
        .await;
    assert!(matches!(second, Event::HeartbeatFailed { attempt: 2, .. }));
    let gap = t.elapsed().as_secs_f64();
    // Heartbeat retry base is 5 s, plus the in-call retries' short backoff.
    assert!((5.0..6.0).contains(&gap), "first retry after {gap} s");
    e.events
        .wait_for(WAIT, |e| matches!(e, Event::HeartbeatSent { .. }))
        .await;
    assert!(s.is_beating());
}

both_generations!(
    session_ended_elsewhere_is_reported_lost_and_beats_stop,
    start_paused = true
);
async fn session_ended_elsewhere_is_reported_lost_and_beats_stop(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let mut e = engine(&emu.url()).await;
    let s = e.crane.start_session(sod("o/lost")).await.unwrap();
    let other = client(&emu.url());
    other
        .end_session(
            &crane_context::model::EndSession::new(s.session_id(), "elsewhere", &json!({}))
                .unwrap(),
        )
        .await
        .unwrap();
    let ev = e
        .events
        .wait_for(WAIT, |e| matches!(e, Event::SessionLost { .. }))
        .await;
    assert!(matches!(
        ev,
        Event::SessionLost {
            error: crane_context::Error::SessionNotActive { .. },
            ..
        }
    ));
    tokio::task::yield_now().await;
    assert!(!s.is_beating());
}

both_generations!(wall_clock_jump_beats_at_once, start_paused = true);
async fn wall_clock_jump_beats_at_once(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let clock = Clock::system();
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut e = engine_at(&emu.url(), dir, clock.clone()).await;
    let s = e.crane.start_session(sod("o/jump")).await.unwrap();
    assert!(secs_until(s.next_heartbeat_at()) > 400.0);
    // The machine sleeps for an hour: wall time moves, tokio's monotonic clock does not.
    clock.jump(Duration::from_secs(3600));
    let t = Instant::now();
    e.events
        .wait_for(WAIT, |e| matches!(e, Event::HeartbeatSent { .. }))
        .await;
    // Noticed by the watchdog within one tick (30 s), not after the ~10 min schedule.
    assert!(t.elapsed() <= Duration::from_secs(31), "{:?}", t.elapsed());
}

both_generations!(dropping_the_handle_stops_heartbeats, start_paused = true);
async fn dropping_the_handle_stops_heartbeats(protocol: Protocol) {
    let emu = emulator_of(protocol).await;
    let e = engine(&emu.url()).await;
    let s = e.crane.start_session(sod("o/drop")).await.unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    let hb = state(&emu.url()).await["requests_count"]["/heartbeat"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(hb, 0);
}

both_generations!(
    many_sessions_each_keep_their_own_schedule,
    start_paused = true
);
/// Sessions share one scheduler: each still beats exactly on its own server
/// schedule (sessions registered later with earlier due times included), and
/// stopping one leaves the others beating.
async fn many_sessions_each_keep_their_own_schedule(protocol: Protocol) {
    use std::collections::HashMap;
    let emu = emulator_of(protocol).await;
    let mut e = engine(&emu.url()).await;
    let mut handles = Vec::new();
    let mut last: HashMap<String, (Instant, f64)> = HashMap::new();
    for i in 0..6 {
        let s = e
            .crane
            .start_session(sod(&format!("o/many-{i}")))
            .await
            .unwrap();
        let interval = s.start_response().unwrap().heartbeat_interval_seconds as f64;
        last.insert(s.session_id().to_owned(), (Instant::now(), interval));
        handles.push(s);
        tokio::time::sleep(Duration::from_secs(7)).await;
    }
    for _ in 0..18 {
        let ev = e
            .events
            .wait_for(WAIT, |e| matches!(e, Event::HeartbeatSent { .. }))
            .await;
        let Event::HeartbeatSent {
            session_id,
            interval_seconds,
            ..
        } = ev
        else {
            unreachable!()
        };
        let (at, expected) = last[&session_id];
        let gap = at.elapsed().as_secs_f64();
        assert!(
            (gap - expected).abs() < 0.01,
            "{session_id}: gap {gap} vs scheduled {expected}"
        );
        last.insert(session_id, (Instant::now(), f64::from(interval_seconds)));
    }

    let stopped = handles[0].session_id().to_owned();
    handles[0].stop();
    assert!(!handles[0].is_beating());
    // A beat already in flight when `stop` returned still completes (and
    // its event may be queued already, unread): at most that one. Over
    // three of the longest intervals a session still beating would beat
    // at least three times.
    let (mut others, mut stopped_beats) = (0, 0);
    let until = Instant::now() + Duration::from_secs(3 * 720);
    while Instant::now() < until {
        let ev = e
            .events
            .wait_for(WAIT, |e| matches!(e, Event::HeartbeatSent { .. }))
            .await;
        let Event::HeartbeatSent { session_id, .. } = ev else {
            unreachable!()
        };
        if session_id == stopped {
            stopped_beats += 1;
        } else {
            others += 1;
        }
    }
    assert!(
        stopped_beats <= 1,
        "a stopped session beat {stopped_beats} times"
    );
    assert!(others >= 5 * 2, "the other sessions kept beating: {others}");
}
