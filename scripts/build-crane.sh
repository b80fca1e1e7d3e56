#!/usr/bin/env bash
# Builds the `crane` binary as shipped (with `crane mcp`): the `dist` profile
# (release with fat LTO and one codegen unit, Cargo.toml), and on Linux with
# glibc a static, non-PIE executable.
#
#   scripts/build-crane.sh                 # -> target/dist/crane
#   scripts/build-crane.sh --install DIR   # and copies it to DIR/crane
#   scripts/build-crane.sh --no-order      # skip the profiled link order
#
# Why static: `crane` is a short-lived process an agent runs before and after
# its steps, so process start is most of its cost. A dynamically linked PIE
# spends it in the loader: three shared libraries to map and ~20,000 relative
# relocations to apply over the binary's data before `main` (334 page faults
# against 50 for /bin/true). Linked statically and not position-independent
# there is nothing to relocate: `crane --version` takes 1.07x /bin/true
# instead of 2.1x (BENCHMARKS.md, item 8).
#
# Only the final link of the binary changes (`cargo rustc` passes the flags to
# the `crane` crate alone), so the library, its cdylib for the Python wheel
# and the proc macros build as always. Name resolution still works: glibc 2.34
# and later resolve from /etc/hosts and DNS inside libc itself; only NSS
# modules beyond those (LDAP, mDNS) are unavailable to a static binary.
# Elsewhere (macOS, musl, other targets) this is a plain `dist` build.
#
# Why a link order: the ~2,500 functions `crane`'s common commands run are
# spread over 12 MB of code when linked in source order, and a process that
# lives for a millisecond pays a page fault for each 64 KiB window of them it
# touches. Where valgrind is installed, the binary is profiled after it is
# built (scripts/crane-startup-order.sh: callgrind over --version, status,
# sod, heartbeat, update and eod against the emulator) and linked again with
# those functions first (lld's --symbol-ordering-file): `crane --version`
# 62 -> 48 page faults, `crane status` 202 -> 152 (BENCHMARKS.md, change
# 39). How the list is kept and when it links again: scripts/link-order.sh
# (an unchanged list costs one profile run, seconds, and no build).
# Without valgrind, or with --no-order, the functions stay in source order
# (slower start, same behaviour). The first ordered build costs a release
# build of the emulator and a second link: from a fresh clone on 2 cores,
# 11 min 48 s in all against 6 min 18 s for the first link alone.
set -euo pipefail
cd "$(dirname "$0")/.."

install_dir=""
order=1
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install_dir="${2:?--install needs a directory}"; shift 2 ;;
    --no-order) order=0; shift ;;
    *) echo "usage: scripts/build-crane.sh [--install DIR] [--no-order]" >&2; exit 2 ;;
  esac
done

. scripts/link-order.sh

crane_build() { # crane_build [LIST]
  local -a flags
  mapfile -t flags < <(link_flags "${1:-}")
  cargo rustc --profile dist --locked --features mcp --bin crane -- "${flags[@]}"
}

crane_profile() { # crane_profile OUT
  # The emulator the profile runs against: CRANE_ORDER_EMULATOR when the
  # caller has one built (scripts/bench.sh: building it here with other
  # features would rebuild its library), else a release build of it.
  local emulator=${CRANE_ORDER_EMULATOR:-}
  if [ -z "$emulator" ]; then
    emulator=target/release/crane-context-emulator
    cargo build --release --locked --features emulator --bin crane-context-emulator || return 1
  fi
  scripts/crane-startup-order.sh target/dist/crane "$emulator" "$1"
}

if ! static_host; then
  cargo build --profile dist --locked --features mcp --bin crane
elif [ "$order" = 0 ]; then
  crane_build
elif ! command -v valgrind >/dev/null 2>&1; then
  echo "build-crane: valgrind not found; linking in source order (see the header)" >&2
  crane_build
else
  link_in_order target/dist/crane-order crane_build crane_profile
fi

if [ -n "$install_dir" ]; then
  mkdir -p "$install_dir"
  install -m 0755 target/dist/crane "$install_dir/crane"
  echo "installed $install_dir/crane"
fi
