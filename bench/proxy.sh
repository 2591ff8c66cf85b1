#!/usr/bin/env bash
# Throughput and latency of `portico local` (one process, one core) against nginx and plain Node proxies,
# measured by the shared harness (../shared/bench/proxy-baseline.sh) in one run, as ratios to nginx.
# Usage: bench/proxy.sh [extra proxy-baseline.sh options, e.g. --rounds 5 --duration 8]
# Needs: nginx haproxy caddy wrk (apt-get install -y nginx haproxy caddy wrk), npm ci done here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${PORTICO_SHARED_BENCH:-$root/../shared/bench}
work=${PORTICO_BENCH_DIR:-/tmp/portico-proxy-bench}
rm -rf "$work" && cp -r "$shared" "$work"
cd "$root"
exec "$work/proxy-baseline.sh" --targets direct,nginx,node-undici,hono-fetch \
  --spawn "portico=exec node --import tsx cli/portico.ts local --manifests bench/upstream --http 127.0.0.1:18787 --https off --admin 127.0.0.1:18788" \
  --out "${PORTICO_BENCH_OUT:-$work/report.txt}" "$@" portico=http://127.0.0.1:18787/
