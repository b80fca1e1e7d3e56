#!/usr/bin/env bash
# Binding tests, run by scripts/test.sh (and so by CI):
#
#  1. builds the emulator binary and this crate's `uniffi-bindgen`;
#  2. creates a fresh venv (bindings/python/.venv), installs maturin and
#     pytest from PyPI, and `pip install ./bindings/python` (the wheel,
#     built with the dev profile here to reuse the debug build; a plain
#     `pip install ./bindings/python` builds release);
#  3. runs pytest against the real emulator (no tests collected = failure);
#  4. regenerates the Swift sources and fails if the committed ones differ;
#  5. runs `swift test` (and builds the Swift examples) where a Swift
#     toolchain exists, and says plainly that they were skipped otherwise.
#
# Needs only Rust, Python >= 3.9 (3.11 preferred) with venv/pip, and PyPI.
# PYTHON=/path/to/python overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
python="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [ -z "$python" ]; then
  echo "bindings/test.sh: no python3 found (set PYTHON)" >&2
  exit 1
fi

echo "== bindings: build the emulator and uniffi-bindgen"
# --all-features reuses what `cargo test --all-features` already built; the
# bindgen is built exactly as maturin runs it (feature uniffi-cli), so
# maturin and generate.sh find it up to date.
cargo build --all-features --bin crane-context-emulator
cargo build --features uniffi-cli --lib --bin uniffi-bindgen

echo "== bindings: Python wheel into a fresh venv ($("$python" --version))"
venv="$root/bindings/python/.venv"
if ! "$python" -m venv --clear "$venv"; then
  echo "bindings/test.sh: '$python -m venv' failed; install the venv module (e.g. apt-get install python3-venv)" >&2
  exit 1
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.11,<2" "pytest>=8" "pytest-asyncio>=0.23"
PATH="$venv/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation ./bindings/python

echo "== bindings: pytest"
set +e
CRANE_EMULATOR_BIN="$target_dir/debug/crane-context-emulator" \
  "$venv/bin/python" -m pytest bindings/python/tests -p no:cacheprovider
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "bindings/test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
fi

echo "== bindings: Swift sources are current"
bindings/swift/generate.sh --check

if command -v swift >/dev/null 2>&1; then
  echo "== bindings: swift test"
  CRANE_EMULATOR_BIN="$target_dir/debug/crane-context-emulator" \
    CRANE_CONTEXT_LIB_DIR="$target_dir/debug" \
    swift test --package-path bindings/swift
  CRANE_CONTEXT_LIB_DIR="$target_dir/debug" swift build --package-path examples/swift
else
  echo "Swift tests skipped: no swift toolchain"
fi
