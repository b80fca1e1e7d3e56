//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`).
//!
//! The targets feed arbitrary bytes to the code that reads what others wrote:
//! server responses, the config file, the emulator's request input, and
//! payloads to canonicalize. Each entry point checks the properties that must
//! hold for any input — no panic, and the invariants named below — so a
//! target is one line. Not part of the API.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;

use crate::canonical::CanonicalPayload;
use crate::model::{
    ActiveSessions, EndSessionResponse, HandoffPage, HeartbeatResponse, LatestHandoff,
    StartSessionResponse, UpdateResponse,
};
use crate::transport::{classify, decode, Outcome};

/// A response of any status and body is classified and, if a success,
/// decoded into every response type, without panicking. The first two bytes
/// pick the status; a third, when odd, marks a truncated replay.
pub fn response(data: &[u8]) {
    let (status, rest) = match data {
        [a, b, rest @ ..] => (100 + (u16::from_be_bytes([*a, *b]) % 500), rest),
        _ => (200, data),
    };
    let Ok(status) = StatusCode::from_u16(status) else {
        return;
    };
    let mut headers = HeaderMap::new();
    if rest.first().is_some_and(|b| b % 2 == 1) {
        headers.insert("x-idempotency-truncated", HeaderValue::from_static("true"));
    }
    if let Outcome::Success(reply) = classify(status, &headers, Bytes::copy_from_slice(rest)) {
        let _ = decode::<StartSessionResponse>(&reply);
        let _ = decode::<UpdateResponse>(&reply);
        let _ = decode::<HeartbeatResponse>(&reply);
        let _ = decode::<EndSessionResponse>(&reply);
        let _ = decode::<ActiveSessions>(&reply);
        let _ = decode::<LatestHandoff>(&reply);
        let _ = decode::<HandoffPage>(&reply);
    }
}

/// Config-file text parses or fails with a typed error; a failure never
/// repeats the value of a `key = "…"` line (the relay key).
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = crate::settings::check_file_text(text) {
        let message = e.to_string();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let value = v
                .trim()
                .trim_matches(|c| c == '"' || c == '\'' || c == '[' || c == ']');
            if k.trim() == "key" && value.len() >= 12 {
                assert!(!message.contains(value), "{message}");
            }
        }
    }
}

/// The emulator's request input: V8-worded JSON errors, `parseInt`, query
/// strings and pagination cursors accept any text without panicking.
#[cfg(feature = "emulator")]
pub fn emulator_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if serde_json::from_str::<serde_json::Value>(&text).is_err() {
        let _ = crate::emulator::jsparse::v8_error_message(&text);
    }
    let _ = crate::emulator::input::js_parse_int(&text);
    let q = crate::emulator::input::Query::parse(Some(&text));
    let _ = q.get("cursor");
    let _ = crate::emulator::cursor::Cursor::decode(&text);
}

/// Canonicalization: any JSON text either fails with a typed error or gives
/// a canonical form that is a fixed point (canonicalizing it again changes
/// nothing) and whose hash and size describe it.
pub fn canonical(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = CanonicalPayload::from_json_str(text) else {
        return;
    };
    let again = CanonicalPayload::from_json_str(p.as_str()).expect("canonical JSON parses");
    assert_eq!(again.as_str(), p.as_str());
    assert_eq!(
        p.hash(),
        crate::canonical::sha256_hex(p.as_str().as_bytes())
    );
    assert_eq!(p.size_bytes(), p.as_str().len());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry points on a few seeds, so `cargo test` keeps them working.
    #[test]
    fn seeds_pass() {
        for seed in [
            &b""[..],
            b"\x00\xc8{\"handoffs\":[],\"count\":0}",
            b"\x01\x90{\"error\":\"x\"}",
            b"[profiles.a]\nkey = \"abcdefghijklmnop\nurl = 1",
            b"{\"b\":1,\"a\":[1.0,2e3,\"\\u00e9\"]}",
            b"limit=10abc&cursor=eyJ0Ijo",
        ] {
            response(seed);
            config(seed);
            #[cfg(feature = "emulator")]
            emulator_input(seed);
            canonical(seed);
        }
    }
}
