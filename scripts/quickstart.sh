#!/usr/bin/env bash
# The main job on embedded defaults: the real system on one machine. It installs
# and builds, inits a coordinator in a local data dir (embedded catalog, local
# repository), enrolls an agent with a one-time token, backs up a sample
# directory, changes a file, backs up again, restores the earlier point in time
# through the agent and shows both snapshots and the status.
set -euo pipefail
exec bash "$(dirname "$0")/demo.sh" "$@"
