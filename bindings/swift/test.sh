#!/usr/bin/env bash
# Compiles and tests the Swift package, and builds and runs every Swift example
# (run-examples.sh), against the Rust library and emulator that the caller
# already built.
#
#   bindings/swift/test.sh LIB_DIR EMULATOR_BIN
#
# LIB_DIR holds libcrane_context.so (or .dylib); EMULATOR_BIN is the
# crane-context-emulator binary the XCTests start. Warnings are errors.
#
# Where `swift` is on the PATH it is used as it is. Where it is not, and the
# machine allows it (root, apt-get, Debian's packages reachable), a Swift
# toolchain is provisioned once into a cached Debian trixie chroot
# (debootstrap --variant=minbase, then `apt-get install swiftlang`): about
# 570 MB downloaded and 2.7 GB on disk the first time, reused afterwards. The
# cache lives in $CRANE_SWIFT_CHROOT, default
# ${XDG_CACHE_HOME:-~/.cache}/crane-context/swift-trixie; delete it to start
# over. The library, the emulator and the Swift sources are copied into the
# chroot (never bind-mounted: a failed run cannot touch the checkout), and the
# chroot keeps the packages' .build folders so a warm run recompiles nothing.
#
# Exit status: 0 when every Swift suite ran and passed; 1 on any failure;
# 77 when Swift cannot run on this machine at all (not root, no apt-get, no
# chroot), after saying so loudly. CRANE_SWIFT=skip skips on purpose (77).
# The last line on success is `swift: N passed, 0 failed` for the caller's
# summary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ $# -ne 2 ]; then
  echo "usage: $0 LIB_DIR EMULATOR_BIN" >&2
  exit 2
fi
lib_dir="$(cd "$1" && pwd)"
emulator="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
examples=(examples/swift-agent)
swift_flags=(-Xswiftc -warnings-as-errors)

skip() {
  echo "" >&2
  echo "!!! Swift tests SKIPPED: $1" >&2
  echo "!!! The Swift binding was NOT compiled or tested in this run." >&2
  echo "" >&2
  exit 77
}

if [ "${CRANE_SWIFT:-}" = skip ]; then
  skip "CRANE_SWIFT=skip was set"
fi

# One suite's output, with XCTest's summary line turned into a count.
count_tests() {
  local log="$1"
  # "Executed 9 tests, with 0 failures (0 unexpected) in ..." — the last one
  # is the total over all suites.
  grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -1 |
    sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 \2/'
}

run_suites() {
  # $1: a command prefix that runs a shell command line where the packages are.
  # $2: the repository root as seen by that shell.
  local run="$1" base="$2" log
  log="$(mktemp)"
  echo "== swift: build bindings/swift (warnings are errors)"
  $run "cd $base/bindings/swift && swift build ${swift_flags[*]}"
  echo "== swift: build the tests"
  $run "cd $base/bindings/swift && swift build --build-tests ${swift_flags[*]}"
  echo "== swift: swift test"
  set +e
  $run "cd $base/bindings/swift && swift test ${swift_flags[*]}" 2>&1 | tee "$log"
  local rc="${PIPESTATUS[0]}"
  set -e
  if [ "$rc" -ne 0 ]; then
    rm -f "$log"
    echo "swift test failed (exit $rc)" >&2
    exit 1
  fi
  local counts
  counts="$(count_tests "$log")"
  if [ -z "$counts" ]; then
    echo "swift test printed no XCTest summary: treating as a failure" >&2
    exit 1
  fi
  rm -f "$log"
  read -r total failed <<<"$counts"
  if [ "$total" -eq 0 ] || [ "$failed" -ne 0 ]; then
    echo "swift test: $total tests, $failed failed" >&2
    exit 1
  fi
  for ex in "${examples[@]}"; do
    echo "== swift: build $ex"
    $run "cd $base/$ex && swift build ${swift_flags[*]}"
  done
  echo "== swift: run the examples against the emulator"
  $run "bash $base/bindings/swift/run-examples.sh $base"
  echo "swift: $total passed, 0 failed"
}

if command -v swift >/dev/null 2>&1; then
  export CRANE_CONTEXT_LIB_DIR="$lib_dir" CRANE_EMULATOR_BIN="$emulator"
  run_suites "bash -c" "$root"
  exit 0
fi

# --- No swift on the PATH: a cached Debian trixie chroot (chroot.sh). ---
chroot_profile=debug
# shellcheck source=chroot.sh
source "$here/chroot.sh"
# Fresh copies of the sources; the .build folders stay for incremental builds.
copy_into_chroot "$lib_dir" "$emulator" bindings/swift "${examples[@]}"
run_suites in_chroot /crane
