//! How `crane` talks: readable text for people, `--json` for tools.
//!
//! Results go to stdout, errors and warnings to stderr, so a tool piping
//! `--json` output never sees anything but JSON. Colour is used only when
//! stdout is a terminal and `NO_COLOR` is unset (and `TERM` is not `dumb`).
//! Writes ignore a closed pipe (`crane handoffs list | head`) instead of
//! panicking.

use std::io::{IsTerminal, Write};

use jiff::Timestamp;
use serde_json::{json, Value};

use crate::error::CliError;

/// Text styles.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Emphasis.
    Bold,
    /// Success.
    Green,
    /// Attention.
    Yellow,
    /// Failure.
    Red,
    /// Secondary information.
    Dim,
}

/// The output channel of one invocation.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    color: bool,
}

impl Output {
    /// Text or JSON; colour decided from the terminal and `NO_COLOR`.
    pub fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Self {
            json,
            color: !json && !no_color && !dumb && std::io::stdout().is_terminal(),
        }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a JSON document on stdout.
    pub fn emit_json(&self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }

    /// Prints a line of text on stdout (text mode only).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            let _ = writeln!(std::io::stdout().lock(), "{}", text.as_ref());
        }
    }

    /// Prints `label: value` aligned (text mode only).
    pub fn field(&self, label: &str, value: impl AsRef<str>) {
        self.line(format!("  {:<18} {}", format!("{label}:"), value.as_ref()));
    }

    /// A warning on stderr (both modes: stdout stays clean JSON).
    pub fn warn(&self, text: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr().lock(), "warning: {}", text.as_ref());
    }

    /// Styles `text` when colour is on.
    pub fn paint(&self, text: impl AsRef<str>, style: Style) -> String {
        let text = text.as_ref();
        if !self.color {
            return text.to_owned();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Reports a failure on stderr: the message (with the server's
    /// correlation id), a hint; as a JSON object under `--json`.
    pub fn error(&self, e: &CliError) {
        let mut err = std::io::stderr().lock();
        if self.json {
            let body = json!({"error": {
                "kind": e.kind(),
                "message": e.to_string(),
                "correlation_id": e.correlation_id(),
                "exit_code": e.exit_code(),
                "hint": e.hint(),
            }});
            let _ = writeln!(err, "{body}");
            return;
        }
        let prefix = if std::io::stderr().is_terminal() && self.color {
            "\x1b[31merror:\x1b[0m"
        } else {
            "error:"
        };
        let _ = writeln!(err, "{prefix} {e}");
        if let Some(h) = e.hint() {
            let _ = writeln!(err, "hint: {h}");
        }
    }
}

/// `2026-11-23 11:30:19 UTC (5m ago)` / `(in 7m)`.
pub fn when(ts: Timestamp, now: Timestamp) -> String {
    let secs = ts.as_second() - now.as_second();
    let rel = if secs.abs() <= 1 {
        "just now".to_owned()
    } else if secs > 0 {
        format!("in {}", duration_text(secs))
    } else {
        format!("{} ago", duration_text(-secs))
    };
    format!("{} ({rel})", short_time(ts))
}

/// `2026-11-23 11:30:19 UTC`.
pub fn short_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `45s`, `7m 12s`, `3h 5m`, `2d 4h`.
pub fn duration_text(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `text` cut to `max` characters with an ellipsis; newlines become spaces.
pub fn truncate(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let cols = headers.len();
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                let pad = width[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        line.trim_end().to_owned()
    };
    let mut out = vec![render(headers.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| render(r.iter().map(String::as_str).collect())),
    );
    out
}

/// Whether stdin is an interactive terminal.
pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether stderr (where progress bars draw) is an interactive terminal.
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_truncation() {
        assert_eq!(duration_text(5), "5s");
        assert_eq!(duration_text(432), "7m 12s");
        assert_eq!(duration_text(3 * 3600 + 300), "3h 5m");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("a\nb", 10), "a b");
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, vec!["A    BB", "xyz  1"]);
    }
}
