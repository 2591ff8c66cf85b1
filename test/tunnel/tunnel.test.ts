// The node-local tunnel as a real process: fed by a real agent through a real redis-server, relaying
// to real loopback backends over its Unix socket, and refusing every address the verified table does not name.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { ingress, ourClass, service, type EndpointSpec } from '../support/manifests.ts';
import { json, request } from '../support/client.ts';
import { freePort, runPortico, spawnPortico, startServing, waitFor, type Running, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startDeno, startWorkerd, type ControlPlane } from '../runtimes/launch.ts';
import { expectWellFormedExposition } from '../support/exposition.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-tunnel-'));
const socket = join(dir, 'tunnel.sock');
let redis: RedisServer;
let inTable: Backend;
let outside: Backend;
let deadPort: number;
/** Accepts a connection, reads the first bytes of the request and answers with a TCP reset: the upstream may have
 * acted on what it read. Together with `retryOk` it is the backend `flaky` (host flaky.test). */
let resetter: net.Server;
const resets = { hits: 0 };
let retryOk: Backend;
let agent: Spawned;
let tunnel: Spawned;
let admin: string;
let client: Client;

const writeTable = (endpoints: EndpointSpec[]): void => {
  writeFileSync(
    join(dir, 'manifests', 'all.yaml'),
    [
      ourClass(),
      ...service('web', endpoints),
      ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'web' }] }),
      ...service('flaky', [
        { address: '127.0.0.94', port: deadPort },
        { address: retryOk.address, port: retryOk.port },
      ]),
      ingress('flaky', { host: 'flaky.test', paths: [{ path: '/', service: 'flaky' }] }),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  );
};
const version = async () => /relaying to the endpoints of (\S+)/.exec(await (await fetch(`${admin}/readyz`)).text())?.[1] ?? null;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
async function via(
  endpoint: string | null,
  o: { path?: string; method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const r = await client.request({
    path: o.path ?? '/hello',
    method: (o.method ?? 'GET') as 'GET',
    body: o.body,
    headers: {
      host: 'app.test',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
      ...(endpoint === null ? {} : { 'portico-endpoint': endpoint }),
      ...o.headers,
    },
  });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

/** Sends `message` over a WebSocket and returns the backend's echo of it (the backend greets first with a JSON hello). */
async function wsEcho(url: string, headers: Record<string, string>, message: string): Promise<string> {
  const ws = new WebSocket(url, { headers });
  try {
    return await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send(message));
      ws.on('message', (m) => {
        if (m.toString().includes(message)) resolve(m.toString());
      });
      ws.on('error', reject);
    });
  } finally {
    ws.close();
  }
}

