// Request and connection limits end to end: clients on different loopback addresses (real TCP connections
// from 127.0.0.x) through the real Node gateway to a real backend that holds requests open (/slow). A refused
// request gets 503 and never reaches the backend. Cases from ingress-nginx's
// test/e2e/annotations/limitconnections.go and its annotation docs ("Rate Limiting").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import http from 'node:http';
import { startBackend, type Backend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let backend: Backend;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('limited', '127.0.0.71');
  const ep = [{ address: backend.address, port: backend.port }];
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('web', ep),
      // 1 request per second, burst 2 (multiplier 2): three at once, then 503. 127.0.0.79 is exempt.
      ingress('rps', {
        host: 'rps.test',
        paths: [
          { path: '/a', service: 'web' },
          { path: '/b', service: 'web' },
        ],
        annotations: { [`${N}limit-rps`]: '1', [`${N}limit-burst-multiplier`]: '2', [`${N}limit-allowlist`]: '127.0.0.79' },
      }),
      // limitconnections.go: limit 8.
      ingress('conn8', {
        host: 'conn8.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}limit-connections`]: '8' },
      }),
      // global-rate-limit counted in this process, as portico local does (no Redis): 2 per hour.
      ingress('global', {
        host: 'global.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}global-rate-limit`]: '2', [`${N}global-rate-limit-window`]: '1h' },
      }),
      ingress('conn2', {
        host: 'conn2.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}limit-connections`]: '2', [`${N}limit-whitelist`]: '127.0.0.79/32' },
      }),
    ),
    { headersMs: 20_000, bodyMs: 20_000 },
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

/** Sends `n` requests one after another from `from`; their statuses and how long it took. */
async function sequence(n: number, host: string, path: string, from: string): Promise<{ statuses: number[]; ms: number; reached: number }> {
  const before = backend.requests;
  const started = performance.now();
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await request(`${gw.httpUrl}${path}`, { host, localAddress: from })).status);
  return { statuses, ms: performance.now() - started, reached: backend.requests - before };
}

