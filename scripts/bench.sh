#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and writes the results:
#   target/bench/*.json        one file per item (driver, hyperfine, machine)
#   target/bench-results.json  everything, machine-readable
#   target/bench-tables.md     the tables pasted into BENCHMARKS.md
#
#   scripts/bench.sh           full run (~10–15 minutes on 2 cores)
#   scripts/bench.sh --quick   smaller counts, ~3 minutes (a smoke test)
#   BENCH_ONLY="calls cli" scripts/bench.sh   only some items
#     (calls enqueue drain heartbeats canonical cli open procs engine hostcall python swift; the report always runs)
#
# Everything runs on loopback against emulators this script starts and stops.
# Needs curl, jq, hyperfine and valgrind (the link order of `crane` and the
# status floor) for the CLI comparison (installed with apt-get
# when missing and possible; the CLI item is skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK="--quick"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
export CRANE_BENCH_OUT="$OUT"
export CARGO_TERM_QUIET=true

say() { printf '\n== %s\n' "$*" >&2; }
ONLY=" ${BENCH_ONLY:-calls enqueue drain heartbeats canonical cli open procs engine hostcall python swift} "
want() { [[ "$ONLY" == *" $1 "* ]]; }

# ---------------------------------------------------------------- tools
missing=()
for tool in curl jq hyperfine git valgrind; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null || true
fi

# ---------------------------------------------------------------- build
say "building (release): library, emulator, crane CLI, driver, criterion bench"
cargo build --release --features emulator,cli --bin crane-context-emulator --example bench_driver
# The crane binary as shipped (static and non-PIE on Linux with glibc), its
# link order profiled against the emulator just built.
CRANE_ORDER_EMULATOR="$ROOT/target/release/crane-context-emulator" scripts/build-crane.sh
# Item 8's reference for `crane status`: the least a status reading the
# store can do (examples/status_floor.rs), linked the way crane is
# (scripts/link-order.sh): static and non-PIE, and where valgrind profiles
# it, the functions it runs against the store crane's commands leave placed
# first.
FLOOR="$ROOT/target/dist/examples/status_floor"
EMULATOR="$ROOT/target/release/crane-context-emulator"
CRANE="$ROOT/target/dist/crane"
. scripts/link-order.sh
floor_build() { # floor_build [LIST]
  local -a flags
  mapfile -t flags < <(link_flags "${1:-}")
  cargo rustc --profile dist --locked --example status_floor -- "${flags[@]}"
}
floor_profile() { # floor_profile OUT
  scripts/crane-startup-order.sh "$CRANE" "$EMULATOR" - "$FLOOR" "$1"
}
if ! static_host; then
  cargo build --profile dist --locked --example status_floor
elif ! command -v valgrind >/dev/null 2>&1; then
  floor_build
else
  link_in_order target/dist/floor-order floor_build floor_profile
fi
# Every `crane` this script times is an installed copy, as a user runs it
# (`scripts/build-crane.sh --install` copies it with `install`), and so is
# the floor. The file the linker has just written starts slower, same
# bytes: lld fills its output through a shared mapping, which leaves the
# page cache in small pages, and exec then takes more page faults than
# from a file written in order, as an installed (or, after a reboot, a
# read) one is. Measured side by side on 2026-11-27: `crane status`
# 2.57x /bin/true from target/dist, 2.23x from a copy; `--version` 1.05 vs
# 0.93 (BENCHMARKS.md, change 40).
BIN="$ROOT/target/bench-bin"
mkdir -p "$BIN"
install -m 0755 "$CRANE" "$BIN/crane"
install -m 0755 "$FLOOR" "$BIN/status_floor"
CRANE="$BIN/crane"
FLOOR="$BIN/status_floor"
DRIVER="$ROOT/target/release/examples/bench_driver"

# ---------------------------------------------------------------- machine
jq -n \
  --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
  --arg cores "$(nproc)" \
  --arg memory "$(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')" \
  --arg disk "$(df -h /work 2>/dev/null | awk 'NR==2 {print $1 " " $2 " (" $5 " used), mounted on " $6}')" \
  --arg kernel "$(uname -r)" \
  --arg load_before "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg git "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  '{date:$date, cpu:$cpu, cores:$cores, memory:$memory, disk:$disk, kernel:$kernel, load_before:$load_before, git:$git}' \
  > "$OUT/machine.json"
