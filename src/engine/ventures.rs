//! The server's venture list, cached in the store, and the venture of a
//! checkout decided from it (see [`crate::identity`]).
//!
//! `GET /ventures` changes when the service is redeployed, which is rare, and
//! the venture of a checkout must still be known offline (a queued end needs
//! no venture, but `crane status` and a new session's tuple do). So the list
//! is kept in the store per base URL, used as is while younger than
//! [`crate::policy::VENTURES_TTL`], fetched again after that, and used
//! however old while the server cannot be reached.

use std::time::Duration;

use super::{Crane, Fresh};
use crate::generation::Generation;
use crate::identity::{choose_venture, VentureChoice, VentureQuery};
use crate::model::Venture;
use crate::Error;

impl Crane {
    /// The server's ventures (v2), from the store while fresh, else from the
    /// server, else (unreachable) from the store however old, marked stale.
    /// A v1 server has none: [`Error::NotFound`].
    pub async fn ventures(&self) -> Result<Fresh<Vec<Venture>>, Error> {
        let inner = self.inner();
        let url = inner.config.client.base_url.to_string();
        let now = inner.clock.now_ms();
        let key = url.clone();
        let cached = inner.store_in_turn(move |s| s.ventures_of(&key)).await?;
        let decoded = cached.and_then(|c| {
            serde_json::from_str::<Vec<Venture>>(&c.value)
                .ok()
                .map(|v| (v, c.fetched_at_ms))
        });
        let ttl = i64::try_from(crate::policy::VENTURES_TTL.as_millis()).unwrap_or(i64::MAX);
        if let Some((list, at)) = &decoded {
            if (0..ttl).contains(&(now - at)) {
                return Ok(Fresh {
                    value: list.clone(),
                    stale: false,
                    age: Some(age(now, *at)),
                });
            }
        }
        match inner.client.ventures().await {
            Ok(list) => {
                if let Ok(json) = serde_json::to_string(&list) {
                    // Best effort: the list is in hand either way.
                    let _ = inner.store(move |s| s.put_ventures(&url, &json, now)).await;
                }
                Ok(Fresh {
                    value: list,
                    stale: false,
                    age: None,
                })
            }
            Err(e) if e.is_transient() => match decoded {
                Some((list, at)) => Ok(Fresh {
                    value: list,
                    stale: true,
                    age: Some(age(now, at)),
                }),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The venture of a checkout (see [`crate::identity`]): the server's
    /// generation decides the rule, the cached venture list the match.
    pub async fn choose_venture(&self, query: &VentureQuery<'_>) -> Result<VentureChoice, Error> {
        let generation = match self.client().generation().await {
            Ok(g) => g,
            // Named explicitly: nothing to look up; the server checks it.
            Err(_) if query.explicit.is_some() => {
                return choose_venture(Generation::V1, query, None)
            }
            Err(e) => return Err(e),
        };
        let ventures = match generation {
            Generation::V1 => None,
            Generation::V2 => match self.ventures().await {
                Ok(f) => Some(f.value),
                Err(_) if query.explicit.is_some() => None,
                Err(e) => return Err(e),
            },
        };
        choose_venture(generation, query, ventures.as_deref())
    }
}

impl Crane {
    /// v2 only: refuses a venture the server does not list, before anything
    /// is sent (the list comes from the store while fresh). When the list
    /// cannot be had, the server decides.
    pub(crate) async fn check_listed_venture(&self, venture: &str) -> Result<(), Error> {
        if self.client().generation().await? != Generation::V2 {
            return Ok(());
        }
        let Ok(list) = self.ventures().await else {
            return Ok(());
        };
        let known: Vec<String> = list.value.into_iter().map(|v| v.code).collect();
        crate::model::rules_v2::check_venture(venture, &known)
    }
}

fn age(now: i64, at: i64) -> Duration {
    Duration::from_millis(u64::try_from(now.saturating_sub(at)).unwrap_or(0))
}
