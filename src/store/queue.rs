//! The offline queue of `/update`, `/eod`, `/notes` and `/checkpoint`
//! requests waiting to be delivered.
//!
//! Guarantees, all enforced inside SQLite transactions so they hold across
//! processes sharing the file:
//!
//! - An item is durable when `enqueue` returns, and keeps the idempotency key
//!   it was given forever: every retry, in any process, after any restart,
//!   sends the same key. Enqueuing the same key twice stores one row.
//! - Items of one session are delivered in the order they were queued: only
//!   the oldest pending item of a session (its *head*) can be leased, so an
//!   `/eod` never overtakes an `/update` queued before it. A dead item no
//!   longer blocks its session. Different sessions are independent.
//! - A lease gives one holder the right to send an item while the holder is
//!   alive (its OS lock is held, see `owner.rs`), and at most until
//!   `lease_until_ms`. Leasing first voids the leases of dead holders, so a
//!   killed process's items are taken over at once; expired leases are
//!   ignored, the fallback when a holder's liveness cannot be known.
//!   `complete`, `release` and `dead_letter` only act for the current holder.
//! - Nothing is dropped silently: delivered items are deleted by `complete`,
//!   permanent failures become `Dead` with their reason, and only `drop_item`
//!   deletes anything else. A full queue refuses new items; it never evicts.

use rusqlite::{params, OptionalExtension, Transaction};

use super::cache::{
    cached_handoff_of_session_tx, cached_tuple_tx, clear_current_session_tx, put_last_handoff_tx,
};
use super::item::{is_head, query_items, select_items, to_i64, to_u64};
use super::owner::{liveness, owners_dir, Liveness};
use super::{
    Durability, EnqueueChecks, Enqueued, ItemState, NewItem, QueueItem, Queued, Store, StoreError,
};

/// Longest error text kept per item: room for any server message, while a
/// retry loop against a misbehaving server cannot grow the file without bound.
const MAX_ERROR_CHARS: usize = 4_096;

/// Why an item whose stored body is not valid UTF-8 is dead.
const QUARANTINED: &str = "quarantined: its stored body is not valid UTF-8 and cannot be \
    sent as it was queued; the raw bytes are kept (`crane queue export` shows them)";

/// Below this many due items, leasing goes through the due-time index.
const FEW_DUE: i64 = 128;

// The statements run for every leased batch, settled item or `sync` poll
// that filter on leases. Each must read only what it needs, never every
// pending row (O(n) per batch is O(n²) to drain a backlog): the test
// `per_batch_statements_use_an_index_not_the_whole_queue` checks their
// plans. Leases go through `queue_by_lease`, the partial index of leased
// rows, named with `INDEXED BY` because SQLite's planner (no statistics)
// otherwise takes the `state` prefix of `queue_by_due`, i.e. every pending row.

/// Whether at least `?2` pending items are due at `?1` (which plan leases).
const DUE_COUNT: &str = "SELECT count(*) FROM (SELECT 1 FROM queue \
     WHERE state = 'pending' AND next_attempt_at_ms <= ?1 LIMIT ?2)";

// The lease statements bind `?1` = now (lease expiry), `?2` = the batch's
// limit and `?3` = the time items must have been due by (now, or when a
// `sync` began).

/// Leases with few due items: only those, through the due index.
const LEASE_FEW_DUE: &str = select_items!(
    "INDEXED BY queue_by_due WHERE q.state = 'pending' AND q.next_attempt_at_ms <= ?3 ",
    "AND (q.lease_until_ms IS NULL OR q.lease_until_ms <= ?1) AND ",
    is_head!(),
    " ORDER BY q.seq LIMIT ?2"
);

/// Leases with many due items: a walk in `seq` order that stops at the
/// `LIMIT`, skipping only the rows in flight or waiting before them.
const LEASE_MANY_DUE: &str = select_items!(
    "NOT INDEXED WHERE q.state = 'pending' AND q.next_attempt_at_ms <= ?3 ",
    "AND (q.lease_until_ms IS NULL OR q.lease_until_ms <= ?1) AND ",
    is_head!(),
    " ORDER BY q.seq LIMIT ?2"
);

/// Leases one item (by its unique `local_id`).
const LEASE_ONE: &str =
    "UPDATE queue SET lease_holder = ?1, lease_until_ms = ?2 WHERE local_id = ?3";

