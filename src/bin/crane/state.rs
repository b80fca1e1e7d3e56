//! The CLI's small files beside the store: the last known connectivity and
//! the documentation delivered by `/sod`.
//!
//! `crane status` must answer from local files in milliseconds, so every
//! command that talks to the server (and the keeper) records whether it
//! could reach it in `connectivity.json`. The docs from `/sod` are written as
//! plain files under `docs/` for agents to read; they are rewritten only when
//! the bundle's `content_hash` changes (a `.content_hash` marker says which
//! bundle is on disk). Every file is written to a temporary name and renamed,
//! so a reader never sees half a file, and is private (0600 in 0700
//! directories, `crane_context::private_fs`).

use std::path::{Path, PathBuf};

use crane_context::model::{DocItem, Documentation};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// File recording the last known connectivity.
const CONNECTIVITY_FILE: &str = "connectivity.json";
/// Directory of the cached docs.
const DOCS_DIR: &str = "docs";
/// Marker naming the bundle on disk.
const DOCS_HASH_FILE: &str = ".content_hash";
/// The files written for the bundle on disk, one per line.
const DOCS_MANIFEST_FILE: &str = ".manifest";

/// What the last exchange with the server showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastContact {
    /// Whether the server answered.
    pub online: bool,
    /// When this was learned.
    pub at: Timestamp,
    /// Why it could not be reached, when it could not.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Writes `bytes` to `path` in a directory of ours: 0600 in a 0700
/// directory, through a temporary file (removed on error) and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crane_context::private_fs::write_in_private_dir(path, bytes)
}

/// Records what a call's result showed about connectivity (best effort):
/// unreachable only for connectivity errors; any answer means reachable.
pub fn record_result<T>(data_dir: &Path, result: &Result<T, crane_context::Error>) {
    match result {
        Err(e) if e.is_connectivity() => record_contact(data_dir, false, Some(e.to_string())),
        _ => record_contact(data_dir, true, None),
    }
}

/// Records the last known connectivity (best effort: a failure to write it
/// must not fail the command that learned it).
pub fn record_contact(data_dir: &Path, online: bool, reason: Option<String>) {
    let contact = LastContact {
        online,
        at: Timestamp::now(),
        reason,
    };
    if let Ok(json) = serde_json::to_vec_pretty(&contact) {
        let _ = write_atomic(&data_dir.join(CONNECTIVITY_FILE), &json);
    }
}

/// The last known connectivity, if any command recorded it.
pub fn last_contact(data_dir: &Path) -> Option<LastContact> {
    let text = std::fs::read(data_dir.join(CONNECTIVITY_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Where the docs are cached.
pub fn docs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DOCS_DIR)
}

/// What writing the docs did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocsWritten {
    /// The directory.
    pub dir: PathBuf,
    /// The bundle's hash.
    pub content_hash: Option<String>,
    /// The files, relative to `dir`.
    pub files: Vec<String>,
    /// Whether the files were (re)written; `false` when the bundle was unchanged.
    pub rewritten: bool,
}

/// Writes the bundle's docs under `docs/<scope>/<doc_name>`, unless the
/// bundle on disk has the same `content_hash` and all its files are there.
/// Files of an older bundle that the new one no longer has are removed.
pub fn write_docs(data_dir: &Path, docs: &Documentation) -> std::io::Result<DocsWritten> {
    let dir = docs_dir(data_dir);
    crane_context::private_fs::ensure_dir(data_dir)?;
    crane_context::private_fs::ensure_dir(&dir)?;
    let files: Vec<String> = docs.docs.iter().map(doc_path).collect();
    let on_disk = std::fs::read_to_string(dir.join(DOCS_HASH_FILE)).ok();
    let unchanged = match (&docs.content_hash, &on_disk) {
        (Some(new), Some(old)) => new == old.trim(),
        _ => false,
    };
    if unchanged && files.iter().all(|f| dir.join(f).is_file()) {
        // Not rewritten, but tightened if an older version left them wide.
        let markers = [DOCS_HASH_FILE, DOCS_MANIFEST_FILE].map(String::from);
        for f in files.iter().chain(&markers) {
            let path = dir.join(f);
            crane_context::private_fs::tighten(&path, false)?;
            if let Some(parent) = path.parent().filter(|p| *p != dir) {
                crane_context::private_fs::tighten(parent, true)?;
            }
        }
        return Ok(DocsWritten {
            dir,
            content_hash: docs.content_hash.clone(),
            files,
            rewritten: false,
        });
    }
    let old_files: Vec<String> = std::fs::read_to_string(dir.join(DOCS_MANIFEST_FILE))
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    for (doc, rel) in docs.docs.iter().zip(&files) {
        let path = dir.join(rel);
        write_atomic(&path, doc.content.as_bytes())?;
    }
    for old in old_files.iter().filter(|f| !files.contains(f)) {
        // Only names this module wrote (sanitized, inside `dir`) are in the manifest.
        if is_safe_relative(old) {
            let _ = std::fs::remove_file(dir.join(old));
        }
    }
    write_atomic(&dir.join(DOCS_MANIFEST_FILE), files.join("\n").as_bytes())?;
    if let Some(hash) = &docs.content_hash {
        write_atomic(&dir.join(DOCS_HASH_FILE), hash.as_bytes())?;
    }
    Ok(DocsWritten {
        dir,
        content_hash: docs.content_hash.clone(),
        files,
        rewritten: true,
    })
}

/// `scope/doc_name`, each part reduced to a safe file name.
fn doc_path(doc: &DocItem) -> String {
    let scope = doc.scope.as_deref().unwrap_or("global");
    format!("{}/{}", safe_name(scope), safe_name(&doc.doc_name))
}

/// A file name of `[A-Za-z0-9._-]`, never `.`/`..`/empty or hidden.
fn safe_name(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

fn is_safe_relative(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.len() == 2 && parts.iter().all(|p| *p == safe_name(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, content: &str) -> DocItem {
        DocItem {
            scope: Some("vc".into()),
            doc_name: name.into(),
            content: content.into(),
            content_hash: None,
            title: None,
            description: None,
            version: None,
        }
    }

    #[test]
    fn names_cannot_escape_the_docs_dir() {
        assert_eq!(safe_name("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_name(".."), "_.");
        assert_eq!(safe_name(""), "_");
        assert_eq!(safe_name("team-workflow.md"), "team-workflow.md");
    }

    #[test]
    fn rewritten_only_when_the_hash_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut bundle = Documentation {
            docs: vec![doc("a.md", "A"), doc("b.md", "B")],
            count: 2,
            content_hash: Some("h1".into()),
        };
        assert!(write_docs(dir.path(), &bundle).unwrap().rewritten);
        assert!(!write_docs(dir.path(), &bundle).unwrap().rewritten);
        bundle.docs.pop();
        bundle.content_hash = Some("h2".into());
        let w = write_docs(dir.path(), &bundle).unwrap();
        assert!(w.rewritten);
        assert!(w.dir.join("vc/a.md").is_file());
        assert!(!w.dir.join("vc/b.md").exists());
    }
}
