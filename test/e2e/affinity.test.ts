// Session affinity and consistent hashing through the real Node adapter, with three real echo backends on loopback
// addresses and tables from the real compiler (affinity, affinity-mode, session-cookie-*, upstream-hash-by*). Named
// after ingress-nginx's test/e2e/annotations/affinity.go, affinitymode.go and upstreamhashby.go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../../gateway/md5.ts';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let b: Backend[] = [];
let gw: TestGateway;
const ep = (x: Backend) => ({ address: x.address, port: x.port });

/** Every Ingress of the suite; `web` is the Service of the persistent test, whose endpoints change. */
const world = (web: Backend[]) =>
  objects(
    ourClass(),
    service('three', b.slice(0, 3).map(ep)),
    service('web', web.map(ep)),
    // 127.0.0.59 has no listener: connecting there is refused.
    service('flaky', [{ address: '127.0.0.59', port: b[0]!.port }, ep(b[0]!)]),
    ingress('sticky', {
      host: 'sticky.test',
      paths: [{ path: '/', service: 'three' }],
      annotations: { [`${N}affinity`]: 'cookie', [`${N}session-cookie-name`]: 'SERVERID' },
    }),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'three' }] }),
    ingress('ingress1', {
      host: 'separate.test',
      paths: [{ path: '/foo/bar', service: 'three' }],
      annotations: { [`${N}affinity`]: 'cookie' },
    }),
    ingress('ingress2', { host: 'separate.test', paths: [{ path: '/foo', service: 'three' }] }),
    ingress('persistent', {
      host: 'persistent.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { [`${N}affinity`]: 'cookie', [`${N}affinity-mode`]: 'persistent', [`${N}session-cookie-max-age`]: '172800' },
    }),
    ingress('no-change', {
      host: 'no-change.test',
      paths: [{ path: '/', service: 'flaky' }],
      annotations: { [`${N}affinity`]: 'cookie', [`${N}affinity-mode`]: 'persistent' },
    }),
    ingress('change', {
      host: 'change.test',
      paths: [{ path: '/', service: 'flaky' }],
      annotations: { [`${N}affinity`]: 'cookie', [`${N}affinity-mode`]: 'persistent', [`${N}session-cookie-change-on-failure`]: 'true' },
    }),
    ingress('hash', {
      host: 'hash.test',
      paths: [{ path: '/', service: 'three' }],
      annotations: { [`${N}upstream-hash-by`]: '$request_uri' },
    }),
    ingress('subset', {
      host: 'subset.test',
      paths: [{ path: '/', service: 'three' }],
      annotations: {
        [`${N}upstream-hash-by`]: '$request_uri',
        [`${N}upstream-hash-by-subset`]: 'true',
        [`${N}upstream-hash-by-subset-size`]: '2',
      },
    }),
  );

beforeAll(async () => {
  const first = await startBackend('b1', '127.0.0.51');
  b = [first];
  for (let i = 2; i <= 5; i++) b.push(await startBackend(`b${i}`, `127.0.0.5${i}`, first.port));
  gw = await startTestGateway(world(b.slice(0, 2)));
});

afterAll(async () => {
  await gw?.close();
  for (const x of b) await x.close();
});

/** The affinity cookies (the echo backend sets `a` and `b` of its own). */
const OURS = /^(?:SERVERID|INGRESSCOOKIE)=/;
const get = async (host: string, path = '/', cookie?: string) => {
  const r = await request(`${gw.httpUrl}${path}`, { host, ...(cookie === undefined ? {} : { headers: { cookie } }) });
  const setCookie = r.headers['set-cookie'];
  return {
    status: r.status,
    backend: r.status === 200 ? json<EchoReply>(r).backend : '',
    setCookie: (setCookie ?? []).filter((c) => OURS.test(c)),
  };
};
/** The `name=value` part of a Set-Cookie. */
const pair = (setCookie: string[]) => setCookie[0]!.split(';')[0]!;

