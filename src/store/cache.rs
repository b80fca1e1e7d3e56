//! The local cache: what the SDK last learned from the server.
//!
//! Three kinds of record, all replaceable from the server at any time, so the
//! cache is a convenience and never the source of truth:
//!
//! - the **current session** of each `(agent, venture, repo, track)` tuple, with
//!   its heartbeat schedule and the pid of the process keeping it alive; at
//!   most one per exact tuple (a `None` track is its own tuple here);
//! - the **last handoff** seen per `(venture, repo, track)`;
//! - the **documentation** returned by `/sod`, rewritten only when its content
//!   hash changes (a refetch with the same hash only records the fetch time).
//!
//! Values are stored as the server's JSON text; this module does not parse them.
//! Writes commit without waiting for the disk (`synchronous=NORMAL`): a cache
//! entry lost to power failure is refetched, and a heartbeat or a start must
//! not wait for an fsync.

use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::{SessionTuple, Store, StoreError};

/// A cached value and when it was fetched from the server (unix ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cached<T> {
    /// The value.
    pub value: T,
    /// When it was fetched (unix ms).
    pub fetched_at_ms: i64,
}

/// The session this machine last started or resumed for a tuple.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSession {
    /// The server's session id.
    pub session_id: String,
    /// The session's tuple.
    pub tuple: SessionTuple,
    /// The server's session record, as JSON text.
    pub session_json: String,
    /// When the next heartbeat is due (unix ms), as the server proposed.
    pub next_heartbeat_at_ms: Option<i64>,
    /// The heartbeat interval the server proposed last.
    pub heartbeat_interval_seconds: Option<u32>,
    /// When this record was last written (unix ms).
    pub updated_at_ms: i64,
    /// The process keeping the session alive with heartbeats, if any.
    pub keeper_pid: Option<u32>,
}

const SESSION_COLUMNS: &str = "session_id, agent, venture, repo, track, session_json, \
     next_heartbeat_at_ms, heartbeat_interval_seconds, updated_at_ms, keeper_pid";

