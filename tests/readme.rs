//! The README's code is real code: its Rust snippet is `examples/library.rs`
//! (which `cargo test` compiles), the Swift README's snippets are
//! examples/swift-agent's `ReadmeSnippet` (which bindings/swift/test.sh
//! compiles), and nothing in the repository reaches
//! outside it (a clone has nothing beside it).

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of `examples/library.rs` between its `README:begin`/`README:end`
/// markers.
fn example_snippet() -> String {
    let text = read("examples/library.rs");
    let begin = text.find("// README:begin\n").expect("begin marker") + "// README:begin\n".len();
    let end = text.find("// README:end").expect("end marker");
    text[begin..end].to_owned()
}

/// Every fenced ```rust block of the README.
fn readme_rust_blocks() -> Vec<String> {
    fenced_blocks("README.md", "```rust")
}

#[test]
fn readme_rust_snippet_is_the_compiled_library_example() {
    let blocks = readme_rust_blocks();
    assert_eq!(
        blocks.len(),
        1,
        "the README has one Rust snippet: {blocks:?}"
    );
    assert_eq!(
        blocks[0],
        example_snippet(),
        "README.md's Rust snippet must be examples/library.rs between its markers"
    );
}

/// The runs of lines of `file` between a line for which `opens` holds and
/// the next line for which `closes` holds (both excluded).
fn runs_between(
    file: &str,
    opens: impl Fn(&str) -> bool,
    closes: impl Fn(&str) -> bool,
) -> Vec<String> {
    let text = read(file);
    let mut runs = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if opens(line) => current = Some(String::new()),
            Some(run) if closes(line) => {
                runs.push(std::mem::take(run));
                current = None;
            }
            Some(run) => {
                run.push_str(line);
                run.push('\n');
            }
            None => {}
        }
    }
    runs
}

/// Every fenced block of `file` opened with exactly `fence` (e.g. "```swift").
fn fenced_blocks(file: &str, fence: &str) -> Vec<String> {
    runs_between(
        file,
        |l| l.trim_start() == fence,
        |l| l.trim_start() == "```",
    )
}

/// The regions of `file` between `// README:begin` and `// README:end` lines.
fn marked_regions(file: &str) -> Vec<String> {
    runs_between(file, |l| l == "// README:begin", |l| l == "// README:end")
}

#[test]
fn swift_readme_snippets_are_the_compiled_example() {
    // The Swift package's README shows two snippets; the example package
    // compiles them (bindings/swift/test.sh builds it, warnings as errors).
    let blocks = fenced_blocks("bindings/swift/README.md", "```swift");
    let regions = marked_regions("examples/swift-agent/Sources/ReadmeSnippet/ReadmeSnippet.swift");
    assert_eq!(
        blocks.len(),
        2,
        "bindings/swift/README.md has two Swift snippets"
    );
    assert_eq!(
        regions.len(),
        3,
        "ReadmeSnippet.swift has three marked regions"
    );
    assert_eq!(
        blocks[0],
        format!("{}{}", regions[0], regions[1]),
        "the README's first Swift snippet must be ReadmeSnippet.swift's imports and readmeQuickstart body"
    );
    assert_eq!(
        blocks[1], regions[2],
        "the README's second Swift snippet must be ReadmeSnippet.swift's readmeV2 body"
    );
}

#[test]
fn no_tracked_file_reaches_outside_the_repository() {
    // A clone has nothing beside it: the specification folder the fixtures
    // came from, a sibling of the project's own checkout, must not be named
    // by any script, test or build file. The needle is built from parts so
    // this file does not name it either.
    let needle = format!("{}/{}", "..", "shared");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    for dir in [
        "src", "tests", "examples", "benches", "scripts", "bindings", ".ci",
    ] {
        walk(&root.join(dir), &mut |path, text| {
            if text.contains(&needle) {
                offenders.push(path.display().to_string());
            }
        });
    }
    for file in ["Cargo.toml", "build.rs"] {
        if let Ok(text) = std::fs::read_to_string(root.join(file)) {
            if text.contains(&needle) {
                offenders.push(file.to_owned());
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "files naming the folder beside the repository: {offenders:?}"
    );
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path, &str)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Installed or built, not the project's files (git ignores them).
        if name == ".build"
            || name == ".venv"
            || name == "target"
            || name == "fixtures"
            || name == "node_modules"
        {
            continue;
        }
        if path.is_dir() {
            walk(&path, f);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            f(&path, &text);
        }
    }
}