beforeAll(async () => {
  redis = await startRedis();
  // One port, three addresses (a Service has one target port): 127.0.0.93 has no listener.
  deadPort = await freePort('127.0.0.91');
  inTable = await startBackend('in-table', '127.0.0.91', deadPort);
  outside = await startBackend('outside', '127.0.0.92', deadPort);
  retryOk = await startBackend('retry-ok', '127.0.0.95', deadPort);
  resetter = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => {
      resets.hits++;
      s.resetAndDestroy();
    });
  });
  await new Promise<void>((resolve) => resetter.listen(deadPort, '127.0.0.94', resolve));
  expect(runPortico(['keys', 'generate', '--out', join(dir, 'keys')]).status).toBe(0);
  mkdirSync(join(dir, 'manifests'));
  writeTable([
    { address: inTable.address, port: inTable.port },
    { address: '127.0.0.93', port: deadPort },
  ]);
  agent = spawnPortico([
    'sync',
    '--manifests',
    join(dir, 'manifests'),
    '--redis',
    redis.url,
    '--cluster',
    'tun',
    '--keys',
    join(dir, 'keys'),
  ]);
  const adminPort = await freePort();
  admin = `http://127.0.0.1:${adminPort}`;
  tunnel = spawnPortico([
    'tunnel',
    '--redis',
    redis.url,
    '--cluster',
    'tun',
    '--keys',
    join(dir, 'keys'),
    '--listen',
    `unix:${socket}`,
    '--admin',
    `127.0.0.1:${adminPort}`,
    '--poll',
    '300ms',
  ]);
  await waitFor(
    async () => (await fetch(`${admin}/readyz`)).status === 200,
    30_000,
    () => `the tunnel to load a table:\n${tunnel.logs()}\n${agent.logs()}`,
  );
  client = new Client('http://tunnel', { socketPath: socket });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await tunnel?.stop();
  await agent?.stop();
  await redis?.stop();
  await inTable?.close();
  await outside?.close();
  await retryOk?.close();
  resetter?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('relaying to endpoints of the verified table', () => {
  it('listens on a socket only its owner and group may use (mode 0660)', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o660);
  });

  it('passes the request through unchanged: Host, X-Forwarded-*, method, body; strips its own header', async () => {
    const r = await via(`${inTable.address}:${inTable.port}`, { method: 'POST', body: 'payload', path: '/echo?q=1' });
    expect(r.status).toBe(200);
    const e = JSON.parse(r.body) as EchoReply;
    expect(e).toMatchObject({ backend: 'in-table', method: 'POST', url: '/echo?q=1', body: 'payload' });
    expect(e.headers).toMatchObject({ host: 'app.test', 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' });
    expect(e.headers['portico-endpoint']).toBeUndefined();
  });

  it('streams the response as the backend sends it', async () => {
    const r = await client.request({
      path: '/stream?chunks=3&ms=300',
      method: 'GET',
      headers: { host: 'app.test', 'portico-endpoint': `${inTable.address}:${inTable.port}` },
    });
    const arrivals: number[] = [];
    for await (const _chunk of r.body) arrivals.push(Date.now());
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(400);
  });

  it('carries a WebSocket both ways', async () => {
    const echoed = await wsEcho(
      `ws+unix://${socket}:/ws`,
      { host: 'app.test', 'portico-endpoint': `${inTable.address}:${inTable.port}` },
      'ping through the tunnel',
    );
    expect(echoed).toContain('ping through the tunnel');
  });

  it('reports a refused connect in the words the worker would have seen (to fail over)', async () => {
    const r = await via(`127.0.0.93:${deadPort}`);
    expect(r.status).toBe(502);
    expect(r.headers['portico-tunnel-error']).toBe('ECONNREFUSED');
  });

  it('reports a reset after the request was sent in the words the worker would have seen (it decides whether to retry)', async () => {
    const r = await via(`127.0.0.94:${deadPort}`);
    expect(r.status).toBe(502);
    expect(String(r.headers['portico-tunnel-error'])).toMatch(/^(ECONNRESET|UND_ERR_SOCKET|EPIPE)$/);
  });
});