cat "$OUT/machine.json" >&2

# ---------------------------------------------------------------- items 1, 3, 4, 5
want calls      && { say "1. per-call overhead"; "$DRIVER" calls $QUICK; }
want enqueue    && { say "3. durable enqueue";   "$DRIVER" enqueue $QUICK; }
want drain      && { say "4. drain";             "$DRIVER" drain $QUICK; }
want heartbeats && { say "5. heartbeat scale";   "$DRIVER" heartbeats $QUICK; }
want open       && { say "7. store open";        "$DRIVER" open $QUICK; }
want engine     && { say "9. engine path";       "$DRIVER" engine $QUICK; }
want hostcall   && { say "12. host-thread floor"; "$DRIVER" hostcall $QUICK; }

# ---------------------------------------------------------------- item 6
if want canonical; then
  say "6. canonical JSON + hash (criterion)"
  if [ -n "$QUICK" ]; then CRIT=(--warm-up-time 1 --measurement-time 2); else CRIT=(--warm-up-time 2 --measurement-time 5); fi
  cargo bench --bench canonical -- "${CRIT[@]}" 2>&1 | grep -E '^canonical/|time:|thrpt:' >&2 || true
fi

# ---------------------------------------------------------------- item 2
cli_skip() { jq -n --arg why "$1" '{skipped:$why}' > "$OUT/cli.json"; echo "skipped: $1" >&2; }
if ! want cli; then
  :
elif ! command -v hyperfine >/dev/null || ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
  cli_skip "hyperfine, curl or jq is not installed"
elif [ ! -x "$CRANE" ]; then
  cli_skip "target/dist/crane was not built"
else
  say "2. crane vs curl | jq (whole processes)"
  WORK=$(mktemp -d)
  EMU_LOG="$WORK/emulator.out"
  "$EMULATOR" --port 0 >"$EMU_LOG" 2>/dev/null &
  EMU_PID=$!
  trap 'kill "$EMU_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  for _ in $(seq 50); do grep -q listening "$EMU_LOG" 2>/dev/null && break; sleep 0.1; done
  export CRANE_CONTEXT_URL; CRANE_CONTEXT_URL=$(awk '/listening/ {print $NF}' "$EMU_LOG")
  export CRANE_CONTEXT_KEY="test-relay-key-0123456789abcdef"
  export CRANE_HOME="$WORK/home" NO_COLOR=1
  # A checkout like an agent's: the repo, branch and commit come from git.
  CHECKOUT="$WORK/checkout"
  mkdir -p "$CHECKOUT" && cd "$CHECKOUT"
  git init -q -b main && git remote add origin https://github.com/venturecrane/crane-console.git
  git -c user.email=b@example.com -c user.name=bench commit -q --allow-empty -m init
  "$CRANE" sod --agent bench-agent --no-keepalive --no-docs >/dev/null
  SID=$(cd "$CHECKOUT" && "$CRANE" status --agent bench-agent --json | jq -r '.. | .session_id? // empty' | head -1)
  echo "$SID" > "$WORK/session_id"
  export WORK
  RUNS=(--warmup 5 --min-runs 40)
  [ -n "$QUICK" ] && RUNS=(--warmup 3 --min-runs 15)

  # What today's agent scripts do: curl the route, pick fields with jq.
  HB_PIPE='curl -sf -X POST "$CRANE_CONTEXT_URL/heartbeat" -H "X-Relay-Key: $CRANE_CONTEXT_KEY" -H "Content-Type: application/json" -d "{\"session_id\":\"$(cat "$WORK/session_id")\"}" | jq -r .next_heartbeat_at'
  SOD_PIPE='repo=$(git remote get-url origin | sed -E "s#^(https://github.com/|git@github.com:)##; s#\.git\$##"); branch=$(git rev-parse --abbrev-ref HEAD); sha=$(git rev-parse HEAD); curl -sf -X POST "$CRANE_CONTEXT_URL/sod" -H "X-Relay-Key: $CRANE_CONTEXT_KEY" -H "Content-Type: application/json" -d "$(jq -nc --arg r "$repo" --arg b "$branch" --arg c "$sha" "{agent:\"bench-agent\",venture:\"vc\",repo:\$r,branch:\$b,commit_sha:\$c,include_docs:false,schema_version:\"1.0\"}")" | jq -r "\"\(.session_id) \(.status) \(.next_heartbeat_at)\""'
  hyperfine "${RUNS[@]}" -N --export-json "$OUT/hf-heartbeat.json" \
    -n "crane heartbeat" "$CRANE heartbeat --agent bench-agent" >&2
  hyperfine "${RUNS[@]}" --shell=bash --export-json "$OUT/hf-heartbeat-pipe.json" \
    -n "curl | jq heartbeat" "$HB_PIPE" >&2
  hyperfine "${RUNS[@]}" -N --export-json "$OUT/hf-sod.json" \
    -n "crane sod" "$CRANE sod --agent bench-agent --no-keepalive --no-docs" >&2
  hyperfine "${RUNS[@]}" --shell=bash --export-json "$OUT/hf-sod-pipe.json" \
    -n "git + curl | jq sod" "$SOD_PIPE" >&2
  hyperfine "${RUNS[@]}" -N --export-json "$OUT/hf-status.json" \
    -n "crane status" "$CRANE status --agent bench-agent" >&2
  cd "$ROOT"
  med() { jq '.results[0].median * 1000' "$OUT/$1"; }
  jq -n \
    --argjson hb "$(med hf-heartbeat.json)" --argjson hbp "$(med hf-heartbeat-pipe.json)" \
    --argjson sod "$(med hf-sod.json)" --argjson sodp "$(med hf-sod-pipe.json)" \
    --argjson st "$(med hf-status.json)" \
    --arg note "crane runs without a shell (-N); the pipelines run under bash, whose own start-up hyperfine measures and subtracts" \
    '{item:2, note:$note,
      pairs:[{name:"heartbeat", crane_median_ms:$hb, pipeline_median_ms:$hbp, ratio:($hb/$hbp), met:($hb<$hbp)},
             {name:"sod", crane_median_ms:$sod, pipeline_median_ms:$sodp, ratio:($sod/$sodp), met:($sod<$sodp)}],
      status:{median_ms:$st, target_ms:5, met:($st<5)}}' > "$OUT/cli.json"
  kill "$EMU_PID" 2>/dev/null || true
