//! Idempotency keys: one per logical write, reused on every retry.
//!
//! The server replays the stored answer for a key it has seen within the hour,
//! which is what makes retrying a lost `/eod` safe. A key is created once,
//! before the first attempt, and travels with the operation (into the offline
//! queue too) so that retries after a restart reuse it.

use crate::Error;

/// A key the server accepts: a ULID, a UUID v4, or any string of 20–200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh ULID key.
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    /// Checks a caller-supplied key against the server's accepted formats.
    pub fn parse(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let n = key.chars().count();
        if is_uuid_v4(&key) || ulid::Ulid::from_string(&key).is_ok() || (20..=200).contains(&n) {
            Ok(Self(key))
        } else {
            Err(Error::invalid_input(
                "idempotency_key",
                format!("must be a UUID v4, a ULID, or 20-200 characters; got {n} characters"),
            ))
        }
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b' | b'A' | b'B'),
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_server_formats() {
        assert!(IdempotencyKey::parse("98f73d2f-966e-4b2a-a1d4-ce87630b74af").is_ok());
        assert!(IdempotencyKey::parse(ulid::Ulid::new().to_string()).is_ok());
        assert!(IdempotencyKey::parse("update-id-in-body-000001").is_ok());
        let err = IdempotencyKey::parse("short").unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "idempotency_key"));
        assert_ne!(IdempotencyKey::generate(), IdempotencyKey::generate());
    }
}
