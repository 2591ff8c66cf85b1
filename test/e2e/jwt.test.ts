// JWT verification end to end: the real Node gateway fed by the real compiler, a real backend on loopback, tokens
// signed by keys jose makes in the test. Keys from a ConfigMap, and from a JWK Set served by a real HTTP server on
// loopback and fetched by the agent's fetcher (sync/kube/jwks-urls.ts): a rotation there is a new table, and a
// token of the old key is refused at once. Every refused request is checked never to reach the backend.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClusterObjects } from '../../sync/compile/types.ts';
import { JwksUrls } from '../../sync/kube/jwks-urls.ts';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { configMap } from '../support/builders.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const P = 'portico.dev/auth-jwt-';
const ISSUER = 'https://issuer.test/';

let backend: Backend;
let gw: TestGateway;
let jwksServer: Server;
let jwksUrl: string;
/** What the JWK Set server answers with (changed by the rotation test). */
let served: { status: number; body: string };

const rs = await generateKeyPair('RS256', { extractable: true });
const es = await generateKeyPair('ES256', { extractable: true });
const next = await generateKeyPair('RS256', { extractable: true });
const jwks = async (...keys: [CryptoKey, string][]) =>
  JSON.stringify({ keys: await Promise.all(keys.map(async ([k, kid]) => ({ ...(await exportJWK(k)), kid }))) });

async function token(key: CryptoKey, kid: string, alg = 'RS256', claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ sub: 'alice', email: 'alice@example.test', ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(ISSUER)
    .setAudience('api')
    .setExpirationTime('5m')
    .sign(key);
}

let fetcher: JwksUrls;
function cluster(): ClusterObjects {
  return {
    ...objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      configMap('keys', { 'jwks.json': KEYS }),
      ingress('cm', {
        host: 'cm',
        paths: [{ path: '/', service: 'app' }],
        annotations: {
          [`${P}jwks-configmap`]: 'keys',
          [`${P}issuer`]: ISSUER,
          [`${P}audiences`]: 'api',
          [`${P}realm`]: 'api',
          [`${P}claims-to-headers`]: 'sub:X-User,email:X-Email',
        },
      }),
      ingress('url', { host: 'url', paths: [{ path: '/', service: 'app' }], annotations: { [`${P}jwks-url`]: jwksUrl } }),
      ingress('missing', { host: 'missing', paths: [{ path: '/', service: 'app' }], annotations: { [`${P}jwks-configmap`]: 'nope' } }),
      ingress('open', { host: 'open', paths: [{ path: '/', service: 'app' }] }),
    ),
    jwks: fetcher.documents(),
  };
}
let KEYS: string;

