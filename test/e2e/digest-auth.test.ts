// Digest authentication end to end: the real Node gateway fed by the real compiler, a real backend on loopback,
// and real clients: a small RFC 2617 client written here (it computes every response from the challenge it got)
// and curl --digest. What a client sees is nginx-http-auth-digest's (gateway/access/digest-auth.ts); every refused
// request is checked never to reach the backend.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, type Reply, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type AnyObject, ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const REALM = 'test auth';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const opaque = (name: string, values: Record<string, string>): AnyObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { namespace: 'default', name },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
/** An htdigest line, as `htdigest auth "test auth" foo` writes it. */
const htdigest = (user: string, realm: string, password: string) => `${user}:${realm}:${md5(`${user}:${realm}:${password}`)}`;

let backend: Backend;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.72');
  const app = (name: string, host: string, annotations: Record<string, string>) =>
    ingress(name, { host, paths: [{ path: '/', service: 'app' }], annotations });
  const auth = (secret: string, more: Record<string, string> = {}) => ({
    [`${N}auth-type`]: 'digest',
    [`${N}auth-secret`]: secret,
    [`${N}auth-realm`]: REALM,
    ...more,
  });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      opaque('file', { auth: [htdigest('foo', REALM, 'bar'), htdigest('bob', 'another realm', 'bar')].join('\n') }),
      opaque('map', { foo: htdigest('foo', REALM, 'bar').slice('foo:'.length) }),
      app('file', 'auth', auth('file')),
      app('map', 'map', auth('map', { [`${N}auth-secret-type`]: 'auth-map' })),
      app('missing', 'missing', auth('something')),
      app('no-realm', 'no-realm', { [`${N}auth-type`]: 'digest', [`${N}auth-secret`]: 'file' }),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

/** Each test its own loopback client address: the lock-out after five failures is per address. */
let nextAddress = 10;
const clientAddress = () => `127.0.1.${nextAddress++}`;

const get = (host: string, path = '/', o: { authorization?: string; from?: string; method?: string } = {}) =>
  request(`${gw.httpUrl}${path}`, {
    host,
    method: o.method ?? 'GET',
    ...(o.from === undefined ? {} : { localAddress: o.from }),
    headers: o.authorization === undefined ? {} : { authorization: o.authorization },
  });

