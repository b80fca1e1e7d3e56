//! The records of the offline queue and how they are read from SQLite.
//!
//! [`NewItem`] is what a caller hands over; [`QueueItem`] is what is stored,
//! including the delivery bookkeeping (attempts, schedule, lease, last error).
//! Kinds and states are stored and serialized as lowercase text (`"update"`,
//! `"end"`, `"pending"`, `"dead"`); a value this SDK does not know is read as
//! [`StoreError::Corrupt`], never a panic. The
//! `select_items!` and `is_head!` SQL fragments shared by the queue modules
//! live here so that every query reads items the same way.

use rusqlite::{Row, Transaction};
use serde::{Deserialize, Serialize};

pub use crate::model::SessionTuple;

use super::StoreError;

/// `SELECT` of every [`QueueItem`] column from `queue q`, followed by the rest of the query.
macro_rules! select_items {
    ($($rest:expr),*) => {
        concat!(
            "SELECT q.local_id, q.kind, q.session_id, q.agent, q.venture, q.repo, q.track, ",
            "q.idempotency_key, q.body_json, q.payload_hash, q.state, q.attempts, ",
            "q.created_at_ms, q.next_attempt_at_ms, q.last_error, q.last_correlation_id, ",
            "q.lease_holder, q.lease_until_ms FROM queue q ", $($rest),*
        )
    };
}

/// SQL condition: `q` is the head of its session (no older pending item).
macro_rules! is_head {
    () => {
        "NOT EXISTS (SELECT 1 FROM queue o WHERE o.session_id = q.session_id \
         AND o.state = 'pending' AND o.seq < q.seq)"
    };
}

pub(super) use {is_head, select_items};

/// How the lane of a queued note starts (no session id does: they are
/// `sess_…` or ULIDs).
pub const NOTE_LANE_PREFIX: &str = "note:";

/// Which route a queued request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// `POST /update`.
    Update,
    /// `POST /eod`: the handoff that ends a session.
    End,
    /// `POST /notes` (v2): a note, sent with its content-derived
    /// `source_hash`, so a resend is an upsert. Not tied to a session: each
    /// note is its own lane (see [`ItemKind::note_lane`]).
    Note,
    /// `POST /checkpoint` (v2): confirmed by reading `/checkpoints` before
    /// every resend; ordered in its session's lane, before its end.
    Checkpoint,
}

impl ItemKind {
    /// The stored and serialized name: `"update"`, `"end"`, `"note"` or
    /// `"checkpoint"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Update => "update",
            ItemKind::End => "end",
            ItemKind::Note => "note",
            ItemKind::Checkpoint => "checkpoint",
        }
    }

    /// The ordering lane (the `session_id` column) of a queued note: one
    /// lane per note, named after its idempotency key, so a note never waits
    /// behind a session's items (or another note) and never holds one back.
    pub fn note_lane(idempotency_key: &str) -> String {
        format!("{NOTE_LANE_PREFIX}{idempotency_key}")
    }

    fn parse(text: &str) -> Option<Self> {
        [
            ItemKind::Update,
            ItemKind::End,
            ItemKind::Note,
            ItemKind::Checkpoint,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Where a queued item stands. Delivered items are deleted, so have no state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    /// Waiting to be (re)sent.
    Pending,
    /// Failed permanently; kept with its reason until retried or dropped.
    Dead,
}

impl ItemState {
    /// The stored and serialized name: `"pending"` or `"dead"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Dead => "dead",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [ItemState::Pending, ItemState::Dead]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A request to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// Which route it goes to.
    pub kind: ItemKind,
    /// The session it belongs to (items of one session are sent in order).
    pub session_id: String,
    /// The session's tuple.
    pub tuple: SessionTuple,
    /// Created once by the caller; stored and sent unchanged on every retry.
    pub idempotency_key: String,
    /// The exact request body to send.
    pub body_json: String,
    /// For `End`: SHA-256 of the canonical payload, to prove delivery later.
    pub payload_hash: Option<String>,
}

/// A queued item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    /// Local id (a ULID) assigned by the store.
    pub local_id: String,
    /// Which route it goes to.
    pub kind: ItemKind,
    /// The session it belongs to.
    pub session_id: String,
    /// The session's tuple.
    pub tuple: SessionTuple,
    /// The idempotency key sent with every attempt.
    pub idempotency_key: String,
    /// The exact request body to send.
    pub body_json: String,
    /// For `End`: SHA-256 of the canonical payload.
    pub payload_hash: Option<String>,
    /// Pending or dead.
    pub state: ItemState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued (unix ms).
    pub created_at_ms: i64,
    /// Not to be sent before this time (unix ms).
    pub next_attempt_at_ms: i64,
    /// Why the last attempt failed (or why it died).
    pub last_error: Option<String>,
    /// The server's correlation id for the last failed attempt.
    pub last_correlation_id: Option<String>,
    /// Who holds (or last held) the lease.
    pub lease_holder: Option<String>,
    /// When the lease ends (unix ms); ignored once past.
    pub lease_until_ms: Option<i64>,
    /// The stored body's bytes when they are not valid UTF-8 (`body_json`
    /// then holds a lossy rendering). Such an item is quarantined: never
    /// sent, dead-lettered when it would be leased, its bytes kept for a
    /// person to inspect, and it blocks neither other items nor the queue
    /// commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<Vec<u8>>,
}