/** Waits until the backend has seen `n` more requests than `before`. */
async function backendSaw(before: number, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (backend.requests - before < n) {
    if (Date.now() > deadline) throw new Error(`the backend saw ${backend.requests - before} of ${n} requests`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('limit-rps (nginx limit_req burst=N nodelay)', () => {
  it('a burst of rate + burst passes at once, the rest get 503 at once, and the backend never sees them', async () => {
    const { statuses, ms, reached } = await sequence(8, 'rps.test', '/a', '127.0.0.72');
    // Three at once (the first finds an empty bucket, then a burst of 2); one more per second that passed.
    const passed = statuses.filter((s) => s === 200).length;
    expect(passed).toBeGreaterThanOrEqual(3);
    expect(passed).toBeLessThanOrEqual(3 + Math.floor(ms / 1000));
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 503)).toBe(true);
    expect(reached).toBe(passed);
  });

  it('another path of the same Ingress counts in the same zone (ingress-nginx: one zone per Ingress)', async () => {
    await sequence(4, 'rps.test', '/a', '127.0.0.73');
    const r = await request(`${gw.httpUrl}/b`, { host: 'rps.test', localAddress: '127.0.0.73' });
    expect(r.status).toBe(503);
    expect(r.body).toBe('503 Service Unavailable\n');
  });

  it('another client address has its own bucket', async () => {
    await sequence(4, 'rps.test', '/a', '127.0.0.74');
    expect((await sequence(3, 'rps.test', '/a', '127.0.0.75')).statuses).toEqual([200, 200, 200]);
  });

  it('the bucket refills at the rate: a second later one more passes', async () => {
    await sequence(4, 'rps.test', '/a', '127.0.0.76');
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await request(`${gw.httpUrl}/a`, { host: 'rps.test', localAddress: '127.0.0.76' })).status).toBe(200);
  });

  it('an address in limit-allowlist is never limited', async () => {
    const { statuses, reached } = await sequence(15, 'rps.test', '/a', '127.0.0.79');
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(reached).toBe(15);
  });

  it('a WebSocket upgrade counts too: refused with 503 once the bucket is empty, never reaching the backend', async () => {
    await sequence(4, 'rps.test', '/a', '127.0.0.77');
    const before = backend.connections;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/a`, { headers: { host: 'rps.test' }, localAddress: '127.0.0.77' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', reject);
    });
    expect(status).toBe(503);
    expect(backend.connections).toBe(before);
  });
});

describe('limit-connections (nginx limit_conn)', () => {
  it('limitconnections.go: 20 concurrent slow requests with a limit of 8: 8 × 200 and 12 × 503, nothing else', async () => {
    const before = backend.requests;
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => request(`${gw.httpUrl}/slow?ms=1500`, { host: 'conn8.test', localAddress: '127.0.0.81' })),
    );
    const count = (s: number) => statuses.filter((r) => r.status === s).length;
    expect({ ok: count(200), refused: count(503), other: 20 - count(200) - count(503) }).toEqual({ ok: 8, refused: 12, other: 0 });
    expect(backend.requests - before).toBe(8);
  });

  it('with N slow requests open the N+1th gets 503, another address does not, and a slot frees when one finishes', async () => {
    const before = backend.requests;
    const short = request(`${gw.httpUrl}/slow?ms=300`, { host: 'conn2.test', localAddress: '127.0.0.82' });
    const long = request(`${gw.httpUrl}/slow?ms=3000`, { host: 'conn2.test', localAddress: '127.0.0.82' });
    await backendSaw(before, 2);
    expect((await request(`${gw.httpUrl}/x`, { host: 'conn2.test', localAddress: '127.0.0.82' })).status).toBe(503);
    expect((await request(`${gw.httpUrl}/x`, { host: 'conn2.test', localAddress: '127.0.0.83' })).status).toBe(200);
    expect((await short).status).toBe(200);
    expect((await request(`${gw.httpUrl}/x`, { host: 'conn2.test', localAddress: '127.0.0.82' })).status).toBe(200);
    expect((await long).status).toBe(200);
  });

  it('a client that goes away mid-request frees its slot', async () => {
    const before = backend.requests;
    const aborted = new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port: gw.gw.http!.port,
        path: '/slow?ms=5000',
        headers: { host: 'conn2.test' },
        localAddress: '127.0.0.84',
        agent: false,
      });
      req.on('error', () => resolve());
      req.end();
      void backendSaw(before, 1).then(() => req.destroy());
    });
    const held = request(`${gw.httpUrl}/slow?ms=3000`, { host: 'conn2.test', localAddress: '127.0.0.84' });
    await aborted;
    await backendSaw(before, 2);
    // The aborted one's slot is back: one held, one free.
    const deadline = Date.now() + 2_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await request(`${gw.httpUrl}/x`, { host: 'conn2.test', localAddress: '127.0.0.84' })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
    expect((await held).status).toBe(200);
  });

  it('an open WebSocket holds its slot until it closes', async () => {
    const open = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/ws`, { headers: { host: 'conn2.test' }, localAddress: '127.0.0.85' });
        ws.once('message', () => resolve(ws));
        ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
        ws.on('error', reject);
      });
    const a = await open();
    const b = await open();
    expect((await request(`${gw.httpUrl}/x`, { host: 'conn2.test', localAddress: '127.0.0.85' })).status).toBe(503);
    await new Promise<void>((resolve) => {
      a.once('close', () => resolve());
      a.close();
    });
    const deadline = Date.now() + 2_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await request(`${gw.httpUrl}/x`, { host: 'conn2.test', localAddress: '127.0.0.85' })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
    b.close();
  });

  it('an address in limit-whitelist is never limited', async () => {
    const before = backend.requests;
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () => request(`${gw.httpUrl}/slow?ms=500`, { host: 'conn2.test', localAddress: '127.0.0.79' })),
    );
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(backend.requests - before).toBe(6);
  });
});

describe('global-rate-limit in one process (portico local counts locally)', () => {
  it('2 pass, then 429 for requests and WebSocket upgrades alike, none reaching the backend', async () => {
    const { statuses, reached } = await sequence(3, 'global.test', '/', '127.0.0.81');
    expect(statuses).toEqual([200, 200, 429]);
    expect(reached).toBe(2);
    const before = backend.connections;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/`, { headers: { host: 'global.test' }, localAddress: '127.0.0.81' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', reject);
    });
    expect(status).toBe(429);
    expect(backend.connections).toBe(before);
  });
});