describe('a worker sending its upstream requests through the tunnel (--tunnel)', () => {
  let worker: Running;
  beforeAll(async () => {
    worker = await startServing(
      [
        'worker',
        '--redis',
        redis.url,
        '--cluster',
        'tun',
        '--keys',
        join(dir, 'keys'),
        '--cache-file',
        'off',
        '--tunnel',
        `unix:${socket}`,
      ],
      30_000,
    );
  }, 40_000);
  afterAll(async () => {
    await worker?.stop();
  });

  it("routes every request to the live endpoint: the tunnel's refused connect to the dead one makes the worker fail over", async () => {
    const before = inTable.requests;
    for (let i = 0; i < 6; i++) {
      const r = await request(`${worker.http}/via-worker`, { host: 'app.test' });
      expect(r.status).toBe(200);
      const e = json<EchoReply>(r);
      expect(e.backend).toBe('in-table');
      // The worker's X-Forwarded-* reach the backend through the tunnel unchanged.
      expect(e.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(e.headers['x-forwarded-host']).toBe('app.test');
    }
    expect(inTable.requests - before).toBe(6);
    const m = (await request(`${worker.admin}/metrics`)).body;
    expect(m).toMatch(/portico_upstream_errors_total\{backend="default\/web:80",code="PORTICO_UPSTREAM_CONNECT"\} [1-9]/);
  });

  it('carries a WebSocket from the client through worker and tunnel to the backend', async () => {
    const echoed = await wsEcho(`${worker.http.replace('http', 'ws')}/ws`, { host: 'app.test' }, 'ping via worker and tunnel');
    expect(echoed).toContain('ping via worker and tunnel');
  });

  it("an application cannot fake the tunnel's error report: its answer reaches the client once, without the header", async () => {
    for (const path of ['/x?set-header=portico-tunnel-error:ECONNREFUSED', '/status/503?set-header=portico-tunnel-error:ECONNREFUSED']) {
      const before = inTable.requests;
      const r = await request(`${worker.http}${path}`, { host: 'app.test' });
      expect(r.status).toBe(path.startsWith('/status/503') ? 503 : 200);
      expect(r.headers['portico-tunnel-error']).toBeUndefined();
      expect(inTable.requests - before).toBe(1); // not resent to another endpoint
    }
  });

  it('a client cannot steer the tunnel: portico-* request headers are dropped at the edge', async () => {
    const before = outside.requests;
    const r = await request(`${worker.http}/steer`, {
      host: 'app.test',
      headers: {
        'portico-endpoint': `${outside.address}:${outside.port}`,
        'Portico-Peer': 'other',
        'PORTICO-BACKEND': 'x/y:80',
        'portico-peer-token': 'x',
      },
    });
    expect(r.status).toBe(200);
    const e = json<EchoReply>(r);
    expect(e.backend).toBe('in-table');
    expect(Object.keys(e.headers).filter((h) => h.startsWith('portico-'))).toEqual([]);
    expect(outside.requests).toBe(before);
  });

  it('WebSockets whose first endpoint is the dead one fail over too (two in a row: one of them starts there)', async () => {
    for (let i = 0; i < 2; i++)
      expect(await wsEcho(`${worker.http.replace('http', 'ws')}/ws`, { host: 'app.test' }, `ping ${i}`)).toContain(`ping ${i}`);
  });

  it('an upgrade the application refuses comes back through the tunnel as its 401, not a hang', async () => {
    const ws = new WebSocket(`${worker.http.replace('http', 'ws')}/ws-reject`, { headers: { host: 'app.test' } });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
  });

  // Changed: the Node worker used to move to the next endpoint only after a refused connect, while the Web worker
  // also retried a reset of an idempotent request without a body. Both now follow gateway/proxy/retry-policy.ts.
  it('CHANGED: a reset of a GET or DELETE without a body moves on to the next endpoint (was 502 half of the time)', async () => {
    const before = { resets: resets.hits, ok: retryOk.requests };
    for (const method of ['GET', 'DELETE', 'GET', 'DELETE']) {
      const r = await request(`${worker.http}/idempotent`, { host: 'flaky.test', method });
      expect(r.status, r.body).toBe(200);
      expect(json<EchoReply>(r)).toMatchObject({ backend: 'retry-ok', method });
    }
    expect(retryOk.requests - before.ok).toBe(4);
    expect(resets.hits - before.resets).toBeGreaterThanOrEqual(1); // round robin started some of them at the resetter
    const m = (await request(`${worker.admin}/metrics`)).body;
    expect(m).toMatch(/portico_upstream_errors_total\{backend="default\/flaky:80",code="PORTICO_UPSTREAM_RESET"\} [1-9]/);
  });

  it.each([
    ['a POST without a body (not idempotent)', 'POST', undefined],
    ['a PUT whose body was streamed to the tunnel (cannot be sent again)', 'PUT', 'the body'],
  ])('unchanged: a reset of %s is answered 502, never sent to a second endpoint', async (_n, method, body) => {
    const before = { resets: resets.hits, ok: retryOk.requests };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(`${worker.http}/not-repeated`, { host: 'flaky.test', method, body })).status);
    const failed = statuses.filter((s) => s === 502).length;
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s !== 502).every((s) => s === 200)).toBe(true);
    // Each request reached exactly one endpoint: the resetter's are the 502s, the rest went to retry-ok.
    expect(resets.hits - before.resets).toBe(failed);
    expect(retryOk.requests - before.ok).toBe(4 - failed);
  });

  it('CHANGED: a WebSocket upgrade reset by its first endpoint moves on to the next one (two in a row: one starts there)', async () => {
    const before = resets.hits;
    for (let i = 0; i < 2; i++)
      expect(await wsEcho(`${worker.http.replace('http', 'ws')}/ws`, { host: 'flaky.test' }, `reset ${i}`)).toContain(`reset ${i}`);
    expect(resets.hits - before).toBeGreaterThanOrEqual(1);
  });

  it('a bad --tunnel address is a usage error', () => {
    const r = runPortico(['worker', '--redis', redis.url, '--cluster', 'tun', '--keys', join(dir, 'keys'), '--tunnel', '10.0.0.1:9000']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^portico: --tunnel: expected unix:PATH or a loopback HOST:PORT/);
  });
});

