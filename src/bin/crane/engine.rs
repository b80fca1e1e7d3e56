//! The library engine as a short-lived CLI process uses it.
//!
//! A command opens a [`Crane`] (which starts the background queue drain), does
//! its work, and before exiting waits for deliveries this process has in
//! flight: a process that exits mid-delivery leaves its lease on the item,
//! and nobody else may send it until the lease expires. The wait is bounded.
//! On the way out the connectivity the engine learned is recorded for
//! `crane status`.

use std::sync::Arc;
use std::time::Duration;

use crane_context::connectivity::State;
use crane_context::engine::{Crane, CraneConfig, Event};
use crane_context::store::ItemState;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::state;

/// Longest wait for this process's in-flight deliveries before exiting.
const SETTLE_MAX: Duration = Duration::from_secs(20);
/// How often the wait looks at the queue.
const SETTLE_POLL: Duration = Duration::from_millis(25);

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

    /// Whether the engine believes the server is reachable.
    pub fn online(&self) -> bool {
        self.crane.client().connectivity().is_online()
    }

    /// Waits (bounded) until no queue item is leased by this process.
    pub async fn settle(&self) {
        let prefix = format!("{}-", std::process::id());
        let deadline = tokio::time::Instant::now() + SETTLE_MAX;
        loop {
            let store = self.crane.store().clone();
            let p = prefix.clone();
            let busy = tokio::task::spawn_blocking(move || {
                let now = Timestamp::now().as_millisecond();
                store.list(Some(ItemState::Pending)).map(|items| {
                    items.iter().any(|i| {
                        i.lease_holder.as_deref().is_some_and(|h| h.starts_with(&p))
                            && i.lease_until_ms.is_some_and(|u| u > now)
                    })
                })
            })
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
            if !busy || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }

    /// Records the connectivity learned.
    pub fn record_contact(&self) {
        match self.crane.client().connectivity().state() {
            State::Online => state::record_contact(&self.data_dir, true, None),
            State::Offline { reason } => state::record_contact(&self.data_dir, false, Some(reason)),
        }
    }

    /// Settles, records connectivity and stops the background tasks.
    pub async fn finish(self) {
        self.settle().await;
        self.record_contact();
        self.crane.shutdown();
    }
}
