#!/usr/bin/env bash
# The project's one test command: formatting, lints, every Rust test, and the
# Python and Swift binding tests. CI (.ci/run) runs exactly this.
#
# One feature set (--all-features) for everything: clippy, the tests, the
# emulator binary, uniffi-bindgen, the cdylib the wheel and the Swift package
# link. `cargo test` builds all of them once; the binding phase reuses them.
# Clippy checks the same feature set (its check-mode metadata is the only
# second pass over the dependencies, and it compiles no code).
#
# The last lines say which suites ran, with their counts:
#   rust: N passed, 0 failed
#   python: N passed, 0 failed
#   swift: N passed, 0 failed        (or why Swift could not run here)
#   mcp-ts: N passed, 0 failed       (the TypeScript MCP client against `crane mcp`)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
logs="$target_dir/test-logs"
mkdir -p "$logs"
started=$SECONDS

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, all features, -D warnings)"
cargo clippy --all-targets --all-features -- -D warnings

echo "== cargo test (all features)"
set +e
cargo test --all-features 2>&1 | tee "$logs/rust.log"
rc="${PIPESTATUS[0]}"
set -e
if [ "$rc" -ne 0 ]; then
  echo "cargo test failed (exit $rc)" >&2
  exit "$rc"
fi
# "test result: ok. 12 passed; 0 failed; 0 ignored; …" once per test binary.
read -r rust_passed rust_failed rust_ignored rust_binaries < <(
  grep -E '^test result: ' "$logs/rust.log" |
    sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/' |
    awk '{p+=$1; f+=$2; i+=$3; n++} END {print p+0, f+0, i+0, n+0}'
)
if [ "$rust_ignored" -ne 0 ]; then
  echo "cargo test: $rust_ignored test(s) ignored; an ignored test is not a passing one" >&2
  exit 1
fi

echo "== bindings (Python, Swift)"
bindings/test.sh "$logs"

echo "== MCP: the official TypeScript client against crane mcp (tests/mcp-ts)"
set +e
tests/mcp-ts/run.sh "$target_dir/debug" 2>&1 | tee "$logs/mcp-ts.log"
rc="${PIPESTATUS[0]}"
set -e
mcp_line="$(grep -E '^mcp-ts: [0-9]+ passed' "$logs/mcp-ts.log" | tail -1)"
if [ "$rc" -ne 0 ] || [ -z "$mcp_line" ]; then
  echo "tests/mcp-ts/run.sh failed (exit $rc)" >&2
  exit 1
fi

python_line="$(cat "$logs/python.summary")"
swift_line="$(cat "$logs/swift.summary")"
elapsed=$((SECONDS - started))
echo ""
echo "== summary ($((elapsed / 60)) min $((elapsed % 60)) s; target/ $(du -sh "$target_dir" 2>/dev/null | cut -f1))"
echo "rust: $rust_passed passed, $rust_failed failed ($rust_binaries test binaries and doctest runs)"
echo "$python_line"
echo "$swift_line"
echo "$mcp_line"
python_passed="$(sed -nE 's/^python: ([0-9]+) passed.*/\1/p' "$logs/python.summary")"
swift_passed="$(sed -nE 's/^swift: ([0-9]+) passed.*/\1/p' "$logs/swift.summary")"
mcp_passed="$(sed -nE 's/^mcp-ts: ([0-9]+) passed.*/\1/p' <<<"$mcp_line")"
echo "all: $((rust_passed + ${python_passed:-0} + ${swift_passed:-0} + ${mcp_passed:-0})) passed, 0 failed"
