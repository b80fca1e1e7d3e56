#!/usr/bin/env bash
# Builds the `crane` binary as shipped (with `crane mcp`): the `dist` profile
# (release with fat LTO and one codegen unit, Cargo.toml), and on Linux with
# glibc a static, non-PIE executable.
#
#   scripts/build-crane.sh                 # -> target/dist/crane
#   scripts/build-crane.sh --install DIR   # and copies it to DIR/crane
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
set -euo pipefail
cd "$(dirname "$0")/.."

install_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install_dir="${2:?--install needs a directory}"; shift 2 ;;
    *) echo "usage: scripts/build-crane.sh [--install DIR]" >&2; exit 2 ;;
  esac
done

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  x86_64-unknown-linux-gnu|aarch64-unknown-linux-gnu)
    cargo rustc --profile dist --locked --features mcp --bin crane -- \
      -C target-feature=+crt-static -C relocation-model=static ;;
  *)
    cargo build --profile dist --locked --features mcp --bin crane ;;
esac

if [ -n "$install_dir" ]; then
  mkdir -p "$install_dir"
  install -m 0755 target/dist/crane "$install_dir/crane"
  echo "installed $install_dir/crane"
fi
