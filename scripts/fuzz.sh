#!/usr/bin/env bash
# Runs each fuzz target in fuzz/ for a bounded time: `scripts/fuzz.sh [SECONDS]`
# (default 60 s per target), or one target: `scripts/fuzz.sh 60 config`.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz passes nightly-only
# flags (-Z …); on a stable toolchain RUSTC_BOOTSTRAP=1 lets rustc accept them.
# The sanitizer is off by default: the targets exercise safe Rust only, so
# what they find is panics and broken invariants, and an uninstrumented build
# is several times faster on a small machine. FUZZ_SANITIZER=address turns it on.
# Findings land in fuzz/artifacts/<target>/; the corpus in fuzz/corpus/<target>/.
set -euo pipefail
secs=${1:-60}
targets=${2:-response config emulator_input canonical}
sanitizer=${FUZZ_SANITIZER:-none}
cd "$(dirname "$0")/../fuzz"
for t in $targets; do
  echo "== fuzz target $t for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer "$sanitizer" "$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536
done
