// CORS end to end: the real Node gateway, a real backend and a real auth service on loopback. Cases mirror
// ingress-nginx's test/e2e/annotations/cors.go (named in each case; its values), auth.go's "should return status
// code 401 and cors headers when authentication and cors is configured", and what the nginx template's CORS
// section puts on the wire: the preflight answered 204 at the edge, the headers on every other response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, type Reply, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const DEFAULT_HEADERS = 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization';
let backend: Backend;
let auth: AuthServer;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.81');
  auth = await startAuthServer('127.0.0.82');
  const app = (host: string, annotations: Record<string, string>) =>
    ingress(host.replaceAll('.', '-'), { host, paths: [{ path: '/', service: 'app' }], annotations });
  const cors = (host: string, more: Record<string, string> = {}) => app(host, { [`${N}enable-cors`]: 'true', ...more });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      cors('any.test'),
      cors('list.test', { [`${N}cors-allow-origin`]: 'https://origin.cors.com:8080, https://origin2.cors.com' }),
      cors('wild.test', { [`${N}cors-allow-origin`]: 'http://*.origin.cors.com, http://*.origin.com:8080' }),
      cors('tuned.test', {
        [`${N}cors-allow-origin`]: 'https://app.example',
        [`${N}cors-allow-methods`]: 'POST, GET',
        [`${N}cors-allow-headers`]: 'DNT, User-Agent',
        [`${N}cors-expose-headers`]: 'X-CustomResponseHeader, X-CustomSecondHeader',
        [`${N}cors-allow-credentials`]: 'false',
        [`${N}cors-max-age`]: '200',
      }),
      cors('bad.test', { [`${N}cors-allow-origin`]: 'origin.cors.com:8080, https://origin2.cors.com, https://origin.com' }),
      cors('authed.test', { [`${N}auth-url`]: `${auth.url}/basic-auth/user/password` }),
      cors('authed-list.test', {
        [`${N}auth-url`]: `${auth.url}/basic-auth/user/password`,
        [`${N}cors-allow-origin`]: 'https://app.example',
      }),
      app('off.test', { [`${N}cors-allow-origin`]: 'https://app.example' }),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
  await auth?.close();
});

const send = (host: string, o: { method?: string; path?: string; headers?: Record<string, string> } = {}): Promise<Reply> =>
  request(`${gw.httpUrl}${o.path ?? '/'}`, { host, method: o.method ?? 'GET', headers: o.headers ?? {} });
const corsHeaders = (r: Reply): Record<string, string | string[] | undefined> =>
  Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('access-control-')));
const basic = `Basic ${Buffer.from('user:password').toString('base64')}`;

describe('the preflight is answered at the edge (the template: OPTIONS with $cors "true" → return 204)', () => {
  it('`*` (the default): 204 with every default header, no body, the backend sees nothing (cors.go "should enable cors")', async () => {
    const before = backend.requests;
    const r = await send('any.test', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    expect(r.status).toBe(204);
    expect(corsHeaders(r)).toEqual({
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
      'access-control-allow-headers': DEFAULT_HEADERS,
      'access-control-max-age': '1728000',
    });
    // nginx's header filter drops Content-Type and Content-Length from a 204 (the template sets both).
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers.server).toBe('portico');
    expect(r.body).toBe('');
    expect(backend.requests).toBe(before);
  });

  it('`*`: even an OPTIONS request without Origin (the template sets $cors "true" for every request)', async () => {
    const before = backend.requests;
    expect((await send('any.test', { method: 'OPTIONS' })).status).toBe(204);
    expect(backend.requests).toBe(before);
  });

  it('an origin list: an allowed Origin gets 204 with its own Origin echoed and Vary: Origin', async () => {
    const before = backend.requests;
    const r = await send('list.test', { method: 'OPTIONS', headers: { origin: 'https://origin2.cors.com' } });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://origin2.cors.com');
    expect(r.headers.vary).toBe('Origin');
    expect(backend.requests).toBe(before);
  });

  it('an origin list: OPTIONS from another origin goes to the backend, with no CORS headers', async () => {
    const r = await send('list.test', { method: 'OPTIONS', headers: { origin: 'http://no.origin.com' } });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).method).toBe('OPTIONS');
    expect(corsHeaders(r)).toEqual({});
  });
});

