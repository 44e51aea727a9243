#!/usr/bin/env bash
# Runs every test of the workspace. Installs what it needs first (npm ci; the
# Debian packages when run as root), and says exactly what is missing otherwise.
# Ends with one line "tests: N passed, N failed" summed over every package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
node tools/check-layers.mjs
npx nx run-many -t build --outputStyle=stream
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npx nx run-many -t test --parallel=1 --outputStyle=stream 2>&1 | tee "$log" || status=$?
# vitest prints "Tests  12 passed | 1 failed (13)" per package; sum them.
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\S*\s*Tests\s+' | node -e '
  let passed = 0, failed = 0, text = "";
  process.stdin.on("data", (d) => (text += d)).on("end", () => {
    for (const line of text.split("\n")) {
      passed += Number(/(\d+) passed/.exec(line)?.[1] ?? 0);
      failed += Number(/(\d+) failed/.exec(line)?.[1] ?? 0);
    }
    console.log(`tests: ${passed} passed, ${failed} failed`);
  });'
exit "$status"
