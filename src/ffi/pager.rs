//! `HandoffPager`: walks every page of a handoff listing, one call per page.
//!
//! The Rust API offers a `Stream` ([`crate::Client::handoff_pages`]); a
//! stream does not cross the FFI, so the pager keeps the next page's query
//! (the cursor the server returned) and answers `next_page()` until the
//! server says there is no more. Calls are serialized, so two concurrent
//! `next_page()` calls return two different pages.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::engine::Crane;
use crate::model::HandoffsQuery;
use crate::pages::PageWalk;
use crate::Error;

use super::queries::HandoffPage;
use super::runtime::{block_exchange, run};
use super::CraneError;

/// Every page of a handoff listing, newest first.
#[derive(uniffi::Object)]
pub struct HandoffPager {
    crane: Crane,
    next: Arc<Mutex<Walk>>,
}

/// The next page's query and the walk's loop guard.
type Walk = (Option<HandoffsQuery>, PageWalk);

impl HandoffPager {
    pub(crate) fn new(crane: Crane, first: HandoffsQuery) -> Arc<Self> {
        let walk = PageWalk::new(&first);
        Arc::new(Self {
            crane,
            next: Arc::new(Mutex::new((Some(first), walk))),
        })
    }
}

/// Fetches the page `next` points at and moves it to the following one.
async fn next_page(crane: Crane, next: Arc<Mutex<Walk>>) -> Result<Option<HandoffPage>, Error> {
    let mut guard = next.lock().await;
    let (next, walk) = &mut *guard;
    let Some(query) = next.clone() else {
        return Ok(None);
    };
    let page = crane.client().handoffs(&query).await?;
    *next = walk.follow(&query, &page)?;
    Ok(Some(page.into()))
}

#[uniffi::export(async_runtime = "tokio")]
impl HandoffPager {
    /// The next page, or `None` once every page was returned. After an
    /// error the same page is asked for again on the next call.
    pub async fn next_page(&self) -> Result<Option<HandoffPage>, CraneError> {
        run(next_page(self.crane.clone(), Arc::clone(&self.next))).await
    }
}

#[uniffi::export]
impl HandoffPager {
    /// Blocking form of `next_page`.
    pub fn next_page_blocking(&self) -> Result<Option<HandoffPage>, CraneError> {
        block_exchange(next_page(self.crane.clone(), Arc::clone(&self.next)))
    }
}