describe('the headers on responses from the backend (cors.go)', () => {
  it('should not break functionality - without `*`: a GET without Origin gets Access-Control-Allow-Origin *', async () => {
    const r = await send('any.test');
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).backend).toBe('app');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers.vary).toBeUndefined();
  });

  it('should allow - single origin for multiple cors values: the Origin is echoed', async () => {
    const r = await send('list.test', { headers: { origin: 'https://origin.cors.com:8080' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://origin.cors.com:8080');
    expect(r.headers.vary).toBe('Origin');
  });

  it('should not allow - single origin for multiple cors values: a response, but no CORS headers', async () => {
    const r = await send('list.test', { headers: { origin: 'http://no.origin.com' } });
    expect(r.status).toBe(200);
    expect(corsHeaders(r)).toEqual({});
  });

  it('should allow - single origin with required port / should not allow - single origin without port and origin with required port', async () => {
    expect(
      (await send('list.test', { headers: { origin: 'https://origin.cors.com' } })).headers['access-control-allow-origin'],
    ).toBeUndefined();
  });

  it('should allow - matching origin with wildcard origin (2 subdomains)', async () => {
    for (const origin of ['http://foo.origin.cors.com', 'http://bar-foo.origin.cors.com'])
      expect((await send('wild.test', { headers: { origin } })).headers['access-control-allow-origin'], origin).toBe(origin);
  });

  it('should not allow - unmatching origin with wildcard origin (2 subdomains), and a portless origin with a wildcard that has a port', async () => {
    for (const origin of ['http://bar.foo.origin.cors.com', 'http://abc.origin.com'])
      expect((await send('wild.test', { headers: { origin } })).headers['access-control-allow-origin'], origin).toBeUndefined();
    expect((await send('wild.test', { headers: { origin: 'http://abc.origin.com:8080' } })).headers['access-control-allow-origin']).toBe(
      'http://abc.origin.com:8080',
    );
  });

  it('should set cors methods / max-age, should allow headers, should expose headers, should disable cors allow credentials', async () => {
    const r = await send('tuned.test', { headers: { origin: 'https://app.example' } });
    expect(corsHeaders(r)).toEqual({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'POST, GET',
      'access-control-allow-headers': 'DNT,User-Agent',
      'access-control-expose-headers': 'X-CustomResponseHeader, X-CustomSecondHeader',
      'access-control-max-age': '200',
    });
  });

  it("the backend's own Access-Control-* headers are replaced, as more_set_headers does; its Vary stays", async () => {
    const path = '/?set-header=Access-Control-Allow-Origin:*&set-header=Access-Control-Max-Age:5&set-header=Vary:Accept-Encoding';
    const r = await send('list.test', { path, headers: { origin: 'https://origin2.cors.com' } });
    expect(r.headers['access-control-allow-origin']).toBe('https://origin2.cors.com');
    expect(r.headers['access-control-max-age']).toBe('1728000');
    expect(r.headers.vary).toBe('Accept-Encoding, Origin');
  });

  it('headers the policy does not set are left to the backend (credentials off: its Allow-Credentials stays)', async () => {
    const r = await send('tuned.test', {
      path: '/?set-header=Access-Control-Allow-Credentials:true',
      headers: { origin: 'https://app.example' },
    });
    expect(r.headers['access-control-allow-credentials']).toBe('true');
  });

  it('an error status from the backend carries them too (more_set_headers applies to every status)', async () => {
    const r = await send('any.test', { path: '/status/500' });
    expect(r.status).toBe(500);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('with external authentication (auth.go, the access phase after the rewrite phase)', () => {
  it('should return status code 401 and cors headers when authentication and cors is configured', async () => {
    const r = await send('authed.test');
    expect(r.status).toBe(401);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['www-authenticate']).toBe('Basic realm="Fake Realm"');
  });

  it('with an origin list the 401 echoes an allowed Origin', async () => {
    const r = await send('authed-list.test', { headers: { origin: 'https://app.example' } });
    expect(r.status).toBe(401);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('the preflight never asks the auth service (browsers send it without credentials)', async () => {
    const hits = auth.hits.length;
    const r = await send('authed.test', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(auth.hits.length).toBe(hits);
  });

  it('signed in: 200 from the backend with the CORS headers', async () => {
    const r = await send('authed.test', { headers: { authorization: basic, origin: 'https://app.example' } });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).backend).toBe('app');
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('what is not enforced', () => {
  it('should allow correct origins - single origin for multiple cors values: an origin that does not parse closes the route (503)', async () => {
    const before = backend.requests;
    for (const method of ['GET', 'OPTIONS'])
      expect((await send('bad.test', { method, headers: { origin: 'https://origin.com' } })).status).toBe(503);
    expect(backend.requests).toBe(before);
  });

  it('cors-allow-origin without enable-cors: no CORS at all, the preflight goes to the backend', async () => {
    const r = await send('off.test', { method: 'OPTIONS', headers: { origin: 'https://app.example' } });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).method).toBe('OPTIONS');
    expect(corsHeaders(r)).toEqual({});
  });
});
