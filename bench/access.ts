// In-process cost per request of the access rules, against the same decision with none (not a test): the routing
// decision alone, with an allow list of 1 and of 100 ranges, and the access gate with external authentication
// answered from its cache and from a real auth service on loopback (a fresh subrequest each time).
// Run: node --import tsx bench/access.ts
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthCache } from '../gateway/access/auth-cache.ts';
import { nodeAuthClient } from '../gateway/access/auth-client-node.ts';
import { type GateRequest, runGate } from '../gateway/access/gate.ts';
import { decide, type RequestFacts } from '../gateway/decide.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import type { AccessPolicy } from '../gateway/table/schema.ts';
import { compile } from '../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const hundred = Array.from({ length: 100 }, (_, i) => `10.${i}.0.0/16`).join(',');
const table = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: 9 }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    ingress('one', {
      host: 'one.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}allowlist-source-range`]: '192.0.2.0/24' },
    }),
    ingress('many', {
      host: 'many.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}allowlist-source-range`]: `${hundred},192.0.2.0/24` },
    }),
  ),
).table;
const live = { current: { matcher: compileMatcher(table), certificates: new Map(), loadedAt: 0 } };
const facts = (host: string): RequestFacts => ({
  host,
  path: '/api/items',
  search: '?page=2',
  scheme: 'http',
  clientIp: '192.0.2.10',
  localPort: 80,
});

function time(name: string, n: number, fn: () => void): number {
  for (let i = 0; i < n / 10; i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(8)} ns/request`);
  return ns;
}

async function timeAsync(name: string, n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.max(10, n / 10); i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(8)} ns/request`);
  return ns;
}

const N_SYNC = 1_000_000;
const base = time('decide(): route without access rules', N_SYNC, () => decide(live, facts('plain.test'), null));
const one = time('decide(): allow list of 1 range (client inside)', N_SYNC, () => decide(live, facts('one.test'), null));
const many = time('decide(): allow list of 101 ranges (client in the last)', N_SYNC, () => decide(live, facts('many.test'), null));

// A real auth service on loopback: 200 for every subrequest.
const server = http.createServer((_req, res) => res.writeHead(200, { 'x-auth-user': 'alice' }).end());
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`;
const client = nodeAuthClient({ connectMs: 2000, headersMs: 5000 });
const request: GateRequest = {
  httpHost: 'auth.test',
  scheme: 'http',
  method: 'GET',
  path: '/api/items',
  search: '?page=2',
  clientIp: '192.0.2.10',
  localPort: 80,
  header: (n) => (n === 'authorization' ? 'Bearer abc' : null),
  headers: [
    ['authorization', 'Bearer abc'],
    ['accept', '*/*'],
  ],
  requestId: '00000000-0000-4000-8000-000000000000',
  scope: 'default/auth auth.test /',
};
const cached: AccessPolicy = {
  externalAuth: { url, responseHeaders: ['x-auth-user'], cache: { key: '$http_authorization', seconds: { 200: 300 } } },
};
const uncached: AccessPolicy = { externalAuth: { url, responseHeaders: ['x-auth-user'] } };
const deps = { auth: { client: client.client, cache: new AuthCache() } };
const hit = await timeAsync('gate: external auth answered from the cache', 200_000, () => runGate(cached, request, deps));
const sub = await timeAsync('gate: external auth, a subrequest to a loopback service', 5_000, () => runGate(uncached, request, deps));
await client.close();
server.close();

console.log(
  `\nrelative to decide() without rules (${base.toFixed(0)} ns): allow list of 1 +${(one - base).toFixed(0)} ns, of 101 +${(many - base).toFixed(0)} ns;`,
);
console.log(`external auth: +${hit.toFixed(0)} ns from the cache, +${(sub / 1000).toFixed(0)} µs with a subrequest`);
