//! Deciding whether the server already holds *our* handoff.
//!
//! Why it exists: some answers leave a client unsure whether its `/eod` was
//! stored — a truncated idempotent replay (409 that means success), a 409
//! "session not active" after the server's one-hour idempotency window, a 200
//! whose body cannot be read. The SDK then reads the session's latest handoff
//! and decides from it. Comparing only the payload hash said "delivered" for
//! a *different* handoff whose payload happened to be equal (two `{}`
//! payloads with different summaries), which is untrue. So every field the
//! request set and the stored record carries is compared: summary, canonical
//! payload hash, status label, recipient (`to_agent`), and the end reason when
//! the record carries one (v1 handoff records do not; the server reports it
//! on the session, which no route reads once ended). Anything else is a
//! conflict naming the handoff the server holds.

use crate::error::StoredHandoff;
use crate::model::{EndReason, EndSession, Handoff};
use crate::Error;

/// What reading the session's latest handoff says about our request.
#[derive(Debug)]
pub(crate) enum Confirmation {
    /// The stored handoff is ours, field for field.
    Ours(Handoff),
    /// Another handoff is stored; the names of the fields that differ.
    Other(Handoff, Vec<&'static str>),
    /// No handoff is stored for the session.
    NoneStored,
}

/// Compares the stored handoff (if any) with the request.
pub(crate) fn confirm(req: &EndSession, stored: Option<Handoff>) -> Result<Confirmation, Error> {
    let Some(h) = stored else {
        return Ok(Confirmation::NoneStored);
    };
    let diffs = differences(req, &h)?;
    Ok(if diffs.is_empty() {
        Confirmation::Ours(h)
    } else {
        Confirmation::Other(h, diffs)
    })
}

/// The fields in which `stored` differs from what `req` sent.
pub(crate) fn differences(req: &EndSession, stored: &Handoff) -> Result<Vec<&'static str>, Error> {
    let mut diffs = Vec::new();
    if stored.session_id != req.session_id {
        diffs.push("session_id");
    }
    if stored.summary != req.summary {
        diffs.push("summary");
    }
    if stored.payload_hash != req.payload.hash()? {
        diffs.push("payload");
    }
    if stored.status_label != req.status_label {
        diffs.push("status_label");
    }
    if stored.to_agent != req.to_agent {
        diffs.push("to_agent");
    }
    if let Some(reason) = stored.end_reason {
        // The server records `manual` when the request names no reason.
        if reason != req.end_reason.unwrap_or(EndReason::Manual) {
            diffs.push("end_reason");
        }
    }
    Ok(diffs)
}

/// The conflict error for a request whose session holds another handoff
/// (`stored`), or none at all.
pub(crate) fn conflict(
    req: &EndSession,
    stored: Option<&Handoff>,
    diffs: &[&str],
    why: &str,
) -> Error {
    let local_hash = match req.payload.hash() {
        Ok(h) => h.to_owned(),
        Err(e) => return e.into(),
    };
    let message = match stored {
        Some(h) => format!(
            "{why}: the server holds handoff {} (summary {:?}), which differs in {}",
            h.id,
            clip(&h.summary),
            diffs.join(", ")
        ),
        None => why.to_owned(),
    };
    Error::HandoffConflict {
        session_id: req.session_id.clone(),
        local_hash,
        server_hash: stored.map(|h| h.payload_hash.clone()),
        stored: stored.map(|h| {
            Box::new(StoredHandoff {
                handoff_id: h.id.clone(),
                summary: h.summary.clone(),
            })
        }),
        message,
    }
}

/// The first 120 characters of a summary, for a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(req: &EndSession) -> Handoff {
        serde_json::from_value(json!({
            "id": "ho_1", "session_id": req.session_id, "venture": "vc", "repo": "o/r",
            "from_agent": "a", "summary": req.summary,
            "payload_json": req.payload.canonical().unwrap().as_str(),
            "payload_hash": req.payload.hash().unwrap(), "payload_size_bytes": 2,
            "status_label": req.status_label, "to_agent": req.to_agent,
            "created_at": "2026-11-23T11:30:19.728Z"
        }))
        .unwrap()
    }

    #[test]
    fn the_same_request_is_ours_and_any_field_makes_it_another() {
        let mut req = EndSession::new("sess_1", "first", &json!({})).unwrap();
        req.to_agent = Some("next".into());
        let h = stored(&req);
        assert!(matches!(
            confirm(&req, Some(h.clone())).unwrap(),
            Confirmation::Ours(_)
        ));
        let other = EndSession::new("sess_1", "second", &json!({})).unwrap();
        assert_eq!(
            differences(&other, &h).unwrap(),
            vec!["summary", "to_agent"]
        );
        let mut labelled = req.clone();
        labelled.status_label = Some("blocked".into());
        assert_eq!(differences(&labelled, &h).unwrap(), vec!["status_label"]);
        let mut h2 = h.clone();
        h2.end_reason = Some(EndReason::Error);
        assert_eq!(differences(&req, &h2).unwrap(), vec!["end_reason"]);
        h2.end_reason = Some(EndReason::Manual);
        assert!(differences(&req, &h2).unwrap().is_empty());
        assert!(matches!(
            confirm(&req, None).unwrap(),
            Confirmation::NoneStored
        ));
    }

    #[test]
    fn a_conflict_names_the_stored_handoff() {
        let req = EndSession::new("sess_1", "first", &json!({})).unwrap();
        let h = stored(&req);
        let other = EndSession::new("sess_1", "second", &json!({})).unwrap();
        let e = conflict(&other, Some(&h), &["summary"], "the session already ended");
        let text = e.to_string();
        assert!(
            text.contains("ho_1") && text.contains("\"first\""),
            "{text}"
        );
        assert!(
            matches!(e, Error::HandoffConflict { stored: Some(ref h), .. } if h.handoff_id == "ho_1")
        );
    }
}
