// Source ranges end to end: clients on different loopback addresses (real TCP connections from 127.0.0.x)
// through the real Node gateway to a real backend. A refused client gets 403 and the backend sees nothing,
// over HTTP and for WebSocket upgrades alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBackend, type Backend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let backend: Backend;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('ranged', '127.0.0.51');
  const ep = [{ address: backend.address, port: backend.port }];
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('web', ep),
      // Only 127.0.0.0/30 (127.0.0.0-3) may pass, but 127.0.0.2 is denied first.
      ingress('allow', {
        host: 'allow.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}allowlist-source-range`]: '127.0.0.0/30', [`${N}denylist-source-range`]: '127.0.0.2' },
      }),
      ingress('legacy', {
        host: 'legacy.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}whitelist-source-range`]: '127.0.0.5, 10.0.0.0/8' },
      }),
      ingress('deny', {
        host: 'deny.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}denylist-source-range`]: '127.0.0.6/32' },
      }),
      ingress('v6only', {
        host: 'v6.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}allowlist-source-range`]: '::1/128' },
      }),
      // A guarded path beside a public one on the same host.
      ingress('admin', {
        host: 'mixed.test',
        paths: [{ path: '/admin', service: 'web' }],
        annotations: { [`${N}allowlist-source-range`]: '10.0.0.0/8' },
      }),
      ingress('public', { host: 'mixed.test', paths: [{ path: '/', service: 'web' }] }),
      ingress('broken', {
        host: 'broken.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}allowlist-source-range`]: '127.0.0.1/40' },
      }),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

describe('source ranges decide who reaches the backend', () => {
  const cases: { name: string; host: string; from: string; status: number }[] = [
    { name: 'inside the allow list', host: 'allow.test', from: '127.0.0.1', status: 200 },
    { name: 'inside the allow list, another address', host: 'allow.test', from: '127.0.0.3', status: 200 },
    { name: 'inside the allow list but denied first', host: 'allow.test', from: '127.0.0.2', status: 403 },
    { name: 'outside the allow list', host: 'allow.test', from: '127.0.0.4', status: 403 },
    { name: 'whitelist-source-range, a bare address that is listed', host: 'legacy.test', from: '127.0.0.5', status: 200 },
    { name: 'whitelist-source-range, an address that is not', host: 'legacy.test', from: '127.0.0.1', status: 403 },
    { name: 'a deny list alone lets everyone else through', host: 'deny.test', from: '127.0.0.1', status: 200 },
    { name: 'a deny list alone refuses its addresses', host: 'deny.test', from: '127.0.0.6', status: 403 },
    { name: 'an IPv4 client never matches an IPv6 range', host: 'v6.test', from: '127.0.0.1', status: 403 },
    { name: 'a range that does not parse fails closed for everyone', host: 'broken.test', from: '127.0.0.1', status: 503 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.from} → ${c.host} = ${c.status}`, async () => {
      const before = backend.requests;
      const r = await request(`${gw.httpUrl}/x`, { host: c.host, localAddress: c.from });
      expect(r.status).toBe(c.status);
      expect(backend.requests - before).toBe(c.status === 200 ? 1 : 0);
      if (c.status === 403) expect(r.body).toBe('403 Forbidden\n');
    });
  }

  // nginx chooses a location after decoding the URI and merging slashes: none of these may reach the guarded
  // /admin backend through the public / rule. Paths that upstreams may read as another rule's are refused before
  // routing (400; README, Proxy behaviour).
  for (const [path, status] of [
    ['/admin', 403],
    ['//admin', 403],
    ['/%2Fadmin', 400],
    ['/%2fadmin/x', 400],
    ['/x/..%2Fadmin', 400], // routed by /admin; a backend that splits before decoding reads it under /x
    ['/admin//users', 403],
    ['///admin', 403],
  ] as const) {
    it(`the path ${path} does not reach the guarded /admin backend (${status})`, async () => {
      const before = backend.requests;
      const r = await request(`${gw.httpUrl}${path}`, { host: 'mixed.test', localAddress: '127.0.0.1' });
      expect(r.status).toBe(status);
      expect(backend.requests).toBe(before);
    });
  }
  it('a path that only starts with the same letters is the public rule (200)', async () => {
    expect((await request(`${gw.httpUrl}/administrator`, { host: 'mixed.test', localAddress: '127.0.0.1' })).status).toBe(200);
  });

  it('a client spoofing X-Forwarded-For is judged by its TCP address (no trusted proxy is configured)', async () => {
    const r = await request(`${gw.httpUrl}/x`, {
      host: 'allow.test',
      localAddress: '127.0.0.4',
      headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' },
    });
    expect(r.status).toBe(403);
  });

  it('a WebSocket upgrade from a refused address gets 403 and never reaches the backend', async () => {
    const before = backend.connections;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/chat`, { headers: { host: 'allow.test' }, localAddress: '127.0.0.4' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', reject);
    });
    expect(status).toBe(403);
    expect(backend.connections).toBe(before);
  });
});
