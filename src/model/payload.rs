//! The handoff payload as an `/eod` request carries it.
//!
//! The server canonicalizes every payload (RFC 8785) and names it by the
//! SHA-256 of the canonical bytes; it accepts any JSON text for the same
//! object. The SDK needs the canonical form for three things: the size limit
//! (checked before anything is sent), the hash it keeps in the offline queue,
//! and confirming a replayed or conflicting `/eod` by hash. Only the first is
//! on every call's path, and it rarely needs the canonical bytes: the compact
//! `serde_json` text bounds the canonical size from above
//! ([`canonical_len_bound`]), so a payload clearly under the limit is accepted
//! and sent as compact JSON at `serde_json` speed, and canonicalization —
//! about ten times slower than plain serialization in the maintained JCS
//! crates — runs only when something asks for the hash (once, then cached),
//! or up front when the payload is close enough to the limit that only the
//! exact size can decide.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::canonical::{
    canonical_len_bound, deeper_than, json_type_name, CanonicalPayload, PayloadError,
    MAX_PAYLOAD_BYTES,
};

/// A validated handoff payload: a JSON object within the server's size
/// limit, serialized once, with its canonical form and hash computed on
/// first use.
#[derive(Clone)]
pub struct Payload {
    /// What is sent: the canonical text once known, else the compact text.
    compact: Box<RawValue>,
    canonical: OnceLock<Known>,
}

/// The canonical form once computed, with its text ready to serialize: a
/// `RawValue` checks its text when made, so making one per serialization
/// (a request is serialized to check its size, to queue it and to send it)
/// re-parsed the whole payload each time.
#[derive(Clone)]
struct Known {
    payload: CanonicalPayload,
    raw: Box<RawValue>,
}

impl Known {
    fn of(payload: CanonicalPayload) -> Self {
        Self {
            raw: payload.to_raw(),
            payload,
        }
    }
}

impl Payload {
    /// Validates a payload: it must be a JSON object of at most
    /// [`MAX_PAYLOAD_BYTES`] canonical bytes. The canonical form is computed
    /// here only when the cheap upper bound cannot prove the size.
    pub fn new(value: &serde_json::Value) -> Result<Self, PayloadError> {
        if !value.is_object() {
            return Err(PayloadError::NotAnObject {
                found: json_type_name(value),
            });
        }
        let max = crate::policy::MAX_JSON_DEPTH;
        if deeper_than(value, max) {
            return Err(PayloadError::TooDeep {
                depth: max + 1,
                max,
            });
        }
        let text =
            serde_json::to_string(value).map_err(|e| PayloadError::Invalid(e.to_string()))?;
        if canonical_len_bound(value, text.len()) <= MAX_PAYLOAD_BYTES {
            let compact =
                RawValue::from_string(text).map_err(|e| PayloadError::Invalid(e.to_string()))?;
            return Ok(Self {
                compact,
                canonical: OnceLock::new(),
            });
        }
        CanonicalPayload::new(value).map(Self::from)
    }

    /// Parses JSON text and validates it (see [`Payload::new`]).
    pub fn from_json_str(text: &str) -> Result<Self, PayloadError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PayloadError::Invalid(e.to_string()))?;
        Self::new(&value)
    }

    /// The canonical form (RFC 8785) with its hash and size, computed on the
    /// first call and kept.
    pub fn canonical(&self) -> Result<&CanonicalPayload, PayloadError> {
        if let Some(done) = self.canonical.get() {
            return Ok(&done.payload);
        }
        let made = Known::of(CanonicalPayload::from_json_str(self.compact.get())?);
        Ok(&self.canonical.get_or_init(|| made).payload)
    }

    /// Lowercase hex SHA-256 of the canonical bytes, as the server computes
    /// it (canonicalizes on the first call).
    pub fn hash(&self) -> Result<&str, PayloadError> {
        self.canonical().map(CanonicalPayload::hash)
    }

    /// The JSON text that goes on the wire: canonical if already computed,
    /// otherwise the compact form of the same object.
    pub fn wire_json(&self) -> &str {
        match self.canonical.get() {
            Some(c) => c.raw.get(),
            None => self.compact.get(),
        }
    }
}

impl From<CanonicalPayload> for Payload {
    fn from(canonical: CanonicalPayload) -> Self {
        let known = Known::of(canonical);
        Self {
            compact: known.raw.clone(),
            canonical: OnceLock::from(known),
        }
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Payload");
        match self.canonical.get() {
            Some(c) => d
                .field("hash", &c.payload.hash())
                .field("size_bytes", &c.payload.size_bytes()),
            None => d.field("compact_bytes", &self.compact.get().len()),
        };
        d.finish()
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.canonical.get() {
            Some(c) => c.raw.serialize(s),
            None => self.compact.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_payload_is_not_canonicalized_until_asked() {
        let value = json!({"b": 2.0, "a": [1, "x"]});
        let p = Payload::new(&value).unwrap();
        assert!(p.canonical.get().is_none());
        assert_eq!(p.wire_json(), r#"{"a":[1,"x"],"b":2.0}"#);
        let expected = CanonicalPayload::new(&value).unwrap();
        assert_eq!(p.hash().unwrap(), expected.hash());
        // Once known, the canonical text is what goes on the wire.
        assert_eq!(p.wire_json(), r#"{"a":[1,"x"],"b":2}"#);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"a":[1,"x"],"b":2}"#);
    }

    #[test]
    fn near_the_limit_the_exact_canonical_size_decides() {
        // 1.0 prints as "1.0" compact but "1" canonical: the compact text is
        // over the limit, the canonical one is not, so it must be accepted.
        let n = 60_000;
        let pad = MAX_PAYLOAD_BYTES - 3 * n - 20;
        let value = json!({"f": vec![1.0; n], "pad": "x".repeat(pad)});
        assert!(serde_json::to_string(&value).unwrap().len() > MAX_PAYLOAD_BYTES);
        let p = Payload::new(&value).unwrap();
        assert!(p.canonical.get().is_some());
        assert!(p.canonical().unwrap().size_bytes() <= MAX_PAYLOAD_BYTES);

        // And one whose canonical form is over the limit is refused.
        let over = json!({"f": vec![1e20; 40_000]});
        assert!(serde_json::to_string(&over).unwrap().len() < MAX_PAYLOAD_BYTES);
        assert!(matches!(
            Payload::new(&over),
            Err(PayloadError::TooLarge { size, .. }) if size > MAX_PAYLOAD_BYTES
        ));
    }

    #[test]
    fn rejects_non_objects_and_bad_text() {
        assert!(matches!(
            Payload::new(&json!("x")),
            Err(PayloadError::NotAnObject { found: "string" })
        ));
        assert!(matches!(
            Payload::from_json_str("{"),
            Err(PayloadError::Invalid(_))
        ));
    }

    #[test]
    fn from_canonical_keeps_the_hash() {
        let c = CanonicalPayload::new(&json!({"z": 1, "a": 2})).unwrap();
        let p = Payload::from(c.clone());
        assert_eq!(p.hash().unwrap(), c.hash());
        assert_eq!(p.wire_json(), c.as_str());
    }
}
