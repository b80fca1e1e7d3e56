#!/usr/bin/env bash
# Runs the Swift example agents (examples/swift-agent, already built by
# test.sh) against a fresh emulator (speaking v2, its default): crane-sod
# creates a session, crane-checkpoint records a checkpoint and a note on it,
# crane-eod ends it with a Codable payload, crane-sod again shows that handoff.
#
#   bindings/swift/run-examples.sh REPO_ROOT
#
# Needs CRANE_EMULATOR_BIN (test.sh sets it, on the host or in the chroot).
# The emulator's first stdout line (its URL) is read from a FIFO: no polling.
set -euo pipefail
root="$1"
bin="$root/examples/swift-agent/.build/debug"
key=test-relay-key-0123456789abcdef
work="$(mktemp -d)"
mkfifo "$work/out"
"$CRANE_EMULATOR_BIN" --port 0 --key "$key" --db "$work/emu.db" >"$work/out" 2>/dev/null &
emu=$!
trap 'kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; rm -rf "$work"' EXIT
exec 3<"$work/out"  # kept open: the emulator must never write to a closed pipe
read -r line <&3
export CRANE_CONTEXT_URL="${line#crane-context-emulator listening on }" CRANE_CONTEXT_KEY="$key"
export CRANE_HOME="$work/home" CRANE_CONFIG="$work/no-config.toml"
: >"$CRANE_CONFIG"
args=(--agent swift-example --venture vc --repo owner/demo)

expect() {  # expect NAME TEXT OUTPUT
  if ! grep -qF -- "$2" <<<"$3"; then
    echo "swift example $1: expected '$2' in:" >&2
    echo "$3" >&2
    exit 1
  fi
}

out="$("$bin/crane-sod" "${args[@]}")"
echo "$out"
expect crane-sod "(created)" "$out"
sid="$(awk 'NR==1 {print $2}' <<<"$out")"
out="$("$bin/crane-checkpoint" "${args[@]}" --summary "swift example checkpoint" --done parser --next tests \
  --note "swift examples write notes")"
echo "$out"
expect crane-checkpoint "checkpoint 1 stored for session $sid" "$out"
expect crane-checkpoint "stored under vc" "$out"
out="$("$bin/crane-eod" "${args[@]}" --summary "swift example day")"
echo "$out"
expect crane-eod "stored for session $sid" "$out"
out="$("$bin/crane-sod" "${args[@]}")"
echo "$out"
expect crane-sod 'last handoff: "swift example day"' "$out"
expect crane-sod '"summary":"swift example day"' "$out"
echo "swift examples: crane-sod, crane-checkpoint, crane-eod and crane-sod again ran against the emulator"
