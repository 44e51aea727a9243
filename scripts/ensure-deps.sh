#!/usr/bin/env bash
# Installs the project's dependencies: node modules from package-lock.json and,
# when run as root on Debian, the system packages the tests start for real.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("pbk needs Node.js >= 20.19, found "+process.version); process.exit(1) }'
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# binary -> Debian package, for what the test suite starts for real.
required=("zstd:zstd" "/usr/lib/postgresql/15/bin/pg_receivewal:postgresql-15" "redis-server:redis-server" "redis-check-rdb:redis-tools" "mosquitto:mosquitto")
missing=()
for pair in "${required[@]}"; do
  bin=${pair%%:*}; pkg=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "missing system packages; install them with: apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