/// The result of [`Store::enqueue_leased`](super::Store::enqueue_leased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The item's local id (the existing one when the key was already queued).
    pub local_id: String,
    /// Whether the caller now holds the lease and should send the item itself.
    /// `false` when an older item of the same session is still pending (the
    /// item must wait its turn), when the key was already queued and is held by
    /// someone else, or when it is dead.
    pub leased: bool,
}

/// When an enqueue's commit reaches stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Committed with `synchronous=FULL`: durable when the call returns.
    AtCommit,
    /// Committed with `synchronous=NORMAL` (when the store is in WAL mode;
    /// else as [`Durability::AtCommit`]): durable only once the caller's
    /// [`Store::sync_wal`](super::Store::sync_wal) returns, which it must
    /// await before telling anyone the item is queued (see `wal_sync.rs`).
    Deferred,
}

/// The local checks of a direct update or end, run by
/// [`Store::enqueue_checked`] inside the transaction that queues it (before
/// the insert).
///
/// [`Store::enqueue_checked`]: super::Store::enqueue_checked
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EnqueueChecks {
    /// The item was built without its session's tuple: take it from the
    /// cached session (an unknown, empty tuple when none is cached).
    pub fill_tuple: bool,
    /// An end: when the cache holds a handoff of its session, queue nothing
    /// and answer [`Queued::Cached`].
    pub cached_handoff: bool,
}

/// What a durable enqueue did (crate-internal: [`Enqueued`] is the public
/// answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Queued {
    /// The item is queued (or was already, under its key).
    Item {
        /// Its id and whether the caller holds its lease.
        enqueued: Enqueued,
        /// The row exactly as this call inserted it, when this call inserted
        /// it and holds its lease (so the caller can send it without reading
        /// it back); `None` when the item was already queued or is not
        /// leased to the caller.
        row: Option<Box<QueueItem>>,
    },
    /// [`EnqueueChecks`] found a handoff of the session in the cache: nothing
    /// was queued (the caller decides from it).
    Cached {
        /// The session's tuple, as the checks resolved it.
        tuple: SessionTuple,
        /// The cached handoff (JSON text).
        handoff_json: String,
    },
}

impl Queued {
    /// The item's [`Enqueued`] (of the store at `path`). A
    /// [`Queued::Cached`] cannot come from an enqueue without
    /// [`EnqueueChecks`]; were it to, it is an error, never a silent success.
    pub(crate) fn enqueued(self, path: &std::path::Path) -> Result<Enqueued, StoreError> {
        Ok(self.into_item(path)?.0)
    }