impl Store {
    /// Stores `session` as the current session of its tuple, replacing any
    /// other session cached for the exact same tuple.
    pub fn put_current_session(&self, session: &CachedSession) -> Result<(), StoreError> {
        let t = &session.tuple;
        self.write_relaxed(|tx| {
            tx.prepare_cached(
                "DELETE FROM current_session WHERE session_id = ?1 \
                 OR (agent = ?2 AND venture = ?3 AND repo = ?4 AND track IS ?5)",
            )?
            .execute(params![
                session.session_id,
                t.agent,
                t.venture,
                t.repo,
                t.track
            ])?;
            tx.prepare_cached(
                "INSERT INTO current_session (session_id, agent, venture, repo, track, \
                 session_json, next_heartbeat_at_ms, heartbeat_interval_seconds, updated_at_ms, \
                 keeper_pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                session.session_id,
                t.agent,
                t.venture,
                t.repo,
                t.track,
                session.session_json,
                session.next_heartbeat_at_ms,
                session.heartbeat_interval_seconds,
                session.updated_at_ms,
                session.keeper_pid,
            ])?;
            Ok(())
        })
    }

    /// The current session of exactly this tuple (a `None` track matches only
    /// the session cached with no track).
    pub fn get_current_session(
        &self,
        tuple: &SessionTuple,
    ) -> Result<Option<CachedSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM current_session \
             WHERE agent = ?1 AND venture = ?2 AND repo = ?3 AND track IS ?4"
        );
        let p = params![tuple.agent, tuple.venture, tuple.repo, tuple.track];
        self.read(|tx| query_session(tx, &sql, p))
    }

    /// The cached session with this id.
    pub fn current_session_by_id(
        &self,
        session_id: &str,
    ) -> Result<Option<CachedSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM current_session WHERE session_id = ?1");
        self.read(|tx| query_session(tx, &sql, params![session_id]))
    }

    /// Forgets the cached session with this id; returns whether there was one.
    pub fn clear_current_session(&self, session_id: &str) -> Result<bool, StoreError> {
        self.write_relaxed(|tx| Ok(clear_current_session_tx(tx, session_id)?))
    }

    /// Every cached current session, ordered by tuple.
    pub fn list_current_sessions(&self) -> Result<Vec<CachedSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM current_session ORDER BY agent, venture, repo, track"
        );
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map([], session_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Records the heartbeat schedule the server proposed for a cached
    /// session; returns `false` if no such session is cached.
    pub fn set_heartbeat_schedule(
        &self,
        session_id: &str,
        next_heartbeat_at_ms: i64,
        interval_seconds: u32,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write_relaxed(|tx| {
            let updated = tx
                .prepare_cached(
                    "UPDATE current_session SET next_heartbeat_at_ms = ?2, \
                     heartbeat_interval_seconds = ?3, updated_at_ms = ?4 WHERE session_id = ?1",
                )?
                .execute(params![
                    session_id,
                    next_heartbeat_at_ms,
                    interval_seconds,
                    now_ms
                ])?;
            Ok(updated == 1)
        })
    }

    /// [`Store::set_heartbeat_schedule`] for several sessions in one
    /// transaction (`(session_id, next_heartbeat_at_ms, interval_seconds,
    /// now_ms)`, applied in order). Returns how many sessions were cached.
    pub fn set_heartbeat_schedules<'a>(
        &self,
        schedules: impl IntoIterator<Item = (&'a str, i64, u32, i64)>,
    ) -> Result<usize, StoreError> {
        self.write_relaxed(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE current_session SET next_heartbeat_at_ms = ?2, \
                 heartbeat_interval_seconds = ?3, updated_at_ms = ?4 WHERE session_id = ?1",
            )?;
            let mut updated = 0;
            for (session_id, next, interval, now) in schedules {
                updated += stmt.execute(params![session_id, next, interval, now])?;
            }
            Ok(updated)
        })
    }

    /// Records (or clears) the process keeping a cached session alive; returns
    /// `false` if no such session is cached.
    pub fn set_keeper_pid(&self, session_id: &str, pid: Option<u32>) -> Result<bool, StoreError> {
        self.write_relaxed(|tx| {
            let updated = tx
                .prepare_cached("UPDATE current_session SET keeper_pid = ?2 WHERE session_id = ?1")?
                .execute(params![session_id, pid])?;
            Ok(updated == 1)
        })
    }

    /// Stores the last handoff seen for `(venture, repo, track)`, fetched at `now_ms`.
    pub fn put_last_handoff(
        &self,
        venture: &str,
        repo: &str,
        track: Option<i64>,
        handoff_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.write_relaxed(|tx| {
            put_last_handoff_tx(tx, venture, repo, track, handoff_json, now_ms)?;
            Ok(())
        })
    }

    /// The last handoff cached for exactly `(venture, repo, track)`.
    pub fn get_last_handoff(
        &self,
        venture: &str,
        repo: &str,
        track: Option<i64>,
    ) -> Result<Option<Cached<String>>, StoreError> {
        self.read(|tx| {
            let found = tx
                .prepare_cached(
                    "SELECT handoff_json, fetched_at_ms FROM last_handoff \
                     WHERE venture = ?1 AND repo = ?2 AND track IS ?3",
                )?
                .query_row(params![venture, repo, track], |r| {
                    Ok(Cached {
                        value: r.get(0)?,
                        fetched_at_ms: r.get(1)?,
                    })
                })
                .optional()?;
            Ok(found)
        })
    }

    /// A cached handoff of session `session_id`, if the cache holds one: the
    /// server stores a handoff only when it ends the session, so this proves
    /// the session ended (the cache keeps one handoff per venture/repo/track,
    /// so an older session's may be gone).
    pub fn cached_handoff_of_session(
        &self,
        session_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.read(|tx| cached_handoff_of_session_tx(tx, session_id))
    }

    /// Stores the documentation fetched at `now_ms`. Rewrites it only when
    /// `content_hash` differs from the cached one (else only the fetch time
    /// changes); returns whether the content changed.
    pub fn put_docs(
        &self,
        content_hash: &str,
        docs_json: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write_relaxed(|tx| {
            let touched = tx
                .prepare_cached(
                    "UPDATE docs SET fetched_at_ms = ?2 WHERE id = 1 AND content_hash = ?1",
                )?
                .execute(params![content_hash, now_ms])?;
            if touched == 1 {
                return Ok(false);
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO docs (id, content_hash, docs_json, fetched_at_ms) \
                 VALUES (1, ?1, ?2, ?3)",
            )?
            .execute(params![content_hash, docs_json, now_ms])?;
            Ok(true)
        })
    }

    /// The cached documentation: `(content_hash, docs_json)` and its fetch time.
    pub fn get_docs(&self) -> Result<Option<Cached<(String, String)>>, StoreError> {
        self.read(|tx| {
            let found = tx
                .prepare_cached(
                    "SELECT content_hash, docs_json, fetched_at_ms FROM docs WHERE id = 1",
                )?
                .query_row([], |r| {
                    Ok(Cached {
                        value: (r.get(0)?, r.get(1)?),
                        fetched_at_ms: r.get(2)?,
                    })
                })
                .optional()?;
            Ok(found)
        })
    }
}

