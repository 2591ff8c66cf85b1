// Endpoint choice per request: round robin (every route without affinity or upstream-hash-by) against the choices of
// gateway/affinity.ts: a persistent cookie, a balanced cookie, a new session (a Set-Cookie built) and upstream-hash-by
// on $request_uri. Ratios within one run. `node --import tsx bench/affinity.ts`
import { pickEndpoint } from '../gateway/affinity.ts';
import { RoundRobin } from '../gateway/balance.ts';
import type { RequestFacts } from '../gateway/decide.ts';
import { md5Hex } from '../gateway/md5.ts';
import type { Backend, RoutePolicies } from '../gateway/table/schema.ts';

const endpoints = Array.from({ length: 10 }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080, zone: null }));
const backend: Backend = { id: 'default/web:80', service: { namespace: 'default', name: 'web', port: 80 }, endpoints, notReady: 0 };
const facts = (cookie?: string): RequestFacts => ({
  host: 'foo.com',
  path: '/items/42',
  search: '?q=1',
  scheme: 'https',
  clientIp: '192.0.2.1',
  localPort: 443,
  header: (n) => (n === 'cookie' ? cookie : undefined),
});
const persistent: RoutePolicies = { sslRedirect: false, affinity: { mode: 'persistent', name: 'S', path: '/' } };
const balanced: RoutePolicies = { sslRedirect: false, affinity: { mode: 'balanced', name: 'S', path: '/' } };
const hashed: RoutePolicies = { sslRedirect: false, balance: { hashBy: '$request_uri' } };
const pCookie = facts(`a=1; S=${md5Hex('default-web-8010.0.0.3:8080')}|x`);
const bCookie = facts('a=1; S=0123456789abcdef|x');
const none = facts();
const rr = new RoundRobin();

function bench(f: () => unknown, n = 500_000): number {
  for (let i = 0; i < 20_000; i++) f();
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  const ns = ((performance.now() - t) * 1e6) / n;
  return ns;
}
const base = bench(() => rr.start(backend));
const rows: [string, number][] = [
  ['round robin (RoundRobin.start)', base],
  ['affinity persistent, valid cookie', bench(() => pickEndpoint(backend, persistent, pCookie, 'GET', 0))],
  ['affinity balanced, valid cookie', bench(() => pickEndpoint(backend, balanced, bCookie, 'GET', 0))],
  ['affinity persistent, new session (Set-Cookie built)', bench(() => pickEndpoint(backend, persistent, none, 'GET', 0))],
  ['upstream-hash-by $request_uri', bench(() => pickEndpoint(backend, hashed, none, 'GET', 0))],
];
for (const [name, ns] of rows) console.log(`${name.padEnd(52)} ${ns.toFixed(0).padStart(6)} ns/op  ×${(ns / base).toFixed(1)}`);
