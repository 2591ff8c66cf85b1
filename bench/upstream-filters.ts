// Cost of the upstream filters (proxy-*-timeout, proxy-body-size, proxy-next-upstream*) on the request path, in one
// process and one run so the rows compare: decide() for a route without them and with all of them, then real
// HTTP round trips through the Node gateway to a loopback backend (plain route, a route with its own read and
// connect timeouts, a POST through a body-limited route and a plain one). Runs on code without the feature too
// (the annotations are then ignored), which is how the "before" column in bench/RESULTS.md was taken.
//   node --import tsx bench/upstream-filters.ts
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { decide, type RequestFacts } from '../gateway/decide.ts';
import { LiveTable } from '../gateway/live.ts';
import { Metrics } from '../gateway/metrics.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import { startNodeGateway } from '../gateway/runtime/node.ts';
import { compile } from '../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { time } from './lib/timing.ts';

const N = 'nginx.ingress.kubernetes.io/';
const backend = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'));
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const port = (backend.address() as AddressInfo).port;
const all = {
  [`${N}proxy-connect-timeout`]: '5',
  [`${N}proxy-read-timeout`]: '30',
  [`${N}proxy-send-timeout`]: '30',
  [`${N}proxy-body-size`]: '1m',
  [`${N}proxy-next-upstream`]: 'error timeout http_502',
};
const r = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    ingress('filtered', { host: 'filtered.test', paths: [{ path: '/', service: 'web' }], annotations: all }),
  ),
);

const matcherLive = { current: { matcher: compileMatcher(r.table), certificates: new Map(), loadedAt: 0 } };
const facts = (host: string): RequestFacts => ({
  host,
  path: '/api/items',
  search: '?page=2',
  scheme: 'http',
  clientIp: '192.0.2.10',
  localPort: 80,
});
const plainFacts = facts('plain.test');
const filteredFacts = facts('filtered.test');
const d0 = time('decide(): route without upstream filters', 1_000_000, () => decide(matcherLive, plainFacts, null));
const d1 = time('decide(): route with timeouts, bodyLimit and retry', 1_000_000, () => decide(matcherLive, filteredFacts, null));

const live = new LiveTable();
live.swap(r.table, r.certificates, {});
const gw = await startNodeGateway({
  live,
  metrics: new Metrics(),
  http: { host: '127.0.0.1', port: 0 },
  https: null,
  timeouts: { connectMs: 5_000, headersMs: 60_000, bodyMs: 60_000 },
});
const client = new Pool(`http://127.0.0.1:${gw.http!.port}`, { connections: 8, pipelining: 1 });
const body = Buffer.alloc(16 * 1024, 97);
async function round(name: string, host: string, method: 'GET' | 'POST', n = 20_000): Promise<number> {
  const one = async (): Promise<void> => {
    const res = await client.request({ path: '/api/items', method, headers: { host }, ...(method === 'POST' ? { body } : {}) });
    if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode}`);
    await res.body.dump();
  };
  const run = async (count: number): Promise<void> => {
    let left = count;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (left-- > 0) await one();
      }),
    );
  };
  await run(n / 5); // warm-up
  const t0 = process.hrtime.bigint();
  await run(n);
  const rps = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  console.log(`${name.padEnd(62)} ${rps.toFixed(0).padStart(8)} requests/s`);
  return rps;
}
// Interleaved, best of three: the order and the JIT's warm-up otherwise decide more than the code does.
const best = { g0: 0, g1: 0, p0: 0, p1: 0 };
for (let i = 0; i < 3; i++) {
  best.g0 = Math.max(best.g0, await round('GET through the gateway: route without upstream filters', 'plain.test', 'GET'));
  best.g1 = Math.max(best.g1, await round('GET through the gateway: route with all filters', 'filtered.test', 'GET'));
  best.p0 = Math.max(best.p0, await round('POST 16 KiB: route without upstream filters', 'plain.test', 'POST', 10_000));
  best.p1 = Math.max(best.p1, await round('POST 16 KiB: route with proxy-body-size and send timeout', 'filtered.test', 'POST', 10_000));
}
console.log(
  `best: GET ${best.g0.toFixed(0)} / ${best.g1.toFixed(0)}, POST ${best.p0.toFixed(0)} / ${best.p1.toFixed(0)} requests/s (plain / filtered)`,
);
console.log(
  `ratios: decide ${(d1 / d0).toFixed(2)}, GET ${(best.g1 / best.g0).toFixed(2)}, POST ${(best.p1 / best.p0).toFixed(2)} (filtered/plain)`,
);
await client.close();
await gw.close();
backend.close();
