#!/usr/bin/env bash
# Runs every test of the workspace. Installs what it needs first (npm ci; the
# Debian packages when run as root), and says exactly what is missing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
node tools/check-layers.mjs
npx nx run-many -t build --outputStyle=stream
npx nx run-many -t test --parallel=1 --outputStyle=stream
