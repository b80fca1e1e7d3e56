//! Canonical JSON (RFC 8785) and the payload hash.
//!
//! The server stores every handoff payload in JCS form and names it by the
//! SHA-256 of those bytes. Computing the same bytes locally lets the SDK reject
//! a payload that is too large *before* sending it, store exactly what will be
//! sent in the offline queue, and later prove that what the server stored is
//! what we sent (by comparing hashes). The canonicalization itself is done by
//! the maintained `serde_json_canonicalizer` crate, never by hand.

use sha2::{Digest, Sha256};

/// Largest canonical payload the server accepts, in bytes (800 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 819_200;

/// A payload in canonical form with its hash and size, ready to send or queue.
#[derive(Clone, PartialEq, Eq)]
pub struct CanonicalPayload {
    json: String,
    hash: String,
}

impl std::fmt::Debug for CanonicalPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CanonicalPayload")
            .field("hash", &self.hash)
            .field("size_bytes", &self.json.len())
            .finish()
    }
}

/// Why a payload cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload is not a JSON object (the server requires one).
    #[error("payload must be a JSON object, got {found}")]
    NotAnObject {
        /// The JSON type that was given instead.
        found: &'static str,
    },
    /// The canonical payload exceeds [`MAX_PAYLOAD_BYTES`].
    #[error("payload is {size} canonical bytes, over the limit of {max}")]
    TooLarge {
        /// Canonical size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The payload could not be canonicalized (e.g. a non-finite number).
    #[error("payload cannot be canonicalized: {0}")]
    Invalid(String),
}

impl CanonicalPayload {
    /// Canonicalizes a JSON value, enforcing the server's rules: it must be an
    /// object and at most [`MAX_PAYLOAD_BYTES`] once canonical.
    pub fn new(value: &serde_json::Value) -> Result<Self, PayloadError> {
        if !value.is_object() {
            return Err(PayloadError::NotAnObject {
                found: json_type_name(value),
            });
        }
        let json = serde_json_canonicalizer::to_string(value)
            .map_err(|e| PayloadError::Invalid(e.to_string()))?;
        if json.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLarge {
                size: json.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        let hash = sha256_hex(json.as_bytes());
        Ok(Self { json, hash })
    }

    /// Parses JSON text and canonicalizes it (see [`CanonicalPayload::new`]).
    pub fn from_json_str(text: &str) -> Result<Self, PayloadError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PayloadError::Invalid(e.to_string()))?;
        Self::new(&value)
    }

    /// Rebuilds a payload from canonical text previously produced by this type
    /// (e.g. read back from the queue); the hash is recomputed, not trusted.
    pub fn from_canonical(json: String) -> Self {
        let hash = sha256_hex(json.as_bytes());
        Self { json, hash }
    }

    /// The canonical JSON text.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// Lowercase hex SHA-256 of the canonical bytes, as the server computes it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Size of the canonical bytes.
    pub fn size_bytes(&self) -> usize {
        self.json.len()
    }

    /// The canonical JSON as a value (for request bodies).
    pub fn to_value(&self) -> serde_json::Value {
        // The text was produced by a JSON serializer, so it always parses.
        serde_json::from_str(&self.json).unwrap_or(serde_json::Value::Null)
    }

    /// Serializes the payload as raw JSON (no re-encoding).
    pub fn to_raw(&self) -> Box<serde_json::value::RawValue> {
        serde_json::value::RawValue::from_string(self.json.clone())
            .unwrap_or_else(|_| Default::default())
    }
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The name of a JSON value's type, for error messages.
pub fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_server_hash_for_fixture_payload() {
        let p = CanonicalPayload::new(
            &json!({"z":1,"nested":{"b":"é","a":1.5e-7},"a":[3,1,2],"blockers":[]}),
        )
        .unwrap();
        assert_eq!(
            p.as_str(),
            "{\"a\":[3,1,2],\"blockers\":[],\"nested\":{\"a\":1.5e-7,\"b\":\"é\"},\"z\":1}"
        );
        assert_eq!(
            p.hash(),
            "fea87eb52fb61b016576563a1b6768b9af30ae7fe0326c2e781ff7cb57f9d90f"
        );
        assert_eq!(p.size_bytes(), 64);
    }

    #[test]
    fn rejects_non_object() {
        assert_eq!(
            CanonicalPayload::new(&json!([1])),
            Err(PayloadError::NotAnObject { found: "array" })
        );
    }

    #[test]
    fn rejects_oversized() {
        let big = "x".repeat(MAX_PAYLOAD_BYTES);
        let err = CanonicalPayload::new(&json!({ "blob": big })).unwrap_err();
        assert!(
            matches!(err, PayloadError::TooLarge { size, .. } if size == MAX_PAYLOAD_BYTES + 11)
        );
    }
}
