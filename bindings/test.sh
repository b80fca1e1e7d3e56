#!/usr/bin/env bash
# Binding tests, run by scripts/test.sh (and so by CI):
#
#  1. builds (or finds up to date) the emulator binary, this crate's
#     `uniffi-bindgen` and the cdylib, all with --all-features like
#     `cargo test --all-features`, so nothing is compiled twice;
#  2. builds the Python wheel ONCE with maturin (dev profile, --all-features)
#     into target/wheels, linked by zig against glibc 2.17 so that it is a
#     manylinux2014 wheel (installs on any x86_64 Linux with glibc >= 2.17,
#     not only on systems as new as this one); it has its own target dir
#     (target/wheel-build) so it never invalidates the main build. Creates a
#     fresh venv (bindings/python/.venv), installs maturin, ziglang, pytest,
#     pytest-asyncio and mypy from PyPI and the wheel file itself (no build,
#     no Rust needed at install);
#  3. runs pytest against the installed wheel, not the source tree (no tests
#     collected = failure; tests/test_package.py checks where it imported
#     from and the wheel's tags), which also runs every Python example;
#  4. runs `mypy --strict` on the examples, tests/typing/check_api.py and the
#     installed package;
#  5. regenerates the Swift sources and fails if the committed ones differ;
#  6. compiles and tests the Swift package and builds the Swift examples
#     (bindings/swift/test.sh: the `swift` on the PATH, or one provisioned
#     into a cached Debian chroot), and says loudly when that is impossible.
#
#   bindings/test.sh [LOG_DIR]
#
# LOG_DIR (default target/test-logs) receives python.summary and
# swift.summary, one line each, for scripts/test.sh's closing lines.
# Needs Rust, Python >= 3.9 (3.11 preferred) with venv/pip, and PyPI; root
# and Debian's packages for Swift where no toolchain is installed.
# PYTHON=/path/to/python overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
logs="${1:-$target_dir/test-logs}"
mkdir -p "$logs"
python="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [ -z "$python" ]; then
  echo "bindings/test.sh: no python3 found (set PYTHON)" >&2
  exit 1
fi

echo "== bindings: the emulator, uniffi-bindgen and the cdylib"
# The same feature set as scripts/test.sh's `cargo test --all-features`, which
# built all three: this is a no-op there, and builds them when run alone.
cargo build --all-features --lib --bin crane-context-emulator --bin uniffi-bindgen

echo "== bindings: Python wheel into a fresh venv ($("$python" --version))"
venv="$root/bindings/python/.venv"
if ! "$python" -m venv --clear "$venv"; then
  echo "bindings/test.sh: '$python -m venv' failed; install the venv module (e.g. apt-get install python3-venv)" >&2
  exit 1
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.11,<2" "ziglang>=0.13" "pytest>=8" "pytest-asyncio>=0.23" "mypy>=1.10"
wheels="$target_dir/wheels"
rm -rf "$wheels"
# The one build of the wheel: dev profile and --all-features (what the tests
# need, and no release build's time), linked by zig against glibc 2.17 so it
# carries the manylinux2014 tag (tests/test_package.py checks the tag and that
# the library needs no newer glibc symbol). Its own target dir: zig's C
# compiler and linker would otherwise invalidate the main build.
(cd bindings/python && PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$target_dir/wheel-build" \
  "$venv/bin/maturin" build --quiet --profile dev --all-features \
  --zig --compatibility manylinux2014 --out "$wheels")
wheel="$(ls "$wheels"/crane_context-*.whl)"
echo "wheel: $(basename "$wheel")"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$wheel"

echo "== bindings: pytest (against the installed wheel)"
set +e
CRANE_EMULATOR_BIN="$target_dir/debug/crane-context-emulator" \
  "$venv/bin/python" -m pytest bindings/python/tests -p no:cacheprovider 2>&1 | tee "$logs/python.log"
rc="${PIPESTATUS[0]}"
set -e
if [ "$rc" -eq 5 ]; then
  echo "bindings/test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
# "==== 41 passed in 12.34s ====" (skips would be listed too: none allowed).
summary="$(grep -E '^=+ .*[0-9]+ passed' "$logs/python.log" | tail -1)"
if echo "$summary" | grep -qE 'skipped|xfail|error'; then
  echo "bindings/test.sh: pytest skipped or errored: $summary" >&2
  exit 1
fi
py_passed="$(echo "$summary" | sed -E 's/.* ([0-9]+) passed.*/\1/')"

echo "== bindings: mypy --strict (examples, the typing check, the installed package)"
mypy_config="$root/bindings/python/pyproject.toml"
"$venv/bin/mypy" --config-file "$mypy_config" --no-incremental \
  bindings/python/tests/typing/check_api.py examples/python/*.py | tee "$logs/mypy.log"
# The package as installed, checked from a copy (site-packages itself holds
# other top-level modules that mypy refuses to check alongside).
pkg_copy="$(mktemp -d)"
cp -r "$("$venv/bin/python" -c 'import crane_context, os; print(os.path.dirname(crane_context.__file__))')" "$pkg_copy/"
(cd "$pkg_copy" && "$venv/bin/mypy" --config-file "$mypy_config" --no-incremental -p crane_context) | tee -a "$logs/mypy.log"
rm -rf "$pkg_copy"
mypy_files="$(sed -nE 's/^Success: no issues found in ([0-9]+) source files?$/\1/p' "$logs/mypy.log" | awk '{ n += $1 } END { print n }')"
echo "python: $py_passed passed, 0 failed (mypy --strict: $mypy_files files clean)" >"$logs/python.summary"

echo "== bindings: Swift sources are current"
bindings/swift/generate.sh --check

echo "== bindings: Swift"
set +e
bindings/swift/test.sh "$target_dir/debug" "$target_dir/debug/crane-context-emulator" 2>&1 | tee "$logs/swift.log"
rc="${PIPESTATUS[0]}"
set -e
if [ "$rc" -eq 77 ]; then
  reason="$(sed -nE 's/^!!! Swift tests SKIPPED: //p' "$logs/swift.log" | head -1)"
  echo "swift: NOT RUN ($reason)" >"$logs/swift.summary"
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
else
  tail -1 "$logs/swift.log" >"$logs/swift.summary"
fi
