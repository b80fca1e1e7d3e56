//! The service's fixed data: its ventures, its build identity and the
//! documents each venture is required to have.
//!
//! A v2 client validates a venture against `GET /ventures`, maps its git
//! remote to a venture through the same list, and shows the `doc_audit` of
//! `/sos`; all three come from data the real worker ships with. The emulator
//! carries the recorded build's data (`data/*.json`, taken from fixtures 003
//! and 113) so that answers have the same ventures, in the same order, with
//! the same required documents, and `/version` reports that build's schema
//! (the schema whose routes it emulates) under the emulator's own commit.

use std::sync::LazyLock;

use serde_json::{json, Value};

use super::super::app::App;
use super::super::clock::format_ts;

/// `/ventures` of the recorded build, in the service's order.
static VENTURES: LazyLock<Vec<Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("data/ventures.json")).unwrap_or_default());

/// Required documents per venture code, as the service seeds them.
static REQUIREMENTS: LazyLock<serde_json::Map<String, Value>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("data/doc_requirements.json")).unwrap_or_default()
});

/// The recorded build's schema identity: `schema_hash`, `schema_version`,
/// `migrations_applied`, `features_enabled`.
static SCHEMA: LazyLock<serde_json::Map<String, Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("data/version.json")).unwrap_or_default());

/// The venture list of `GET /ventures`.
pub(super) fn ventures() -> Vec<Value> {
    VENTURES.clone()
}

/// The venture codes, in order (what `/sos` and `/notes` accept).
pub(super) fn venture_codes() -> Vec<String> {
    VENTURES
        .iter()
        .filter_map(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Whether `code` is a listed venture.
pub(super) fn is_venture(code: &str) -> bool {
    VENTURES
        .iter()
        .any(|v| v.get("code").and_then(Value::as_str) == Some(code))
}

/// A venture's display name.
fn venture_name(code: &str) -> String {
    VENTURES
        .iter()
        .find(|v| v.get("code").and_then(Value::as_str) == Some(code))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .unwrap_or(code)
        .to_owned()
}

/// The emulator's `GET /version`: the recorded build's schema identity, the
/// emulator as the commit, its start as build and deploy time.
pub(super) fn version(app: &App) -> Value {
    let started = jiff::Timestamp::try_from(app.started_at)
        .map(format_ts)
        .unwrap_or_default();
    let mut out = SCHEMA.clone();
    for (key, value) in [
        ("service", "crane-context"),
        ("commit", "emulator"),
        ("commit_short", "emulator"),
        ("build_timestamp", started.as_str()),
        ("deployed_at", started.as_str()),
        ("environment", "unknown"),
    ] {
        out.insert(key.into(), value.into());
    }
    Value::Object(out)
}

/// Days after which a present required document counts as stale (the
/// service's default when a requirement names no threshold).
const STALE_AFTER_DAYS: i64 = 90;

/// The doc audit of one venture given the documents present in its scope or
/// the global one (`(doc_name, scope, version, updated_at)`) at `now`. An
/// unlisted venture gets the service's "Unknown venture" audit.
pub(super) fn audit(
    code: &str,
    present: &[(String, String, i64, String)],
    now: jiff::Timestamp,
) -> Value {
    if !is_venture(code) {
        return json!({
            "venture": code, "venture_name": code, "status": "complete",
            "missing": [], "stale": [], "present": [],
            "summary": format!("Unknown venture: {code}"),
        });
    }
    let required = REQUIREMENTS
        .get(code)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut missing, mut stale, mut found) = (Vec::new(), Vec::new(), Vec::new());
    for requirement in required {
        let name = requirement
            .get("doc_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some((doc, scope, version, updated_at)) = present.iter().find(|(doc, ..)| *doc == name)
        else {
            missing.push(requirement);
            continue;
        };
        let age_days = updated_at.parse::<jiff::Timestamp>().map_or(0, |t| {
            (now.as_millisecond() - t.as_millisecond()).div_euclid(86_400_000)
        });
        if age_days > STALE_AFTER_DAYS {
            stale.push(json!({
                "doc_name": doc, "scope": scope, "version": version, "updated_at": updated_at,
                "days_since_update": age_days, "staleness_threshold_days": STALE_AFTER_DAYS,
                "auto_generate": requirement.get("auto_generate"),
                "generation_sources": requirement.get("generation_sources"),
            }));
        } else {
            found.push(json!({
                "doc_name": doc, "scope": scope, "version": version, "updated_at": updated_at,
            }));
        }
    }
    let required_missing = missing
        .iter()
        .any(|m| m.get("required") == Some(&Value::Bool(true)));
    let status = if required_missing {
        "incomplete"
    } else if stale.is_empty() {
        "complete"
    } else {
        "warning"
    };
    let parts: Vec<String> = [
        (missing.len(), "missing"),
        (stale.len(), "stale"),
        (found.len(), "present"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let name = venture_name(code);
    let summary = if parts.is_empty() {
        format!("{name}: no requirements configured")
    } else {
        format!("{name}: {}", parts.join(", "))
    };
    json!({
        "venture": code,
        "venture_name": name,
        "status": status,
        "missing": missing,
        "stale": stale,
        "present": found,
        "summary": summary,
    })
}
