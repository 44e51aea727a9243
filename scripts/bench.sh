#!/usr/bin/env bash
# Reproducible benchmarks. stdout carries only the benchmark's own output (one
# JSON object with --json); the build and progress go to stderr.
#   bash scripts/bench.sh storage [--data DIR | --generate SIZE] [--repo DIR] [--json] ...
#   bash scripts/bench.sh files   [--data DIR | --generate SIZE] [--json] ...
#   bash scripts/bench.sh redis   [--keys N] [--change PCT] [--json]
#   bash scripts/bench.sh storage|files|redis --help
# storage: the storage engine alone, side by side with restic (bench/src/storage-bench.ts).
# files:   the same data through pbk-agent -> gRPC -> pbk-coordinator (bench/src/files-bench.ts).
# redis:   a redis-server with N keys dumped (BGSAVE) through pbk-agent -> pbk-coordinator (bench/src/redis-bench.ts).
# postgres: base backups, PITR restore (RTO), logical dump/restore, RPO; pgBackRest side by side (bench/src/postgres-bench.ts).
# wire:    CPU per GiB of each layer an upload crosses (TLS, HTTP/2, grpc-js) and of the receipt check (bench/src/wire-bench.ts).
# stream:  storeStream alone (base backups, RDB dumps, WAL) on generated in-memory data (bench/src/stream-bench.ts).
# postgres-rpo: commit a row, time until the coordinator lists its WAL durable, p50/p99 (bench/src/postgres-rpo.ts).
# pg-chunking: what a second PostgreSQL base backup stores under several chunkings (CDC sizes, fixed 8 KiB pages) (bench/src/pg-chunking.ts).
# wal-compact: M minutes of WAL streaming at N commits/s, then one compaction: packs before/after (bench/src/wal-compact.ts).
# BENCH_SKIP_BUILD=1 skips the build (use what is in */dist).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash scripts/bench.sh storage|files|redis|stream|wire|postgres|postgres-rpo|pg-chunking|wal-compact [args]   (args: bash scripts/bench.sh NAME --help)" >&2
}

build() {
  if [[ "${BENCH_SKIP_BUILD:-}" != "1" ]]; then
    NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx nx run-many -t build --outputStyle=static 1>&2
  fi
}

what="${1:-}"
# The bench's name -> its script in bench/dist.
case "$what" in
  storage|files|redis|stream|postgres|wire) script="$what-bench" ;;
  postgres-rpo|pg-chunking|wal-compact) script="$what" ;;
  -h|--help|help)
    usage
    exit 0
    ;;
  *)
    usage
    exit 2
    ;;
esac
shift
build
exec node "bench/dist/$script.js" "$@"