fi

# ---------------------------------------------------------------- item 8
# Whole `crane` processes vs bare curl for the same request, and vs
# processes that do nothing. hyperfine cannot interleave commands, so each
# round is one hyperfine call running every command once (-N, no shell), the
# order rotated each round; medians over the rounds. PER_ROUND (default 1)
# runs each command that many times per round (hyperfine's median of them).
interleaved() { # interleaved OUT ROUNDS [--prepare P] -n NAME CMD ...
  local out=$1 rounds=$2; shift 2
  local -a spec=("$@") names=() cmds=() preps=()
  local i=0
  while [ $i -lt ${#spec[@]} ]; do
    local prep=""
    if [ "${spec[$i]}" = "--prepare" ]; then prep=${spec[$((i+1))]}; i=$((i+2)); fi
    preps+=("$prep"); names+=("${spec[$((i+1))]}"); cmds+=("${spec[$((i+2))]}"); i=$((i+3))
  done
  local n=${#names[@]} dir; dir=$(mktemp -d)
  for r in $(seq 0 $((rounds-1))); do
    local -a args=()
    for k in $(seq 0 $((n-1))); do
      local j=$(( (k + r) % n ))
      args+=(--prepare "${preps[$j]:-true}" -n "${names[$j]}" "${cmds[$j]}")
    done
    hyperfine -N --runs "${PER_ROUND:-1}" --style none --export-json "$dir/$r.json" "${args[@]}" >/dev/null 2>&1
  done
  jq -s '[.[].results[]] | group_by(.command) | map({key: .[0].command, value: {n: length,
         median_ms: ((map(.median*1000) | sort) as $s | $s[(length/2|floor)]),
         p90_ms: ((map(.median*1000) | sort) as $s | $s[((length*0.9)|floor)])}}) | from_entries' \
    "$dir"/*.json > "$out"
  rm -rf "$dir"
}

