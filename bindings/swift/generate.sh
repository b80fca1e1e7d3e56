#!/usr/bin/env bash
# Regenerates the Swift bindings (CraneContextBindings.swift, the FFI header
# and the modulemap) from the built library, in uniffi's library mode. The
# public module `CraneContext` (Sources/CraneContext) is hand-written over them.
#
#   bindings/swift/generate.sh            # rebuild if needed, regenerate in place
#   bindings/swift/generate.sh --check    # regenerate into a temp dir; fail if the
#                                         # committed sources differ (CI staleness check)
#   bindings/swift/generate.sh --lib PATH # use this (unstripped) library
#
# The generator is this crate's own `uniffi-bindgen` (feature `uniffi-cli`;
# built with --all-features, the test command's one feature set),
# so it always matches the uniffi version the library was built with. The
# library must be unstripped (uniffi reads its metadata symbols); strip
# shipped binaries after generating. The generated modulemap declares
# `use "Darwin"` (and clang builtin modules), which only exists on Apple
# platforms; those `use` lines are dropped and a `link "crane_context"` is
# added, so the same package builds on Linux and macOS.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
check=0
lib=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --lib) lib="$2"; shift ;;
    *) echo "usage: $0 [--check] [--lib PATH]" >&2; exit 2 ;;
  esac
  shift
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
bindgen="$target_dir/debug/uniffi-bindgen"
if [ -z "$lib" ]; then
  (cd "$root" && cargo build --quiet --all-features --lib --bin uniffi-bindgen)
  case "$(uname -s)" in
    Darwin) lib="$target_dir/debug/libcrane_context.dylib" ;;
    *) lib="$target_dir/debug/libcrane_context.so" ;;
  esac
elif [ ! -x "$bindgen" ]; then
  (cd "$root" && cargo build --quiet --all-features --bin uniffi-bindgen)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bindgen" generate --library "$lib" --language swift --no-format \
  --config "$here/uniffi.toml" --out-dir "$work/raw" >/dev/null

out="$work/out"
mkdir -p "$out/Sources/CraneContextBindings" "$out/Sources/CraneContextFFI"
cp "$work/raw/CraneContextBindings.swift" "$out/Sources/CraneContextBindings/CraneContextBindings.swift"
cp "$work/raw/CraneContextFFI.h" "$out/Sources/CraneContextFFI/CraneContextFFI.h"
# Drop the Apple-only `use` declarations; link the Rust library.
sed -e '/^[[:space:]]*use "/d' \
    -e 's/^\([[:space:]]*\)header "CraneContextFFI.h"$/&\
\1link "crane_context"/' \
    "$work/raw/CraneContextFFI.modulemap" > "$out/Sources/CraneContextFFI/module.modulemap"
printf '\n' >> "$out/Sources/CraneContextFFI/module.modulemap"

files=(
  Sources/CraneContextBindings/CraneContextBindings.swift
  Sources/CraneContextFFI/CraneContextFFI.h
  Sources/CraneContextFFI/module.modulemap
)
if [ "$check" = 1 ]; then
  stale=0
  for f in "${files[@]}"; do
    if ! cmp -s "$out/$f" "$here/$f"; then
      echo "stale: bindings/swift/$f differs from what the library generates" >&2
      diff -u "$here/$f" "$out/$f" 2>/dev/null | head -40 >&2 || true
      stale=1
    fi
  done
  if [ "$stale" = 1 ]; then
    echo "The Swift bindings are stale: run bindings/swift/generate.sh and commit the result." >&2
    exit 1
  fi
  echo "Swift bindings are up to date."
else
  for f in "${files[@]}"; do
    cp "$out/$f" "$here/$f"
  done
  echo "Regenerated: ${files[*]/#/bindings/swift/}"
fi
