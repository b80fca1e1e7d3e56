//! The server's ventures (v2 `GET /ventures`) as Python and Swift see them.
//!
//! Same source as the CLI's `crane ventures` and the MCP `crane_ventures`
//! tool: [`crate::Crane::ventures`], which keeps the list in the store, so a
//! binding learns which venture a checkout belongs to even offline (marked
//! `stale`, with the list's age). A v1 server has no venture list: the call
//! fails with `NotFound`.

use crate::engine::{Crane, Fresh};
use crate::model;
use crate::Error;

use super::client::CraneClient;
use super::runtime::{block, run};
use super::CraneError;

/// One venture the server knows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Venture {
    /// Its code, e.g. `ke` (what a session start takes as `venture`).
    pub code: String,
    /// Its display name.
    pub name: Option<String>,
    /// The GitHub organisation its repositories live in.
    pub org: Option<String>,
    /// Its repositories' names (without owner).
    pub repos: Vec<String>,
    /// What it is set up for.
    pub capabilities: Vec<String>,
    /// Status, stage, tagline… as the server sent them (JSON text).
    pub portfolio_json: Option<String>,
}

impl From<model::Venture> for Venture {
    fn from(v: model::Venture) -> Self {
        Self {
            portfolio_json: v.portfolio.map(|p| p.to_string()),
            code: v.code,
            name: v.name,
            org: v.org,
            repos: v.repos,
            capabilities: v.capabilities,
        }
    }
}

/// The venture list and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VentureList {
    /// The ventures, in the server's order.
    pub ventures: Vec<Venture>,
    /// True when the server was unreachable and this is the stored list.
    pub stale: bool,
    /// How old the stored list is, in milliseconds (none: fetched just now).
    pub age_ms: Option<u64>,
}

impl From<Fresh<Vec<model::Venture>>> for VentureList {
    fn from(f: Fresh<Vec<model::Venture>>) -> Self {
        Self {
            ventures: f.value.into_iter().map(Into::into).collect(),
            stale: f.stale,
            age_ms: f
                .age
                .map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

async fn ventures(c: Crane) -> Result<VentureList, Error> {
    c.ventures().await.map(Into::into)
}

#[uniffi::export(async_runtime = "tokio")]
impl CraneClient {
    /// `GET /ventures` (v2): from the store while younger than a day, else
    /// from the server, else (unreachable) the stored list however old,
    /// marked `stale`. A v1 server: `NotFound`.
    pub async fn ventures(&self) -> Result<VentureList, CraneError> {
        run(ventures(self.c())).await
    }
}

#[uniffi::export]
impl CraneClient {
    /// Blocking form of `ventures`.
    pub fn ventures_blocking(&self) -> Result<VentureList, CraneError> {
        block(ventures(self.c()))
    }
}
