// External authentication end to end: the real Node gateway, a real auth service on loopback (see
// test/support/auth-server.ts) and a real backend. Cases mirror ingress-nginx's test/e2e/annotations/auth.go
// (named in each case) and what nginx's auth_request sends and accepts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { configMap } from '../support/builders.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
let backend: Backend;
let auth: AuthServer;
/** A second auth service for the cache cases, which break it. */
let cachedAuth: AuthServer;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.61');
  auth = await startAuthServer('127.0.0.62');
  cachedAuth = await startAuthServer('127.0.0.63');
  const app = (name: string, host: string, annotations: Record<string, string>, path = '/') =>
    ingress(name, { host, paths: [{ path, service: 'app' }], annotations });
  const basicAuth = `${auth.url}/basic-auth/user/password`;
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      app('signin', 'auth', { [`${N}auth-url`]: basicAuth, [`${N}auth-signin`]: 'http://$host/auth/start' }),
      app('orig', 'orig', {
        [`${N}auth-url`]: basicAuth,
        [`${N}auth-signin`]: 'http://$host/auth/start',
        [`${N}auth-signin-redirect-param`]: 'orig',
      }),
      app('plain', 'plain', { [`${N}auth-url`]: basicAuth }),
      app('forbidden', 'forbidden', { [`${N}auth-url`]: `${auth.url}/status/403` }),
      app('broken', 'broken', { [`${N}auth-url`]: `${auth.url}/status/500` }),
      app('down', 'down', { [`${N}auth-url`]: 'http://127.0.0.1:1/auth' }),
      app('foo', 'headers', { [`${N}auth-url`]: basicAuth, [`${N}auth-response-headers`]: 'Foo' }),
      app('oauth', 'oauth', {
        [`${N}auth-url`]: `${auth.url}/oauth2/auth`,
        [`${N}auth-response-headers`]: 'X-Auth-Request-User, X-Auth-Request-Email',
      }),
      app('cookie', 'cookie', { [`${N}auth-url`]: `${auth.url}/cookies/set/alma/armud` }),
      app('cookie-always', 'cookie-always', {
        [`${N}auth-url`]: `${auth.url}/cookies/set/alma/armud`,
        [`${N}auth-always-set-cookie`]: 'true',
      }),
      app('method', 'method', {
        [`${N}auth-url`]: `${auth.url}/cookies/set/m/1?from=$host`,
        [`${N}auth-method`]: 'POST',
        [`${N}auth-request-redirect`]: 'https://$host/back',
      }),
      app('invalid', 'invalid', { [`${N}auth-url`]: 'https://invalid..auth.url' }, '/denied-auth'),
      // auth-proxy-set-headers (auth.go: `should set "proxy_set_header 'My-Custom-Header' '42';"`).
      configMap('auth-headers', {
        'My-Custom-Header': '42',
        'X-Forwarded-Host': '$http_host',
        'X-Auth-Original': '$request_method $request_uri',
        Accept: 'application/json',
        'X-Tenant': '$http_x_tenant',
      }),
      configMap('auth-headers', { 'My-Custom-Header': '42' }, 'other'),
      app('set-headers', 'set-headers', {
        [`${N}auth-url`]: basicAuth,
        [`${N}auth-proxy-set-headers`]: 'default/auth-headers',
      }),
      app('set-headers-missing', 'set-headers-missing', {
        [`${N}auth-url`]: basicAuth,
        [`${N}auth-proxy-set-headers`]: 'default/no-such-headers',
      }),
      app('set-headers-other', 'set-headers-other', {
        [`${N}auth-url`]: basicAuth,
        [`${N}auth-proxy-set-headers`]: 'other/auth-headers',
      }),
      ...['foo', 'bar'].flatMap((p) =>
        ['cached', 'cached-other'].map((host) =>
          app(
            `${p}-${host}`,
            host,
            {
              [`${N}auth-url`]: `${cachedAuth.url}/basic-auth/user/password`,
              [`${N}auth-cache-key`]: 'fixed',
              [`${N}auth-cache-duration`]: '200 201 401 30m',
            },
            `/${p}`,
          ),
        ),
      ),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
  await auth?.close();
  await cachedAuth?.close();
});

const get = (host: string, path = '/', headers: Record<string, string> = {}) => request(`${gw.httpUrl}${path}`, { host, headers });

