// Basic authentication end to end: the real Node gateway fed by the real compiler, a real backend on loopback.
// Cases mirror ingress-nginx's test/e2e/annotations/auth.go (named in each case) and what nginx's auth_basic
// answers; every refused request is checked never to reach the backend.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import aprMd5 from 'apache-md5';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startLocal } from '../support/process.ts';
import { type AnyObject, ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const opaque = (name: string, values: Record<string, string>): AnyObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'default', name },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const sha = (p: string) => `{SHA}${createHash('sha1').update(p).digest('base64')}`;
const ssha = (p: string) => {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(p).update(salt).digest(), salt]).toString('base64')}`;
};
/** apache-md5 is CommonJS: its default export is the function. */
const apr1 = aprMd5 as unknown as (password: string, salt?: string) => string;

let backend: Backend;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.71');
  const app = (name: string, host: string, annotations: Record<string, string>) =>
    ingress(name, { host, paths: [{ path: '/', service: 'app' }], annotations });
  const auth = (secret: string, more: Record<string, string> = {}) => ({
    [`${N}auth-type`]: 'basic',
    [`${N}auth-secret`]: secret,
    [`${N}auth-realm`]: 'test auth',
    ...more,
  });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      // buildSecret in auth.go: an htpasswd line `foo:<bcrypt of bar>` (cost 4 here, to keep the tests fast).
      opaque('file', {
        auth: [
          `foo:${bcrypt.hashSync('bar', 4)}`,
          `y:${bcrypt.hashSync('bar', 5).replace('$2b$', '$2y$')}`,
          `s:${sha('bar')}`,
          `ss:${ssha('bar')}`,
          `a:${apr1('bar')}`,
          `m:${apr1('bar', '$1$saltsalt$')}`,
          'p:{PLAIN}bar',
        ].join('\n'),
      }),
      // buildMapSecret in auth.go: the user is the key, the hash its value.
      opaque('map', { foo: bcrypt.hashSync('bar', 4) }),
      opaque('invalid', { auth: 'foo:' }),
      app('file', 'auth', auth('file')),
      app('map', 'map', auth('map', { [`${N}auth-secret-type`]: 'auth-map' })),
      app('invalid', 'invalid', auth('invalid')),
      app('missing', 'missing', auth('something')),
      app('open', 'open', {}),
      app('cors', 'cors', auth('file', { [`${N}enable-cors`]: 'true' })),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

const get = (host: string, headers: Record<string, string> = {}) => request(`${gw.httpUrl}/`, { host, headers });

describe('auth.go basic authentication, request by request', () => {
  const cases: { name: string; host: string; authorization?: string; status: number }[] = [
    { name: '"200 when no authentication is configured"', host: 'open', status: 200 },
    { name: '"503 when authentication is configured with an invalid secret" (the Secret is missing)', host: 'missing', status: 503 },
    { name: '"503 ... invalid secret", even with credentials', host: 'missing', authorization: basic('foo', 'bar'), status: 503 },
    { name: '"401 when ... Authorization header is not configured"', host: 'auth', status: 401 },
    {
      name: '"401 when ... Authorization header is sent with invalid credentials"',
      host: 'auth',
      authorization: basic('user', 'pass'),
      status: 401,
    },
    { name: 'a known user with a wrong password: 401', host: 'auth', authorization: basic('foo', 'baz'), status: 401 },
    {
      name: '"200 when authentication is configured and Authorization header is sent" (bcrypt $2b$)',
      host: 'auth',
      authorization: basic('foo', 'bar'),
      status: 200,
    },
    { name: 'bcrypt $2y$ (htpasswd -B)', host: 'auth', authorization: basic('y', 'bar'), status: 200 },
    { name: '{SHA} (htpasswd -s)', host: 'auth', authorization: basic('s', 'bar'), status: 200 },
    { name: '{SSHA}', host: 'auth', authorization: basic('ss', 'bar'), status: 200 },
    { name: '$apr1$ (htpasswd -m)', host: 'auth', authorization: basic('a', 'bar'), status: 200 },
    { name: '$1$ MD5-crypt', host: 'auth', authorization: basic('m', 'bar'), status: 200 },
    { name: '{SHA} with a wrong password', host: 'auth', authorization: basic('s', 'baz'), status: 401 },
    { name: '$apr1$ with a wrong password', host: 'auth', authorization: basic('a', 'baz'), status: 401 },
    {
      name: '{PLAIN} is a format Portico does not check: that user can never log in',
      host: 'auth',
      authorization: basic('p', 'bar'),
      status: 401,
    },
    { name: 'not Basic credentials', host: 'auth', authorization: 'Bearer abc', status: 401 },
    { name: 'Basic without a colon', host: 'auth', authorization: `Basic ${btoa('foobar')}`, status: 401 },
    {
      name: '"200 when authentication is configured with a map and Authorization header is sent"',
      host: 'map',
      authorization: basic('foo', 'bar'),
      status: 200,
    },
    { name: 'auth-map, wrong password', host: 'map', authorization: basic('foo', 'baz'), status: 401 },
    {
      name: '"401 when authentication is configured with invalid content and Authorization header is sent"',
      host: 'invalid',
      authorization: basic('foo', 'bar'),
      status: 401,
    },
    { name: 'invalid content, an empty password', host: 'invalid', authorization: basic('foo', ''), status: 401 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status}`, async () => {
      const before = backend.requests;
      const r = await get(c.host, c.authorization === undefined ? {} : { authorization: c.authorization });
      expect(r.status).toBe(c.status);
      if (c.status === 200) {
        expect(json<EchoReply>(r).backend).toBe('app');
        return;
      }
      expect(backend.requests, 'the backend never sees a refused request').toBe(before);
      if (c.status === 401) {
        expect(r.headers['www-authenticate']).toBe('Basic realm="test auth"');
        expect(r.body).toBe('401 Authorization Required\n');
      } else {
        expect(r.headers['www-authenticate']).toBeUndefined();
        // The gateway's own 503 text (nginx writes "503 Service Temporarily Unavailable"); the status is what auth.go checks.
        expect(r.body).toBe('503 Service Unavailable\n');
      }
    });
  }

  it('auth.go "401 and cors headers when authentication and cors is configured but Authorization header is not configured"', async () => {
    const before = backend.requests;
    const r = await get('cors', { origin: 'https://app.example' });
    expect(r.status).toBe(401);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['www-authenticate']).toBe('Basic realm="test auth"');
    expect(backend.requests).toBe(before);
  });

  it('the upstream never gets the credentials: nginx.tmpl sets proxy_set_header Authorization "" with auth-type', async () => {
    const r = await get('auth', { authorization: basic('foo', 'bar') });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers.authorization).toBeUndefined();
  });
});

