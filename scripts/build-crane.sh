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
# 39). The list is named by its SHA-256, so the flags name its content and
# cargo links again exactly when it changes; an unchanged list (fewer than
# 2 % of its functions differ) costs one profile run (seconds), no build.
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

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  x86_64-unknown-linux-gnu|aarch64-unknown-linux-gnu) static=1 ;;
  *) static=0 ;;
esac

if [ "$static" = 0 ]; then
  cargo build --profile dist --locked --features mcp --bin crane
else
  if [ "$order" = 1 ] && ! command -v valgrind >/dev/null 2>&1; then
    echo "build-crane: valgrind not found; linking in source order (see the header)" >&2
    order=0
  fi
  lists=target/dist/crane-order
  current="$lists/current"      # names the list the last ordered build used
  build() { # build [LIST]
    local -a flags=(-C target-feature=+crt-static -C relocation-model=static)
    if [ -n "${1:-}" ]; then
      flags+=(-C "link-arg=-Wl,--symbol-ordering-file=$PWD/$1"
              -C link-arg=-Wl,--no-warn-symbol-ordering)
    fi
    cargo rustc --profile dist --locked --features mcp --bin crane -- "${flags[@]}"
  }
  if [ "$order" = 0 ]; then
    build
  else
    used=""
    [ -f "$current" ] && used=$(cat "$current") && [ -f "$used" ] || used=""
    # Built with the list of the last ordered build (if any): when nothing
    # changed this is cargo's no-op, and the profile below finds that list.
    build "$used"
    # The emulator the profile runs against: CRANE_ORDER_EMULATOR when the
    # caller has one built (scripts/bench.sh: building it here with other
    # features would rebuild its library), else a release build of it.
    mkdir -p "$lists"
    emulator=${CRANE_ORDER_EMULATOR:-}
    if [ -z "$emulator" ]; then
      emulator=target/release/crane-context-emulator
      cargo build --release --locked --features emulator --bin crane-context-emulator || emulator=""
    fi
    if [ -z "$emulator" ] ||
       ! scripts/crane-startup-order.sh target/dist/crane "$emulator" "$lists/new"; then
      # An optimisation, never a reason not to install: the binary built
      # above works, linked in the last order (or source order).
      echo "build-crane: warning: profiling failed; keeping ${used:-the source order}" >&2
    elif [ -n "$used" ] && scripts/crane-startup-order.sh --same "$used" "$lists/new"; then
      rm "$lists/new"
      echo "build-crane: link order unchanged ($used)" >&2
    else
      list="$lists/$(sha256sum "$lists/new" | cut -c1-16).txt"
      mv "$lists/new" "$list"
      build "$list"
      echo "$list" > "$current"
      echo "build-crane: linked with the profiled order ($list)" >&2
    fi
  fi
fi

if [ -n "$install_dir" ]; then
  mkdir -p "$install_dir"
  install -m 0755 target/dist/crane "$install_dir/crane"
  echo "installed $install_dir/crane"
fi