describe('what the auth service answers decides (auth.go "when external authentication is configured")', () => {
  it('signed in: 200 from the backend', async () => {
    const r = await get('auth', '/', { authorization: basic('user', 'password') });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).backend).toBe('app');
  });

  it('not signed in: 302 to the sign-in URL with the original URL in rd', async () => {
    const before = backend.requests;
    const r = await get('auth', '/?a=b&c=d');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`http://auth/auth/start?rd=http://auth${encodeURIComponent('/?a=b&c=d')}`);
    expect(backend.requests).toBe(before);
  });

  it('a custom redirect parameter (auth-signin-redirect-param: orig)', async () => {
    const r = await get('orig', '/?a=b&c=d');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`http://orig/auth/start?orig=http://orig${encodeURIComponent('/?a=b&c=d')}`);
  });

  it('no sign-in URL: the 401 reaches the client with the service WWW-Authenticate', async () => {
    const r = await get('plain', '/', { authorization: basic('user', 'wrong') });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="Fake Realm"');
    expect(r.body).toBe('401 Authorization Required\n');
  });

  it('403 from the service: 403, nothing upstream', async () => {
    const before = backend.requests;
    expect((await get('forbidden')).status).toBe(403);
    expect(backend.requests).toBe(before);
  });

  for (const [name, host] of [
    ['a 500 from the service', 'broken'],
    ['a service that refuses connections', 'down'],
  ] as const) {
    it(`${name}: 500, never the backend`, async () => {
      const before = backend.requests;
      const r = await get(host, '/', { authorization: basic('user', 'password') });
      expect(r.status).toBe(500);
      expect(backend.requests).toBe(before);
    });
  }

  it('an auth-url that does not parse denies the whole location: 503 (auth.go "with invalid auth-url")', async () => {
    expect((await get('invalid', '/denied-auth')).status).toBe(503);
  });

  it('a POST body goes to the backend, never to the auth service', async () => {
    const hits = auth.hits.length;
    const r = await request(`${gw.httpUrl}/upload`, {
      host: 'auth',
      method: 'POST',
      body: 'x'.repeat(5000),
      headers: { authorization: basic('user', 'password') },
    });
    expect(r.status).toBe(200);
    expect(auth.hits[hits]!.bodyBytes).toBe(0);
    // No body: at most the `content-length: 0` an HTTP client writes for a bodiless POST (RFC 9110 §8.6).
    expect([undefined, '0']).toContain(auth.hits[hits]!.headers['content-length']);
    expect(auth.hits[hits]!.method).toBe('POST'); // the client's method, as nginx's auth_request subrequest
  });
});

describe('what the auth service receives (the external auth location of ingress-nginx)', () => {
  it('the client headers and nginx-ingress-controller headers', async () => {
    const hits = auth.hits.length;
    const r = await get('auth', '/page?x=1', { authorization: basic('user', 'password'), cookie: 'a=1', 'x-forwarded-for': '6.6.6.6' });
    const upstreamId = json<EchoReply>(r).headers['x-request-id'];
    const h = auth.hits[hits]!.headers;
    expect(h['x-original-url']).toBe('http://auth/page?x=1');
    expect(h['x-original-method']).toBe('GET');
    expect(h['x-sent-from']).toBe('nginx-ingress-controller');
    expect(h['x-real-ip']).toBe('127.0.0.1');
    expect(h['x-forwarded-for']).toBe('127.0.0.1'); // the client's claim is not passed on
    expect(h['x-auth-request-redirect']).toBe('/page?x=1');
    expect(h['x-request-id']).toBe(upstreamId); // one id for the subrequest and the upstream request
    expect(h.authorization).toBe(basic('user', 'password'));
    expect(h.cookie).toBe('a=1');
    expect(h.host).toBe(new URL(auth.url).host);
    expect(h['x-forwarded-proto']).toBeUndefined();
  });

  it('auth-method, auth-request-redirect and variables in the auth-url query', async () => {
    const hits = auth.hits.length;
    expect((await get('method', '/p?q=1')).status).toBe(200);
    const hit = auth.hits[hits]!;
    expect(hit.method).toBe('POST');
    expect(hit.url).toBe('/cookies/set/m/1?from=method');
    expect(hit.headers['x-original-uri']).toBe('/p?q=1');
    expect(hit.headers['x-scheme']).toBe('http');
    expect(hit.headers['x-auth-request-redirect']).toBe('https://method/back');
  });
});