beforeAll(async () => {
  KEYS = await jwks([rs.publicKey, 'rs'], [es.publicKey, 'es']);
  served = { status: 200, body: await jwks([rs.publicKey, 'rs']) };
  jwksServer = createServer((_req, res) => {
    res.writeHead(served.status, { 'content-type': 'application/jwk-set+json' });
    res.end(served.body);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.112', resolve));
  jwksUrl = `http://127.0.0.112:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  backend = await startBackend('app', '127.0.0.111');
  fetcher = new JwksUrls({ log: () => {} });
  await fetcher.refresh(new Set([jwksUrl]), true);
  gw = await startTestGateway(cluster());
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

const get = (host: string, headers: Record<string, string> = {}) => request(`${gw.httpUrl}/`, { host, headers });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('through the gateway', () => {
  it('a valid RS256 token reaches the backend with its claims in headers and Authorization forwarded', async () => {
    const t = await token(rs.privateKey, 'rs');
    const r = await get('cm', { ...bearer(t), 'x-user': 'forged' });
    expect(r.status).toBe(200);
    const echo = json<EchoReply>(r);
    expect(echo.headers['x-user']).toBe('alice');
    expect(echo.headers['x-email']).toBe('alice@example.test');
    expect(echo.headers.authorization).toBe(`Bearer ${t}`);
  });
  it('a valid ES256 token passes; a claim the token lacks leaves no client copy upstream', async () => {
    const t = await new SignJWT({ email: 'e@x' })
      .setProtectedHeader({ alg: 'ES256', kid: 'es' })
      .setIssuer(ISSUER)
      .setAudience('api')
      .setExpirationTime('5m')
      .sign(es.privateKey);
    const r = await get('cm', { ...bearer(t), 'x-user': 'forged' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-user']).toBeUndefined();
  });
  const refused: { name: string; host: string; headers: () => Promise<Record<string, string>>; status: number; challenge?: string }[] = [
    { name: 'no token', host: 'cm', headers: async () => ({}), status: 401, challenge: 'Bearer realm="api"' },
    {
      name: 'a token of another issuer',
      host: 'cm',
      headers: async () =>
        bearer(
          await new SignJWT({})
            .setProtectedHeader({ alg: 'RS256', kid: 'rs' })
            .setIssuer('x')
            .setAudience('api')
            .setExpirationTime('5m')
            .sign(rs.privateKey),
        ),
      status: 401,
      challenge: 'Bearer realm="api", error="invalid_token"',
    },
    {
      name: 'an expired token',
      host: 'cm',
      headers: async () =>
        bearer(
          await new SignJWT({})
            .setProtectedHeader({ alg: 'RS256', kid: 'rs' })
            .setIssuer(ISSUER)
            .setAudience('api')
            .setExpirationTime(1)
            .sign(rs.privateKey),
        ),
      status: 401,
      challenge: 'Bearer realm="api", error="invalid_token"',
    },
    {
      name: 'a missing ConfigMap: 503 even with a valid token',
      host: 'missing',
      headers: async () => bearer(await token(rs.privateKey, 'rs')),
      status: 503,
    },
  ];
  for (const c of refused) {
    it(`${c.name}: ${c.status}, nothing upstream`, async () => {
      const before = backend.requests;
      const r = await get(c.host, await c.headers());
      expect(r.status).toBe(c.status);
      expect(r.headers['www-authenticate']).toBe(c.challenge);
      expect(backend.requests).toBe(before);
    });
  }
  it('the missing ConfigMap is a JwksUnavailable Warning', () => {
    const d = gw.apply(cluster()).diagnostics.filter((x) => x.object.name === 'missing');
    expect(d.map((x) => x.code)).toEqual(['JwksUnavailable']);
  });
  it('a WebSocket upgrade without a token: 401, no connection upstream', async () => {
    const before = backend.connections;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/chat`, { headers: { host: 'cm' } });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });
    expect(status).toBe(401);
    expect(backend.connections).toBe(before);
  });
});

describe('a JWK Set URL on a real HTTP server', () => {
  it('rotation: new keys served → new table → the old token is refused, the new one passes', async () => {
    const old = await token(rs.privateKey, 'rs');
    expect((await get('url', bearer(old))).status).toBe(200);
    const before = gw.live.current?.matcher;
    served = { status: 200, body: await jwks([next.publicKey, 'next']) };
    expect(await fetcher.refresh(new Set([jwksUrl]), true)).toBe(true);
    gw.apply(cluster());
    expect(gw.live.current?.matcher).not.toBe(before);
    expect((await get('url', bearer(old))).status).toBe(401);
    expect((await get('url', bearer(await token(next.privateKey, 'next')))).status).toBe(200);
  });
  it('the server failing keeps the last good keys (no table change)', async () => {
    served = { status: 500, body: 'down' };
    expect(await fetcher.refresh(new Set([jwksUrl]), true)).toBe(false);
    gw.apply(cluster());
    expect((await get('url', bearer(await token(next.privateKey, 'next')))).status).toBe(200);
  });
});

describe('the fetcher (sync/kube/jwks-urls.ts) against a real server', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') res.end('x'.repeat(70 * 1024));
      else if (req.url === '/redirect') res.writeHead(302, { location: 'http://example.test/jwks' }).end();
      else if (req.url === '/slow') setTimeout(() => res.end('{}'), 2_000);
      else res.end('{"keys":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.112', resolve));
    base = `http://127.0.0.112:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const cases: [string, string, { body?: string; error?: string }][] = [
    ['a body over 64 KiB is refused', '/big', { error: 'the answer is larger than 65536 bytes' }],
    ['a redirect is not followed', '/redirect', { error: 'HTTP 302' }],
    ['a slow server times out', '/slow', { error: 'timed out' }],
    ['a good answer is kept as written', '/ok', { body: '{"keys":[]}' }],
  ];
  for (const [name, path, want] of cases) {
    it(name, async () => {
      const f = new JwksUrls({ log: () => {}, timeoutMs: 300 });
      await f.refresh(new Set([`${base}${path}`]), true);
      expect(f.documents()).toEqual([{ url: `${base}${path}`, ...want }]);
    });
  }
  it('a URL no Ingress names any more is forgotten', async () => {
    const f = new JwksUrls({ log: () => {} });
    await f.refresh(new Set([`${base}/ok`]), true);
    expect(await f.refresh(new Set(), false)).toBe(true);
    expect(f.documents()).toEqual([]);
  });
});
