// Compile time per change, full compile() against the incremental compiler (sync/compile/incremental.ts), in one
// process and one run: N Ingresses (one host each, a Service and an EndpointSlice each), then a series of single
// changes (an Ingress's path, a Service's port, an EndpointSlice's endpoints, a new Ingress on an existing host),
// each compiled both ways; reported: median and p99 ms per change. Not a test.
// Run: node --import tsx bench/compile-incremental.ts [ingresses=1000] [changes=60]
import { compile } from '../sync/compile/index.ts';
import { IncrementalCompiler } from '../sync/compile/incremental.ts';
import type { ClusterObjects } from '../sync/compile/types.ts';
import { backend, cls, ingress, objects, rule, prefix, slice, svc, type AnyObject } from '../test/support/builders.ts';

const N = Number(process.argv[2] ?? 1000);
const CHANGES = Number(process.argv[3] ?? 60);
const store = new Map<string, AnyObject>();
const put = (o: AnyObject): void => void store.set(`${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`, o);
const ns = (i: number): string => `ns-${i % 50}`;
for (let i = 0; i < N; i++) {
  put(svc(`svc-${i}`, { namespace: ns(i) }));
  put(slice(`svc-${i}`, [`10.${(i >> 8) & 255}.${i & 255}.1`], { namespace: ns(i) }));
  put(
    ingress(`ing-${i}`, { namespace: ns(i), rules: [rule(`app-${i}.example.com`, prefix('/', `svc-${i}`), prefix('/api', `svc-${i}`))] }),
  );
}
const snapshot = (): ClusterObjects => objects(cls('portico'), ...store.values());

const kinds = ['Ingress path', 'Service port', 'EndpointSlice', 'new Ingress on a shared host'] as const;
const change = (k: (typeof kinds)[number], n: number): void => {
  const i = (n * 7919) % N;
  if (k === 'Ingress path')
    put(
      ingress(`ing-${i}`, {
        namespace: ns(i),
        rules: [rule(`app-${i}.example.com`, prefix('/', `svc-${i}`), prefix(`/v${n}`, `svc-${i}`))],
      }),
    );
  else if (k === 'Service port') put(svc(`svc-${i}`, { namespace: ns(i), ports: [{ name: 'http', port: 80, targetPort: 8000 + n }] }));
  else if (k === 'EndpointSlice') put(slice(`svc-${i}`, [`10.${(i >> 8) & 255}.${i & 255}.${2 + (n % 200)}`], { namespace: ns(i) }));
  else
    put(
      ingress(`extra-${n}`, {
        namespace: ns(i),
        created: 5,
        rules: [rule(`app-${i}.example.com`, { path: `/x${n}`, pathType: 'Prefix', backend: backend(`svc-${i}`, 80) })],
      }),
    );
};

const inc = new IncrementalCompiler();
compile(snapshot());
inc.compile(snapshot());
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
for (const k of kinds) {
  const full: number[] = [];
  const part: number[] = [];
  for (let n = 0; n < CHANGES; n++) {
    change(k, n + kinds.indexOf(k) * 1000);
    const objects = snapshot();
    let t = performance.now();
    const f = compile(objects);
    full.push(performance.now() - t);
    t = performance.now();
    const r = inc.compile(objects);
    part.push(performance.now() - t);
    if (r.table.version !== f.table.version) throw new Error(`incremental result differs after a change of ${k}`);
  }
  const row = (xs: number[]) => `median ${quantile(xs, 0.5).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms`;
  console.log(`${N} Ingresses, ${k}: full ${row(full)} | incremental ${row(part)}`);
}
console.log(JSON.stringify({ ...inc.stats, node: process.version }));
