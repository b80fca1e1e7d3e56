//! Canonical JSON (RFC 8785) and the payload hash.
//!
//! The server stores every handoff payload in JCS form and names it by the
//! SHA-256 of those bytes. Computing the same bytes locally lets the SDK reject
//! a payload that is too large *before* sending it, store exactly what will be
//! sent in the offline queue, and later prove that what the server stored is
//! what we sent (by comparing hashes).
//!
//! The output is byte for byte that of the maintained
//! `serde_json_canonicalizer` crate (the tests compare the two on tricky and on
//! thousands of random values), but produced in one pass over the value: that
//! crate buffers every nested value, re-parses every key and allocates per
//! write, which made a 1 KiB handoff cost ~50 µs to canonicalize — more than
//! the HTTP request that sends it. Here the walk and the key order (UTF-16
//! code units, RFC 8785 §3.2.3) are local; strings are escaped by serde_json
//! (whose escapes are exactly JCS's); integers of at most 2^53 are written as
//! their decimal digits (what ECMAScript's `Number.prototype.toString` gives);
//! every other number is formatted by `serde_json_canonicalizer` itself.

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
        let mut bytes = Vec::with_capacity(256);
        write_canonical(&mut bytes, value)?;
        let json = String::from_utf8(bytes).map_err(|e| PayloadError::Invalid(e.to_string()))?;
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

/// Largest integer magnitude a double holds exactly (2^53).
const MAX_EXACT_INT: u64 = 1 << 53;

/// Appends the RFC 8785 form of `value` to `out` (always valid UTF-8).
fn write_canonical(out: &mut Vec<u8>, value: &serde_json::Value) -> Result<(), PayloadError> {
    use serde_json::Value;
    use std::io::Write;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_EXACT_INT) {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64().filter(|u| *u <= MAX_EXACT_INT) {
                let _ = write!(out, "{u}");
            } else {
                // Fractions, exponents and integers beyond 2^53: the double's
                // ECMAScript form, from the reference crate.
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json_canonicalizer::to_writer(&f, out)
                    .map_err(|e| PayloadError::Invalid(e.to_string()))?;
            }
        }
        // Writing into a Vec cannot fail; serde_json's escapes are JCS's.
        Value::String(s) => {
            let _ = serde_json::to_writer(&mut *out, s);
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // serde_json's map is in UTF-8 (code point) order already; this
            // only moves keys where UTF-16 order differs (astral vs U+E000..).
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, key);
                out.push(b':');
                write_canonical(out, item)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
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

    /// The reference: the maintained crate's output for the same value.
    fn reference(v: &serde_json::Value) -> String {
        serde_json_canonicalizer::to_string(v).unwrap()
    }

    #[test]
    fn equals_the_reference_crate_on_tricky_values() {
        let v = json!({
            "\u{e000}": 1, "\u{1f600}": 2, "a": 3, "\u{80}": 4, "A": 5, "": 6, "aa": 7, "\u{ffff}": 8,
            "esc": "quote\" back\\ slash/ nl\n tab\t cr\r bs\u{8} ff\u{c} nul\u{0} us\u{1f} del\u{7f} ls\u{2028} ps\u{2029} é 😀",
            "nums": [0, -0.0, 1.0, -1, 1.5e-7, 1e21, 1e20, 123456789012345678u64, 9007199254740992u64,
                     9007199254740993u64, u64::MAX, i64::MIN, -9007199254740992i64, 0.1, 5e-324,
                     1.7976931348623157e308, 2.5e-5, 333333333.33333329, 1e-6, 1e-7],
            "nested": {"z": [{"b": null, "a": true}], "y": {"\u{10000}": false, "\u{fb01}": []}},
        });
        let p = CanonicalPayload::new(&v).unwrap();
        assert_eq!(p.as_str(), reference(&v));
    }

    #[test]
    fn equals_the_reference_crate_on_random_values() {
        use rand::{Rng, SeedableRng};
        fn gen(rng: &mut rand::rngs::StdRng, depth: u32) -> serde_json::Value {
            let pick = if depth == 0 { rng.random_range(0..5) } else { rng.random_range(0..7) };
            match pick {
                0 => serde_json::Value::Null,
                1 => rng.random::<bool>().into(),
                2 => match rng.random_range(0..4) {
                    0 => rng.random::<i64>().into(),
                    1 => rng.random_range(-100_000i64..100_000).into(),
                    2 => rng.random::<u64>().into(),
                    _ => {
                        let f = f64::from_bits(rng.random::<u64>());
                        if f.is_finite() { f.into() } else { (rng.random::<f64>() * 1e6).into() }
                    }
                },
                3 | 4 => text(rng).into(),
                5 => (0..rng.random_range(0..5)).map(|_| gen(rng, depth - 1)).collect(),
                _ => {
                    let mut m = serde_json::Map::new();
                    for _ in 0..rng.random_range(0..6) {
                        m.insert(text(rng), gen(rng, depth - 1));
                    }
                    m.into()
                }
            }
        }
        fn text(rng: &mut rand::rngs::StdRng) -> String {
            const POOL: &[char] = &['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u{1}', '\u{7f}', 'é', '\u{e000}', '\u{ffff}', '\u{fb01}', '😀', '\u{10000}', '\u{2028}'];
            (0..rng.random_range(0..6)).map(|_| POOL[rng.random_range(0..POOL.len())]).collect()
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(8785);
        for _ in 0..3000 {
            let mut m = serde_json::Map::new();
            m.insert("v".into(), gen(&mut rng, 4));
            let v = serde_json::Value::Object(m);
            let ours = CanonicalPayload::new(&v).unwrap();
            assert_eq!(ours.as_str(), reference(&v), "value {v}");
        }
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
        assert!(matches!(err, PayloadError::TooLarge { size, .. } if size == MAX_PAYLOAD_BYTES + 11));
    }
}