    /// The item's [`Enqueued`] and the row as inserted (see
    /// [`Queued::Item`]); a [`Queued::Cached`] is an error, as for
    /// [`Queued::enqueued`].
    pub(crate) fn into_item(
        self,
        path: &std::path::Path,
    ) -> Result<(Enqueued, Option<Box<QueueItem>>), StoreError> {
        match self {
            Queued::Item { enqueued, row } => Ok((enqueued, row)),
            Queued::Cached { .. } => Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: "an enqueue without end checks reported a cached handoff".into(),
            }),
        }
    }
}

/// How many items the queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QueueCounts {
    /// Pending items.
    pub pending: u64,
    /// Dead items.
    pub dead: u64,
    /// Bytes of request bodies, pending and dead (what [`QueueLimits`](super::QueueLimits) caps).
    pub bytes: u64,
    /// Pending items with a lease recorded (including leases that have expired
    /// but were not yet taken over).
    pub leased: u64,
}

/// Counters since the store file was created, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QueueStats {
    /// Items completed (delivered) and deleted.
    pub delivered_total: u64,
    /// Items moved to dead.
    pub dead_total: u64,
    /// Queued updates dropped because their session was gone.
    pub dropped_total: u64,
}

/// Runs `sql` (built with [`select_items!`]) and reads every row as a [`QueueItem`].
pub(super) fn query_items(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<QueueItem>, StoreError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map(params, item_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Reads one row selected by [`select_items!`].
fn item_from_row(row: &Row<'_>) -> rusqlite::Result<QueueItem> {
    let (body_json, raw_body) = body_from(row, 8)?;
    Ok(QueueItem {
        local_id: row.get(0)?,
        kind: parse_column(row, 1, ItemKind::parse)?,
        session_id: row.get(2)?,
        tuple: SessionTuple {
            agent: row.get(3)?,
            venture: row.get(4)?,
            repo: row.get(5)?,
            track: row.get(6)?,
        },
        idempotency_key: row.get(7)?,
        body_json,
        payload_hash: row.get(9)?,
        state: parse_column(row, 10, ItemState::parse)?,
        attempts: row.get(11)?,
        created_at_ms: row.get(12)?,
        next_attempt_at_ms: row.get(13)?,
        last_error: row.get(14)?,
        last_correlation_id: row.get(15)?,
        lease_holder: row.get(16)?,
        lease_until_ms: row.get(17)?,
        raw_body,
    })
}

/// The body column: its text, or, when its bytes are not UTF-8, a lossy
/// rendering with the bytes themselves (the item is then quarantined
/// instead of making every query of the queue fail).
fn body_from(row: &Row<'_>, idx: usize) -> rusqlite::Result<(String, Option<Vec<u8>>)> {
    use rusqlite::types::ValueRef;
    match row.get_ref(idx)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Ok(match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_owned(), None),
            Err(_) => (
                String::from_utf8_lossy(bytes).into_owned(),
                Some(bytes.to_vec()),
            ),
        }),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            idx,
            other.data_type(),
            "the body is not text".into(),
        )),
    }
}

/// Reads a text column through `parse`; an unknown value is a conversion error
/// (refined to [`StoreError::Corrupt`]), never a panic.
fn parse_column<T>(row: &Row<'_>, idx: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text = row.get_ref(idx)?.as_str()?;
    parse(text).ok_or_else(|| {
        let msg = format!("unknown value {text:?}");
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, msg.into())
    })
}

/// A count or sum read from SQLite (never negative) as `u64`.
pub(super) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A size or limit as SQLite's `i64`, saturating.
pub(super) fn to_i64<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_state_round_trip_through_their_text() {
        for kind in [
            ItemKind::Update,
            ItemKind::End,
            ItemKind::Note,
            ItemKind::Checkpoint,
        ] {
            assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for state in [ItemState::Pending, ItemState::Dead] {
            assert_eq!(ItemState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(ItemKind::parse("End"), None);
    }
}
