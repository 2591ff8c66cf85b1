# Sourced by the benchmark scripts that feed workers from Redis (runtimes.sh, tunnel.sh): a redis-server on the
# load CPU, a key set in $work/keys, and one publish of bench/upstream by the real agent, which then exits (the
# table stays in Redis; a running agent would only add noise). Sets r (the Redis URL); stops Redis on exit.
# Needs: root (the repository), work (a writable directory), redis_port.
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null || true' EXIT
r=redis://127.0.0.1:$redis_port
node --import tsx "$root/cli/portico.ts" keys generate --out "$work/keys" >/dev/null
node --import tsx "$root/cli/portico.ts" sync --manifests "${manifests:-$root/bench/upstream}" --redis "$r" --cluster bench --keys "$work/keys" --admin off >"$work/sync.log" 2>&1 &
sync_pid=$!
for _ in $(seq 200); do grep -q '"table published"' "$work/sync.log" && break; sleep 0.1; done
grep -q '"table published"' "$work/sync.log" || { cat "$work/sync.log" >&2; exit 1; }
kill $sync_pid
