//! The client methods of the routes v2 added beyond the session life cycle.
//!
//! They live apart from the v1 methods (one file per group) but use the
//! same machinery: [`Client::read`] for reads, [`Client::exchange`] for
//! writes, the same retry policy, connectivity and error classification.
//! What differs is which writes may be retried (see the contract's
//! "Writes that are not idempotent on the server"):
//!
//! | write | retried? | why it is safe |
//! |---|---|---|
//! | `POST /checkpoint` | only when no connection was made, or after the server answered and a read of `/checkpoints` shows it did not store it | the server adds a checkpoint on every call, key or not |
//! | `POST /notes` | yes | always sent with a `source_hash` (the caller's or one derived from the content): the server upserts on it |
//! | `POST /notes/:id/update`, `/archive` | yes | setting the same fields twice is the same |
//! | `POST /handoffs/:id/status` | yes | ditto |
//! | `POST /sessions/:id/activity` | yes | the server stores each minute once |
//!
//! None of these routes honours an `Idempotency-Key` (only `/sos`, `/eos`
//! and `/update` do), so none is sent.

mod checkpoints;
mod notes;
mod reads;
mod ventures;
mod writes;

use crate::model::v2::wire;
use crate::Error;

/// The URL path `/<prefix>/<segment>[/<suffix>]` after checking that
/// `segment` cannot escape its place in the path.
fn path_with(prefix: &str, field: &str, segment: &str, suffix: &str) -> Result<String, Error> {
    wire::path_segment(field, segment)?;
    Ok(format!("{prefix}/{segment}{suffix}"))
}
