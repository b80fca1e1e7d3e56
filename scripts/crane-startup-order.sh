#!/usr/bin/env bash
# Writes the symbol ordering file `scripts/build-crane.sh` links `crane` with:
# every function a `crane` process runs in its common commands, grouped by
# command (the local ones first), one mangled name per line.
#
#   scripts/crane-startup-order.sh CRANE EMULATOR OUT [PROGRAM PROGRAM_OUT]
#
# CRANE is a `crane` built exactly as the final one will be (same profile,
# features and flags: the mangled names must be the ones the relink sees);
# EMULATOR a built `crane-context-emulator`. Needs valgrind (callgrind).
# With PROGRAM, that program too is profiled, run with no arguments against
# the same store once the commands are done, into PROGRAM_OUT: how
# scripts/bench.sh links its status floor the way `crane` is linked. OUT `-`
# then runs the commands without profiling them (only their store is needed).
#
# Why: `crane` is 18 MB of code, and a process that runs for a millisecond
# pays for every page of it that it touches. Linked in source order, the
# ~200 functions `crane --version` runs are spread over the whole `.text`:
# 28 page faults of code, each a trip into the kernel, against a few when
# they sit together (BENCHMARKS.md, change 39). Which functions a command
# runs is a property of the built binary, so it is measured on that binary
# rather than kept in a list that would go stale with every change.
#
# The commands profiled are the ones agents run as processes, against a real
# emulator over loopback: --version, status (empty, and with a session), sod,
# heartbeat, update, eod. A function missing from the list still links; it is
# only placed after the listed ones.
set -euo pipefail

crane=${1:?usage: crane-startup-order.sh CRANE EMULATOR OUT}
emulator=${2:?usage: crane-startup-order.sh CRANE EMULATOR OUT}
out=${3:?usage: crane-startup-order.sh CRANE EMULATOR OUT}
crane=$(realpath "$crane")
emulator=$(realpath "$emulator")
[ "$out" = - ] || out=$(realpath -m "$out")
program=${4:-}
program_out=""
if [ -n "$program" ]; then
  program=$(realpath "$program")
  program_out=$(realpath -m "${5:?PROGRAM needs PROGRAM_OUT}")
fi

work=$(mktemp -d)
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$emulator" --port 0 >"$work/emulator.out" 2>/dev/null &
emu_pid=$!
url=""
for _ in $(seq 100); do
  url=$(awk '/listening on/ {print $NF}' "$work/emulator.out" 2>/dev/null)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "crane-startup-order: the emulator did not start" >&2; exit 1; }

export CRANE_CONTEXT_URL=$url CRANE_CONTEXT_KEY=test-relay-key-0123456789abcdef
export CRANE_HOME="$work/home" NO_COLOR=1
mkdir -p "$work/checkout"
cd "$work/checkout"
git init -q -b main
# A repository the v2 emulator lists for venture vc.
git remote add origin https://github.com/venturecrane/crane-console.git
git -c user.email=o@example.com -c user.name=order commit -q --allow-empty -m init

# The line that ends the local commands' functions in OUT.
ORDER_SPLIT="--- network commands ---"
profile() { # profile NAME PROGRAM ARGS...: run it under callgrind into cg.NAME
  local name=$1
  shift
  valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.$name" "$@" >/dev/null 2>&1 || {
    echo "crane-startup-order: \`$*\` failed under valgrind" >&2
    exit 1
  }
}
step() { # step NAME ARGS...: `crane ARGS`, profiled into cg.NAME unless OUT is -
  local name=$1
  shift
  if [ "$out" != - ]; then
    profile "$name" "$crane" "$@"
  elif ! "$crane" "$@" >/dev/null 2>&1; then
    echo "crane-startup-order: \`crane $*\` failed" >&2
    exit 1
  fi
}
step version --version
step status-empty status
step sod sod --agent order-agent --no-keepalive --no-docs
# The same agent as the session, or status would find none to show (and
# the functions that show one would be missing from the list: they were,
# until change 40). Checked, so that a change to how status finds its
# session cannot quietly profile the empty path again.
shown=$("$crane" status --agent order-agent --json)
if grep -Eq '"session": *null' <<<"$shown"; then
  echo "crane-startup-order: \`crane status\` finds no session after \`crane sod\`" >&2
  exit 1
fi
step status status --agent order-agent
step heartbeat heartbeat --agent order-agent
step update update --agent order-agent
step eod eod --agent order-agent --summary order

# Each file lists a function once per definition (`fn=`); callees (`cfn=`)
# that never ran code of their own are not needed. Unnamed code (an address)
# and callgrind's own pseudo-functions are left out. Keep first appearance.
functions() { # functions FILE...: the list, from callgrind output files
  for f in "$@"; do
    sed -n 's/^fn=//p' "$f"
  done | grep -v -e '^0x' -e '^(' | awk '!seen[$0]++'
}
# Listed by command, the local ones first: --version, status with a
# session, status without, then sod, heartbeat, update, eod.
# A command that lives a millisecond pays a page fault for each 64 KiB of
# code it touches, so status's ~960 functions (1.1 MB) go together at the
# start. Listed in the order the commands ran, they were spread over 4.8 MB
# among sod's, and status took 33 page faults in `.text` (change 40).
# The line between the two groups names no symbol (the linker skips it):
# scripts/link-order.sh compares each group with the linked list's.
if [ "$out" != - ]; then
  functions "$work"/cg.{version,status,status-empty} >"$work/local"
  functions "$work"/cg.{sod,heartbeat,update,eod} |
    { grep -vxF -f "$work/local" || true; } >"$work/network"
  { cat "$work/local"; echo "$ORDER_SPLIT"; cat "$work/network"; } >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "crane-startup-order: $(cat "$work/local" "$work/network" | wc -l) functions -> $out" >&2
fi

if [ -n "$program" ]; then
  rm -f "$work"/cg.*
  profile program "$program"
  functions "$work"/cg.* >"$program_out.tmp"
  mv "$program_out.tmp" "$program_out"
  echo "crane-startup-order: $(wc -l <"$program_out") functions -> $program_out" >&2
fi
