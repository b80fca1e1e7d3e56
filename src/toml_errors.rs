//! Describing a bad config file without repeating what is in it.
//!
//! The config file may hold the relay key (`key = "…"`). The TOML parser's own
//! error text quotes the offending line (`3 | kee = "<the key>"`) and serde's
//! messages quote values (`invalid type: string "…"`), so showing either
//! would print the key in a terminal, a `--json` error or `crane doctor`.
//! [`describe`] builds the message from positions instead: the file, the line,
//! the `[table]` and the field on that line, and the parser's reason with
//! every quoted token removed unless it is one of the config's own names.

use std::path::Path;

/// Names that may appear in a config file's structure; a quoted token in a
/// parser message is kept only if it is one of these (or punctuation).
const KNOWN_NAMES: &[&str] = &[
    "default_profile",
    "allow_insecure_http",
    "profiles",
    "ventures",
    "keeper_idle_seconds",
    "url",
    "key",
    "key_file",
];

/// Longest field name shown; anything longer is more likely a pasted value.
const MAX_FIELD_SHOWN: usize = 40;

/// A description of `error` in the file at `path` whose text is `text`,
/// naming the file, line, table and field, and quoting no value.
pub(crate) fn describe(path: &Path, text: &str, error: &toml::de::Error) -> String {
    let reason = scrub(error.message());
    let Some(span) = error.span() else {
        return format!("config file {} is not valid: {reason}", path.display());
    };
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or("");
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let mut place = format!("line {line_no}");
    if let Some(table) = table_of(before) {
        place.push_str(&format!(", in [{table}]"));
    }
    if let Some(field) = field_of(line) {
        place.push_str(&format!(", field `{field}`"));
    }
    format!(
        "config file {} is not valid ({place}): {reason}",
        path.display()
    )
}

/// The name of the `[table]` whose body holds the position (the last table
/// header before it), if it looks like a name and not a value.
fn table_of(before: &str) -> Option<String> {
    before.lines().rev().find_map(|l| {
        let t = l.trim();
        let inner = t.strip_prefix('[')?.strip_suffix(']')?;
        let inner = inner.trim_matches(|c| c == '[' || c == ']').trim();
        shown_name(inner)
    })
}

/// The key of a `key = value` line, if it looks like a name.
fn field_of(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    shown_name(key.trim())
}

/// A name fit to show: short, and made of the characters of TOML bare keys
/// and dotted keys only.
fn shown_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_FIELD_SHOWN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    ok.then(|| name.to_owned())
}

/// The first line of a parser message with every quoted token (`"…"`, `'…'`
/// or `` `…` ``) replaced by `…` unless it is a known name or punctuation.
fn scrub(message: &str) -> String {
    let first = message.lines().next().unwrap_or("").trim();
    let mut out = String::with_capacity(first.len());
    let mut chars = first.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(c, '"' | '\'' | '`') {
            out.push(c);
            continue;
        }
        let rest = &first[i + c.len_utf8()..];
        match rest.find(c) {
            Some(end) => {
                let inner = &rest[..end];
                let keep = KNOWN_NAMES.contains(&inner)
                    || (inner.chars().count() <= 2
                        && inner.chars().all(|ch| ch.is_ascii_punctuation()));
                out.push(c);
                out.push_str(if keep { inner } else { "…" });
                out.push(c);
                // Skip the token and its closing quote.
                while let Some((j, _)) = chars.peek() {
                    if *j > i + c.len_utf8() + end {
                        break;
                    }
                    chars.next();
                }
            }
            // An unmatched quote: drop the rest, it may be a value.
            None => {
                out.push('…');
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-relay-key-value";

    fn err_for(text: &str) -> String {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Profile {
            url: Option<String>,
            key: Option<String>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct File {
            profiles: std::collections::BTreeMap<String, Profile>,
        }
        let e = toml::from_str::<File>(text).unwrap_err();
        describe(Path::new("/c.toml"), text, &e)
    }

    #[test]
    fn names_line_table_and_field_never_the_value() {
        let cases = [
            format!("[profiles.a]\nurl = \"http://127.0.0.1:1\"\nkee = \"{SECRET}\"\n"),
            format!("[profiles.a]\nurl = \"http://127.0.0.1:1\"\nkey = {SECRET}\n"),
            format!("[profiles.a]\nurl = \"http://127.0.0.1:1\"\nkey = \"{SECRET}\n"),
            format!("[profiles.a]\nurl = \"http://127.0.0.1:1\"\nkey = [\"{SECRET}\"]\n"),
            format!(
                "[profiles.a]\nurl = \"http://127.0.0.1:1\"\nkey = 1234{}\n",
                5678
            ),
        ];
        for text in &cases {
            let msg = err_for(text);
            assert!(!msg.contains(SECRET), "{msg}");
            assert!(!msg.contains("12345678"), "{msg}");
            assert!(msg.contains("/c.toml"), "{msg}");
            assert!(msg.contains("line 3"), "{text}: {msg}");
            assert!(msg.contains("[profiles.a]"), "{msg}");
            assert!(msg.contains("field `ke"), "{msg}");
        }
    }

    #[test]
    fn scrub_keeps_names_and_drops_values() {
        assert_eq!(
            scrub("invalid type: string \"abc\", expected a sequence\nmore"),
            "invalid type: string \"…\", expected a sequence"
        );
        assert_eq!(
            scrub("unknown field `kee`, expected one of `url`, `key`"),
            "unknown field `…`, expected one of `url`, `key`"
        );
        assert_eq!(scrub("expected `=`"), "expected `=`");
        assert_eq!(scrub("broken \"tail"), "broken …");
    }
}