/// Deletes a delivered item still held by `?2`.
const DELETE_HELD: &str = "DELETE FROM queue WHERE local_id = ?1 AND lease_holder = ?2 \
     AND state = 'pending' RETURNING size_bytes";

/// A transient failure of the item `?1` held by `?2`.
const RELEASE: &str = "UPDATE queue SET attempts = min(attempts + 1, 4294967295), \
     last_error = ?3, last_correlation_id = ?4, next_attempt_at_ms = ?5, \
     lease_holder = NULL, lease_until_ms = NULL \
     WHERE local_id = ?1 AND lease_holder = ?2 AND state = 'pending'";

/// A permanent failure of the item `?1` held by `?2`.
const DEAD_LETTER: &str =
    "UPDATE queue SET state = 'dead', attempts = min(attempts + 1, 4294967295), \
     last_error = ?3, last_correlation_id = ?4, \
     lease_holder = NULL, lease_until_ms = NULL \
     WHERE local_id = ?1 AND lease_holder = ?2 AND state = 'pending'";

/// Leases the queued item `?1` to `?2` until `?3` if it is a free head at `?4`.
const TAKE_LEASE: &str = concat!(
    "UPDATE queue AS q SET lease_holder = ?2, lease_until_ms = ?3 ",
    "WHERE q.local_id = ?1 AND q.state = 'pending' AND (q.lease_until_ms IS NULL ",
    "OR q.lease_until_ms <= ?4 OR q.lease_holder = ?2) AND ",
    is_head!()
);

/// Holders other than `?1` with an unexpired (`> ?2`) lease on a pending item.
const LIVE_HOLDERS: &str = "SELECT DISTINCT lease_holder FROM queue INDEXED BY queue_by_lease \
     WHERE lease_holder IS NOT NULL AND lease_holder != ?1 AND lease_until_ms > ?2 \
     AND state = 'pending'";

/// Voids every lease of the (dead) holder `?1`.
const VOID_HOLDER: &str = "UPDATE queue INDEXED BY queue_by_lease \
     SET lease_holder = NULL, lease_until_ms = NULL \
     WHERE lease_holder = ?1 AND state = 'pending'";

/// Pending items whose lease is still running at `?1`.
pub(super) const LIVE_LEASES: &str = "SELECT count(*) FROM queue INDEXED BY queue_by_lease \
     WHERE lease_holder IS NOT NULL AND lease_until_ms > ?1 AND state = 'pending'";

/// Whether a head is due at `?1`: unleased or its lease expired at `?1`,
/// and scheduled no later than `?2` (`?1`, or when a `sync` began). With
/// `?2 = ?1`, the same as the earliest time of `next_due_at_ms` being
/// `<= ?1` (a max is `<= ?1` when both its terms are), but found by
/// walking the due items through `queue_by_due` and stopping at the first.
const HEAD_DUE: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM queue q INDEXED BY queue_by_due ",
    "WHERE q.state = 'pending' AND q.next_attempt_at_ms <= ?2 ",
    "AND (q.lease_until_ms IS NULL OR q.lease_until_ms <= ?1) AND ",
    is_head!(),
    ")"
);

impl Store {
    /// Queues `item`, durable when this returns; returns its local id. If the
    /// idempotency key is already queued, returns the existing item's id and
    /// stores nothing. Fails with [`StoreError::QueueFull`] past the limits.
    pub fn enqueue(&self, item: NewItem, now_ms: i64) -> Result<String, StoreError> {
        Ok(self
            .enqueue_grouped(item, None, None, now_ms, Durability::AtCommit)?
            .enqueued(self.path())?
            .local_id)
    }