fn query_session(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<CachedSession>, StoreError> {
    let found = tx
        .prepare_cached(sql)?
        .query_row(params, session_from_row)
        .optional()?;
    Ok(found)
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<CachedSession> {
    Ok(CachedSession {
        session_id: row.get(0)?,
        tuple: SessionTuple {
            agent: row.get(1)?,
            venture: row.get(2)?,
            repo: row.get(3)?,
            track: row.get(4)?,
        },
        session_json: row.get(5)?,
        next_heartbeat_at_ms: row.get(6)?,
        heartbeat_interval_seconds: row.get(7)?,
        updated_at_ms: row.get(8)?,
        keeper_pid: row.get(9)?,
    })
}

/// Finds the cached handoff of session `?1`, through `last_handoff_by_session`
/// (schema v6), whose expression this must repeat exactly: rows that are
/// not JSON are never found.
pub(super) const HANDOFF_OF_SESSION: &str = "SELECT handoff_json FROM last_handoff \
     WHERE iif(json_valid(handoff_json), json_extract(handoff_json, '$.session_id'), NULL) = ?1 \
     LIMIT 1";

/// [`Store::cached_handoff_of_session`] inside the caller's transaction.
pub(super) fn cached_handoff_of_session_tx(
    tx: &Transaction<'_>,
    session_id: &str,
) -> Result<Option<String>, StoreError> {
    let found = tx
        .prepare_cached(HANDOFF_OF_SESSION)?
        .query_row(params![session_id], |r| r.get(0))
        .optional()?;
    Ok(found)
}

/// The tuple of the cached session `session_id`, inside the caller's
/// transaction: an unknown (empty) tuple when none is cached, as an item
/// queued for a session this store never cached carries.
pub(super) fn cached_tuple_tx(
    tx: &Transaction<'_>,
    session_id: &str,
) -> Result<SessionTuple, StoreError> {
    let found = tx
        .prepare_cached(
            "SELECT agent, venture, repo, track FROM current_session WHERE session_id = ?1",
        )?
        .query_row(params![session_id], |r| {
            Ok(SessionTuple {
                agent: r.get(0)?,
                venture: r.get(1)?,
                repo: r.get(2)?,
                track: r.get(3)?,
            })
        })
        .optional()?;
    Ok(found.unwrap_or_else(SessionTuple::unknown))
}

/// [`Store::clear_current_session`] inside the caller's transaction.
pub(super) fn clear_current_session_tx(
    tx: &Transaction<'_>,
    session_id: &str,
) -> rusqlite::Result<bool> {
    let deleted = tx
        .prepare_cached("DELETE FROM current_session WHERE session_id = ?1")?
        .execute(params![session_id])?;
    Ok(deleted == 1)
}

/// [`Store::put_last_handoff`] inside the caller's transaction.
pub(super) fn put_last_handoff_tx(
    tx: &Transaction<'_>,
    venture: &str,
    repo: &str,
    track: Option<i64>,
    handoff_json: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM last_handoff WHERE venture = ?1 AND repo = ?2 AND track IS ?3")?
        .execute(params![venture, repo, track])?;
    tx.prepare_cached(
        "INSERT INTO last_handoff (venture, repo, track, handoff_json, fetched_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![venture, repo, track, handoff_json, now_ms])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::QueueLimits;

    fn session(id: &str, track: Option<i64>) -> CachedSession {
        CachedSession {
            session_id: id.into(),
            tuple: SessionTuple {
                agent: "a".into(),
                venture: "v".into(),
                repo: "r".into(),
                track,
            },
            session_json: format!("{{\"id\":\"{id}\"}}"),
            next_heartbeat_at_ms: None,
            heartbeat_interval_seconds: None,
            updated_at_ms: 1,
            keeper_pid: None,
        }
    }

    #[test]
    fn a_new_session_replaces_the_old_one_of_the_same_tuple_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db"), QueueLimits::default()).unwrap();
        store.put_current_session(&session("s1", None)).unwrap();
        store.put_current_session(&session("s2", Some(1))).unwrap();
        store.put_current_session(&session("s3", None)).unwrap();
        let ids: Vec<_> = store
            .list_current_sessions()
            .unwrap()
            .into_iter()
            .map(|s| s.session_id)
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&"s2".to_string()) && ids.contains(&"s3".to_string()));
        assert_eq!(store.current_session_by_id("s1").unwrap(), None);
    }
}
