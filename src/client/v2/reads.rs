//! The v2 reads: plain GETs, retried on transient failures like every read.

use crate::model::v2::{
    ActiveFilter, Doc, DocAudit, DocList, DocReply, DocsAudit, MemoryGate, MemoryGateReply,
    PriorSession, PriorSessionQuery, SessionHistory, Siblings,
};
use crate::model::{ActiveSessions, Session};
use crate::Client;
use crate::Error;

use super::path_with;

impl Client {
    /// `GET /active` with v2's optional filters: any subset of agent,
    /// venture, repo and track, or none for every active session. Stale
    /// sessions are listed too (see [`Session::is_stale_at`]). A v1 server
    /// requires agent, venture and repo and answers 400 without them.
    pub async fn active(&self, filter: &ActiveFilter) -> Result<ActiveSessions, Error> {
        self.read("/active", &filter.pairs()).await
    }

    /// `GET /siblings`: the active sessions of a session group, optionally
    /// without one of them (usually the caller's own).
    pub async fn siblings(
        &self,
        session_group_id: &str,
        exclude_session_id: Option<&str>,
    ) -> Result<Siblings, Error> {
        crate::model::v2::wire::required("session_group_id", session_group_id)?;
        let mut q = vec![("session_group_id", session_group_id.to_owned())];
        if let Some(x) = exclude_session_id {
            q.push(("exclude_session_id", x.to_owned()));
        }
        self.read("/siblings", &q).await
    }

    /// `GET /sessions/prior`: the newest ended or abandoned session of a
    /// tuple that ended within the window, if any.
    pub async fn prior_session(&self, q: &PriorSessionQuery) -> Result<Option<Session>, Error> {
        q.validate()?;
        let r: PriorSession = self.read("/sessions/prior", &q.pairs()).await?;
        Ok(r.session)
    }

    /// `GET /sessions/history`: every agent's ended sessions of the last
    /// `days` (1–90, server default 7), per venture and work day.
    pub async fn session_history(&self, days: Option<u32>) -> Result<SessionHistory, Error> {
        let mut q = Vec::new();
        if let Some(d) = days {
            if !(1..=90).contains(&d) {
                return Err(Error::invalid_input(
                    "days",
                    format!("must be between 1 and 90, got {d}"),
                ));
            }
            q.push(("days", d.to_string()));
        }
        self.read("/sessions/history", &q).await
    }

    /// `GET /docs`: the global documents and the venture's (no content).
    pub async fn docs(&self, venture: &str) -> Result<DocList, Error> {
        crate::model::v2::wire::required("venture", venture)?;
        self.read("/docs", &[("venture", venture.to_owned())]).await
    }

    /// `GET /docs/:scope/:name`: one document with its content.
    pub async fn doc(&self, scope: &str, doc_name: &str) -> Result<Doc, Error> {
        let path = path_with("/docs", "scope", scope, "")?;
        let path = path_with(&path, "doc_name", doc_name, "")?;
        let r: DocReply = self.read(&path, &[]).await?;
        Ok(r.doc)
    }

    /// `GET /docs/audit?venture=…`: one venture's documentation audit.
    pub async fn doc_audit(&self, venture: &str) -> Result<DocAudit, Error> {
        crate::model::v2::wire::required("venture", venture)?;
        let r: DocsAudit = self
            .read("/docs/audit", &[("venture", venture.to_owned())])
            .await?;
        r.audit.ok_or_else(|| Error::Decode {
            status: 200,
            message: "the audit answer has no `audit` object".into(),
            correlation_id: r.correlation_id,
        })
    }

    /// `GET /docs/audit`: every venture's documentation audit.
    pub async fn doc_audits(&self) -> Result<Vec<DocAudit>, Error> {
        let r: DocsAudit = self.read("/docs/audit", &[]).await?;
        Ok(r.into_audits())
    }

    /// `GET /config/memory-gate`: who must approve a memory note.
    pub async fn memory_gate(&self) -> Result<MemoryGate, Error> {
        let r: MemoryGateReply = self.read("/config/memory-gate", &[]).await?;
        Ok(r.gate)
    }
}
