// The tunnel's bound on connections per endpoint (--upstream-max-connections, --upstream-queue-timeout): through the
// tunnel it is the tunnel that dials every endpoint for all the workers of its node, so the bound that protects a
// backend from a flood (an HTTP/2 client fanning out streams, say) has to hold there too. An in-process tunnel on a
// loopback port, a real slow backend that counts its connections, real requests.
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveTable } from '../../gateway/live.ts';
import { DEFAULT_TIMEOUTS } from '../../gateway/proxy/pools.ts';
import { startTunnel, type Tunnel } from '../../gateway/tunnel/server.ts';
import { compile } from '../../sync/compile/index.ts';
import { startBackend, type Backend } from '../support/backends.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

let backend: Backend;
let live: LiveTable;
const tunnels: Tunnel[] = [];

beforeAll(async () => {
  backend = await startBackend('slow');
  live = new LiveTable();
  const r = compile(
    objects(
      ourClass(),
      service('slow', [{ address: backend.address, port: backend.port }]),
      ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'slow' }] }),
    ),
  );
  live.swap(r.table, r.certificates, { basicAuth: r.basicAuth });
});

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await backend?.close();
});

async function tunnelWith(upstreamPool?: { maxConnections: number; queueTimeoutMs: number }): Promise<string> {
  const t = await startTunnel({
    live,
    listen: { host: '127.0.0.1', port: 0 },
    timeouts: DEFAULT_TIMEOUTS,
    ...(upstreamPool === undefined ? {} : { upstreamPool }),
    log: () => {},
  });
  tunnels.push(t);
  return `http://${t.address}`;
}

/** `n` requests at once to the backend's /slow (each held `ms`), through the tunnel: their statuses. */
async function burst(origin: string, n: number, ms: number): Promise<number[]> {
  // One connection per request to the tunnel, as many workers (or one worker's many streams) would have.
  const client = new Pool(origin, { connections: n });
  try {
    return await Promise.all(
      Array.from({ length: n }, async () => {
        const r = await client.request({
          path: `/slow?ms=${ms}`,
          method: 'GET',
          headers: { host: 'app.test', 'portico-endpoint': `${backend.address}:${backend.port}` },
        });
        await r.body.text();
        return r.statusCode;
      }),
    );
  } finally {
    await client.close();
  }
}

describe('the tunnel bounds its connections per endpoint', () => {
  it('without a bound (the in-process default): six requests at once open six upstream connections', async () => {
    const before = backend.connections;
    const statuses = await burst(await tunnelWith(), 6, 300);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(backend.connections - before).toBe(6);
  });

  it('a bound of 2: never more than two connections; the rest wait their turn and are served', async () => {
    const before = backend.connections;
    const statuses = await burst(await tunnelWith({ maxConnections: 2, queueTimeoutMs: 5_000 }), 6, 200);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(backend.connections - before).toBeLessThanOrEqual(2);
  });

  it('past the queue timeout: 503, and the backend never gets those requests', async () => {
    const connections = backend.connections;
    const requests = backend.requests;
    const statuses = await burst(await tunnelWith({ maxConnections: 1, queueTimeoutMs: 200 }), 4, 1_000);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 503)).toHaveLength(3);
    // Every queued request's turn came after its 503: it was dropped before a byte was written.
    await new Promise((r) => setTimeout(r, 500));
    expect(backend.requests - requests).toBe(1);
    expect(backend.connections - connections).toBe(1);
  });
});