    /// Queues `item` and, in the same transaction, leases it to `holder` for
    /// `lease_ms` when it is the head of its session, so a background drain
    /// does not send it while the caller does. Check [`Enqueued::leased`]: if
    /// `false`, the item waits in the queue and the caller must not send it.
    pub fn enqueue_leased(
        &self,
        item: NewItem,
        holder: &str,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Enqueued, StoreError> {
        self.enqueue_grouped(
            item,
            None,
            Some((holder, lease_ms)),
            now_ms,
            Durability::AtCommit,
        )?
        .enqueued(self.path())
    }

    /// [`Store::enqueue_leased`] answering with the row as inserted (see
    /// [`Queued::Item`]), so the caller can send it without reading it back,
    /// durable as `durability` says.
    pub(crate) fn enqueue_leased_row(
        &self,
        item: NewItem,
        holder: &str,
        lease_ms: i64,
        now_ms: i64,
        durability: Durability,
    ) -> Result<Queued, StoreError> {
        self.enqueue_grouped(item, None, Some((holder, lease_ms)), now_ms, durability)
    }

    /// [`Store::enqueue_leased_row`] (or, without a lease, [`Store::enqueue`])
    /// with the local checks of a direct update or end ([`EnqueueChecks`])
    /// in the same transaction, after the writes recorded for later
    /// (`later.rs`) and just before the insert: with `fill_tuple`, the
    /// item's tuple is the cached session's (an unknown tuple when none is
    /// cached); with `cached_handoff`, when the cache holds a handoff of the
    /// session, nothing is queued and [`Queued::Cached`] carries it. One
    /// durable transaction instead of a read (which, with writes recorded
    /// for later, was a commit of its own) and then the enqueue's. Durable
    /// as `durability` says.
    pub(crate) fn enqueue_checked(
        &self,
        item: NewItem,
        checks: EnqueueChecks,
        lease: Option<(&str, i64)>,
        now_ms: i64,
        durability: Durability,
    ) -> Result<Queued, StoreError> {
        self.enqueue_grouped(item, Some(checks), lease, now_ms, durability)
    }

    /// Leases up to `limit` items that are pending, due, not leased (or whose
    /// lease expired) and the head of their session, oldest first.
    pub fn lease_ready(
        &self,
        holder: &str,
        lease_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueueItem>, StoreError> {
        self.lease_due_by(holder, lease_ms, now_ms, now_ms, limit)
    }

    /// [`Store::lease_ready`] of the items that were due by `due_by_ms`
    /// (at most `now_ms`): an item scheduled later, e.g. released after a
    /// failure since, is left alone. `Crane::sync` leases with the time it
    /// began, so that it tries each item at most once.
    pub fn lease_due_by(
        &self,
        holder: &str,
        lease_ms: i64,
        now_ms: i64,
        due_by_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueueItem>, StoreError> {
        let due_by_ms = due_by_ms.min(now_ms);
        let until = now_ms.saturating_add(lease_ms.max(0));
        // A lease lost to power failure is an expired lease: no fsync needed.
        self.write_relaxed(|tx| {
            self.free_dead_leases_tx(tx, holder, now_ms)?;
            // Two plans, so that neither a backlog that is all due nor one
            // that is mostly waiting costs O(queue) per call (O(n²) to drain).
            // Many due: walk the queue in `seq` order (NOT INDEXED) and stop
            // at the first `limit` ready heads; through the due index SQLite
            // would visit and sort every due item. Few due (most back off
            // after failures): through the due index, which visits only them;
            // a walk would read every waiting item to find the few.
            let due: i64 = tx
                .prepare_cached(DUE_COUNT)?
                .query_row(params![due_by_ms, FEW_DUE], |r| r.get(0))?;
            let sql = if due < FEW_DUE {
                LEASE_FEW_DUE
            } else {
                LEASE_MANY_DUE
            };
            let mut items = query_items(tx, sql, params![now_ms, to_i64(limit), due_by_ms])?;
            // An undecodable item is never sent: it dies here, bytes kept,
            // and the rest of the batch goes on.
            let (bad, good): (Vec<QueueItem>, Vec<QueueItem>) =
                items.drain(..).partition(|i| i.raw_body.is_some());
            items = good;
            for item in bad {
                tx.prepare_cached(
                    "UPDATE queue SET state = 'dead', last_error = ?2, \
                     lease_holder = NULL, lease_until_ms = NULL WHERE local_id = ?1",
                )?
                .execute(params![item.local_id, QUARANTINED])?;
                bump(tx, "dead_total")?;
                tracing::warn!(local_id = %item.local_id, "quarantined an undecodable queue item");
            }
            let mut lease = tx.prepare_cached(LEASE_ONE)?;
            for item in &mut items {
                lease.execute(params![holder, until, item.local_id])?;
                item.lease_holder = Some(holder.to_owned());
                item.lease_until_ms = Some(until);
            }
            Ok(items)
        })
    }

    /// Marks a delivered item done by deleting it. Does nothing if `holder` no
    /// longer holds it (another process took it over); returns whether it acted.
    ///
    /// Committed without waiting for the disk: if power fails before the next
    /// durable commit, the item comes back and is sent again with its original
    /// idempotency key, which the server answers as a replay (see the module
    /// documentation of [`crate::store`]).
    pub fn complete(&self, local_id: &str, holder: &str) -> Result<bool, StoreError> {
        self.write_relaxed(|tx| self.delete_completed(tx, local_id, holder, "delivered_total"))
    }

    /// Removes a leased update that became obsolete (its session is gone)
    /// and counts it in `dropped_total`, not as delivered and not as dead.
    pub fn drop_obsolete(&self, local_id: &str, holder: &str) -> Result<bool, StoreError> {
        self.write_relaxed(|tx| self.delete_completed(tx, local_id, holder, "dropped_total"))
    }

    /// [`Store::complete`] for several delivered items in one transaction
    /// (one commit instead of one per item), together with what their
    /// deliveries teach the cache. Returns, per item, whether it acted. Same
    /// durability as `complete`: a completion lost to power failure only
    /// makes the item be sent again with its original idempotency key.
    pub fn complete_many(
        &self,
        holder: &str,
        items: &[Completion],
        now_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        self.write_relaxed(|tx| {
            let mut acted = Vec::with_capacity(items.len());
            for item in items {
                let size = complete_tx(tx, holder, item, now_ms)?;
                if let Some(size) = size {
                    self.adjust_totals(-1, size);
                }
                acted.push(size.is_some());
            }
            Ok(acted)
        })
    }

    /// Deletes a delivered item still held by `holder` and counts it;
    /// returns whether it acted.
    fn delete_completed(
        &self,
        tx: &Transaction<'_>,
        local_id: &str,
        holder: &str,
        counter: &str,
    ) -> Result<bool, StoreError> {
        let size = delete_completed_tx(tx, local_id, holder, counter)?;
        if let Some(size) = size {
            self.adjust_totals(-1, size);
        }
        Ok(size.is_some())
    }

    /// Records a transient failure: one more attempt, the error, no lease, and
    /// not due before `next_attempt_at_ms`. Only for the current holder;
    /// returns whether it acted.
    pub fn release(
        &self,
        local_id: &str,
        holder: &str,
        next_attempt_at_ms: i64,
        error: &str,
        correlation_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        // Lost on power failure, the item is merely retried sooner.
        self.write_relaxed(|tx| {
            let updated = tx.prepare_cached(RELEASE)?.execute(params![
                local_id,
                holder,
                clip(error),
                correlation_id,
                next_attempt_at_ms
            ])?;
            Ok(updated == 1)
        })
    }

    /// Records a permanent failure: the item becomes dead with `reason` and
    /// stays until retried or dropped. Only for the current holder; returns
    /// whether it acted.
    pub fn dead_letter(
        &self,
        local_id: &str,
        holder: &str,
        reason: &str,
        correlation_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let updated = tx.prepare_cached(DEAD_LETTER)?.execute(params![
                local_id,
                holder,
                clip(reason),
                correlation_id
            ])?;
            if updated == 1 {
                bump(tx, "dead_total")?;
            }
            Ok(updated == 1)
        })
    }

    /// When the next item can be leased: the earliest time, over the heads of
    /// all sessions, at which the item is due and its lease (if any) has
    /// expired. `None` when nothing is pending. May be in the past.
    pub fn next_due_at_ms(&self) -> Result<Option<i64>, StoreError> {
        self.read(|tx| {
            let sql = concat!(
                "SELECT min(CASE WHEN q.lease_until_ms IS NULL THEN q.next_attempt_at_ms ",
                "ELSE max(q.next_attempt_at_ms, q.lease_until_ms) END) ",
                "FROM queue q WHERE q.state = 'pending' AND ",
                is_head!()
            );
            Ok(tx.prepare_cached(sql)?.query_row([], |r| r.get(0))?)
        })
    }

    /// In one snapshot: whether any pending item is leased (unexpired) and
    /// whether a session's head is due at `now_ms` (unleased, or its lease
    /// expired) and was due by `due_by_ms`. Two separate reads could miss an
    /// item that became a due head between them when another drain settled
    /// its predecessor — `Crane::sync` would then stop with it still pending.
    pub fn leased_and_due(&self, now_ms: i64, due_by_ms: i64) -> Result<(bool, bool), StoreError> {
        self.read(|tx| {
            let leased: i64 = tx
                .prepare_cached(LIVE_LEASES)?
                .query_row([now_ms], |r| r.get(0))?;
            let due: bool = tx
                .prepare_cached(HEAD_DUE)?
                .query_row([now_ms, due_by_ms.min(now_ms)], |r| r.get(0))?;
            Ok((leased > 0, due))
        })
    }

    /// Makes every pending item that is scheduled later due at `now_ms` (an
    /// explicit "sync now"); leases are untouched. Returns how many moved.
    pub fn make_all_due(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.write(|tx| {
            let moved = tx
                .prepare_cached(
                    "UPDATE queue SET next_attempt_at_ms = ?1 \
                     WHERE state = 'pending' AND next_attempt_at_ms > ?1",
                )?
                .execute(params![now_ms])?;
            Ok(u64::try_from(moved).unwrap_or(u64::MAX))
        })
    }

    /// Voids every unexpired lease whose holder (other than `me`) is dead,
    /// so its items can be leased at once; returns how many items it freed.
    /// Holders whose liveness is unknown keep their leases until expiry.
    pub fn free_dead_leases(&self, me: &str, now_ms: i64) -> Result<u64, StoreError> {
        self.write_relaxed(|tx| self.free_dead_leases_tx(tx, me, now_ms))
    }

    /// Whether the holder of a lease is alive, by its OS lock (see
    /// [`Liveness`]); a dead holder's lock file is removed.
    pub fn holder_liveness(&self, holder: &str) -> Liveness {
        liveness(&owners_dir(self.path()), holder)
    }

    /// Removes the lock files of dead processes that hold no lease (a
    /// process killed while idle leaves one behind); the files of dead
    /// holders that still hold leases are removed when their leases are
    /// freed. Returns how many it removed. Best effort: errors are ignored.
    pub fn sweep_dead_owners(&self) -> Result<u64, StoreError> {
        let dir = owners_dir(self.path());
        let mut removed = 0;
        for id in super::owner::lock_file_ids(&dir) {
            let holds: bool = self.read(|tx| {
                Ok(tx
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM queue WHERE lease_holder = ?1)")?
                    .query_row(params![id], |r| r.get(0))?)
            })?;
            if !holds && liveness(&dir, &id) == Liveness::Dead {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// [`Store::free_dead_leases`] inside the caller's write transaction.
    /// Losing this change to power failure is harmless: the holder stays dead.
    fn free_dead_leases_tx(
        &self,
        tx: &Transaction<'_>,
        me: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let holders = tx
            .prepare_cached(LIVE_HOLDERS)?
            .query_map(params![me, now_ms], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let dir = owners_dir(self.path());
        let mut freed = 0;
        for holder in holders {
            if liveness(&dir, &holder) != Liveness::Dead {
                continue;
            }
            let n = tx.prepare_cached(VOID_HOLDER)?.execute(params![holder])?;
            tracing::info!(%holder, items = n, "freed the leases of a dead process");
            freed += u64::try_from(n).unwrap_or(0);
        }
        Ok(freed)
    }

    /// One session, one end: when the session already has a pending end, a
    /// new end (under another key) is the same operation if its request body
    /// is identical (its item is returned, leased to the caller if free),
    /// and otherwise refused with [`StoreError::EndPending`]. `None` when no
    /// end is pending.
    fn same_end(
        &self,
        tx: &Transaction<'_>,
        item: &NewItem,
        lease: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<Option<Enqueued>, StoreError> {
        let pending: Option<(String, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT local_id, CAST(body_json AS BLOB) FROM queue WHERE session_id = ?1 \
                 AND kind = 'end' AND state = 'pending' ORDER BY seq LIMIT 1",
            )?
            .query_row(params![item.session_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((local_id, body)) = pending else {
            return Ok(None);
        };
        if body == item.body_json.as_bytes() {
            let leased = match lease {
                Some((holder, until)) => {
                    self.free_dead_leases_tx(tx, holder, now_ms)?;
                    take_lease(tx, &local_id, holder, until, now_ms)?
                }
                None => false,
            };
            return Ok(Some(Enqueued { local_id, leased }));
        }
        let summary = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("summary")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(StoreError::EndPending {
            session_id: item.session_id.clone(),
            local_id,
            summary,
            refused_hash: item.payload_hash.clone().unwrap_or_default(),
        })
    }

    /// [`Store::insert`] after the request's [`EnqueueChecks`], if any.
    pub(super) fn insert_checked(
        &self,
        tx: &Transaction<'_>,
        mut item: NewItem,
        checks: Option<EnqueueChecks>,
        lease: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<Queued, StoreError> {
        if let Some(checks) = checks {
            if checks.fill_tuple {
                item.tuple = cached_tuple_tx(tx, &item.session_id)?;
            }
            if checks.cached_handoff {
                if let Some(handoff_json) = cached_handoff_of_session_tx(tx, &item.session_id)? {
                    return Ok(Queued::Cached {
                        tuple: item.tuple,
                        handoff_json,
                    });
                }
            }
        }
        self.insert(tx, item, lease, now_ms)
    }

    /// The body of `enqueue` and `enqueue_leased`, inside their transaction.
    pub(super) fn insert(
        &self,
        tx: &Transaction<'_>,
        item: NewItem,
        lease: Option<(&str, i64)>,
        now_ms: i64,
    ) -> Result<Queued, StoreError> {
        let lease = lease.map(|(holder, ms)| (holder, now_ms.saturating_add(ms.max(0))));
        let existing: Option<String> = tx
            .prepare_cached("SELECT local_id FROM queue WHERE idempotency_key = ?1")?
            .query_row(params![item.idempotency_key], |r| r.get(0))
            .optional()?;
        if let Some(local_id) = existing {
            let leased = match lease {
                Some((holder, until)) => {
                    self.free_dead_leases_tx(tx, holder, now_ms)?;
                    take_lease(tx, &local_id, holder, until, now_ms)?
                }
                None => false,
            };
            return Ok(Queued::Item {
                enqueued: Enqueued { local_id, leased },
                row: None,
            });
        }

        if item.kind == super::ItemKind::End {
            if let Some(found) = self.same_end(tx, &item, lease, now_ms)? {
                return Ok(Queued::Item {
                    enqueued: found,
                    row: None,
                });
            }
        }

        let limits = self.limits();
        let totals = self.queue_totals(tx)?;
        let (items, bytes) = (totals.items, totals.bytes);
        let size = u64::try_from(item.body_json.len()).unwrap_or(u64::MAX);
        if items.saturating_add(1) > u64::try_from(limits.max_items).unwrap_or(u64::MAX)
            || bytes.saturating_add(size) > limits.max_bytes
        {
            return Err(StoreError::QueueFull {
                path: self.path().to_path_buf(),
                items,
                bytes,
                max_items: limits.max_items,
                max_bytes: limits.max_bytes,
            });
        }

        let session_busy: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM queue WHERE session_id = ?1 AND state = 'pending')",
            )?
            .query_row(params![item.session_id], |r| r.get(0))?;
        let lease = lease.filter(|_| !session_busy);
        let local_id = new_local_id(now_ms);
        tx.prepare_cached(
            "INSERT INTO queue (local_id, kind, session_id, agent, venture, repo, track, \
             idempotency_key, body_json, payload_hash, size_bytes, state, attempts, \
             created_at_ms, next_attempt_at_ms, lease_holder, lease_until_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', 0, ?12, ?12, ?13, ?14)",
        )?
        .execute(params![
            local_id,
            item.kind.as_str(),
            item.session_id,
            item.tuple.agent,
            item.tuple.venture,
            item.tuple.repo,
            item.tuple.track,
            item.idempotency_key,
            item.body_json,
            item.payload_hash,
            to_i64(size),
            now_ms,
            lease.map(|(holder, _)| holder),
            lease.map(|(_, until)| until),
        ])?;
        self.adjust_totals(1, size);
        let enqueued = Enqueued {
            local_id: local_id.clone(),
            leased: lease.is_some(),
        };
        // The row as just inserted (the columns above), for a caller that
        // holds its lease and sends it now.
        let row = lease.map(|(holder, until)| {
            Box::new(QueueItem {
                local_id,
                kind: item.kind,
                session_id: item.session_id,
                tuple: item.tuple,
                idempotency_key: item.idempotency_key,
                body_json: item.body_json,
                payload_hash: item.payload_hash,
                state: ItemState::Pending,
                attempts: 0,
                created_at_ms: now_ms,
                next_attempt_at_ms: now_ms,
                last_error: None,
                last_correlation_id: None,
                lease_holder: Some(holder.to_owned()),
                lease_until_ms: Some(until),
                raw_body: None,
            })
        });
        Ok(Queued::Item { enqueued, row })
    }
}

/// Deletes a delivered item still held by `holder` and counts it in
/// `counter`; returns its size when it acted (the caller adjusts the totals).
fn delete_completed_tx(
    tx: &Transaction<'_>,
    local_id: &str,
    holder: &str,
    counter: &str,
) -> Result<Option<u64>, StoreError> {
    let size: Option<i64> = tx
        .prepare_cached(DELETE_HELD)?
        .query_row(params![local_id, holder], |r| r.get(0))
        .optional()?;
    if size.is_some() {
        bump(tx, counter)?;
    }
    Ok(size.map(to_u64))
}

/// Completes a delivered item and applies what it teaches the cache, inside
/// the caller's transaction; returns the item's size when it acted (the
/// caller adjusts the totals).
pub(super) fn complete_tx(
    tx: &Transaction<'_>,
    holder: &str,
    item: &Completion,
    now_ms: i64,
) -> Result<Option<u64>, StoreError> {
    let size = delete_completed_tx(tx, &item.local_id, holder, "delivered_total")?;
    if let Some(h) = &item.last_handoff {
        put_last_handoff_tx(tx, &h.venture, &h.repo, h.track, &h.handoff_json, now_ms)?;
    }
    if let Some(sid) = &item.ended_session {
        clear_current_session_tx(tx, sid)?;
    }
    Ok(size)
}

/// Leases an already-queued item to `holder` if it is pending, the head of its
/// session, and not held by anyone else. Returns whether it did.
fn take_lease(
    tx: &Transaction<'_>,
    local_id: &str,
    holder: &str,
    until: i64,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let updated = tx
        .prepare_cached(TAKE_LEASE)?
        .execute(params![local_id, holder, until, now_ms])?;
    Ok(updated == 1)
}

/// Increments a counter in `stats`, inside the caller's transaction.
/// A counter missing from an older file starts at 0.
fn bump(tx: &Transaction<'_>, counter: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO stats (name, value) VALUES (?1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = value + 1",
    )?
    .execute(params![counter])?;
    Ok(())
}

/// A ULID whose time part is the caller's clock, so ids sort like test time.
fn new_local_id(now_ms: i64) -> String {
    let ms = u64::try_from(now_ms).unwrap_or(0);
    ulid::Ulid::from_parts(ms, rand::random()).to_string()
}

/// At most [`MAX_ERROR_CHARS`] characters of `text`.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(clip(&long).chars().count(), MAX_ERROR_CHARS);
    }

    /// The plan of `sql` on a current-schema database holding a backlog
    /// (one line per step, as `EXPLAIN QUERY PLAN` words it).
    fn plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn backlog() -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::FRESH_SCHEMA)
            .unwrap();
        // 2,000 pending ends, the first 64 leased (a batch in flight).
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO queue (local_id, kind, session_id, agent, venture, repo, \
             idempotency_key, body_json, size_bytes, state, created_at_ms, next_attempt_at_ms, \
             lease_holder, lease_until_ms) \
             SELECT 'L' || i, 'end', 's' || i, 'a', 'vc', 'o/r', 'k' || i, '{}', 2, 'pending', \
             1, 1, iif(i <= 64, 'me', NULL), iif(i <= 64, 99, NULL) FROM n;",
        )
        .unwrap();
        conn
    }