if want procs; then
  if ! command -v hyperfine >/dev/null || ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
    echo '{"item":8,"skipped":"hyperfine, curl or jq is not installed"}' > "$OUT/procs.json"
  else
    say "8. crane processes vs curl and vs doing nothing (interleaved)"
    PW=$(mktemp -d)
    "$EMULATOR" --port 0 >"$PW/emulator.out" 2>/dev/null &
    PEMU=$!
    for _ in $(seq 50); do grep -q listening "$PW/emulator.out" 2>/dev/null && break; sleep 0.1; done
    URL=$(awk '/listening/ {print $NF}' "$PW/emulator.out")
    KEYV="test-relay-key-0123456789abcdef"
    (
      export CRANE_CONTEXT_URL=$URL CRANE_CONTEXT_KEY=$KEYV CRANE_HOME="$PW/home" NO_COLOR=1
      mkdir -p "$PW/checkout" && cd "$PW/checkout"
      # A repository the v2 emulator lists for venture vc (its default protocol
      # decides the venture from GET /ventures: an unlisted repo is refused).
      git init -q -b main && git remote add origin https://github.com/venturecrane/crane-console.git
      git -c user.email=b@example.com -c user.name=bench commit -q --allow-empty -m init
      SHA=$(git rev-parse HEAD)
      printf 'fn main() {}\n' > "$PW/empty.rs" && rustc -O "$PW/empty.rs" -o "$PW/rust-empty" 2>/dev/null || cp /bin/true "$PW/rust-empty"
      "$CRANE" sod --agent bench-agent --no-keepalive --no-docs >/dev/null
      SID=$("$CRANE" status --agent bench-agent --json | jq -r '.. | .session_id? // empty' | head -1)
      # curl's own session (another agent), so the two never share state.
      CSID=$(curl -sf -X POST "$URL/sod" -H "X-Relay-Key: $KEYV" -H 'Content-Type: application/json' \
        -d '{"agent":"curl-agent","venture":"vc","repo":"venturecrane/crane-console","branch":"main","include_docs":false,"schema_version":"1.0"}' | jq -r .session_id)
      printf '{"session_id":"%s"}' "$CSID" > "$PW/hb.json"
      printf '{"session_id":"%s","branch":"main","commit_sha":"%s","schema_version":"1.0"}' "$CSID" "$SHA" > "$PW/update.json"
      H=(-H "X-Relay-Key: $KEYV" -H "Content-Type: application/json")
      # What curl's side needs before each run, outside the timing: a fresh
      # idempotency key (and for /eod a fresh session and its body).
      cat > "$PW/prep-update.sh" <<PREP
echo "Idempotency-Key: \$(cat /proc/sys/kernel/random/uuid)" > "$PW/update.hdr"
PREP
      cat > "$PW/prep-eod.sh" <<PREP
curl -sf -X POST "$URL/sod" -H "X-Relay-Key: $KEYV" -H "Content-Type: application/json" \
  -d '{"agent":"curl-agent","venture":"vc","repo":"venturecrane/crane-console","include_docs":false,"schema_version":"1.0"}' \
  | jq -c '{session_id, summary: "bench", payload: {}, schema_version: "1.0"}' > "$PW/eod.json"
echo "Idempotency-Key: \$(cat /proc/sys/kernel/random/uuid)" > "$PW/eod.hdr"
PREP
      ROUNDS=60; [ -n "$QUICK" ] && ROUNDS=20
      interleaved "$OUT/procs-a.json" "$ROUNDS" \
        -n "crane heartbeat" "$CRANE heartbeat --agent bench-agent" \
        -n "curl heartbeat" "curl -sf -o /dev/null -X POST $URL/heartbeat ${H[*]@Q} -d @$PW/hb.json" \
        -n "crane update" "$CRANE update --agent bench-agent" \
        --prepare "bash $PW/prep-update.sh" \
        -n "curl update" "curl -sf -o /dev/null -X POST $URL/update ${H[*]@Q} -H @$PW/update.hdr -d @$PW/update.json"
      # The commands that do no network work take ~1 ms: one run per round
      # left their medians within noise of each other, so each round runs
      # each of them PER_ROUND times.
      CROUNDS=40; [ -n "$QUICK" ] && CROUNDS=10
      PER_ROUND=10 interleaved "$OUT/procs-c.json" "$CROUNDS" \
        -n "crane status" "$CRANE status --agent bench-agent" \
        -n "status floor" "$FLOOR" \
        -n "crane --version" "$CRANE --version" \
        -n "/bin/true" "/bin/true" \
        -n "empty Rust program" "$PW/rust-empty"
      # /eod ends its session: each run gets a fresh one, made outside the timing.
      EROUNDS=$((ROUNDS / 2))
      interleaved "$OUT/procs-b.json" "$EROUNDS" \
        --prepare "$CRANE sod --agent bench-agent --no-keepalive --no-docs" \
        -n "crane eod" "$CRANE eod --agent bench-agent --summary bench" \
        --prepare "bash $PW/prep-eod.sh" \
        -n "curl eod" "curl -sf -o /dev/null -X POST $URL/eod ${H[*]@Q} -H @$PW/eod.hdr -d @$PW/eod.json"
    )
    kill "$PEMU" 2>/dev/null || true
    jq -s --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg binary "$(file -b "$CRANE" | cut -d, -f1-5)" \
      '.[0] + .[1] + .[2] | . as $m | {item: 8, load_after: $load, crane_binary: $binary, runs: $m,
      ratios: {
        heartbeat_vs_curl: ($m["crane heartbeat"].median_ms / $m["curl heartbeat"].median_ms),
        update_vs_curl: ($m["crane update"].median_ms / $m["curl update"].median_ms),
        eod_vs_curl: ($m["crane eod"].median_ms / $m["curl eod"].median_ms),
        version_vs_true: ($m["crane --version"].median_ms / $m["/bin/true"].median_ms),
        status_vs_true: ($m["crane status"].median_ms / $m["/bin/true"].median_ms),
        status_vs_floor: ($m["crane status"].median_ms / $m["status floor"].median_ms),
        floor_vs_true: ($m["status floor"].median_ms / $m["/bin/true"].median_ms),
        empty_rust_vs_true: ($m["empty Rust program"].median_ms / $m["/bin/true"].median_ms)}}' \
      "$OUT/procs-a.json" "$OUT/procs-b.json" "$OUT/procs-c.json" > "$OUT/procs.json"
    jq -c .ratios "$OUT/procs.json" >&2
    rm -rf "$PW"
  fi
