//! The confirmation baseline of a queued checkpoint, kept beside its item.
//!
//! Why it is stored: `POST /checkpoint` has no idempotency key and no upsert
//! field, so a queued checkpoint may be resent only after a read of
//! `/checkpoints` shows that no earlier attempt stored it. "Earlier" needs a
//! reference point that survives a crash: the session's newest checkpoint
//! number read *before the first send*. It is written here, durably, before
//! that send; every later attempt (in this process or another, after any
//! crash) looks for a checkpoint newer than it with the item's exact content
//! and settles the item by that read instead of sending again. The row is
//! deleted with its item (`ON DELETE CASCADE`); writes act only for the
//! item's current lease holder.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

impl Store {
    /// The baseline recorded for the queued checkpoint `local_id`, if its
    /// first send was prepared.
    pub fn checkpoint_baseline(&self, local_id: &str) -> Result<Option<u32>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT after FROM checkpoint_baseline WHERE local_id = ?1")?
                .query_row(params![local_id], |r| r.get(0))
                .optional()?)
        })
    }

    /// Records, durably, the baseline of the queued checkpoint `local_id`
    /// before its first send. Only for the item's current holder, and only
    /// once (a recorded baseline is never moved); returns whether it acted.
    pub fn set_checkpoint_baseline(
        &self,
        local_id: &str,
        holder: &str,
        after: u32,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx
                .prepare_cached(
                    "INSERT INTO checkpoint_baseline (local_id, after) \
                     SELECT local_id, ?3 FROM queue WHERE local_id = ?1 AND lease_holder = ?2 \
                     AND state = 'pending' AND kind = 'checkpoint' \
                     ON CONFLICT (local_id) DO NOTHING",
                )?
                .execute(params![local_id, holder, after])?;
            Ok(n == 1)
        })
    }
}
