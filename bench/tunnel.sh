#!/usr/bin/env bash
# The cost of the node-local tunnel hop: `portico worker` dialling the upstream directly against the
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

source "$root/bench/lib/published-table.sh"

worker="exec node --import tsx cli/portico.ts worker --redis $r --cluster bench --keys $work/keys --cache-file off --https off --admin off"
"$work/harness/proxy-baseline.sh" --targets nginx \
  --spawn "portico-direct=$worker --http 127.0.0.1:18798" \
  --spawn "portico-tunnel=node --import tsx cli/portico.ts tunnel --redis $r --cluster bench --keys $work/keys --listen unix:$work/tunnel.sock --admin off >$work/tunnel.log 2>&1 & sleep 3; $worker --http 127.0.0.1:18799 --tunnel unix:$work/tunnel.sock" \
  --out "${PORTICO_BENCH_OUT:-$work/report.txt}" "$@" \
  portico-direct=http://127.0.0.1:18798/ portico-tunnel=http://127.0.0.1:18799/
