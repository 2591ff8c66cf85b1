#!/usr/bin/env bash
# Proxy throughput of the edge worker on each runtime, side by side in one run of the shared harness
# (../shared/bench/proxy-baseline.sh), as ratios to nginx: `portico worker` (Node, compiled by `npm run build` as the
# image runs it), the Deno worker (cli/deno-worker.ts) and the bundle `wrangler deploy --dry-run` builds under
# `workerd serve`, each fed the bench table (bench/upstream: a host-less rule to the harness's upstream + 500 other
# hosts) from a real Redis. A Deno row with --body-timeout off shows what the body-silence timer costs there.
# (`wrangler dev --local` is not measured: its local proxy stack costs ~20x the worker itself, bench/RESULTS.md.)
# PORTICO_BENCH_BEFORE=DIR adds the Deno and workerd rows of another checkout (see below).
# Usage: bench/runtimes.sh [extra proxy-baseline.sh options, e.g. --rounds 3 --duration 8]
# Needs: redis-server nginx wrk (apt-get install -y redis-server nginx wrk), npm ci done here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${PORTICO_SHARED_BENCH:-$root/../shared/bench}
work=${PORTICO_BENCH_DIR:-/tmp/portico-runtimes-bench}
redis_port=18790
rm -rf "$work" && mkdir -p "$work" && cp -r "$shared" "$work/harness"
cd "$root"

# The harness's upstream port (UPSTREAM_PORT, 19000 by default) is the one the bench table routes to.
if [[ -n ${UPSTREAM_PORT:-} ]]; then
  manifests=$work/upstream && cp -r "$root/bench/upstream" "$manifests"
  sed -i "s/port: 19000/port: $UPSTREAM_PORT/" "$manifests/bench.yaml"
fi
# Control plane: a Redis on the load CPU, a key set, one publish of the bench table by the real agent.
source "$root/bench/lib/published-table.sh"

# The worker bundle exactly as `wrangler deploy` would upload it, and a workerd config serving it (on PORT).
b64() { node -e "process.stdout.write(require('fs').readFileSync(process.argv[1]).toString('base64url'))" "$1"; }
vk=$(b64 "$work/keys/signing-pub.jwk.json")
dk=$(b64 "$work/keys/encryption-key.jwk.json")
workerd_bundle() { # CHECKOUT OUTDIR PORT
  (cd "$1" && WRANGLER_SEND_METRICS=false npx wrangler deploy --dry-run --outdir "$2" >"$2.log" 2>&1) || { cat "$2.log" >&2; exit 1; }
  cat >"$2/workerd.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "edge", worker = .edge), (name = "net", network = (allow = ["public", "private", "local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:$3", http = (), service = "edge") ]
);
const edge :Workerd.Worker = (
  modules = [ (name = "workerd.js", esModule = embed "workerd.js") ],
  compatibilityDate = "2025-09-01", compatibilityFlags = ["nodejs_compat"], globalOutbound = "net",
  bindings = [ (name = "PORTICO_REDIS", text = "$r"), (name = "PORTICO_CLUSTER", text = "bench"),
    (name = "PORTICO_VERIFY_JWK", text = "$vk"), (name = "PORTICO_DECRYPT_JWK", text = "$dk") ]
);
CAPNP
}
workerd=$(node -e "process.stdout.write(require.resolve('@cloudflare/workerd-linux-64/bin/workerd', { paths: [require.resolve('workerd')] }))")
deno_worker() { # CHECKOUT PORT [FLAGS]: the Deno worker of a checkout, as a spawn command
  echo "cd $1 && DENO_NO_UPDATE_CHECK=1 exec node_modules/.bin/deno run --cached-only --allow-net --allow-env --allow-read=$work/keys cli/deno-worker.ts --redis $r --cluster bench --keys $work/keys --http 127.0.0.1:$2 --https off --admin off ${3:-}"
}
# The Node worker as shipped: compiled (the image and the chart run dist/, not tsx).
npm run --silent build >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
workerd_bundle "$root" "$work/bundle" 18795
spawns=(
  --spawn "portico-node=exec node dist/cli/portico.js worker --redis $r --cluster bench --keys $work/keys --cache-file off --http 127.0.0.1:18791 --https off --admin off"
  --spawn "portico-deno=$(deno_worker "$root" 18792)"
  --spawn "portico-deno-nobodytimeout=$(deno_worker "$root" 18796 '--body-timeout off')"
  --spawn "portico-workerd-serve=exec $workerd serve $work/bundle/workerd.capnp"
)
targets=(portico-node=http://127.0.0.1:18791/ portico-deno=http://127.0.0.1:18792/ portico-deno-nobodytimeout=http://127.0.0.1:18796/
  portico-workerd-serve=http://127.0.0.1:18795/)
# PORTICO_BENCH_BEFORE=DIR: a checkout of an earlier commit (a `git worktree`, node_modules linked), whose Deno worker and
# workerd bundle run as two more rows in the same rounds: before and after from one run.
if [[ -n ${PORTICO_BENCH_BEFORE:-} ]]; then
  workerd_bundle "$PORTICO_BENCH_BEFORE" "$work/bundle-before" 18797
  spawns+=(--spawn "deno-before=$(deno_worker "$PORTICO_BENCH_BEFORE" 18798)"
    --spawn "workerd-serve-before=exec $workerd serve $work/bundle-before/workerd.capnp")
  targets+=(deno-before=http://127.0.0.1:18798/ workerd-serve-before=http://127.0.0.1:18797/)
fi
"$work/harness/proxy-baseline.sh" --targets nginx --workdir "$work/run" "${spawns[@]}" \
  --out "${PORTICO_BENCH_OUT:-$work/report.txt}" "$@" "${targets[@]}"
