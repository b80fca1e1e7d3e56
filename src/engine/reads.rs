//! Reads that still answer offline.
//!
//! A read goes to the server first; its answer refreshes the local cache. If
//! the server cannot be reached, the cached value is returned marked stale,
//! with its age, so an agent can keep working and tell its user how old the
//! information is. Docs from `/sod` are cached by content hash and rewritten
//! only when they change.

use std::time::Duration;

use super::Crane;
use crate::model::{DocItem, Handoff, LatestHandoffQuery};
use crate::store::CachedHandoff;
use crate::Error;

/// A value and how fresh it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Fresh<T> {
    /// The value.
    pub value: T,
    /// True when it came from the local cache because the server was unreachable.
    pub stale: bool,
    /// Age of a cached value.
    pub age: Option<Duration>,
}

impl<T> Fresh<T> {
    fn live(value: T) -> Self {
        Self {
            value,
            stale: false,
            age: None,
        }
    }
}

impl Crane {
    /// The newest handoff for a venture/repo track (or any track), from the
    /// server, or from the cache when offline.
    pub async fn last_handoff(
        &self,
        venture: &str,
        repo: &str,
        track: Option<i64>,
    ) -> Result<Fresh<Option<Handoff>>, Error> {
        let inner = self.inner();
        let live = match track {
            Some(t) => {
                let q = LatestHandoffQuery::Track {
                    venture: venture.into(),
                    repo: repo.into(),
                    track: t,
                };
                inner.client.latest_handoff(&q).await
            }
            None => {
                let q = crate::model::HandoffsQuery::new(crate::model::HandoffFilter::Repo {
                    venture: venture.into(),
                    repo: repo.into(),
                })
                .limit(1);
                inner
                    .client
                    .handoffs(&q)
                    .await
                    .map(|p| p.handoffs.into_iter().next())
            }
        };
        let (v, r) = (venture.to_owned(), repo.to_owned());
        match live {
            Ok(h) => {
                if let Some(h) = &h {
                    // Not waited for (see `store/later.rs`): applied before
                    // the store's next transaction, so an offline read after
                    // this one finds it.
                    let handoff = CachedHandoff {
                        venture: v,
                        repo: r,
                        track,
                        handoff_json: serde_json::to_string(h).unwrap_or_default(),
                    };
                    inner
                        .store
                        .put_last_handoff_later(handoff, inner.clock.now_ms());
                    inner.cache_writer.apply_later();
                }
                Ok(Fresh::live(h))
            }
            Err(e) if e.is_connectivity() => {
                let cached = inner
                    .store(move |s| s.get_last_handoff(&v, &r, track))
                    .await?;
                match cached {
                    Some(c) => Ok(Fresh {
                        value: serde_json::from_str(&c.value).ok(),
                        stale: true,
                        age: Some(self.age(c.fetched_at_ms)),
                    }),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The docs delivered by the last `/sod`, from the cache.
    pub async fn cached_docs(&self) -> Result<Option<Fresh<Vec<DocItem>>>, Error> {
        let c = self.inner().store(|s| s.get_docs()).await?;
        Ok(c.map(|c| Fresh {
            value: serde_json::from_str(&c.value.1).unwrap_or_default(),
            stale: true,
            age: Some(self.age(c.fetched_at_ms)),
        }))
    }

    fn age(&self, fetched_at_ms: i64) -> Duration {
        let now = self.inner().clock.now_ms();
        Duration::from_millis(u64::try_from(now - fetched_at_ms).unwrap_or(0))
    }
}
