//! The handoff payload every benchmark sends, in one place: the driver's
//! items and the criterion bench (`benches/canonical.rs` includes this file)
//! measure the same shape.

use crane_context::canonical::CanonicalPayload;
use serde_json::{json, Value};

/// A realistic handoff payload of about `bytes` canonical bytes: nested
/// objects, arrays, numbers, booleans, some non-ASCII text; never over the
/// server's limit (the 800 KiB case sits just under it).
pub fn payload_of(bytes: usize) -> Value {
    let mut tasks = Vec::new();
    let mut size = 64usize;
    let mut i = 0usize;
    while size < bytes {
        let task = json!({
            "id": i,
            "title": format!("Refactor módulo {i}: split the handler and add tests"),
            "done": i.is_multiple_of(3),
            "estimate_h": (i as f64) * 0.25 + 0.5,
            "files": [format!("src/area_{}/mod.rs", i % 17), format!("tests/t_{i}.rs")],
            "notes": {"blocker": null, "owner": format!("agent-{}", i % 5), "ß": "naïve café ✓"},
        });
        size += serde_json::to_string(&task)
            .map(|s| s.len() + 1)
            .unwrap_or(200);
        tasks.push(task);
        i += 1;
    }
    let mut v = json!({"summary_md": "## State\nWork continues.", "next": ["review", "ship"], "tasks": tasks, "version": 3});
    while CanonicalPayload::new(&v).is_err() {
        match v["tasks"].as_array_mut() {
            Some(tasks) if !tasks.is_empty() => tasks.pop(),
            _ => break,
        };
    }
    v
}

/// Canonical size of a payload.
#[allow(dead_code)] // the criterion bench does not use it
pub fn canonical_len(v: &Value) -> usize {
    CanonicalPayload::new(v)
        .map(|p| p.size_bytes())
        .unwrap_or(0)
}
