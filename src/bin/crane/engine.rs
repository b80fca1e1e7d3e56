//! The library engine as a short-lived CLI process uses it.
//!
//! A command opens a [`Crane`] (which starts the background queue drain), does
//! its work, and before exiting waits for deliveries this process has in
//! flight, so that a delivery it started is finished and reported rather
//! than cut off (if it dies anyway, the next process takes the item over at
//! once: leases end with their holder's life). The wait is bounded.
//! On the way out the connectivity the engine learned is recorded for
//! `crane status`.

use std::sync::Arc;
use std::time::Duration;

use crane_context::connectivity::State;
use crane_context::engine::{Crane, CraneConfig, Event};
use tokio::sync::mpsc;

use crate::args::SessionArgs;
use crate::commands::common::{resolve_session, Target};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::state;

/// Longest wait for this process's in-flight deliveries before exiting.
const SETTLE_MAX: Duration = Duration::from_secs(20);

/// An open engine and the events it reports.
pub struct Engine {
    /// The engine.
    pub crane: Crane,
    /// Background events (deliveries, heartbeats, connectivity).
    pub events: mpsc::UnboundedReceiver<Event>,
    data_dir: std::path::PathBuf,
}

impl Engine {
    /// Opens the engine on the configured server and the local store.
    pub async fn open(ctx: &Ctx) -> CliResult<Self> {
        let client = ctx.client_config()?;
        let (tx, events) = mpsc::unbounded_channel();
        let config = CraneConfig::new(client)
            .store_path(ctx.store_path()?)
            .rehome_abandoned(ctx.settings()?.rehome_abandoned)
            .listener(Arc::new(move |e: Event| {
                let _ = tx.send(e);
            }));
        let crane = Crane::open(config).await?;
        Ok(Self {
            crane,
            events,
            data_dir: ctx.data_dir()?,
        })
    }

    /// The session a command acts on, found through the engine's own store
    /// (opening a second connection cost a second open and a thread hop).
    /// On failure the engine is closed before the error is returned.
    pub async fn target(&self, ctx: &Ctx, args: &SessionArgs) -> CliResult<Target> {
        match resolve_session(ctx, self.crane.store(), args) {
            Ok(t) => Ok(t),
            Err(e) => {
                let _ = self.crane.close().await;
                Err(e)
            }
        }
    }

    /// Whether the engine believes the server is reachable.
    pub fn online(&self) -> bool {
        self.crane.client().connectivity().is_online()
    }

    /// Waits (bounded) until no queue item is held by this process's deliveries.
    pub async fn settle(&self) {
        let _ = self.crane.settle(SETTLE_MAX).await;
    }

    /// Records the connectivity learned.
    pub fn record_contact(&self) {
        match self.crane.client().connectivity().state() {
            State::Online => state::record_contact(&self.data_dir, true, None),
            State::Offline { reason } => state::record_contact(&self.data_dir, false, Some(reason)),
        }
    }

    /// Settles, records connectivity and closes the engine (an item still
    /// held after the wait is released for another process to send).
    pub async fn finish(self) {
        self.settle().await;
        self.record_contact();
        let _ = self.crane.close().await;
    }
}
