#!/usr/bin/env bash
# The main job on embedded defaults. Until the agent and coordinator land
# (issue 3), this is the storage engine end to end on generated data: backup,
# change ~5 %, backup again, restore, compare, verify; with restic beside it
# when restic is installed. Prints one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
size="${PBK_QUICKSTART_SIZE:-256MiB}"
exec bash scripts/bench.sh storage --generate "$size" "$@"
