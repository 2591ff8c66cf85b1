// In-process cost of Regex routes (use-regex, rewrite-target) — not a test. One host with 1,000 regex paths
// (half `/svc-N/v[0-9]+/(.*)`, half `/api-N(/|$)(.*)`, every tenth with a rewrite to `/$2` or `/x/$1`), against
// the same host with 1,000 Prefix paths: compile once per table (validate, then the matcher's RE2 set), then
// match() per request for the first, the last and no route, and the rewrite's cost (captures plus template).
// Run: node --import tsx bench/regex-paths.ts
import { sealTable } from '../gateway/table/canonical.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import type { HostRoutes, Route } from '../gateway/table/schema.ts';
import { validate } from '../gateway/table/validate.ts';

const N = 1000;
const backend = { id: 'ns/svc:80', service: { namespace: 'ns', name: 'svc', port: 80 }, endpoints: [], notReady: 0 };
const route = (path: string, pathType: Route['pathType'], rewrite?: string): Route => ({
  path,
  pathType,
  backend: backend.id,
  source: { namespace: 'ns', name: 'ing' },
  policies: { sslRedirect: false, ...(rewrite === undefined ? {} : { rewrite: { path: rewrite } }) },
});
const regexRoutes: Route[] = [];
const prefixRoutes: Route[] = [];
for (let i = 0; i < N; i++) {
  const svc = i % 2 === 1;
  const rewrite = i % 10 !== 0 ? undefined : svc ? '/x/$1' : '/$2';
  regexRoutes.push(route(svc ? `/svc-${i}/v[0-9]+/(.*)` : `/api-${i}(/|$)(.*)`, 'Regex', rewrite));
  prefixRoutes.push(route(svc ? `/svc-${i}/v1` : `/api-${i}`, 'Prefix'));
}
const host = (routes: Route[]): HostRoutes => ({ host: 'big.example.com', tls: null, fallbackBackend: null, routes });
const regexTable = sealTable({ hosts: [host(regexRoutes)], defaultBackend: null, backends: [backend], certificates: [] });
const prefixTable = sealTable({ hosts: [host(prefixRoutes)], defaultBackend: null, backends: [backend], certificates: [] });

function ms(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}
/** µs per call, best of 5 rounds of `n` calls. */
function perCall(n: number, fn: () => unknown): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  return best;
}

const rows: [string, string][] = [];
rows.push([
  'validate(): 1,000 Regex routes on one host (each pattern compiled once)',
  `${ms(() => validate(regexTable, { checkHash: false })).toFixed(0)} ms`,
]);
rows.push([
  'validate() again (warm: the JIT has seen the parser)',
  `${ms(() => validate(regexTable, { checkHash: false })).toFixed(0)} ms`,
]);
rows.push(['validate(): 1,000 Prefix routes on one host', `${ms(() => validate(prefixTable, { checkHash: false })).toFixed(0)} ms`]);
let regex = compileMatcher(regexTable);
rows.push([
  "compileMatcher(): 1,000 Regex routes (the host's RE2 set, 100 rewrite templates)",
  `${ms(() => (regex = compileMatcher(regexTable))).toFixed(0)} ms`,
]);
let prefix = compileMatcher(prefixTable);
rows.push(['compileMatcher(): 1,000 Prefix routes', `${ms(() => (prefix = compileMatcher(prefixTable))).toFixed(1)} ms`]);

const H = 'big.example.com';
const check = (m: ReturnType<typeof regex.match>, path: string, upstream: string): void => {
  if (m.route?.path !== path || m.upstreamPath !== upstream) throw new Error(`unexpected match ${m.route?.path} ${m.upstreamPath}`);
};
check(regex.match(H, '/svc-999/v2/a/b'), '/svc-999/v[0-9]+/(.*)', '/svc-999/v2/a/b');
check(regex.match(H, '/api-990/x'), '/api-990(/|$)(.*)', '/x');
check(regex.match(H, '/svc-991/v3/q'), '/svc-991/v[0-9]+/(.*)', '/svc-991/v3/q');
const CALLS = 20_000;
function varied(): () => unknown {
  const paths = Array.from({ length: N }, (_, i) => (i % 2 === 1 ? `/svc-${i}/v${i % 7}/p${i}` : `/api-${i}/q/${i}`));
  let k = 0;
  return () => regex.match(H, paths[k++ % N]!);
}
const table: [string, () => unknown][] = [
  ['match(): Prefix host, a route of 1,000', () => prefix.match(H, '/svc-999/v1/a/b')],
  ['match(): Prefix host, no route', () => prefix.match(H, '/nothing/here')],
  ['match(): Regex host, a route without rewrite', () => regex.match(H, '/svc-999/v2/a/b')],
  ['match(): Regex host, no route', () => regex.match(H, '/nothing/here')],
  ["match(): Regex host, 1,000 different paths in turn (the DFA's state cache cold at first)", varied()],
  ['match(): Regex host, a route with rewrite "/x/$1" (captures + template)', () => regex.match(H, '/svc-991/v3/q')],
  ['match(): Regex host, a route with rewrite "/$2"', () => regex.match(H, '/api-990/x')],
];
for (const [name, fn] of table) rows.push([name, `${perCall(CALLS, fn).toFixed(2)} µs`]);

const width = Math.max(...rows.map(([n]) => n.length));
for (const [name, value] of rows) process.stdout.write(`${name.padEnd(width)}  ${value}\n`);
