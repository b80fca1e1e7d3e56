#!/usr/bin/env bash
# Proves the repository stands alone: clones the committed HEAD into an empty
# folder (nothing beside it, not even the specification folder), then runs the test command
# there, as a new user would.
#
#   scripts/fresh-clone.sh [DIR]     # DIR: an empty or absent folder (default: a new temp dir)
#
# The clone gets its own target/ (a cold build); the Swift toolchain cache in
# ~/.cache is shared unless CRANE_SWIFT_CHROOT says otherwise. The folder is
# removed afterwards when it was a temp dir of this script's own.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -ge 1 ]; then
  dir="$1"
  mkdir -p "$dir"
  if [ -n "$(ls -A "$dir")" ]; then
    echo "$dir is not empty" >&2
    exit 2
  fi
  own=0
else
  dir="$(mktemp -d)"
  own=1
fi
cleanup() { if [ "$own" = 1 ]; then rm -rf "$dir"; fi; }
trap cleanup EXIT
git clone --quiet "$src" "$dir/crane-context"
cd "$dir/crane-context"
echo "== fresh clone of $(git log --oneline -1) in $dir/crane-context"
scripts/test.sh