describe('cookie affinity (affinity.go)', () => {
  it('should set sticky cookie SERVERID; with it every request reaches the same backend and no cookie is set again', async () => {
    const r = await get('sticky.test');
    expect(r.setCookie).toHaveLength(1);
    expect(r.setCookie[0]).toMatch(/^SERVERID=[0-9a-f]{16}\|[0-9a-f]{32}; Path=\/; HttpOnly$/);
    for (let i = 0; i < 10; i++) {
      const again = await get('sticky.test', `/${i}`, pair(r.setCookie));
      expect(again.backend).toBe(r.backend);
      expect(again.setCookie).toEqual([]);
    }
  });
  it('without the cookie, new sessions spread over the backends; a route without affinity sets no cookie', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await get('sticky.test')).backend);
    expect(seen.size).toBeGreaterThan(1);
    expect((await get('plain.test')).setCookie).toEqual([]);
  });
  it('should not set affinity across all server locations when using separate ingresses', async () => {
    expect((await get('separate.test', '/foo')).setCookie).toEqual([]);
    expect((await get('separate.test', '/foo/bar')).setCookie[0]).toContain('Path=/foo/bar');
  });
  it('a cookie naming an address in clear is not followed (persistent: a new endpoint and cookie; balanced: a ring key)', async () => {
    const persistent = await get('persistent.test', '/', `INGRESSCOOKIE=127.0.0.99:${b[0]!.port}`);
    expect(persistent.status).toBe(200);
    expect(persistent.setCookie[0]).toMatch(/^INGRESSCOOKIE=[0-9a-f]{32}\|/);
    const balanced = await get('sticky.test', '/', 'SERVERID=127.0.0.99:80');
    expect(['b1', 'b2', 'b3']).toContain(balanced.backend);
  });
});

describe('affinity-mode persistent (affinitymode.go "Check persistent affinity mode")', () => {
  it('the session stays on its backend while backends are added; once its backend is gone a new one is chosen', async () => {
    const r = await get('persistent.test');
    expect(r.setCookie[0]).toMatch(/^INGRESSCOOKIE=[0-9a-f]{32}\|[0-9a-f]{32}; Max-Age=172800; Path=\/; HttpOnly$/);
    const cookie = pair(r.setCookie);
    for (let n = 3; n <= 5; n++) {
      gw.apply(world(b.slice(0, n)));
      for (let i = 0; i < 3; i++) expect((await get('persistent.test', '/', cookie)).backend).toBe(r.backend);
    }
    gw.apply(world(b.filter((x) => x.name !== r.backend)));
    const moved = await get('persistent.test', '/', cookie);
    expect(moved.backend).not.toBe(r.backend);
    expect(moved.setCookie).toHaveLength(1);
    expect(pair(moved.setCookie)).not.toBe(cookie);
    gw.apply(world(b.slice(0, 2)));
  });
});

describe('session-cookie-change-on-failure', () => {
  // The cookie ingress-nginx (and Portico) writes for the refusing endpoint: md5(upstream name .. "address:port").
  const dead = () => `INGRESSCOOKIE=${md5Hex(`default-flaky-80127.0.0.59:${b[0]!.port}`)}`;
  it('without it: the request is retried on the other endpoint, and the cookie keeps pointing at the failed one', async () => {
    const r = await get('no-change.test', '/', dead());
    expect(r.backend).toBe('b1');
    expect(r.setCookie).toEqual([]);
  });
  it('with it: the cookie is re-pointed at the endpoint that answered, and the next request goes straight there', async () => {
    const r = await get('change.test', '/', dead());
    expect(r.backend).toBe('b1');
    expect(pair(r.setCookie)).toBe(
      `INGRESSCOOKIE=${md5Hex(`default-flaky-80127.0.0.51:${b[0]!.port}`)}|${md5Hex(`${md5Hex('default-flaky-80')}default-flaky-80`)}`,
    );
    const next = await get('change.test', '/', pair(r.setCookie));
    expect(next.backend).toBe('b1');
    expect(next.setCookie).toEqual([]);
  });
});

describe('upstream-hash-by (upstreamhashby.go)', () => {
  it('should connect to the same pod: one $request_uri, one backend', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await get('hash.test', '/same?x=1')).backend);
    expect(seen.size).toBe(1);
  });
  it('different request URIs spread over the backends', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await get('hash.test', `/item/${i}`)).backend);
    expect(seen.size).toBe(3);
  });
  it('should connect to the same subset of pods: subset size 2 of 3 backends → exactly 2 for one URI', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await get('subset.test', '/same')).backend);
    expect(seen.size).toBe(2);
  });
});
