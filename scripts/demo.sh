#!/usr/bin/env bash
# The whole system on one machine, on embedded defaults: a coordinator (embedded
# catalog, local repository) in a data dir, one enrolled agent backing up a sample
# directory, the pbk CLI driving both. Backs up, changes a file, backs up again,
# restores the earlier point in time and shows both snapshots.
# Everything lives under $PBK_DEMO_DIR (default: a fresh temp dir), kept afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
npx nx run-many -t build --outputStyle=static >&2

demo="${PBK_DEMO_DIR:-$(mktemp -d -t pbk-demo-XXXXXX)}"
mkdir -p "$demo"
data="$demo/coordinator" state="$demo/agent-state" sample="$demo/sample" restored="$demo/restored"
# Each daemon as its bin starts it: node with the flags its shebang names (the heap setting).
shebang_flags() { sed -n '1s|^#!/usr/bin/env -S node||p' "$1"; }
# shellcheck disable=SC2046 # the flags are words
coordinator=(node $(shebang_flags apps/coordinator/dist/main.js) apps/coordinator/dist/main.js)
# shellcheck disable=SC2046
agent=(node $(shebang_flags apps/agent/dist/main.js) apps/agent/dist/main.js)
pbk=(node apps/cli/dist/main.js)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
step() { printf '\n== %s\n' "$*" >&2; }

step "init the coordinator in $data"
"${coordinator[@]}" init --data "$data" >&2
step "start it (gRPC mTLS 127.0.0.1:7443, enrollment :7444, /health + /metrics on :7480)"
"${coordinator[@]}" serve --data "$data" >"$demo/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '"ready"' "$demo/coordinator.log" 2>/dev/null && break; sleep 0.2; done
grep -q '"ready"' "$demo/coordinator.log" || { cat "$demo/coordinator.log" >&2; exit 1; }

export PBK_COORDINATOR=127.0.0.1:7443 PBK_CREDENTIALS="$data/admin"
step "enroll an agent for host demo-host with a one-time token (read from stdin, never argv)"
"${coordinator[@]}" token --data "$data" --host demo-host | "${agent[@]}" enroll --coordinator 127.0.0.1:7443 --token - --state "$state" >&2

mkdir -p "$sample/conf" "$sample/empty"
printf 'listen = 6432\npool_mode = transaction\n' >"$sample/conf/pgbouncer.ini"
printf 'version one\n' >"$sample/app.txt"
ln -sf conf/pgbouncer.ini "$sample/link"
cat >"$demo/agent.yaml" <<YAML
state: $state
sources:
  - name: sample
    kind: files
    paths: [$sample]
    watch: false
YAML
step "start the agent"
"${agent[@]}" run --config "$demo/agent.yaml" >"$demo/agent.log" 2>&1 &
pids+=($!)
sleep 2

step "first backup"
"${pbk[@]}" backup now --host demo-host --source sample --wait
sleep 1
printf 'version two\n' >"$sample/app.txt"
step "second backup after changing app.txt"
"${pbk[@]}" backup now --host demo-host --source sample --wait
step "snapshots"
"${pbk[@]}" snapshots --host demo-host
first=$("${pbk[@]}" snapshots --host demo-host --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const l=(j.snapshots??j);console.log(l[l.length-1].id)})')
step "restore the first snapshot into $restored"
"${pbk[@]}" restore files --host demo-host --source sample --snapshot "$first" --to "$restored"
echo "restored app.txt says: $(cat "$restored$sample/app.txt" 2>/dev/null || cat "$restored/app.txt")"
step "status"
"${pbk[@]}" status
echo "demo dir: $demo" >&2
