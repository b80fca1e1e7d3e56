//! The re-homing state of a queued end, kept beside its item.
//!
//! Why it is stored: re-homing a handoff (see `engine/rehome.rs`) takes two
//! requests, a `/sod` that opens a session for the item's tuple and an `/eod`
//! that ends it with the handoff. A crash between them must resume with the
//! *same* target session: a second `/sod` after the server's idempotency
//! hour could open another one, and an `/eod` there would store the handoff
//! twice once the first `/eod` had in fact been stored. So the target is
//! written here, durably, before the `/eod` is sent, and every later attempt
//! goes straight to it. The row also says what a waiting re-home waits for
//! (a live session of the tuple that is not ours), so "why queued" can say so.
//!
//! `generation` counts targets given up (a target that was itself abandoned
//! without our handoff); the re-home idempotency keys are derived from the
//! item's key and the generation, so each target gets fresh keys and every
//! retry for one target reuses them. The row is deleted with its item
//! (`ON DELETE CASCADE`). Every write acts only for the item's current lease
//! holder, like `complete`/`release`.

use rusqlite::{params, OptionalExtension, Transaction};

use super::{Store, StoreError};

/// What the store knows about the re-homing of one queued end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rehome {
    /// The queue item.
    pub local_id: String,
    /// Targets given up so far (part of the re-home idempotency keys).
    pub generation: u32,
    /// The session the handoff is being delivered to, once chosen.
    pub to_session_id: Option<String>,
    /// A live session of the tuple (not ours) the re-home waits for.
    pub waiting_for: Option<String>,
    /// When the row last changed (unix ms).
    pub updated_at_ms: i64,
}

impl Store {
    /// The re-homing state of `local_id`, if it is being re-homed.
    pub fn rehome_state(&self, local_id: &str) -> Result<Option<Rehome>, StoreError> {
        self.read(|tx| get(tx, local_id))
    }

    /// Records the target session of a re-home, durably, before its `/eod`
    /// is sent. Only for the item's current holder; returns whether it acted.
    pub fn rehome_target(
        &self,
        local_id: &str,
        holder: &str,
        to_session_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            upsert(
                tx,
                local_id,
                holder,
                "to_session_id = ?3, waiting_for = NULL",
                Some(to_session_id),
                now_ms,
            )
        })
    }

    /// Records that a re-home waits for the live session `session_id` of its
    /// tuple (not ours); `next_generation` when a `/sod` under the current
    /// generation's key was answered with that session (the server replays
    /// that answer for an hour, so the next attempt needs a fresh key).
    /// Only for the item's current holder.
    pub fn rehome_waiting(
        &self,
        local_id: &str,
        holder: &str,
        session_id: &str,
        next_generation: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let set = if next_generation {
            "waiting_for = ?3, generation = min(generation + 1, 4294967295)"
        } else {
            "waiting_for = ?3"
        };
        self.write(|tx| upsert(tx, local_id, holder, set, Some(session_id), now_ms))
    }

    /// Gives up the current target (it ended without our handoff): the next
    /// attempt re-homes again, under the next generation's keys.
    pub fn rehome_retarget(
        &self,
        local_id: &str,
        holder: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            upsert(
                tx,
                local_id,
                holder,
                "generation = min(generation + 1, 4294967295), to_session_id = NULL, \
                 waiting_for = NULL",
                None,
                now_ms,
            )
        })
    }
}

fn get(tx: &Transaction<'_>, local_id: &str) -> Result<Option<Rehome>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT local_id, generation, to_session_id, waiting_for, updated_at_ms \
             FROM rehome WHERE local_id = ?1",
        )?
        .query_row(params![local_id], |r| {
            Ok(Rehome {
                local_id: r.get(0)?,
                generation: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                to_session_id: r.get(2)?,
                waiting_for: r.get(3)?,
                updated_at_ms: r.get(4)?,
            })
        })
        .optional()?)
}

/// Creates the row if needed and applies `set` (which may use `?3` =
/// `value`), only while `holder` holds the pending item.
fn upsert(
    tx: &Transaction<'_>,
    local_id: &str,
    holder: &str,
    set: &str,
    value: Option<&str>,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let held: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM queue WHERE local_id = ?1 AND lease_holder = ?2 \
             AND state = 'pending')",
        )?
        .query_row(params![local_id, holder], |r| r.get(0))?;
    if !held {
        return Ok(false);
    }
    tx.prepare_cached(
        "INSERT INTO rehome (local_id, updated_at_ms) VALUES (?1, ?2) \
         ON CONFLICT (local_id) DO NOTHING",
    )?
    .execute(params![local_id, now_ms])?;
    let sql = format!("UPDATE rehome SET {set}, updated_at_ms = ?2 WHERE local_id = ?1");
    let mut stmt = tx.prepare_cached(&sql)?;
    if sql.contains("?3") {
        stmt.execute(params![local_id, now_ms, value])?;
    } else {
        stmt.execute(params![local_id, now_ms])?;
    }
    Ok(true)
}
