//! Walking every page of `GET /handoffs`.
//!
//! The server pages newest-first with an opaque `next_cursor`; these helpers
//! follow it until `has_more` is false, as a `Stream` of pages or of handoffs.

use futures_util::stream::{self, Stream, TryStreamExt};

use crate::model::{Handoff, HandoffPage, HandoffsQuery};
use crate::{Client, Error};

impl Client {
    /// Every page for a query, following `next_cursor`.
    pub fn handoff_pages(
        &self,
        query: HandoffsQuery,
    ) -> impl Stream<Item = Result<HandoffPage, Error>> + Send + '_ {
        stream::try_unfold(Some(query), move |next| async move {
            let Some(q) = next else {
                return Ok(None);
            };
            let page = self.handoffs(&q).await?;
            let following = q.after(&page);
            Ok(Some((page, following)))
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