describe('Deno and workerd workers through the tunnel (loopback port)', () => {
  let tcpTunnel: Spawned;
  let tunnelAt = '';
  beforeAll(async () => {
    const [p, adminPort] = [await freePort(), await freePort()];
    tunnelAt = `127.0.0.1:${p}`;
    tcpTunnel = spawnPortico([
      'tunnel',
      '--redis',
      redis.url,
      '--cluster',
      'tun',
      '--keys',
      join(dir, 'keys'),
      '--listen',
      tunnelAt,
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--poll',
      '300ms',
    ]);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200,
      20_000,
      () => `the loopback tunnel:\n${tcpTunnel.logs()}`,
    );
  }, 30_000);
  afterAll(async () => {
    await tcpTunnel?.stop();
  });

  it.each([
    ['Deno, allowed to reach 127.0.0.1 only (no backend address)', (cp: ControlPlane) => startDeno(cp, { tunnel: tunnelAt })],
    ['workerd (wrangler dev)', (cp: ControlPlane) => startWorkerd(cp, 'app.test', { tunnel: tunnelAt })],
  ])(
    '%s: every request reaches the live endpoint; the dead one fails over',
    async (_n, start) => {
      const target = await start({ redisUrl: redis.url, cluster: 'tun', keysDir: join(dir, 'keys') });
      try {
        const before = inTable.requests;
        for (let i = 0; i < 6; i++) {
          const r = await request(`${target.http}/via-web-worker`, { host: 'app.test' });
          expect(r.status, target.logs().slice(-1500)).toBe(200);
          expect(json<EchoReply>(r).backend).toBe('in-table');
        }
        expect(inTable.requests - before).toBe(6);
      } finally {
        await target.stop();
      }
    },
    180_000,
  );
});

describe('refusing everything else (request forgery into the cluster network)', () => {
  it.each<[string, () => string | null, number, string]>([
    ['a live address that is not in the table', () => `${outside.address}:${outside.port}`, 403, 'PORTICO_TUNNEL_DENIED'],
    ['the Redis server itself', () => `127.0.0.1:${redis.port}`, 403, 'PORTICO_TUNNEL_DENIED'],
    ['a table address on another port', () => `${inTable.address}:${redis.port}`, 403, 'PORTICO_TUNNEL_DENIED'],
    ['a host name (never resolved)', () => `localhost:${inTable.port}`, 400, 'PORTICO_TUNNEL_BAD_REQUEST'],
    ['no port', () => inTable.address, 400, 'PORTICO_TUNNEL_BAD_REQUEST'],
    ['a path smuggled after the port', () => `${inTable.address}:${inTable.port}/x`, 400, 'PORTICO_TUNNEL_BAD_REQUEST'],
    ['a non-canonical address', () => `127.000.0.91:${inTable.port}`, 400, 'PORTICO_TUNNEL_BAD_REQUEST'],
    ['no endpoint header at all', () => null, 400, 'PORTICO_TUNNEL_BAD_REQUEST'],
  ])('%s', async (_n, endpoint, status, code) => {
    const before = outside.requests;
    const r = await via(endpoint());
    expect(r.status).toBe(status);
    expect(r.headers['portico-tunnel-error']).toBe(code);
    expect(outside.requests).toBe(before);
  });

  it('refuses a WebSocket to an address outside the table', async () => {
    const ws = new WebSocket(`ws+unix://${socket}:/ws`, {
      headers: { host: 'app.test', 'portico-endpoint': `${outside.address}:${outside.port}` },
    });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(403);
  });

  it('an endpoint removed from the table stays allowed for one more version (workers a swap behind), then is refused', async () => {
    const ep = `${inTable.address}:${inTable.port}`;
    const v0 = await version();
    writeTable([{ address: '127.0.0.93', port: deadPort }]);
    await waitFor(
      async () => (await version()) !== v0,
      15_000,
      () => 'the tunnel to load the next table',
    );
    expect((await via(ep)).status).toBe(200);
    const v1 = await version();
    writeTable([
      { address: '127.0.0.93', port: deadPort },
      { address: outside.address, port: outside.port },
    ]);
    await waitFor(
      async () => (await version()) !== v1,
      15_000,
      () => 'the tunnel to load the table after that',
    );
    expect((await via(ep)).status).toBe(403);
    // and the newly added endpoint is now allowed
    expect((await via(`${outside.address}:${outside.port}`)).status).toBe(200);
    const m = await (await fetch(`${admin}/metrics`)).text();
    expectWellFormedExposition(m);
    expect(Number(/^portico_tunnel_refused_total (\d+)$/m.exec(m)?.[1])).toBeGreaterThanOrEqual(9);
  }, 40_000);
});

describe('flags', () => {
  it.each([
    ['a listen address that is not loopback', ['--listen', '0.0.0.0:9000'], /--listen: expected unix:PATH or a loopback HOST:PORT/],
    ['a relative socket path', ['--listen', 'unix:tunnel.sock'], /--listen: expected unix:\/absolute\/path/],
    ['a connection bound that is not a count', ['--upstream-max-connections', 'many'], /--upstream-max-connections/],
    ['a queue timeout that is not a duration', ['--upstream-queue-timeout', 'soon'], /--upstream-queue-timeout/],
  ])('%s: one line, exit code 2', (_n, extra, message) => {
    const r = runPortico(['tunnel', '--redis', 'redis://127.0.0.1:1', '--cluster', 'x', '--keys', '/tmp', ...extra]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
