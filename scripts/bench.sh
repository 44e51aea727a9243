#!/usr/bin/env bash
# Reproducible benchmarks. stdout carries only the benchmark's own output (one
# JSON object with --json); the build and progress go to stderr.
#   bash scripts/bench.sh storage [--data DIR | --generate SIZE] [--repo DIR] [--json] ...
#   bash scripts/bench.sh files   [--data DIR | --generate SIZE] [--json] ...
#   bash scripts/bench.sh storage|files --help
# storage: the storage engine alone, side by side with restic (bench/src/storage-bench.ts).
# files:   the same data through pbk-agent -> gRPC -> pbk-coordinator (bench/src/files-bench.ts).
# BENCH_SKIP_BUILD=1 skips the build (use what is in */dist).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash scripts/bench.sh storage|files [args]   (args: bash scripts/bench.sh storage|files --help)" >&2
}

build() {
  if [[ "${BENCH_SKIP_BUILD:-}" != "1" ]]; then
    NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx nx run-many -t build --outputStyle=static 1>&2
  fi
}

what="${1:-}"
case "$what" in
  storage)
    shift
    build
    exec node bench/dist/storage-bench.js "$@"
    ;;
  files)
    shift
    build
    exec node bench/dist/files-bench.js "$@"
    ;;
  -h|--help|help)
    usage
    ;;
  *)
    usage
    exit 2
    ;;
esac