fi

# ---------------------------------------------------------------- item 10
# The Python binding (release wheel) vs http.client keep-alive and httpx.
if want python; then
  VENV="$ROOT/target/bench-venv"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import httpx, maturin" 2>/dev/null; then
    say "10. python: venv with maturin and httpx (target/bench-venv)"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "maturin>=1.11,<2" httpx
  fi
  say "10. python: release wheel of this checkout"
  PATH="$VENV/bin:$PATH" "$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./bindings/python
  say "10. python calls vs http.client and httpx (interleaved)"
  PYW=$(mktemp -d)
  "$EMULATOR" --port 0 >"$PYW/emulator.out" 2>/dev/null &
  PYEMU=$!
  for _ in $(seq 50); do grep -q listening "$PYW/emulator.out" 2>/dev/null && break; sleep 0.1; done
  CRANE_BENCH_TMP="$ROOT/target/bench-tmp" "$VENV/bin/python" bindings/python/bench_calls.py \
    --url "$(awk '/listening/ {print $NF}' "$PYW/emulator.out")" $QUICK --out "$OUT/python.json" || true
  kill "$PYEMU" 2>/dev/null || true
  rm -rf "$PYW"
fi

# ---------------------------------------------------------------- item 11
# The Swift binding (release library, release build of benches/swift-calls)
# vs URLSession; in the chroot of bindings/swift/test.sh where no swift is installed.
if want swift; then
  say "11. swift: release library"
  cargo build --release --features ffi --lib
  say "11. swift calls vs URLSession (interleaved)"
  rc=0
  benches/swift-calls/run.sh "$ROOT/target/release" "$EMULATOR" "$OUT/swift.json" $QUICK >&2 || rc=$?
  [ "$rc" = 0 ] || echo "{\"item\":11,\"skipped\":\"benches/swift-calls/run.sh exited $rc\"}" > "$OUT/swift.json"
fi

# ---------------------------------------------------------------- report
jq --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" '.load_after=$l' "$OUT/machine.json" > "$OUT/machine.json.tmp" \
  && mv "$OUT/machine.json.tmp" "$OUT/machine.json"
say "report"
"$DRIVER" report
python3 scripts/bench_report13.py "$OUT" > "$ROOT/target/bench-tables-13.md" && cat "$ROOT/target/bench-tables-13.md" >&2
