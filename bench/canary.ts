// The cost of a canary decision in decide(), against a route without canary in the same run:
// `node --import tsx bench/canary.ts`. Facts carry a header reader as the Node and Web runtimes build them.
import { decide, type RequestFacts } from '../gateway/decide.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import { compile } from '../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { time } from './lib/timing.ts';

const N = 'nginx.ingress.kubernetes.io/';
const canaryOf = (host: string, annotations: Record<string, string>) => [
  ingress(`${host}-main`, { host, paths: [{ path: '/', service: 'web' }], created: '2025-01-01T00:00:00Z' }),
  ingress(`${host}-canary`, { host, paths: [{ path: '/', service: 'canary' }], annotations: { [`${N}canary`]: 'true', ...annotations } }),
];
const table = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: 9 }]),
    service('canary', [{ address: '127.0.0.2', port: 9 }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    ...canaryOf('header.test', { [`${N}canary-by-header`]: 'X-Canary' }),
    ...canaryOf('value.test', { [`${N}canary-by-header`]: 'X-Canary', [`${N}canary-by-header-value`]: 'v2' }),
    ...canaryOf('pattern.test', { [`${N}canary-by-header`]: 'X-Canary', [`${N}canary-by-header-pattern`]: '^v[0-9]+(-rc[0-9]+)?$' }),
    ...canaryOf('cookie.test', { [`${N}canary-by-cookie`]: 'canary' }),
    ...canaryOf('weight.test', { [`${N}canary-weight`]: '10' }),
  ),
).table;
const live = { current: { matcher: compileMatcher(table), certificates: new Map(), loadedAt: 0 } };
const headers: Record<string, string> = {
  'x-canary': 'v2-rc1',
  cookie: 'session=0123456789abcdef; theme=dark; canary=always',
  'user-agent': 'bench',
};
const facts = (host: string): RequestFacts => ({
  host,
  path: '/api/items',
  search: '?page=2',
  scheme: 'http',
  clientIp: '192.0.2.10',
  localPort: 80,
  header: (name) => headers[name],
});

const n = 1_000_000;
const base = time('decide(): route without canary', n, () => decide(live, facts('plain.test'), null));
const rows: [string, number][] = [
  ['canary-by-header (always/never)', time('decide(): canary-by-header', n, () => decide(live, facts('header.test'), null))],
  ['canary-by-header-value', time('decide(): canary-by-header-value (no match)', n, () => decide(live, facts('value.test'), null))],
  [
    'canary-by-header-pattern',
    time('decide(): canary-by-header-pattern (match, 6 chars)', n, () => decide(live, facts('pattern.test'), null)),
  ],
  ['canary-by-cookie', time('decide(): canary-by-cookie (3 cookies)', n, () => decide(live, facts('cookie.test'), null))],
  ['canary-weight', time('decide(): canary-weight 10', n, () => decide(live, facts('weight.test'), null))],
];
console.log('');
for (const [name, ns] of rows) console.log(`${name}: +${(ns - base).toFixed(0)} ns (${(ns / base).toFixed(2)}x of ${base.toFixed(0)} ns)`);
