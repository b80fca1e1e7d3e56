//! Reading and managing the offline queue: what a `crane queue` command shows
//! and what a person decides.
//!
//! Reads run in one deferred transaction each, so they see a consistent
//! snapshot and never wait for another process's writer (WAL mode). The two
//! decisions a person can take about an item, retrying a dead one and dropping
//! one, are the only ways besides delivery that an item leaves the dead state
//! or the file; both answer [`StoreError::NotFound`] for an unknown id.

use rusqlite::{params, OptionalExtension, Transaction};

use super::item::{query_items, select_items, to_u64};
use super::{ItemState, QueueCounts, QueueItem, QueueStats, SessionTuple, Store, StoreError};

impl Store {
    /// The item with this local id, if any.
    pub fn get(&self, local_id: &str) -> Result<Option<QueueItem>, StoreError> {
        self.read(|tx| {
            let sql = select_items!("WHERE q.local_id = ?1");
            Ok(query_items(tx, sql, params![local_id])?.pop())
        })
    }

    /// Items in `state` (all when `None`), oldest first.
    pub fn list(&self, state: Option<ItemState>) -> Result<Vec<QueueItem>, StoreError> {
        let state = state.map(ItemState::as_str);
        self.read(|tx| {
            let sql = select_items!("WHERE ?1 IS NULL OR q.state = ?1 ORDER BY q.seq");
            query_items(tx, sql, params![state])
        })
    }

    /// Every item in `state` (all when `None`), oldest first, with everything
    /// stored about it: the input of `crane queue export`.
    pub fn export(&self, state: Option<ItemState>) -> Result<Vec<QueueItem>, StoreError> {
        self.list(state)
    }

    /// Pending items of sessions with this tuple, oldest first; a `None`
    /// track matches any track (the server's rule). Items whose tuple is
    /// unknown (a session ended or updated by id that this store never
    /// cached, so it was queued with an empty tuple) are included too: they
    /// may belong to the session a `/sod` for this tuple would resume.
    pub fn pending_for_tuple(&self, tuple: &SessionTuple) -> Result<Vec<QueueItem>, StoreError> {
        self.read(|tx| {
            let sql = select_items!(
                "WHERE q.state = 'pending' AND ((q.agent = ?1 AND q.venture = ?2 ",
                "AND q.repo = ?3 AND (?4 IS NULL OR q.track = ?4)) ",
                "OR (q.agent = '' AND q.venture = '' AND q.repo = '')) ORDER BY q.seq"
            );
            let p = params![tuple.agent, tuple.venture, tuple.repo, tuple.track];
            query_items(tx, sql, p)
        })
    }

    /// Local ids of pending items leased to `holder` (whatever the lease's
    /// expiry): what a closing process still has in flight.
    pub fn held_by(&self, holder: &str) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT local_id FROM queue WHERE state = 'pending' AND lease_holder = ?1 ORDER BY seq",
            )?;
            let ids = stmt
                .query_map(params![holder], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids)
        })
    }

    /// Pending items of one session, oldest first (the first is its head).
    pub fn pending_for_session(&self, session_id: &str) -> Result<Vec<QueueItem>, StoreError> {
        self.read(|tx| {
            let sql =
                select_items!("WHERE q.state = 'pending' AND q.session_id = ?1 ORDER BY q.seq");
            query_items(tx, sql, params![session_id])
        })
    }

    /// How many items the queue holds, and their bytes.
    pub fn counts(&self) -> Result<QueueCounts, StoreError> {
        self.read(|tx| {
            let sql = "SELECT ifnull(sum(state = 'pending'), 0), ifnull(sum(state = 'dead'), 0), \
                       ifnull(sum(size_bytes), 0), \
                       ifnull(sum(state = 'pending' AND lease_holder IS NOT NULL), 0) FROM queue";
            let counts = tx.prepare_cached(sql)?.query_row([], |r| {
                Ok(QueueCounts {
                    pending: to_u64(r.get(0)?),
                    dead: to_u64(r.get(1)?),
                    bytes: to_u64(r.get(2)?),
                    leased: to_u64(r.get(3)?),
                })
            })?;
            Ok(counts)
        })
    }

    /// Pending items whose lease is still running at `now_ms` (someone is
    /// delivering them), counted without reading their bodies.
    pub fn live_leases(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.read(|tx| {
            let n: i64 = tx
                .prepare_cached(super::queue::LIVE_LEASES)?
                .query_row([now_ms], |r| r.get(0))?;
            Ok(to_u64(n))
        })
    }

    /// Delivery counters since the file was created.
    pub fn stats(&self) -> Result<QueueStats, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached("SELECT name, value FROM stats")?;
            let mut rows = stmt.query([])?;
            let mut stats = QueueStats::default();
            while let Some(row) = rows.next()? {
                let value = to_u64(row.get(1)?);
                let name: String = row.get(0)?;
                match name.as_str() {
                    "delivered_total" => stats.delivered_total = value,
                    "dead_total" => stats.dead_total = value,
                    "dropped_total" => stats.dropped_total = value,
                    _ => {}
                }
            }
            Ok(stats)
        })
    }

    /// Makes a dead item pending again, due at `now_ms`, with attempts reset
    /// (its last error is kept). Returns `false` if it was already pending;
    /// [`StoreError::NotFound`] if there is no such item.
    pub fn retry_dead(&self, local_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.write(|tx| {
            let updated = tx
                .prepare_cached(
                    "UPDATE queue SET state = 'pending', attempts = 0, next_attempt_at_ms = ?2, \
                     lease_holder = NULL, lease_until_ms = NULL \
                     WHERE local_id = ?1 AND state = 'dead'",
                )?
                .execute(params![local_id, now_ms])?;
            if updated == 0 && !exists(tx, local_id)? {
                return Err(not_found(local_id));
            }
            Ok(updated == 1)
        })
    }

    /// Deletes an item whatever its state (a person's decision);
    /// [`StoreError::NotFound`] if there is no such item.
    pub fn drop_item(&self, local_id: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            let size: Option<i64> = tx
                .prepare_cached("DELETE FROM queue WHERE local_id = ?1 RETURNING size_bytes")?
                .query_row(params![local_id], |r| r.get(0))
                .optional()?;
            match size {
                Some(size) => {
                    self.adjust_totals(-1, u64::try_from(size).unwrap_or(0));
                    Ok(())
                }
                None => Err(not_found(local_id)),
            }
        })
    }
}

fn exists(tx: &Transaction<'_>, local_id: &str) -> rusqlite::Result<bool> {
    tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM queue WHERE local_id = ?1)")?
        .query_row(params![local_id], |r| r.get(0))
}

fn not_found(local_id: &str) -> StoreError {
    StoreError::NotFound {
        local_id: local_id.to_owned(),
    }
}
