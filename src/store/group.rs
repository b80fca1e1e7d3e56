//! Group commit for durable enqueues.
//!
//! Every enqueue must be on stable storage before the caller hears "queued":
//! a commit with `synchronous=FULL`, one fsync. Done one by one, concurrent
//! producers (many sessions of one agent, several threads of a binding) wait
//! in line for one fsync each, so the queue could never take more items per
//! second than the disk takes fsyncs. Here the first caller to find no
//! commit in progress becomes the leader: it takes every request waiting at
//! that moment (its own included), inserts them all in one transaction,
//! commits once, and hands each caller its own result; callers that arrive
//! meanwhile wait and form the next group. Each caller still returns only
//! after its own item is durable, and a lone caller pays nothing extra.
//!
//! A request may carry [`EnqueueChecks`]: the local checks of an end (its
//! session's tuple and any cached handoff of it), run inside the same
//! transaction just before its insert, so they see the store exactly as the
//! insert does and cost no transaction of their own.
//!
//! A request may defer its fsync ([`Durability::Deferred`]): it is then
//! committed with `synchronous=NORMAL` and its caller syncs the WAL itself
//! while doing other work (see `wal_sync.rs`). A group holding any request
//! that does not defer commits with `FULL`, which serves both.
//!
//! A request that cannot be queued (the queue is full) gets its own error
//! without failing the others. If the group's transaction fails as a whole,
//! each request is retried alone, so every caller gets the result of its own
//! attempt.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::{Durability, EnqueueChecks, NewItem, Queued, Store, StoreError};

/// Most requests committed in one transaction.
const MAX_GROUP: usize = 256;

/// The waiting requests and finished results of a store's enqueues.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    pending: Vec<Request>,
    results: HashMap<u64, Result<Queued, StoreError>>,
    leader: bool,
}

struct Request {
    ticket: u64,
    item: NewItem,
    checks: Option<EnqueueChecks>,
    lease: Option<(String, i64)>,
    now_ms: i64,
    durable: bool,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// Queues `item` durably through the group commit; see the module docs.
    pub(super) fn enqueue_grouped(
        &self,
        item: NewItem,
        checks: Option<EnqueueChecks>,
        lease: Option<(&str, i64)>,
        now_ms: i64,
        durability: Durability,
    ) -> Result<Queued, StoreError> {
        // Without WAL, only a FULL commit is durable (see `wal_sync.rs`).
        let durable = durability == Durability::AtCommit || !self.defers_sync();
        let group = self.group();
        let mut st = group.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        st.pending.push(Request {
            ticket,
            item,
            checks,
            lease: lease.map(|(h, ms)| (h.to_owned(), ms)),
            now_ms,
            durable,
        });
        loop {
            if let Some(result) = st.results.remove(&ticket) {
                return result;
            }
            if st.leader {
                st = group.done.wait(st).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Lead: our own request is among those taken (nobody else took
            // the queue since we pushed, or its leader answered us already).
            st.leader = true;
            let take = st.pending.len().min(MAX_GROUP);
            let batch: Vec<Request> = st.pending.drain(..take).collect();
            drop(st);
            let mut leading = Leading {
                store: self,
                tickets: batch.iter().map(|r| r.ticket).collect(),
                results: Vec::new(),
            };
            leading.results = self.commit_group(batch);
            drop(leading); // publishes the results and wakes the waiters
            st = group.lock();
        }
    }

    /// Inserts a group in one transaction, durable unless every request
    /// defers its sync; per-request results.
    fn commit_group(&self, batch: Vec<Request>) -> Vec<(u64, Result<Queued, StoreError>)> {
        if batch.len() > 1 {
            let durable = batch.iter().any(|r| r.durable);
            let together = self.commit(durable, |tx| {
                let mut out = Vec::with_capacity(batch.len());
                for r in &batch {
                    let lease = r.lease.as_ref().map(|(h, ms)| (h.as_str(), *ms));
                    match self.insert_checked(tx, r.item.clone(), r.checks, lease, r.now_ms) {
                        Ok(e) => out.push((r.ticket, Ok(e))),
                        // Checked before anything is written: only this one fails.
                        Err(e @ StoreError::QueueFull { .. }) => out.push((r.ticket, Err(e))),
                        Err(e) => return Err(e),
                    }
                }
                Ok(out)
            });
            if let Ok(out) = together {
                return out;
            }
        }
        // Alone (or again, alone, after the group's transaction failed).
        batch
            .into_iter()
            .map(|r| {
                let lease = r.lease.as_ref().map(|(h, ms)| (h.as_str(), *ms));
                let result = self.commit(r.durable, |tx| {
                    self.insert_checked(tx, r.item, r.checks, lease, r.now_ms)
                });
                (r.ticket, result)
            })
            .collect()
    }
}

/// The leader's duty, done on drop so that even a panic in the middle
/// releases the waiters: publish every result (an error for those missing)
/// and hand leadership on.
struct Leading<'a> {
    store: &'a Store,
    tickets: Vec<u64>,
    results: Vec<(u64, Result<Queued, StoreError>)>,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let group = self.store.group();
        let mut st = group.lock();
        for (ticket, result) in self.results.drain(..) {
            st.results.insert(ticket, result);
        }
        for ticket in &self.tickets {
            st.results.entry(*ticket).or_insert_with(|| {
                Err(StoreError::Poisoned {
                    path: self.store.path().to_path_buf(),
                })
            });
        }
        st.leader = false;
        drop(st);
        group.done.notify_all();
    }
}
