// satisfy (ingress-nginx's satisfy annotation, nginx's satisfy directive) end to end: with `any`, one of source
// ranges, basic authentication and external authentication granting a request is enough; with `all` (the
// default) every present one must. Cases mirror ingress-nginx's test/e2e/annotations/satisfy.go (named) and
// nginx's core access phase (a 401 outranks a 403; auth-signin turns a final 401 into the sign-in redirect).
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthServer, startAuthServer } from '../support/auth-server.ts';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type AnyObject, ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const secret: AnyObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'default', name: 'basic-secret' },
  type: 'Opaque',
  data: { auth: Buffer.from(`uname:${bcrypt.hashSync('pwd', 4)}\n`).toString('base64') },
};
let backend: Backend;
let auth: AuthServer;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.81');
  auth = await startAuthServer('127.0.0.82');
  const app = (name: string, host: string, annotations: Record<string, string>) =>
    ingress(name, { host, paths: [{ path: '/', service: 'app' }], annotations });
  const basicAuth = { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'basic-secret', [`${N}auth-realm`]: 'test basic auth' };
  const externalAuth = { [`${N}auth-url`]: `${auth.url}/basic-auth/user/password`, [`${N}auth-signin`]: 'http://$host/auth/start' };
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      secret,
      app('alone-all', 'alone-all', { [`${N}satisfy`]: 'all' }),
      app('alone-any', 'alone-any', { [`${N}satisfy`]: 'any' }),
      app('both-any', 'auth', { ...basicAuth, ...externalAuth, [`${N}satisfy`]: 'any' }),
      app('both-all', 'both-all', { ...basicAuth, ...externalAuth }),
      app('ranges-any', 'ranges-any', { ...basicAuth, [`${N}allowlist-source-range`]: '127.0.0.1/32', [`${N}satisfy`]: 'any' }),
      app('ranges-all', 'ranges-all', { ...basicAuth, [`${N}allowlist-source-range`]: '127.0.0.1/32' }),
      app('ranges-any-external', 'ranges-any-external', {
        [`${N}auth-url`]: `${auth.url}/status/403`,
        [`${N}allowlist-source-range`]: '127.0.0.1/32',
        [`${N}satisfy`]: 'any',
      }),
      app('broken', 'broken', { ...basicAuth, [`${N}satisfy`]: 'some' }),
      app('ranges-any-headers', 'ranges-any-headers', {
        [`${N}auth-url`]: `${auth.url}/status/403`,
        [`${N}auth-response-headers`]: 'X-Auth-User',
        [`${N}allowlist-source-range`]: '127.0.0.1/32',
        [`${N}satisfy`]: 'any',
      }),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
  await auth?.close();
});

const get = (host: string, o: { from?: string; authorization?: string; path?: string } = {}) =>
  request(`${gw.httpUrl}${o.path ?? '/'}`, {
    host,
    ...(o.from ? { localAddress: o.from } : {}),
    headers: o.authorization ? { authorization: o.authorization } : {},
  });

describe('satisfy', () => {
  it('satisfy.go "should configure satisfy directive correctly": all or any alone changes nothing (200)', async () => {
    expect((await get('alone-all')).status).toBe(200);
    expect((await get('alone-any')).status).toBe(200);
  });

  it('satisfy.go "should allow multiple auth with satisfy any": basic credentials are enough', async () => {
    expect((await get('auth', { authorization: basic('uname', 'pwd') })).status).toBe(200);
  });

  it('satisfy.go: without credentials, the sign-in redirect', async () => {
    const r = await get('auth', { path: '/?a=b&c=d' });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`http://auth/auth/start?rd=http://auth${encodeURIComponent('/?a=b&c=d')}`);
  });

  it('any: the auth service alone is enough too (credentials it accepts, basic auth does not)', async () => {
    expect((await get('auth', { authorization: basic('user', 'password') })).status).toBe(200);
  });

  it('all (the default): basic credentials alone are not enough; a final 401 is the sign-in redirect', async () => {
    const before = backend.requests;
    const r = await get('both-all', { authorization: basic('uname', 'pwd') });
    expect(r.status).toBe(302);
    expect(backend.requests).toBe(before);
  });

  const ranges: { name: string; host: string; from: string; authorization?: string; status: number }[] = [
    { name: 'any: an allowed address needs no credentials', host: 'ranges-any', from: '127.0.0.1', status: 200 },
    {
      name: 'any: another address with credentials passes',
      host: 'ranges-any',
      from: '127.0.0.2',
      authorization: basic('uname', 'pwd'),
      status: 200,
    },
    {
      name: 'any: another address without credentials gets the 401 (it outranks the 403)',
      host: 'ranges-any',
      from: '127.0.0.2',
      status: 401,
    },
    { name: 'all: an allowed address still needs credentials', host: 'ranges-all', from: '127.0.0.1', status: 401 },
    {
      name: 'all: credentials do not open a refused address',
      host: 'ranges-all',
      from: '127.0.0.2',
      authorization: basic('uname', 'pwd'),
      status: 403,
    },
    { name: 'any: a refused address and an auth service that says 403: 403', host: 'ranges-any-external', from: '127.0.0.2', status: 403 },
    { name: 'any: an allowed address never asks the auth service', host: 'ranges-any-external', from: '127.0.0.1', status: 200 },
  ];
  for (const c of ranges) {
    it(`${c.name} (${c.status})`, async () => {
      const before = backend.requests;
      const r = await get(c.host, { from: c.from, ...(c.authorization ? { authorization: c.authorization } : {}) });
      expect(r.status).toBe(c.status);
      expect(backend.requests - before).toBe(c.status === 200 ? 1 : 0);
      if (c.status === 401) expect(r.headers['www-authenticate']).toBe('Basic realm="test basic auth"');
    });
  }

  it('any: a request the ranges granted still never carries the client copy of an auth-response-headers header', async () => {
    const r = await request(`${gw.httpUrl}/`, {
      host: 'ranges-any-headers',
      localAddress: '127.0.0.1',
      headers: { 'x-auth-user': 'admin' },
    });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-auth-user']).toBeUndefined();
  });

  it('a value other than any or all fails closed (503)', async () =>
    expect((await get('broken', { authorization: basic('uname', 'pwd') })).status).toBe(503));
});
