#!/usr/bin/env bash
# Proxy throughput of the edge worker on each runtime, side by side in one run of the shared harness
# (../shared/bench/proxy-baseline.sh), as ratios to nginx: `portico worker` (Node), the Deno worker
# (cli/deno-worker.ts) and the workerd module under `wrangler dev --local`, each fed the bench table
# (bench/upstream: a host-less rule to the harness's upstream + 500 other hosts) from a real Redis.
# A Deno row with --body-timeout off shows what the body-silence timer costs there. A further row runs the
# very bundle wrangler builds under `workerd serve` directly: wrangler dev's local stack (its Node proxy, log
# forwarding, entry worker) costs far more than the worker itself, so that row
# is the one that says what the worker costs on workerd.
# Usage: bench/runtimes.sh [extra proxy-baseline.sh options, e.g. --rounds 3 --duration 8]
# Needs: redis-server nginx wrk (apt-get install -y redis-server nginx wrk), npm ci done here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${PORTICO_SHARED_BENCH:-$root/../shared/bench}
work=${PORTICO_BENCH_DIR:-/tmp/portico-runtimes-bench}
redis_port=18790
rm -rf "$work" && mkdir -p "$work" && cp -r "$shared" "$work/harness"
cd "$root"

# Control plane: a Redis on the load CPU, a key set, one publish of the bench table by the real agent.
source "$root/bench/lib/published-table.sh"

# The worker bundle exactly as `wrangler deploy` would upload it, and a workerd config serving it.
WRANGLER_SEND_METRICS=false npx wrangler deploy --dry-run --outdir "$work/bundle" >"$work/bundle.log" 2>&1 || { cat "$work/bundle.log" >&2; exit 1; }
b64() { node -e "process.stdout.write(require('fs').readFileSync(process.argv[1]).toString('base64url'))" "$1"; }
vk=$(b64 "$work/keys/signing-pub.jwk.json")
dk=$(b64 "$work/keys/encryption-key.jwk.json")
cat >"$work/bundle/workerd.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "edge", worker = .edge), (name = "net", network = (allow = ["public", "private", "local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:18795", http = (), service = "edge") ]
);
const edge :Workerd.Worker = (
  modules = [ (name = "workerd.js", esModule = embed "workerd.js") ],
  compatibilityDate = "2025-09-01", compatibilityFlags = ["nodejs_compat"], globalOutbound = "net",
  bindings = [ (name = "PORTICO_REDIS", text = "$r"), (name = "PORTICO_CLUSTER", text = "bench"),
    (name = "PORTICO_VERIFY_JWK", text = "$vk"), (name = "PORTICO_DECRYPT_JWK", text = "$dk") ]
);
CAPNP
workerd=$(node -e "process.stdout.write(require.resolve('@cloudflare/workerd-linux-64/bin/workerd', { paths: [require.resolve('workerd')] }))")
"$work/harness/proxy-baseline.sh" --targets nginx --workdir "$work/run" \
  --spawn "portico-node=exec node --import tsx cli/portico.ts worker --redis $r --cluster bench --keys $work/keys --cache-file off --http 127.0.0.1:18791 --https off --admin off" \
  --spawn "portico-deno=DENO_NO_UPDATE_CHECK=1 exec node_modules/.bin/deno run --cached-only --allow-net --allow-env --allow-read=$work/keys cli/deno-worker.ts --redis $r --cluster bench --keys $work/keys --http 127.0.0.1:18792 --https off --admin off" \
  --spawn "portico-deno-nobodytimeout=DENO_NO_UPDATE_CHECK=1 exec node_modules/.bin/deno run --cached-only --allow-net --allow-env --allow-read=$work/keys cli/deno-worker.ts --redis $r --cluster bench --keys $work/keys --http 127.0.0.1:18796 --https off --admin off --body-timeout off" \
  --spawn "portico-workerd=WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false exec node_modules/.bin/wrangler dev --local --ip 127.0.0.1 --port 18793 --inspector-port 18794 --show-interactive-dev-session=false --log-level warn --var PORTICO_REDIS:$r --var PORTICO_CLUSTER:bench --var PORTICO_VERIFY_JWK:$vk --var PORTICO_DECRYPT_JWK:$dk </dev/null" \
  --spawn "portico-workerd-serve=exec $workerd serve $work/bundle/workerd.capnp" \
  --out "${PORTICO_BENCH_OUT:-$work/report.txt}" "$@" \
  portico-node=http://127.0.0.1:18791/ portico-deno=http://127.0.0.1:18792/ portico-deno-nobodytimeout=http://127.0.0.1:18796/ portico-workerd=http://127.0.0.1:18793/ \
  portico-workerd-serve=http://127.0.0.1:18795/
