//! Walking every page of `GET /handoffs`.
//!
//! The server pages newest-first with an opaque `next_cursor`; these helpers
//! follow it until `has_more` is false, as a `Stream` of pages or of handoffs.
//! A server that loops (the same cursor again, or "more follow" with an empty
//! page) or a listing past [`policy::MAX_PAGES_PER_WALK`] pages stops the
//! walk with [`Error::PagingStopped`]: a client must never page forever.
//! [`PageWalk`] holds that rule once for the stream and the bindings' pager.

use std::collections::HashSet;

use futures_util::stream::{self, Stream, TryStreamExt};

use crate::model::{Handoff, HandoffPage, HandoffsQuery};
use crate::{policy, Client, Error};

/// The state of one walk: cursors seen and pages received.
#[derive(Debug, Default)]
pub(crate) struct PageWalk {
    seen: HashSet<String>,
    pages: u32,
}

impl PageWalk {
    /// A walk starting at `first` (whose cursor, if any, counts as seen).
    pub(crate) fn new(first: &HandoffsQuery) -> Self {
        Self {
            seen: first.cursor.iter().cloned().collect(),
            pages: 0,
        }
    }

    /// The query after `page` (fetched with `query`), `None` at the end, or
    /// an error when following it would loop or pass the ceiling.
    pub(crate) fn follow(
        &mut self,
        query: &HandoffsQuery,
        page: &HandoffPage,
    ) -> Result<Option<HandoffsQuery>, Error> {
        self.pages += 1;
        let Some(next) = query.after(page) else {
            return Ok(None);
        };
        let stop = |message: String| Error::PagingStopped {
            pages: self.pages,
            message,
        };
        if page.handoffs.is_empty() {
            return Err(stop(
                "the server said more pages follow but sent an empty page".into(),
            ));
        }
        let cursor = next.cursor.clone().unwrap_or_default();
        if self.seen.contains(&cursor) {
            return Err(stop(
                "the server sent a cursor it had sent before (a paging loop)".into(),
            ));
        }
        if self.pages >= policy::MAX_PAGES_PER_WALK {
            return Err(stop(format!(
                "more than {} pages; narrow the filter",
                policy::MAX_PAGES_PER_WALK
            )));
        }
        self.seen.insert(cursor);
        Ok(Some(next))
    }
}

impl Client {
    /// Every page for a query, following `next_cursor`; stops with
    /// [`Error::PagingStopped`] if the server loops or the listing passes
    /// [`policy::MAX_PAGES_PER_WALK`] pages.
    pub fn handoff_pages(
        &self,
        query: HandoffsQuery,
    ) -> impl Stream<Item = Result<HandoffPage, Error>> + Send + '_ {
        let walk = PageWalk::new(&query);
        stream::try_unfold((Some(query), walk), move |(next, mut walk)| async move {
            let Some(q) = next else {
                return Ok(None);
            };
            let page = self.handoffs(&q).await?;
            let following = walk.follow(&q, &page)?;
            Ok(Some((page, (following, walk))))
        })
    }

    /// Every handoff for a query, newest first, across pages.
    pub fn all_handoffs(
        &self,
        query: HandoffsQuery,
    ) -> impl Stream<Item = Result<Handoff, Error>> + Send + '_ {
        self.handoff_pages(query)
            .map_ok(|p| stream::iter(p.handoffs.into_iter().map(Ok)))
            .try_flatten()
    }
}
