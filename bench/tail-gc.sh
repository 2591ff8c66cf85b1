#!/usr/bin/env bash
# Where the request path's tail goes: the compiled worker (`portico local`, access log off) and the raw node:http +
# undici proxy of the shared harness, each once more with `--trace-gc` written to a file, in one proxy-baseline.sh run
# (2 rounds, proxies on CPU 0 at nice -10). The GC logs are left in $OUT for reading: scavenge pauses, how often the
# old space fills (Mark-Compact). Not a test. Needs a writable copy of the shared harness and `npm run build` first.
# Run: cp -r /work/shared/bench /tmp/pb && bash bench/tail-gc.sh /tmp/pb [/tmp/tail-gc]
set -euo pipefail
HARNESS=${1:?usage: bench/tail-gc.sh HARNESS_COPY [OUT]}
OUT=${2:-/tmp/tail-gc}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rm -rf "$OUT" && mkdir -p "$OUT"
"$HARNESS/proxy-baseline.sh" --targets nginx,node-undici --rounds 2 --nice -10 --workdir "$OUT/run" --out "$OUT/report.txt" \
  --spawn "raw-gc=PORT=19103 exec node --trace-gc $HARNESS/node/proxy-undici.mjs > $OUT/raw-gc.log 2>&1" \
  --spawn "portico=cd $ROOT && exec node dist/cli/portico.js local --manifests bench/upstream --http 127.0.0.1:18797 --https off --admin 127.0.0.1:18798 > /dev/null" \
  --spawn "portico-gc=cd $ROOT && exec node --trace-gc dist/cli/portico.js local --manifests bench/upstream --http 127.0.0.1:18817 --https off --admin 127.0.0.1:18818 --access-log off > $OUT/portico-gc.log 2>&1" \
  raw-gc=http://127.0.0.1:19103/ portico=http://127.0.0.1:18797/ portico-gc=http://127.0.0.1:18817/
for f in raw-gc portico-gc; do
  echo "== $f: scavenges, mean pause (ms), Mark-Compacts"
  grep -oE 'Scavenge[^,]*, [0-9.]+ / ' "$OUT/$f.log" | awk '{p=$(NF-1); n++; s+=p} END {printf "%d scavenges, mean %.2f ms\n", n, s/n}'
  grep -c 'Mark-Compact' "$OUT/$f.log" || true
done
