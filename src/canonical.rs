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
    /// Objects and arrays nest deeper than [`crate::policy::MAX_JSON_DEPTH`].
    #[error("payload nests {depth} levels deep, over the limit of {max}")]
    TooDeep {
        /// The payload's depth (at least `max + 1`).
        depth: usize,
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
        Self::any_json(value)
    }

    /// Canonicalizes any JSON value under the same size limit, without the
    /// object rule (the v2 service also stores array payloads; the emulator
    /// needs this, the SDK's own requests always go through [`Self::new`]).
    pub fn any_json(value: &serde_json::Value) -> Result<Self, PayloadError> {
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

/// Longest RFC 8785 form of any JSON number: a sign, `0.`, five zeros and 17
/// significant digits (`-0.0000012345678901234567`).
const MAX_CANONICAL_NUMBER_BYTES: usize = 25;

/// Largest integer magnitude an IEEE double holds exactly (2^53): such
/// integers print with the same digits in compact JSON and in RFC 8785.
const EXACT_INTEGER_LIMIT: u64 = 1 << 53;

/// An upper bound on the canonical size of `value`, given the size of its
/// compact `serde_json` form, without canonicalizing it.
///
/// Compact `serde_json` output and RFC 8785 agree byte for byte on everything
/// but numbers: the same string escapes (the short ones, `\u00xx` lowercase
/// for other controls, nothing else), no whitespace, and object members
/// differ only in order, not in length. A number differs only if it is not an
/// integer of magnitude at most 2^53, and then its canonical form is at most
/// [`MAX_CANONICAL_NUMBER_BYTES`] long while its compact form is at least one
/// byte. So `compact_len + 24 × (such numbers)` is never below the canonical
/// size — which lets a caller accept a payload well under the limit without
/// paying for canonicalization on the hot path (see `model::Payload`).
pub fn canonical_len_bound(value: &serde_json::Value, compact_len: usize) -> usize {
    fn extra(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Number(n) => {
                let exact = n.as_u64().is_some_and(|u| u <= EXACT_INTEGER_LIMIT)
                    || n.as_i64()
                        .is_some_and(|i| i.unsigned_abs() <= EXACT_INTEGER_LIMIT);
                if exact {
                    0
                } else {
                    MAX_CANONICAL_NUMBER_BYTES - 1
                }
            }
            serde_json::Value::Array(items) => items.iter().map(extra).sum(),
            serde_json::Value::Object(map) => map.values().map(extra).sum(),
            _ => 0,
        }
    }
    compact_len.saturating_add(extra(value))
}

/// Whether `value` nests objects and arrays deeper than `max` (`{}` is depth
/// 1). Iterative, so a value of any depth is measured without recursion.
pub fn deeper_than(value: &serde_json::Value, max: usize) -> bool {
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match v {
            serde_json::Value::Object(m) => Box::new(m.values()),
            serde_json::Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        if depth > max {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
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

    /// The bound holds for every kind of number RFC 8785 prints differently
    /// from `serde_json`, and is exact when there are none.
    #[test]
    fn size_bound_is_never_below_the_canonical_size() {
        let tricky = [
            json!(1e20),
            json!(1e21),
            json!(-0.0),
            json!(2.0),
            json!(1.5e-7),
            json!(-0.0000012345678901234567),
            json!(-1.2345678901234567e-308),
            json!(f64::MAX),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(9_007_199_254_740_993u64),
            json!(123_456_789),
            json!("tab\t, quote \", control \u{1}, del \u{7f}, é, 😀"),
        ];
        for v in tricky {
            let value = json!({"n": v, "list": [v, {"deep": v}]});
            let compact = serde_json::to_string(&value).unwrap().len();
            let canonical = CanonicalPayload::new(&value).unwrap().size_bytes();
            let bound = canonical_len_bound(&value, compact);
            assert!(bound >= canonical, "{value}: bound {bound} < {canonical}");
        }
        let plain = json!({"b": [1, 2, {"c": "x\n"}], "a": null, "n": -42});
        let compact = serde_json::to_string(&plain).unwrap().len();
        assert_eq!(canonical_len_bound(&plain, compact), compact);
        assert_eq!(CanonicalPayload::new(&plain).unwrap().size_bytes(), compact);
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
