//! Relaxed writes the caller does not wait for: the completion of a
//! directly delivered item and the cache updates that come with a server's
//! answer.
//!
//! Why it exists: a direct `/update` or `/eod` is queued durably (one commit,
//! its fsync overlapping the send: `wal_sync.rs`), sent, and then completed (its row deleted, a relaxed commit).
//! Waiting for that second commit cost the caller a second trip to the
//! blocking pool and a second transaction per call, after the server had
//! already answered. The completion is now recorded here, in memory, and the
//! call returns with the answer. The next transaction on this store's
//! connection, whichever it is, applies everything recorded first, inside its own transaction (so the
//! next durable enqueue commits the previous item's completion with its own
//! fsync; a read then runs as a relaxed write, or alone if another process
//! holds the write lock), and the engine asks a background task to apply
//! them soon anyway. So every later call through this `Store` sees
//! the item gone, exactly as if the completion had been waited for; another
//! process sees the item leased by a live holder until then, which it
//! respects, as it already did while the completion commit was under way.
//!
//! What a crash loses: the completions (and cache writes) recorded but not yet
//! applied. The item is then still in the queue, leased to a dead holder, so
//! the next engine takes it over at once and sends it again *with its
//! original idempotency key*: the server replays its answer, or (past the
//! key's window) the engine confirms the stored handoff by hash, or finds an
//! update's session gone and drops it — the same paths a completion lost to
//! power failure always took (see the module documentation of
//! [`crate::store`]). A lost cache write leaves an older cache entry, which
//! the server refreshes. Dropping the `Store` applies what is left.

use std::sync::{MutexGuard, PoisonError};

use rusqlite::Transaction;

use super::cache::put_last_handoff_tx;
use super::queue::{complete_tx, CachedHandoff, Completion};
use super::{Store, StoreError};

/// One recorded write.
#[derive(Debug, Clone)]
pub(crate) enum Later {
    /// A delivered item's completion (and what it teaches the cache).
    Complete {
        holder: String,
        completion: Completion,
        now_ms: i64,
    },
    /// The newest handoff of a venture/repo/track, as a read found it.
    LastHandoff { handoff: CachedHandoff, now_ms: i64 },
}

impl Store {
    /// Records that `holder` delivered `completion.local_id`: applied (with
    /// the completion's cache updates) before this store's next transaction,
    /// or by [`Store::apply_later`]. See the module documentation of
    /// `later.rs` for what a crash before then means.
    pub fn complete_later(&self, holder: &str, completion: Completion, now_ms: i64) {
        self.push_later(Later::Complete {
            holder: holder.to_owned(),
            completion,
            now_ms,
        });
    }

    /// Records the newest handoff of its venture/repo/track for the cache,
    /// applied like [`Store::complete_later`].
    pub fn put_last_handoff_later(&self, handoff: CachedHandoff, now_ms: i64) {
        self.push_later(Later::LastHandoff { handoff, now_ms });
    }

    /// Applies the recorded writes now, in one relaxed transaction (none
    /// when nothing is recorded).
    pub fn apply_later(&self) -> Result<(), StoreError> {
        if !self.has_later() {
            return Ok(());
        }
        // Any write applies them first; this one has nothing else to do.
        self.write_relaxed(|_| Ok(()))
    }

    /// Whether writes are recorded and not yet applied.
    pub fn has_later(&self) -> bool {
        !self.later().is_empty()
    }

    /// The recorded writes (a panic elsewhere while holding them loses none).
    fn later(&self) -> MutexGuard<'_, Vec<Later>> {
        self.inner
            .later
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn push_later(&self, write: Later) {
        self.later().push(write);
    }

    /// Takes the recorded writes (called with the connection locked).
    pub(super) fn take_later(&self) -> Vec<Later> {
        std::mem::take(&mut *self.later())
    }

    /// Puts writes whose transaction failed back in front of any recorded
    /// since, so they are tried again, in order, by the next transaction.
    pub(super) fn restore_later(&self, mut writes: Vec<Later>) {
        if writes.is_empty() {
            return;
        }
        let mut l = self.later();
        writes.append(&mut l);
        *l = writes;
    }

    /// Recorded writes that failed by themselves (in their savepoint) are
    /// dropped with a warning: they would fail every time, and losing them
    /// is harmless (see the module documentation).
    pub(super) fn later_failed(&self, error: StoreError) {
        tracing::warn!(
            %error,
            "could not apply deferred store writes: delivered items are sent again under \
             their keys, the cache is refreshed from the server"
        );
    }

    /// Applies `writes` inside the caller's write transaction, in order.
    pub(super) fn apply_later_tx(
        &self,
        tx: &Transaction<'_>,
        writes: &[Later],
    ) -> Result<(), StoreError> {
        for size in apply_all(tx, writes)? {
            self.adjust_totals(-1, size);
        }
        Ok(())
    }
}

/// Applies `writes` inside `tx`, in order; returns the sizes of the queue
/// items it deleted (for the caller's totals).
pub(super) fn apply_all(tx: &Transaction<'_>, writes: &[Later]) -> Result<Vec<u64>, StoreError> {
    let mut deleted = Vec::new();
    for w in writes {
        match w {
            Later::Complete {
                holder,
                completion,
                now_ms,
            } => deleted.extend(complete_tx(tx, holder, completion, *now_ms)?),
            Later::LastHandoff { handoff: h, now_ms } => {
                put_last_handoff_tx(tx, &h.venture, &h.repo, h.track, &h.handoff_json, *now_ms)?
            }
        }
    }
    Ok(deleted)
}
