//! The least a `crane status` reading the store can do, for benchmark item 8
//! (`scripts/bench.sh`): open `$CRANE_HOME/crane.db` read-only and run the
//! three statements `crane status` runs (the cached sessions, the queue
//! counts, the server's remembered row), then print one line.
//!
//! Nothing else: no argument parsing, no configuration, no checkout
//! detection, no crash check, no formatting. Built like `crane` (static,
//! non-PIE, the functions it runs linked first: `scripts/bench.sh`), so `crane status ÷ this` is what the CLI
//! adds to SQLite and `this ÷ /bin/true` what opening SQLite costs a process
//! at all. Not part of the SDK.

use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let home = std::env::var_os("CRANE_HOME").ok_or("CRANE_HOME is not set")?;
    let path = PathBuf::from(home).join("crane.db");
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut sessions = conn.prepare(
        "SELECT session_id, agent, venture, repo, track, session_json, next_heartbeat_at_ms, \
         heartbeat_interval_seconds, updated_at_ms, keeper_pid FROM current_session \
         ORDER BY agent, venture, repo, track",
    )?;
    let n = sessions
        .query_map([], |r| r.get::<_, String>(5))?
        .filter_map(Result::ok)
        .count();
    let (pending, dead): (i64, i64) = conn.query_row(
        "SELECT ifnull(sum(state = 'pending'), 0), ifnull(sum(state = 'dead'), 0), \
         ifnull(sum(size_bytes), 0), ifnull(sum(state = 'pending' AND lease_holder IS NOT NULL), 0) \
         FROM queue",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let ventures: Option<String> = conn
        .query_row(
            "SELECT generation, version_json, detected_at_ms, ventures_json, \
             ventures_fetched_at_ms FROM server_info LIMIT 1",
            [],
            |r| r.get(3),
        )
        .ok()
        .flatten();
    println!(
        "{n} cached sessions; queue: {pending} pending, {dead} dead; ventures cached: {}",
        ventures.is_some()
    );
    Ok(())
}
