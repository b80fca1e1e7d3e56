#!/usr/bin/env bash
# Runs client.mjs — the official TypeScript MCP client driving `crane mcp` —
# against the built `crane` and `crane-context-emulator` binaries.
#
# Usage: tests/mcp-ts/run.sh [TARGET_DEBUG_DIR]   (default: target/debug)
# Installs the locked dependencies into tests/mcp-ts/node_modules (npm ci)
# when package-lock.json is newer than them. Needs Node.js >= 18.
# The last line is `mcp-ts: N passed, M failed`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin_dir="${1:-${CARGO_TARGET_DIR:-$root/target}/debug}"
for b in crane crane-context-emulator; do
  if [ ! -x "$bin_dir/$b" ]; then
    echo "mcp-ts: $bin_dir/$b is missing (cargo build --all-features)" >&2
    echo "mcp-ts: 0 passed, 1 failed"
    exit 1
  fi
done
if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ] ||
  [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
cd "$here"
exec node client.mjs "$bin_dir/crane" "$bin_dir/crane-context-emulator"
