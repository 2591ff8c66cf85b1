// custom-headers end to end: the real Node gateway and a real backend on loopback, compiled with the agent's
// --global-allowed-response-headers. Cases mirror ingress-nginx's test/e2e/annotations/customheaders.go (named in
// each case; its ConfigMap and its allowed list) and what headers-more's more_set_headers does in the location:
// the headers on every status, replacing the upstream's of the same name, on the gateway's own answers too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompileOptions } from '../../sync/compile/types.ts';
import { configMap } from '../support/builders.ts';
import { type Backend, startBackend } from '../support/backends.ts';
import { type Reply, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type AnyObject, ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const KEY = `${N}custom-headers`;
/** customheaders.go: UpdateNginxConfigMapData("global-allowed-response-headers", "My-Custom-Header,My-Custom-Header-Dollar"). */
const ALLOWED: Partial<CompileOptions> = { allowedResponseHeaders: ['My-Custom-Header', 'My-Custom-Header-Dollar'] };
let backend: Backend;
let gw: TestGateway;

const app = (host: string, annotations: Record<string, string> = {}): AnyObject =>
  ingress(host.replaceAll('.', '-'), { host, paths: [{ path: '/', service: 'app' }], annotations });
const world = (...more: AnyObject[]): AnyObject[] => [
  ourClass(),
  ...service('app', [{ address: backend.address, port: backend.port }]),
  // customheaders.go: f.CreateConfigMap("custom-headers", {"My-Custom-Header": "42", "My-Custom-Header-Dollar": "$remote_addr"})
  configMap('custom-headers', { 'My-Custom-Header': '42', 'My-Custom-Header-Dollar': '$remote_addr' }),
  configMap('not-allowed', { 'My-Custom-Header': '42', 'X-Powered-By': 'portico' }),
  app('plain.test'),
  app('custom-headers.test', { [KEY]: 'default/custom-headers' }),
  app('cors.test', { [KEY]: 'custom-headers', [`${N}enable-cors`]: 'true' }),
  app('missing.test', { [KEY]: 'default/no-such-configmap' }),
  app('not-allowed.test', { [KEY]: 'not-allowed' }),
  ...more,
];

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.121');
  gw = await startTestGateway(objects());
  const r = gw.apply(objects(...world()), ALLOWED);
  expect(r.diagnostics.map((d) => d.object.name).sort()).toEqual(['missing-test', 'not-allowed-test']);
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

const send = (host: string, o: { method?: string; path?: string; headers?: Record<string, string> } = {}): Promise<Reply> =>
  request(`${gw.httpUrl}${o.path ?? '/'}`, { host, method: o.method ?? 'GET', headers: o.headers ?? {} });

describe('customheaders.go', () => {
  it('"should return status code 200 when no custom-headers is configured"', async () => {
    const r = await send('plain.test');
    expect(r.status).toBe(200);
    expect(r.headers['my-custom-header']).toBeUndefined();
  });

  it('"should return status code 503 when custom-headers is configured with an invalid secret" (no such ConfigMap): the backend is not asked', async () => {
    const before = backend.requests;
    expect((await send('missing.test')).status).toBe(503);
    expect(backend.requests).toBe(before);
  });

  it('"should set more_set_headers My-Custom-Header 42 when custom-headers are set": the value, and $remote_addr as literal text', async () => {
    const r = await send('custom-headers.test');
    expect(r.status).toBe(200);
    expect(r.headers['my-custom-header']).toBe('42');
    expect(r.headers['my-custom-header-dollar']).toBe('$remote_addr');
  });

  it('"... when custom-headers annotation is added": none before, both after the Ingress changes', async () => {
    gw.apply(objects(...world(app('added.test'))), ALLOWED);
    expect((await send('added.test')).headers['my-custom-header']).toBeUndefined();
    gw.apply(objects(...world(app('added.test', { [KEY]: 'custom-headers' }))), ALLOWED);
    const r = await send('added.test');
    expect(r.status).toBe(200);
    expect(r.headers['my-custom-header']).toBe('42');
    gw.apply(objects(...world()), ALLOWED);
  });
});

describe('global-allowed-response-headers (--global-allowed-response-headers)', () => {
  it('a ConfigMap that sets a header the list does not name: 503, the backend is not asked', async () => {
    const before = backend.requests;
    expect((await send('not-allowed.test')).status).toBe(503);
    expect(backend.requests).toBe(before);
  });

  it('the default (empty) allows none: the route answers 503 with the same ConfigMap that works above', async () => {
    try {
      const r = gw.apply(objects(...world()));
      expect(r.diagnostics.find((d) => d.object.name === 'custom-headers-test')?.message).toMatch(/--global-allowed-response-headers/);
      expect((await send('custom-headers.test')).status).toBe(503);
    } finally {
      gw.apply(objects(...world()), ALLOWED);
    }
  });
});

describe('more_set_headers: every status, replacing the upstream header', () => {
  it("the backend's own My-Custom-Header is replaced: one value, the ConfigMap's", async () => {
    const r = await send('custom-headers.test', { path: '/?set-header=My-Custom-Header:from-upstream' });
    expect(r.status).toBe(200);
    expect(r.headers['my-custom-header']).toBe('42');
  });

  it("the backend's other headers stay", async () => {
    const r = await send('custom-headers.test', { path: '/?set-header=X-Upstream:kept' });
    expect(r.headers['x-upstream']).toBe('kept');
    expect(r.headers['my-custom-header']).toBe('42');
  });

  for (const status of [404, 500, 503]) {
    it(`an upstream ${status} carries the headers (no -s: all statuses)`, async () => {
      const r = await send('custom-headers.test', { path: `/status/${status}` });
      expect(r.status).toBe(status);
      expect(r.headers['my-custom-header']).toBe('42');
    });
  }

  it("the gateway's own answer on the route carries them: the CORS preflight's 204", async () => {
    const before = backend.requests;
    const r = await send('cors.test', { method: 'OPTIONS', headers: { origin: 'https://app.example' } });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['my-custom-header']).toBe('42');
    expect(backend.requests).toBe(before);
  });
});
