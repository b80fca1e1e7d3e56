//! Pagination cursors for `GET /handoffs`, byte-compatible with the service's.
//!
//! The service's cursor is opaque to clients but not secret: base64url (no
//! padding) of `{"timestamp":<created_at>,"id":<handoff id>}` naming the last
//! item of the page, and the next page continues strictly after that
//! `(created_at, id)` pair. The emulator writes the same bytes, so a cursor
//! taken from either server reads the same way, and it rejects a bad cursor with
//! the same message chain the service produces from `atob()` and `JSON.parse`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::jsparse::v8_error_message;

/// The position a cursor names: the last handoff of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// `created_at` of that handoff.
    pub(crate) timestamp: String,
    /// Its id (tie-breaker within one millisecond).
    pub(crate) id: String,
}

impl Cursor {
    /// The opaque text handed to clients as `next_cursor`.
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a client's cursor. The error is the full validation message,
    /// e.g. `Invalid cursor: Invalid pagination cursor: atob() called with …`.
    pub(crate) fn decode(text: &str) -> Result<Self, String> {
        Self::decode_inner(text)
            .map_err(|inner| format!("Invalid cursor: Invalid pagination cursor: {inner}"))
    }

    fn decode_inner(text: &str) -> Result<Self, String> {
        let standard: String = text
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        let bytes = atob(&standard)?;
        let json = String::from_utf8_lossy(&bytes);
        let value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| v8_error_message(&json).unwrap_or_else(|| e.to_string()))?;
        serde_json::from_value(value)
            .map_err(|_| "Cursor must contain string fields timestamp and id".to_owned())
    }
}

/// The browser's `atob()`: WHATWG forgiving base64, with its error message.
fn atob(text: &str) -> Result<Vec<u8>, String> {
    const ERROR: &str = "atob() called with invalid base64-encoded data. (Only whitespace, \
        '+', '/', alphanumeric ASCII, and up to two terminal '=' signs when the input data \
        length is divisible by 4 are allowed.)";
    let mut data: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        .collect();
    if data.len().is_multiple_of(4) {
        for _ in 0..2 {
            if data.last() == Some(&b'=') {
                data.pop();
            }
        }
    }
    if data.len() % 4 == 1 {
        return Err(ERROR.to_owned());
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for b in data {
        let sextet = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(ERROR.to_owned()),
        };
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_service() {
        let c = Cursor {
            timestamp: "2026-11-23T11:46:27.114Z".into(),
            id: "ho_01M843N5NATPRMZKBPM73TAK87".into(),
        };
        let recorded = "eyJ0aW1lc3RhbXAiOiIyMDI2LTExLTIzVDExOjQ2OjI3LjExNFoiLCJpZCI6ImhvXzAxTTg0M041TkFUUFJNWktCUE03M1RBSzg3In0";
        assert_eq!(c.encode(), recorded);
        assert_eq!(Cursor::decode(recorded), Ok(c));
    }

    #[test]
    fn rejects_like_the_service() {
        let err = Cursor::decode("!!!").unwrap_err();
        assert_eq!(
            err,
            "Invalid cursor: Invalid pagination cursor: atob() called with invalid base64-encoded \
             data. (Only whitespace, '+', '/', alphanumeric ASCII, and up to two terminal '=' \
             signs when the input data length is divisible by 4 are allowed.)"
        );
        let not_json = URL_SAFE_NO_PAD.encode("{x");
        assert!(Cursor::decode(&not_json)
            .unwrap_err()
            .contains("in JSON at position 1"));
        let wrong = URL_SAFE_NO_PAD.encode("{\"a\":1}");
        assert!(Cursor::decode(&wrong).is_err());
    }

    #[test]
    fn atob_is_forgiving() {
        assert_eq!(atob("aGk="), Ok(b"hi".to_vec()));
        assert_eq!(atob("aGk"), Ok(b"hi".to_vec()));
        assert_eq!(atob(" aG k= "), Ok(b"hi".to_vec()));
        assert!(atob("a").is_err());
        assert!(atob("aGk==").is_err());
    }
}
