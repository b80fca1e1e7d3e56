#!/usr/bin/env bash
# The project's one test command: formatting, lints, every Rust test, and the
# Python/Swift binding tests. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, all features, -D warnings)"
cargo clippy --all-targets --all-features -- -D warnings

echo "== cargo test (all features)"
cargo test --all-features

if [ -x bindings/test.sh ]; then
  echo "== bindings (Python, Swift)"
  bindings/test.sh
fi
echo "== all tests passed"
