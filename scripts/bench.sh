#!/usr/bin/env bash
# Reproducible benchmarks. stdout carries only the benchmark's own output (one
# JSON object with --json); the build and progress go to stderr.
#   bash scripts/bench.sh storage [--data DIR | --generate SIZE] [--repo DIR] [--json] ...
#   bash scripts/bench.sh storage --help
# BENCH_SKIP_BUILD=1 skips the build (use what is in */dist).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash scripts/bench.sh storage [args]   (args: bash scripts/bench.sh storage --help)" >&2
}

what="${1:-}"
case "$what" in
  storage)
    shift
    if [[ "${BENCH_SKIP_BUILD:-}" != "1" ]]; then
      NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx nx run-many -t build --outputStyle=static 1>&2
    fi
    exec node bench/dist/storage-bench.js "$@"
    ;;
  -h|--help|help)
    usage
    ;;
  *)
    usage
    exit 2
    ;;
esac
