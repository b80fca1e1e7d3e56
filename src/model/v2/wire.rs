//! Serde helpers for the v2 server's storage quirks, and local checks of
//! identifiers that end up in a URL path.
//!
//! The server returns some lists as the JSON *text* it stored
//! (`"[\"a\",\"b\"]"`) and flags as SQLite integers; these helpers decode
//! both the quirky and the natural form, so a record serialized by this crate
//! (lists as arrays, flags as booleans) decodes again.

use serde::{Deserialize, Deserializer};

use crate::Error;

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    List(Vec<String>),
    Text(String),
}

/// A string list sent as JSON text, as a list, or as `null`.
pub(crate) fn text_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Option::<ListOrText>::deserialize(d)? {
        None => Ok(None),
        Some(ListOrText::List(v)) => Ok(Some(v)),
        Some(ListOrText::Text(t)) => serde_json::from_str::<Option<Vec<String>>>(&t)
            .map_err(|e| serde::de::Error::custom(format!("list stored as JSON text: {e}"))),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Int(i64),
}

/// A flag sent as `0`/`1` (SQLite) or as a boolean; absent or `null` is false.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Flag>::deserialize(d)? {
        None => false,
        Some(Flag::Bool(b)) => b,
        Some(Flag::Int(i)) => i != 0,
    })
}

/// A value that becomes one URL path segment (`/notes/<id>`, `/docs/<scope>/<name>`):
/// non-empty, no `/` or `\` (which would route elsewhere), no `?`, `#` or
/// `%` (query, fragment, a pre-encoded escape), not `.` or `..` (which a URL
/// parser folds away), no control characters. The rest is percent-encoded
/// when the URL is built.
pub(crate) fn path_segment(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(field, "must not be `.` or `..`"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '?' | '#' | '%') || c.is_control())
    {
        return Err(Error::invalid_input(
            field,
            format!("must not contain {c:?} (it becomes part of the URL path)"),
        ));
    }
    Ok(())
}

/// A session id as the v2 server checks it: `sess_` and a 26-character ULID.
pub(crate) fn session_id(field: &str, value: &str) -> Result<(), Error> {
    let ulid = value.strip_prefix("sess_").unwrap_or("");
    let crockford = |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
    if ulid.len() == 26 && ulid.chars().all(crockford) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            format!("must be `sess_` followed by a 26-character ULID, got {value:?}"),
        ))
    }
}

/// A required text field: not empty after trimming.
pub(crate) fn required(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    Ok(())
}

/// A page size within `1..=max`.
pub(crate) fn limit(value: Option<u32>, max: u32) -> Result<(), Error> {
    match value {
        Some(l) if l == 0 || l > max => Err(Error::invalid_input(
            "limit",
            format!("must be between 1 and {max}, got {l}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "text_list")]
        l: Option<Vec<String>>,
        #[serde(default, deserialize_with = "flag")]
        f: bool,
    }

    #[test]
    fn lists_and_flags_decode_from_quirky_and_natural_forms() {
        let t: T = serde_json::from_str(r#"{"l":"[\"a\",\"b\"]","f":1}"#).unwrap();
        assert_eq!(t.l, Some(vec!["a".into(), "b".into()]));
        assert!(t.f);
        let t: T = serde_json::from_str(r#"{"l":["x"],"f":false}"#).unwrap();
        assert_eq!(t.l, Some(vec!["x".into()]));
        assert!(!t.f);
        let t: T = serde_json::from_str(r#"{"l":null}"#).unwrap();
        assert_eq!(t.l, None);
        assert!(serde_json::from_str::<T>(r#"{"l":"not json"}"#).is_err());
    }

    #[test]
    fn path_segments_and_session_ids_are_checked() {
        assert!(path_segment("id", "note_01ABC").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a?b", "a#b", "a%2Fb", "a\nb"] {
            assert!(path_segment("id", bad).is_err(), "{bad:?}");
        }
        assert!(session_id("session_id", "sess_01M8CQK98TCC0ZE0AQ5AP1RA1R").is_ok());
        for bad in [
            "sess_1",
            "sess_01M8CQK98TCC0ZE0AQ5AP1RA1U",
            "01M8CQK98TCC0ZE0AQ5AP1RA1R",
        ] {
            assert!(session_id("session_id", bad).is_err(), "{bad:?}");
        }
    }
}