describe('WebSocket upgrades are checked too', () => {
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

  it('with credentials: the upgrade goes through', async () =>
    expect(await open('auth', { authorization: basic('foo', 'bar') })).toBe(101));
  it('without credentials: 401, nothing upstream', async () => {
    const before = backend.connections;
    expect(await open('auth')).toBe(401);
    expect(backend.connections).toBe(before);
  });
  it('wrong credentials: 401, nothing upstream', async () => {
    const before = backend.connections;
    expect(await open('auth', { authorization: basic('foo', 'baz') })).toBe(401);
    expect(backend.connections).toBe(before);
  });
});

describe('a changed Secret takes effect with the next table', () => {
  it('a new password replaces the old one at once (the cache is keyed by the revision)', async () => {
    const objs = (password: string) =>
      objects(
        ourClass(),
        service('app', [{ address: backend.address, port: backend.port }]),
        opaque('file', { auth: `foo:${bcrypt.hashSync(password, 4)}` }),
        ingress('file', {
          host: 'auth',
          paths: [{ path: '/', service: 'app' }],
          annotations: { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'file', [`${N}auth-realm`]: 'test auth' },
        }),
      );
    gw.apply(objs('bar'));
    expect((await get('auth', { authorization: basic('foo', 'bar') })).status).toBe(200);
    gw.apply(objs('new'));
    expect((await get('auth', { authorization: basic('foo', 'bar') })).status).toBe(401);
    expect((await get('auth', { authorization: basic('foo', 'new') })).status).toBe(200);
  });

  it('a table swapped in without its material answers 503, never open', async () => {
    const r = gw.live.current!;
    gw.live.swap(r.matcher.table, [...r.certificates.values()]);
    expect((await get('auth', { authorization: basic('foo', 'new') })).status).toBe(503);
  });
});

describe('portico local: the material reaches the request path (with --workers, every worker process over IPC)', () => {
  it.each([
    ['one process', []],
    ['--workers 2', ['--workers', '2']],
  ])('%s: 401 without credentials and 200 with them, whichever process answers', async (_name, extra) => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-basic-auth-'));
    const docs = [
      ourClass(),
      ...service('app', [{ address: backend.address, port: backend.port }]),
      opaque('file', { auth: `foo:${bcrypt.hashSync('bar', 4)}` }),
      ingress('file', {
        host: 'auth',
        paths: [{ path: '/', service: 'app' }],
        annotations: { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'file', [`${N}auth-realm`]: 'test auth' },
      }),
    ];
    writeFileSync(join(dir, 'all.yaml'), docs.map((d) => JSON.stringify(d)).join('\n---\n'));
    const p = await startLocal(dir, extra);
    try {
      const before = backend.requests;
      const refused = await Promise.all(Array.from({ length: 10 }, () => request(`${p.http}/`, { host: 'auth' })));
      expect(refused.map((r) => r.status)).toEqual(Array(10).fill(401));
      expect(backend.requests).toBe(before);
      const ok = await Promise.all(
        Array.from({ length: 10 }, () => request(`${p.http}/`, { host: 'auth', headers: { authorization: basic('foo', 'bar') } })),
      );
      expect(ok.map((r) => r.status)).toEqual(Array(10).fill(200));
    } finally {
      expect(await p.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