/** The challenge's parameters (the values are quoted strings without escapes). */
function challenge(r: Reply): Record<string, string> {
  const h = r.headers['www-authenticate'];
  if (typeof h !== 'string' || !h.startsWith('Digest ')) throw new Error(`no Digest challenge: ${String(h)}`);
  return Object.fromEntries([...h.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** An RFC 2617 client: the Authorization header for a challenge's nonce. */
function answer(
  nonce: string,
  o: { user?: string; password?: string; realm?: string; uri: string; method?: string; nc?: number; cnonce?: string },
) {
  const user = o.user ?? 'foo';
  const realm = o.realm ?? REALM;
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = o.cnonce ?? randomBytes(8).toString('hex');
  const ha1 = md5(`${user}:${realm}:${o.password ?? 'bar'}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${md5(`${o.method ?? 'GET'}:${o.uri}`)}`);
  return {
    header: `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${o.uri}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`,
    rspauth: md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${md5(`:${o.uri}`)}`),
    nc,
    cnonce,
  };
}

async function nonceFor(host: string, from: string): Promise<string> {
  const r = await get(host, '/', { from });
  expect(r.status).toBe(401);
  return challenge(r).nonce!;
}

describe('the challenge', () => {
  it("no credentials: 401 with the module's WWW-Authenticate, parameters in its order, and nothing upstream", async () => {
    const before = backend.requests;
    const r = await get('auth', '/', { from: clientAddress() });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toMatch(/^Digest algorithm="MD5", qop="auth", realm="test auth", nonce="[0-9a-f]{48}"$/);
    expect(backend.requests).toBe(before);
  });
  it('Basic credentials are not digest credentials: 401 with the Digest challenge', async () => {
    const r = await get('auth', '/', { from: clientAddress(), authorization: `Basic ${btoa('foo:bar')}` });
    expect(r.status).toBe(401);
    expect(challenge(r).realm).toBe(REALM);
  });
});

describe('responses computed by a real client', () => {
  const cases: {
    name: string;
    host?: string;
    path?: string;
    method?: string;
    o?: Partial<Parameters<typeof answer>[1]>;
    status: 200 | 401;
    stale?: boolean;
  }[] = [
    { name: 'user, realm and password of the htdigest line', status: 200 },
    { name: 'auth-map: the same user from a map Secret', host: 'map', status: 200 },
    { name: 'a query in the uri', path: '/a/b?x=1&y=2', status: 200 },
    { name: 'a POST', method: 'POST', status: 200 },
    { name: 'the uri without the query (the module allows it)', path: '/q?x=1', o: { uri: '/q' }, status: 200 },
    { name: 'a wrong password', o: { password: 'baz' }, status: 401, stale: false },
    { name: 'an unknown user', o: { user: 'mallory' }, status: 401, stale: false },
    {
      name: 'a user of another realm in the file (answering with its own realm)',
      o: { user: 'bob', realm: 'another realm' },
      status: 401,
      stale: false,
    },
    { name: 'the response for another uri', path: '/secret', o: { uri: '/public' }, status: 401, stale: false },
    { name: 'nc 20 (beyond auth_digest_replays): stale', o: { nc: 20 }, status: 401, stale: true },
  ];
  for (const c of cases)
    it(`${c.name}: ${c.status}`, async () => {
      const from = clientAddress();
      const host = c.host ?? 'auth';
      const path = c.path ?? '/';
      const nonce = await nonceFor(host, from);
      const a = answer(nonce, { uri: path, ...(c.method === undefined ? {} : { method: c.method }), ...c.o });
      const before = backend.requests;
      const r = await get(host, path, { from, authorization: a.header, ...(c.method === undefined ? {} : { method: c.method }) });
      expect(r.status).toBe(c.status);
      if (c.status === 200) {
        expect(json<EchoReply>(r).backend).toBe('app');
        expect(r.headers['authentication-info']).toBe(`qop="auth", rspauth="${a.rspauth}", cnonce="${a.cnonce}", nc=${a.nc}`);
        return;
      }
      expect(backend.requests, 'the backend never sees a refused request').toBe(before);
      expect(r.headers['www-authenticate']?.endsWith(', stale="true"')).toBe(c.stale === true);
      expect(challenge(r).nonce).not.toBe(nonce);
    });

  it('a replayed request (same nonce, same nc) is refused; the next nc on the same nonce passes', async () => {
    const from = clientAddress();
    const nonce = await nonceFor('auth', from);
    const first = answer(nonce, { uri: '/' });
    expect((await get('auth', '/', { from, authorization: first.header })).status).toBe(200);
    const before = backend.requests;
    expect((await get('auth', '/', { from, authorization: first.header })).status).toBe(401);
    expect(backend.requests).toBe(before);
    expect((await get('auth', '/', { from, authorization: answer(nonce, { uri: '/', nc: 2 }).header })).status).toBe(200);
  });

  it('five failures from an address: 401 without a challenge, also for the right password; another address is not affected', async () => {
    const from = clientAddress();
    const good = await nonceFor('auth', from);
    for (let i = 0; i < 5; i++) {
      const n = await nonceFor('auth', from);
      expect((await get('auth', '/', { from, authorization: answer(n, { uri: '/', password: 'guess' }).header })).status).toBe(401);
    }
    const locked = await get('auth', '/', { from, authorization: answer(good, { uri: '/' }).header });
    expect(locked.status).toBe(401);
    expect(locked.headers['www-authenticate']).toBeUndefined();
    const other = clientAddress();
    const n = await nonceFor('auth', other);
    expect((await get('auth', '/', { from: other, authorization: answer(n, { uri: '/' }).header })).status).toBe(200);
  });
});

describe('fail closed', () => {
  it('"503 when authentication is configured with an invalid secret" (the Secret is missing), credentials or not', async () => {
    const before = backend.requests;
    expect((await get('missing', '/', { from: clientAddress() })).status).toBe(503);
    expect((await get('missing', '/', { from: clientAddress(), authorization: answer('0'.repeat(48), { uri: '/' }).header })).status).toBe(
      503,
    );
    expect(backend.requests).toBe(before);
  });
  it("no auth-realm (nginx's digest module would serve the location open): 503", async () => {
    expect((await get('no-realm', '/', { from: clientAddress() })).status).toBe(503);
  });
});

describe('curl --digest, a real client of its own', () => {
  const curl = promisify(execFile);
  const run = (user: string, path: string) =>
    curl('curl', ['-s', '--digest', '-u', user, '-H', 'Host: auth', '-o', '/dev/null', '-w', '%{http_code}', `${gw.httpUrl}${path}`]);

  it('the right password: curl answers the challenge and gets 200 from the backend', async () => {
    const before = backend.requests;
    expect((await run('foo:bar', '/curl?x=1')).stdout).toBe('200');
    expect(backend.requests).toBe(before + 1);
  });
  it('a wrong password: 401', async () => expect((await run('foo:baz', '/curl')).stdout).toBe('401'));
});
