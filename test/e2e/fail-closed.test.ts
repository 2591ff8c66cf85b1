// Fail closed, end to end: Ingresses guarded by access-control annotations Portico does not enforce are
// answered 503 by the real Node gateway and nothing reaches their real backend (no TCP connection, no
// request, no upgrade), while unguarded routes on the same host keep serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBackend, type Backend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let guardedBackend: Backend;
let openBackend: Backend;
let gw: TestGateway;

beforeAll(async () => {
  guardedBackend = await startBackend('guarded', '127.0.0.41');
  openBackend = await startBackend('open', '127.0.0.42');
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('guarded', [{ address: guardedBackend.address, port: guardedBackend.port }]),
      service('open', [{ address: openBackend.address, port: openBackend.port }]),
      ingress('private', {
        host: 'app.test',
        paths: [{ path: '/private', service: 'guarded' }],
        annotations: { [`${N}auth-type`]: 'digest', [`${N}auth-secret`]: 'htpasswd', [`${N}auth-realm`]: 'private' },
      }),
      ingress('public', { host: 'app.test', paths: [{ path: '/', service: 'open' }] }),
      ingress('limits', {
        host: 'limits.test',
        paths: [{ path: '/', service: 'guarded' }],
        annotations: { 'portico.dev/global-rate-limit': '100' },
      }),
      // Client certificates guard the whole host: the other Ingress's path on mtls.test closes too.
      ingress('mtls', {
        host: 'mtls.test',
        paths: [{ path: '/secure', service: 'guarded' }],
        annotations: { [`${N}auth-tls-secret`]: 'default/ca' },
      }),
      ingress('mtls-other', { host: 'mtls.test', paths: [{ path: '/', service: 'open' }], created: '2026-01-02T00:00:00Z' }),
      // Its spec.defaultBackend is the host's fallback and the table's default backend: both close.
      ingress('fallback', {
        host: 'fb.test',
        paths: [{ path: '/app', service: 'open' }],
        defaultBackend: 'guarded',
        annotations: { [`${N}auth-type`]: 'digest' },
      }),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await guardedBackend?.close();
  await openBackend?.close();
});

describe('routes guarded by annotations Portico does not enforce', () => {
  const cases: { name: string; host: string; path: string; method?: string; body?: string }[] = [
    { name: 'auth-type digest', host: 'app.test', path: '/private' },
    { name: 'auth-type digest, a deeper path', host: 'app.test', path: '/private/admin?x=1' },
    { name: 'auth-type digest, a POST with a body', host: 'app.test', path: '/private', method: 'POST', body: 'secret=1' },
    { name: 'auth-type digest, a dot-segment path that normalises into the guarded prefix', host: 'app.test', path: '/public/../private' },
    { name: 'portico.dev/global-rate-limit, the wrong prefix (even for a client far below the limit)', host: 'limits.test', path: '/' },
    { name: 'auth-tls-secret, its own path', host: 'mtls.test', path: '/secure' },
    { name: "auth-tls-secret, another Ingress's path on the same host", host: 'mtls.test', path: '/' },
    { name: 'auth-type digest, its own route', host: 'fb.test', path: '/app' },
    { name: "auth-type digest, the host's fallback (spec.defaultBackend)", host: 'fb.test', path: '/elsewhere' },
    { name: 'auth-type digest, the default backend for unknown hosts', host: 'unknown.test', path: '/' },
  ];
  for (const c of cases) {
    it(`${c.name}: 503, and the backend sees nothing`, async () => {
      // Requests as well as connections: a request leaked over a kept-alive upstream connection adds no connection.
      const seen = () => ({
        guarded: [guardedBackend.connections, guardedBackend.requests],
        open: [openBackend.connections, openBackend.requests],
      });
      const before = seen();
      const r = await request(`${gw.httpUrl}${c.path}`, {
        host: c.host,
        method: c.method ?? 'GET',
        ...(c.body === undefined ? {} : { body: c.body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      });
      expect(r.status).toBe(503);
      expect(r.body).toBe('503 Service Unavailable\n');
      expect(seen()).toEqual(before);
    });
  }

  it('a WebSocket upgrade to a guarded route is refused with 503 and never reaches the backend', async () => {
    const before = [guardedBackend.connections, guardedBackend.requests];
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/private/chat`, { headers: { host: 'app.test' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', reject);
    });
    expect(status).toBe(503);
    expect([guardedBackend.connections, guardedBackend.requests]).toEqual(before);
  });

  it('unguarded routes on the same hosts keep serving', async () => {
    expect((await request(`${gw.httpUrl}/`, { host: 'app.test' })).status).toBe(200);
    expect((await request(`${gw.httpUrl}/privately`, { host: 'app.test' })).status).toBe(200); // not under /private
  });

  it('counts the refusals under the route label with status 503', async () => {
    const before = gw.metrics.snapshot().requests['default/private app.test /private\u0000503'] ?? 0;
    await request(`${gw.httpUrl}/private`, { host: 'app.test' });
    expect(gw.metrics.snapshot().requests['default/private app.test /private\u0000503']).toBe(before + 1);
  });
});