    /// Every statement run per leased batch, per settled item or per `sync`
    /// poll must find its rows through an index that leads to them: no scan
    /// of the queue table and no search keyed on `state` alone (every
    /// pending row, nearly the whole backlog). Before the partial index
    /// `queue_by_lease`, `LIVE_HOLDERS` (run by every `lease_ready`) and
    /// `LIVE_LEASES` searched `queue_by_due (state=?)`, and `sync`'s due
    /// check walked every pending row: draining n items cost O(n²).
    #[test]
    fn per_batch_statements_use_an_index_not_the_whole_queue() {
        let conn = backlog();
        let statements = [
            ("DUE_COUNT", DUE_COUNT),
            ("LEASE_FEW_DUE", LEASE_FEW_DUE),
            ("LEASE_ONE", LEASE_ONE),
            ("DELETE_HELD", DELETE_HELD),
            ("RELEASE", RELEASE),
            ("DEAD_LETTER", DEAD_LETTER),
            ("TAKE_LEASE", TAKE_LEASE),
            ("LIVE_HOLDERS", LIVE_HOLDERS),
            ("VOID_HOLDER", VOID_HOLDER),
            ("LIVE_LEASES", LIVE_LEASES),
            ("HEAD_DUE", HEAD_DUE),
        ];
        for (name, sql) in statements {
            let steps = plan(&conn, sql);
            for step in &steps {
                // `queue` or its aliases (a subquery's own rows are not the table).
                let of_queue = matches!(step.split_whitespace().nth(1), Some("queue" | "q" | "o"));
                let whole_table = step.starts_with("SCAN ")
                    && of_queue
                    // A scan of the partial index reads the leased rows only.
                    && !step.contains("INDEX queue_by_lease");
                let every_pending = step.starts_with("SEARCH ") && step.ends_with("(state=?)");
                assert!(
                    !whole_table && !every_pending,
                    "{name} reads the whole queue: {steps:?}"
                );
            }
        }
    }

