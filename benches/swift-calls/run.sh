#!/usr/bin/env bash
# Item 11 of BENCHMARKS.md: builds benches/swift-calls in release and runs it
# against a fresh emulator, the Swift binding linked to the given library.
#
#   benches/swift-calls/run.sh LIB_DIR EMULATOR_BIN OUT_JSON [--quick]
#
# LIB_DIR holds a release libcrane_context.so (`cargo build --release
# --features ffi --lib`), EMULATOR_BIN a release crane-context-emulator.
# Where no `swift` is on the PATH, it runs in the cached Debian trixie chroot
# of bindings/swift/test.sh (bindings/swift/chroot.sh). Exit 77 when Swift
# cannot run here at all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# Inside (the host with swift, or the chroot): build, start the emulator, run.
if [ "${1:-}" = --inside ]; then
  base="$2" out="$3" quick="${4:-}"
  cd "$base/benches/swift-calls"
  swift build -c release -Xswiftc -warnings-as-errors >&2
  work="$(mktemp -d)"
  mkfifo "$work/out"
  "$CRANE_EMULATOR_BIN" --port 0 --key test-relay-key-0123456789abcdef >"$work/out" 2>/dev/null &
  emu=$!
  trap 'kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; rm -rf "$work"' EXIT
  exec 3<"$work/out"  # kept open: the emulator must never write to a closed pipe
  read -r line <&3
  .build/release/crane-swift-bench --url "${line#crane-context-emulator listening on }" \
    --tmp "${CRANE_BENCH_TMP:-$work}" --out "$out" $quick
  exit 0
fi

if [ $# -lt 3 ]; then
  echo "usage: $0 LIB_DIR EMULATOR_BIN OUT_JSON [--quick]" >&2
  exit 2
fi
lib_dir="$(cd "$1" && pwd)"
emulator="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
out="$3"
quick="${4:-}"

skip() {
  echo "Swift benchmark SKIPPED: $1" >&2
  exit 77
}

if command -v swift >/dev/null 2>&1; then
  export CRANE_CONTEXT_LIB_DIR="$lib_dir" CRANE_EMULATOR_BIN="$emulator"
  exec "$0" --inside "$root" "$out" "$quick"
fi

chroot_profile=release
# shellcheck source=../../bindings/swift/chroot.sh
source "$root/bindings/swift/chroot.sh"
copy_into_chroot "$lib_dir" "$emulator" bindings/swift benches/swift-calls
in_chroot "bash /crane/benches/swift-calls/run.sh --inside /crane /crane/swift-bench.json '$quick'"
cp "$chroot_dir/crane/swift-bench.json" "$out"
