// Cost of error pages (default-backend, custom-http-errors) on the request path, in one process and one run so the
// rows compare: decide() for a route without them and with both, then real HTTP round trips through the Node gateway
// to loopback backends (a plain route, a route with custom-http-errors whose answer passes, and an intercepted 404
// answered by the error backend's page: two upstream requests). Runs on code without the feature too (the
// annotations are then ignored and the 404 reaches the client), which is how the "before" column was taken.
//   node --import tsx bench/error-pages.ts
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
const listen = async (status: (url: string) => number): Promise<number> => {
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status(req.url ?? '/'), { 'content-type': 'text/plain' }).end('ok\n'));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
};
const appPort = await listen((u) => (u.startsWith('/missing') ? 404 : 200));
const pagePort = await listen(() => 200);
const pages = { [`${N}custom-http-errors`]: '404,503', [`${N}default-backend`]: 'errors' };
const r = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: appPort }]),
    service('errors', [{ address: '127.0.0.1', port: pagePort }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    ingress('pages', { host: 'pages.test', paths: [{ path: '/', service: 'web' }], annotations: pages }),
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
const pageFacts = facts('pages.test');
time('decide(): route without error pages', 1_000_000, () => decide(matcherLive, plainFacts, null));
time('decide(): route with custom-http-errors + default-backend', 1_000_000, () => decide(matcherLive, pageFacts, null));

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
async function round(name: string, host: string, path: string, n = 20_000): Promise<void> {
  const one = async (): Promise<void> => {
    const res = await client.request({ path, method: 'GET', headers: { host } });
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
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name.padEnd(62)} ${(n / s).toFixed(0).padStart(8)} req/s`);
}
await round('HTTP: plain route, 200', 'plain.test', '/api/items');
await round('HTTP: route with error pages, 200 passes', 'pages.test', '/api/items');
await round('HTTP: route with error pages, 404 intercepted (page fetched)', 'pages.test', '/missing');
await client.close();
await gw.close();
process.exit(0);
