//! The resources: `crane://handoff/latest` (this repository's last handoff)
//! and `crane://docs/{scope}/{name}` (the session's documents), so a
//! client can attach them as context.

use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use rmcp::ErrorData;

use super::session::State;

/// The last handoff's URI.
pub const HANDOFF_LATEST: &str = "crane://handoff/latest";
const DOCS_PREFIX: &str = "crane://docs/";

/// The fixed resources, plus the venture's documents when the service lists them.
pub(crate) async fn list(st: &State) -> Vec<Resource> {
    let mut out = vec![Resource::new(HANDOFF_LATEST, "latest handoff")
        .with_description("This repository's last handoff (JSON)")
        .with_mime_type("application/json")];
    if let Some(venture) = st.known_venture() {
        if let Ok(list) = st.crane.client().docs(&venture).await {
            for d in list.docs {
                let uri = format!("{DOCS_PREFIX}{}/{}", d.scope, d.doc_name);
                let name = format!("{}/{}", d.scope, d.doc_name);
                let mut r = Resource::new(uri, name).with_mime_type("text/markdown");
                if let Some(t) = d.title {
                    r = r.with_title(t);
                }
                out.push(r);
            }
        }
    }
    out
}

/// The document template.
pub(crate) fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("crane://docs/{scope}/{name}", "document")
            .with_description("A Crane Context document: scope `global` or a venture code"),
    ]
}

/// Reads one resource.
pub(crate) async fn read(st: &State, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri == HANDOFF_LATEST {
        let venture = st
            .venture(None)
            .await
            .map_err(|f| ErrorData::internal_error(f.message, None))?;
        let id = &st.identity;
        let last = st
            .crane
            .last_handoff(&venture, &id.repo, id.track)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let Some(h) = last.value else {
            return Err(ErrorData::resource_not_found(
                format!("no handoff yet for {venture} / {}", id.repo),
                None,
            ));
        };
        let text = serde_json::to_string_pretty(&h).unwrap_or_default();
        return Ok(ReadResourceResult::new(vec![ResourceContents::text(
            text, uri,
        )
        .with_mime_type("application/json")]));
    }
    let Some(rest) = uri.strip_prefix(DOCS_PREFIX) else {
        return Err(ErrorData::resource_not_found(
            format!("unknown resource {uri}"),
            None,
        ));
    };
    let Some((scope, name)) = rest.split_once('/') else {
        return Err(ErrorData::invalid_params(
            "want crane://docs/{scope}/{name}",
            None,
        ));
    };
    match st.crane.client().doc(scope, name).await {
        Ok(d) => Ok(ReadResourceResult::new(vec![ResourceContents::text(
            d.content, uri,
        )
        .with_mime_type("text/markdown")])),
        Err(crate::Error::NotFound { .. }) => Err(ErrorData::resource_not_found(
            format!("no document {scope}/{name}"),
            None,
        )),
        Err(e) => Err(ErrorData::internal_error(e.to_string(), None)),
    }
}
