//! The v2 writes that are safe to repeat: a handoff's status label and the
//! activity back-fill. Both retry on transient failures.

use bytes::Bytes;
use reqwest::Method;

use crate::model::v2::{
    wire, ActivityBatch, ActivityReport, HandoffReply, HandoffStatusLabel, StatusChange,
};
use crate::model::Handoff;
use crate::transport::decode;
use crate::Client;
use crate::Error;

use super::super::{to_body, unexpected_replay, Exchange};
use super::path_with;

impl Client {
    /// `POST /handoffs/:id/status`: sets a handoff's status label; returns
    /// the handoff as stored. Repeating it changes nothing.
    pub async fn set_handoff_status(
        &self,
        handoff_id: &str,
        label: HandoffStatusLabel,
    ) -> Result<Handoff, Error> {
        let path = path_with("/handoffs", "handoff_id", handoff_id, "/status")?;
        let body = to_body(&StatusChange {
            status_label: label,
        })?;
        let r: HandoffReply = self.post_repeatable(&path, body).await?;
        Ok(r.handoff)
    }

    /// `POST /sessions/:id/activity`: minutes in which the agent worked
    /// (kept when inside the session's lifetime, once per minute).
    pub async fn record_activity(
        &self,
        session_id: &str,
        batch: &ActivityBatch,
    ) -> Result<ActivityReport, Error> {
        wire::session_id("session_id", session_id)?;
        batch.validate()?;
        let path = format!("/sessions/{session_id}/activity");
        self.post_repeatable(&path, to_body(batch)?).await
    }

    /// A POST the server may receive twice without harm, with the read
    /// retry policy and no idempotency key (these routes ignore it).
    pub(super) async fn post_repeatable<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Bytes,
    ) -> Result<T, Error> {
        let policy = self.config.retry.clone();
        match self
            .exchange(&policy, Method::POST, path, &[], Some(body), None)
            .await?
        {
            Exchange::Reply(r) => decode(&r),
            Exchange::TruncatedReplay => Err(unexpected_replay(path)),
        }
    }
}
