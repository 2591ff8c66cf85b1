// In-process cost per request of request and connection limits (not a test): the routing decision of a route
// without access rules, against the same decision plus the access gate with a local rate limit (limit-rps), a
// connection limit (limit-connections, the slot taken and given back), both, and the limiter alone: one
// client, and 100,000 clients in turn (a full store evicting on every new client). Then the global rate limit
// (global-rate-limit): counted locally (portico local), counted in a real redis-server on loopback (one script
// round trip, as a worker does), refused from the local refusal cache (a flood), and counted locally while
// Redis is stopped (the fallback). Needs redis-server on the PATH.
// Run: node --import tsx bench/limits.ts
import { ConnectionLimiter } from '../gateway/access/connection-limit.ts';
import { type GateDeps, type GateRequest, runGate } from '../gateway/access/gate.ts';
import { RedisWindows } from '../gateway/access/global-rate-limit-redis.ts';
import { GlobalRateLimiter } from '../gateway/access/global-rate-limit.ts';
import type { LimitState } from '../gateway/access/limits.ts';
import { RateLimiter } from '../gateway/access/rate-limit.ts';
import { decide, type RequestFacts } from '../gateway/decide.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import type { AccessPolicy, LimitPolicy } from '../gateway/table/schema.ts';
import { compile } from '../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { startRedis } from '../test/support/redis.ts';
import { time, timeAsync } from './lib/timing.ts';

const N = 'nginx.ingress.kubernetes.io/';
// Limits no client of this benchmark reaches, so every request is admitted (the common case).
const table = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: 9 }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    ingress('rps', { host: 'rps.test', paths: [{ path: '/', service: 'web' }], annotations: { [`${N}limit-rps`]: '1000000' } }),
    ingress('conn', { host: 'conn.test', paths: [{ path: '/', service: 'web' }], annotations: { [`${N}limit-connections`]: '1000' } }),
    ingress('both', {
      host: 'both.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}limit-rps`]: '1000000', [`${N}limit-rpm`]: '1000000', [`${N}limit-connections`]: '1000' },
    }),
    ingress('global', {
      host: 'global.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}global-rate-limit`]: '1000000', [`${N}global-rate-limit-window`]: '1h' },
    }),
    ingress('global-low', {
      host: 'global-low.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}global-rate-limit`]: '1', [`${N}global-rate-limit-window`]: '1h' },
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
const state: LimitState = { rate: new RateLimiter(), connections: new ConnectionLimiter() };

/** decide() and, when the route has limits, the access gate as app.ts runs it (the slot given back at once). */
async function request(host: string, deps: GateDeps = { limits: state }, expect: 'pass' | 429 = 'pass'): Promise<void> {
  const f = facts(host);
  const d = decide(live, f, null);
  if (d.kind !== 'forward' || d.gate === undefined) return;
  const r: GateRequest = {
    httpHost: f.host,
    scheme: f.scheme,
    method: 'GET',
    path: f.path,
    search: f.search,
    clientIp: f.clientIp,
    localPort: f.localPort,
    header: () => null,
    headers: [],
    requestId: '00000000-0000-4000-8000-000000000000',
    scope: d.label,
  };
  const o = await runGate(d.gate, r, deps);
  if ((o.kind === 'pass' ? 'pass' : o.status) !== expect) throw new Error(`unexpected: ${o.kind === 'pass' ? 'pass' : o.status}`);
  if (o.kind === 'pass') o.onDone?.();
}

const N_ASYNC = 1_000_000;
const base = time('decide(): route without access rules', N_ASYNC, () => decide(live, facts('plain.test'), null));
const baseAsync = await timeAsync('the same, awaited as the gated path is', N_ASYNC, () => request('plain.test'));
const rps = await timeAsync('decide() + gate: limit-rps (admitted)', N_ASYNC, () => request('rps.test'));
const conn = await timeAsync('decide() + gate: limit-connections (slot taken and given back)', N_ASYNC, () => request('conn.test'));
const both = await timeAsync('decide() + gate: limit-rps + limit-rpm + limit-connections', N_ASYNC, () => request('both.test'));

const policy: LimitPolicy = { rps: { rate: 1_000_000, burst: 5_000_000 } };
const one = new RateLimiter();
const alone = time('RateLimiter.admit: one client', 2_000_000, () => one.admit('default/rps', '192.0.2.10', policy));
const clients = Array.from({ length: 100_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
const many = new RateLimiter({ maxEntries: 65_536 });
const churn = time('RateLimiter.admit: 100,000 clients in turn (full store, evicting)', 2_000_000, (i) =>
  many.admit('default/rps', clients[i % clients.length]!, policy),
);
const refused: AccessPolicy['limits'] = { rps: { rate: 1, burst: 0 } };
const full = new RateLimiter();
const refusal = time('RateLimiter.admit: refused (over the burst)', 2_000_000, () => full.admit('default/rps', '192.0.2.10', refused));

console.log(
  `\nper request, against the same awaited path without rules (${baseAsync.toFixed(0)} ns; decide() alone ${base.toFixed(0)} ns):` +
    ` limit-rps +${(rps - baseAsync).toFixed(0)} ns, limit-connections +${(conn - baseAsync).toFixed(0)} ns, all three +${(both - baseAsync).toFixed(0)} ns;` +
    ` the rate limiter alone ${alone.toFixed(0)} ns (one client), ${churn.toFixed(0)} ns (100,000 clients), ${refusal.toFixed(0)} ns (refused)`,
);

// ---- the global rate limit ----
const redis = await startRedis();
const shared = new RedisWindows({ redis: redis.url, cluster: 'bench' });
while (!shared.ready) await new Promise((r) => setTimeout(r, 10));
const N_REDIS = 100_000;
// Below the limit of 1,000,000 per hour, warm-up included, for each limiter.
const N_GLOBAL = 500_000;
const localOnly = { globalLimits: new GlobalRateLimiter({ shared: null }) };
const overRedis = { globalLimits: new GlobalRateLimiter({ shared }) };
const gLocal = await timeAsync('decide() + gate: global-rate-limit, counted locally (admitted)', N_GLOBAL, () =>
  request('global.test', localOnly),
);
const gRedis = await timeAsync('decide() + gate: global-rate-limit in Redis on loopback (admitted)', N_REDIS, () =>
  request('global.test', overRedis),
);
await request('global-low.test', overRedis); // the one request the limit allows
const gCached = await timeAsync('decide() + gate: global-rate-limit refused from the cache (flood)', N_ASYNC, () =>
  request('global-low.test', overRedis, 429),
);
await redis.kill();
while (shared.ready) await new Promise((r) => setTimeout(r, 10));
const degraded = { globalLimits: new GlobalRateLimiter({ shared }) };
const gDown = await timeAsync('decide() + gate: global-rate-limit, Redis stopped (local fallback)', N_GLOBAL, () =>
  request('global.test', degraded),
);
await shared.close();
await redis.stop();
console.log(
  `global-rate-limit, against the same awaited path without rules: counted locally +${(gLocal - baseAsync).toFixed(0)} ns,` +
    ` in Redis +${((gRedis - baseAsync) / 1000).toFixed(1)} µs (one round trip on loopback), refused from the cache +${(gCached - baseAsync).toFixed(0)} ns,` +
    ` Redis stopped +${(gDown - baseAsync).toFixed(0)} ns`,
);
