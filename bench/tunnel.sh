#!/usr/bin/env bash
# The cost of the node-local tunnel hop (issue 8): `portico worker` dialling the upstream directly against the
# same worker sending every request through `portico tunnel` over its Unix socket, side by side in one run
# of the shared harness (../shared/bench/proxy-baseline.sh), as ratios to nginx. Both read the bench table
# (bench/upstream) from a real Redis. The tunnel runs in the tunnel row's own process group, so the harness
# pins it to the proxy CPU with its worker (as on a node) and counts its CPU as the row's proxy CPU.
# Usage: bench/tunnel.sh [extra proxy-baseline.sh options, e.g. --rounds 3 --duration 8]
# Needs: redis-server nginx wrk (apt-get install -y redis-server nginx wrk), npm ci done here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${PORTICO_SHARED_BENCH:-$root/../shared/bench}
work=${PORTICO_BENCH_DIR:-/tmp/portico-tunnel-bench}
redis_port=18796
rm -rf "$work" && mkdir -p "$work" && cp -r "$shared" "$work/harness"
cd "$root"

taskset -c 1 redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
r=redis://127.0.0.1:$redis_port
node --import tsx cli/portico.ts keys generate --out "$work/keys" >/dev/null
node --import tsx cli/portico.ts sync --manifests bench/upstream --redis $r --cluster bench --keys "$work/keys" --admin off >"$work/sync.log" 2>&1 &
sync_pid=$!
for _ in $(seq 200); do grep -q '"table published"' "$work/sync.log" && break; sleep 0.1; done
grep -q '"table published"' "$work/sync.log" || { cat "$work/sync.log" >&2; exit 1; }
kill $sync_pid # the table stays in Redis

worker="exec node --import tsx cli/portico.ts worker --redis $r --cluster bench --keys $work/keys --cache-file off --https off --admin off"
"$work/harness/proxy-baseline.sh" --targets nginx \
  --spawn "portico-direct=$worker --http 127.0.0.1:18798" \
  --spawn "portico-tunnel=node --import tsx cli/portico.ts tunnel --redis $r --cluster bench --keys $work/keys --listen unix:$work/tunnel.sock --admin off >$work/tunnel.log 2>&1 & sleep 3; $worker --http 127.0.0.1:18799 --tunnel unix:$work/tunnel.sock" \
  --out "${PORTICO_BENCH_OUT:-$work/report.txt}" "$@" \
  portico-direct=http://127.0.0.1:18798/ portico-tunnel=http://127.0.0.1:18799/
