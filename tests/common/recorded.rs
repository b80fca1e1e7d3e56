//! Recorded exchanges with the real service (`tests/fixtures/<generation>/`),
//! as the conformance tests of both generations read them: the request to
//! replay and the answer to compare against.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder of one generation's recordings.
pub fn dir(generation: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(generation)
}

/// Headers whose presence must match the recording.
pub const CHECKED_HEADERS: [&str; 3] = [
    "x-correlation-id",
    "x-idempotency-hit",
    "x-idempotency-truncated",
];

/// One recorded exchange.
pub struct Fixture {
    pub file: String,
    pub name: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub status: u16,
    pub response_headers: Vec<String>,
    pub response_body: Value,
}

impl Fixture {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let str_at = |ptr: &str| v.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
        let headers = v
            .pointer("/request/headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let response_headers = v
            .pointer("/response/headers")
            .and_then(Value::as_object)
            .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
            .unwrap_or_default();
        Ok(Self {
            file: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            name: str_at("/name").unwrap_or_default(),
            method: str_at("/request/method").ok_or("no request.method")?,
            path: str_at("/request/path").ok_or("no request.path")?,
            headers,
            body: v.pointer("/request/body").cloned().unwrap_or(Value::Null),
            status: v
                .pointer("/response/status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .ok_or("no response.status")?,
            response_headers,
            response_body: v.pointer("/response/body").cloned().unwrap_or(Value::Null),
        })
    }
}

/// A live answer.
pub struct Live {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

/// The JSON type of a value, for shape comparisons.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