    /// The one walk over the table, for many due items, must follow `seq`
    /// (the rowid) so that it stops at its `LIMIT`: no sort of every row.
    #[test]
    fn leasing_many_due_items_walks_in_seq_order_and_stops_at_the_limit() {
        let steps = plan(&backlog(), LEASE_MANY_DUE);
        assert!(steps.iter().any(|s| s == "SCAN q"), "{steps:?}");
        assert!(
            !steps.iter().any(|s| s.contains("TEMP B-TREE")),
            "{steps:?}"
        );
    }

    /// `HEAD_DUE` says what `next_due_at_ms` did (`sync` relied on it):
    /// due when an unleased or expired head is not scheduled later.
    #[test]
    fn head_due_agrees_with_the_earliest_due_time() {
        let conn = backlog();
        let earliest = concat!(
            "SELECT min(CASE WHEN q.lease_until_ms IS NULL THEN q.next_attempt_at_ms ",
            "ELSE max(q.next_attempt_at_ms, q.lease_until_ms) END) ",
            "FROM queue q WHERE q.state = 'pending' AND ",
            is_head!()
        );
        // Leased rows (until 99), later rows, a second item behind a head,
        // a dead row: each case on either side of `now`.
        conn.execute_batch(
            "UPDATE queue SET next_attempt_at_ms = 50 WHERE seq > 64; \
             UPDATE queue SET session_id = 's1' WHERE seq = 1500; \
             UPDATE queue SET state = 'dead' WHERE seq = 1600;",
        )
        .unwrap();
        for now in [0, 1, 49, 50, 98, 99, 100] {
            let due: bool = conn.query_row(HEAD_DUE, [now, now], |r| r.get(0)).unwrap();
            let at: Option<i64> = conn.query_row(earliest, [], |r| r.get(0)).unwrap();
            assert_eq!(due, at.is_some_and(|t| t <= now), "now {now}");
        }
    }

    #[test]
    fn local_ids_are_ulids_carrying_the_callers_time() {
        let id = new_local_id(1_700_000_000_123);
        let ulid: ulid::Ulid = id.parse().unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_700_000_000_123);
    }
}

/// A delivered queue item, for [`Store::complete_many`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The item.
    pub local_id: String,
    /// The handoff the server stored, to cache as the last one of its
    /// venture/repo/track (`/eod` items).
    pub last_handoff: Option<CachedHandoff>,
    /// The session the item ended, to forget as current (`/eod` items).
    pub ended_session: Option<String>,
}

/// A handoff to cache as the last one of `(venture, repo, track)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedHandoff {
    /// Venture code.
    pub venture: String,
    /// Repository.
    pub repo: String,
    /// Track.
    pub track: Option<i64>,
    /// The handoff as JSON text.
    pub handoff_json: String,
}