describe('what the backend and the client get from the answer', () => {
  it('auth-response-headers replace the client header, even when the service sends none (auth.go "should overwrite Foo header")', async () => {
    const r = await get('headers', '/', { authorization: basic('user', 'password'), foo: 'bar' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers.foo).toBeUndefined();
  });

  it('auth-response-headers copy the service identity headers (oauth2-proxy)', async () => {
    const r = await get('oauth', '/', { cookie: 'session=alice', 'x-auth-request-user': 'mallory' });
    expect(r.status).toBe(200);
    const e = json<EchoReply>(r);
    expect(e.headers['x-auth-request-user']).toBe('alice');
    expect(e.headers['x-auth-request-email']).toBe('alice@example.com');
    expect((await get('oauth')).status).toBe(401);
  });

  it('the service cookie reaches the client (auth.go "user retains cookie by default")', async () => {
    const r = await get('cookie', '/?a=b');
    expect(r.status).toBe(200);
    // the backend's own cookies (the echo backend sets a=1 and b=2) and the auth service's
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2', 'alma=armud']);
  });

  it('but not on an upstream error (auth.go "does not retain cookie if upstream returns error status code")', async () => {
    const r = await get('cookie', '/status/503');
    expect(r.status).toBe(503);
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('unless auth-always-set-cookie (auth.go "annotated ingress retains cookie")', async () => {
    const r = await get('cookie-always', '/status/503');
    expect(r.status).toBe(503);
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2', 'alma=armud']);
  });
});

describe('caching (auth.go "when external authentication with caching is configured")', () => {
  it('a cached 200 lets the same route through after the service breaks; another route or host is not cached', async () => {
    const creds = { authorization: basic('user', 'password') };
    expect((await get('cached', '/foo', creds)).status).toBe(200);
    const hits = cachedAuth.hits.length;
    cachedAuth.break();
    try {
      expect((await get('cached', '/foo', creds)).status).toBe(200);
      expect(cachedAuth.hits.length).toBe(hits); // answered from the cache
      expect((await get('cached', '/bar', creds)).status).toBe(500); // another location on the same server
      expect((await get('cached-other', '/foo', creds)).status).toBe(500); // another server
    } finally {
      cachedAuth.heal();
    }
  });
});

describe('WebSocket upgrades ask the auth service too', () => {
  const open = (host: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.http!.port}/chat`, { headers: { host, ...headers } });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });

  it('allowed: the upgrade goes through', async () => expect(await open('plain', { authorization: basic('user', 'password') })).toBe(101));
  it('refused: 401, nothing upstream', async () => {
    const before = backend.connections;
    expect(await open('plain')).toBe(401);
    expect(backend.connections).toBe(before);
  });
});

describe('auth-proxy-set-headers: the ConfigMap entries on the subrequest (auth.go "when auth-headers are set")', () => {
  const lastHit = (path: string) => auth.hits.filter((h) => h.url === path).at(-1)!;

  it('the auth service receives each entry, variables expanded for the request', async () => {
    const r = await get('set-headers', '/some/path?x=1', {
      authorization: basic('user', 'password'),
      accept: 'text/html',
      'my-custom-header': 'from-the-client',
    });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).backend).toBe('app');
    const h = lastHit('/basic-auth/user/password').headers;
    expect(h['my-custom-header']).toBe('42');
    expect(h['x-forwarded-host']).toBe('set-headers');
    expect(h['x-auth-original']).toBe('GET /some/path?x=1');
    expect(h.accept).toBe('application/json');
    // A variable that expands to nothing sends no header (nginx passes no header with an empty value).
    expect(h['x-tenant']).toBeUndefined();
    // The rest of the subrequest is as without the annotation.
    expect(h['x-original-url']).toBe('http://set-headers/some/path?x=1');
  });

  it("$http_x_tenant carries the client's X-Tenant: sent once, not twice", async () => {
    await get('set-headers', '/', { authorization: basic('user', 'password'), 'x-tenant': 'acme' });
    const h = lastHit('/basic-auth/user/password').headers;
    expect(h['x-tenant']).toBe('acme');
    expect(h['my-custom-header']).toBe('42');
  });

  it('the upstream request does not get the auth-only headers', async () => {
    const r = await get('set-headers', '/', { authorization: basic('user', 'password') });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['my-custom-header']).toBeUndefined();
  });

  it('a missing ConfigMap, or one of another namespace: 503, and the auth service is never asked', async () => {
    const before = auth.hits.length;
    for (const host of ['set-headers-missing', 'set-headers-other']) {
      const r = await get(host, '/', { authorization: basic('user', 'password') });
      expect(r.status, host).toBe(503);
    }
    expect(auth.hits.length).toBe(before);
  });
});
