// Canary end to end: the real Node gateway and two real backends on loopback (http-svc and http-svc-canary, as in
// ingress-nginx's test/e2e/annotations/canary.go), counting which one answers. Each case is named after the
// canary.go case it mirrors; the weighted split uses the gateway's real random source and counts answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type AnyObject, ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let main: Backend;
let canary: Backend;
let gw: TestGateway;

const mainIngress = (annotations: Record<string, string> = {}, host = 'foo'): AnyObject =>
  ingress('foo', { host, paths: [{ path: '/', service: 'http-svc' }], annotations, created: '2026-01-01T00:00:00Z' });
const canaryIngress = (annotations: Record<string, string>, created = '2026-01-02T00:00:00Z'): AnyObject =>
  ingress('foo-canary', {
    host: 'foo',
    paths: [{ path: '/', service: 'http-svc-canary' }],
    annotations: { [`${N}canary`]: 'true', ...annotations },
    created,
  });
const apply = (...ingresses: AnyObject[]): void => {
  gw.apply(
    objects(
      ourClass(),
      ...service('http-svc', [{ address: main.address, port: main.port }]),
      ...service('http-svc-canary', [{ address: canary.address, port: canary.port }]),
      ...ingresses,
    ),
  );
};

/** Which backend answered (or the gateway's status when none did). */
async function who(headers: Record<string, string> = {}): Promise<string | number> {
  const r = await request(`${gw.httpUrl}/`, { host: 'foo', method: 'GET', headers });
  if (r.status !== 200) return r.status;
  return (JSON.parse(r.body) as EchoReply).backend;
}

beforeAll(async () => {
  main = await startBackend('http-svc', '127.0.0.131');
  canary = await startBackend('http-svc-canary', '127.0.0.132');
  gw = await startTestGateway(objects());
});

afterAll(async () => {
  await gw?.close();
  await main?.close();
  await canary?.close();
});

const BY_HEADER = { [`${N}canary-by-header`]: 'CanaryByHeader' };

describe('canary.go "when canary is created"', () => {
  it('"should response with a 200 status from the mainline upstream when requests are made to the mainline ingress"', async () => {
    apply(mainIngress(), canaryIngress(BY_HEADER));
    expect(await who()).toBe('http-svc');
  });

  it('"should return 404 status for requests to the canary if no matching ingress is found"', async () => {
    apply(canaryIngress(BY_HEADER));
    expect(await who({ CanaryByHeader: 'always' })).toBe(404);
  });

  it('"should route requests to the correct upstream if mainline ingress is created after the canary ingress"', async () => {
    apply(canaryIngress(BY_HEADER, '2025-12-01T00:00:00Z'), mainIngress());
    expect(await who({ CanaryByHeader: 'never' })).toBe('http-svc');
    expect(await who({ CanaryByHeader: 'always' })).toBe('http-svc-canary');
  });

  it('"should route requests to the correct upstream if the canary ingress is modified"', async () => {
    apply(mainIngress(), canaryIngress(BY_HEADER));
    apply(mainIngress(), canaryIngress({ [`${N}canary-by-header`]: 'CanaryByHeader2' }));
    expect(await who({ CanaryByHeader2: 'never' })).toBe('http-svc');
    expect(await who({ CanaryByHeader2: 'always' })).toBe('http-svc-canary');
    expect(await who({ CanaryByHeader: 'always' })).toBe('http-svc');
  });
});

describe('canary.go by header and cookie', () => {
  it('"when canaried by header with no value": always → canary, never and anything else → mainline', async () => {
    apply(mainIngress(), canaryIngress(BY_HEADER));
    expect(await who({ CanaryByHeader: 'always' })).toBe('http-svc-canary');
    expect(await who({ CanaryByHeader: 'never' })).toBe('http-svc');
    expect(await who({ CanaryByHeader: 'badheadervalue' })).toBe('http-svc');
  });

  it('"when canaried by header with value": DoCanary → canary, always/never/other → mainline', async () => {
    apply(mainIngress(), canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-value`]: 'DoCanary' }));
    expect(await who({ CanaryByHeader: 'DoCanary' })).toBe('http-svc-canary');
    for (const v of ['always', 'never', 'otherheadervalue']) expect(await who({ CanaryByHeader: v })).toBe('http-svc');
  });

  it('"when canaried by header with value and pattern": a matching value → canary, always → mainline', async () => {
    apply(mainIngress(), canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-pattern`]: '^Do[A-Z][a-z]+y$' }));
    expect(await who({ CanaryByHeader: 'DoCanary' })).toBe('http-svc-canary');
    expect(await who({ CanaryByHeader: 'always' })).toBe('http-svc');
  });

  it('"when canaried by header with value and cookie": header value does not match, cookie always → canary', async () => {
    apply(
      mainIngress(),
      canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-value`]: 'DoCanary', [`${N}canary-by-cookie`]: 'CanaryByCookie' }),
    );
    expect(await who({ CanaryByHeader: 'otherheadervalue', Cookie: 'CanaryByCookie=always' })).toBe('http-svc-canary');
  });

  it('"when canaried by cookie": always → canary, never and anything else → mainline', async () => {
    apply(mainIngress(), canaryIngress({ [`${N}canary-by-cookie`]: 'Canary-By-Cookie' }));
    expect(await who({ Cookie: 'Canary-By-Cookie=always' })).toBe('http-svc-canary');
    expect(await who({ Cookie: 'Canary-By-Cookie=never' })).toBe('http-svc');
    expect(await who({ Cookie: 'Canary-By-Cookie=badcookievalue' })).toBe('http-svc');
  });
});

describe('canary.go "when canaried by weight" (answers counted over real requests)', () => {
  const count = async (n: number): Promise<Record<string, number>> => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const w = String(await who());
      seen[w] = (seen[w] ?? 0) + 1;
    }
    return seen;
  };

  it('"should route requests only to mainline if canary weight is 0"', async () => {
    apply(mainIngress(), canaryIngress({ [`${N}canary-weight`]: '0' }));
    expect(await count(40)).toEqual({ 'http-svc': 40 });
  });

  it('"should route requests only to canary if canary weight is 100"', async () => {
    apply(mainIngress(), canaryIngress({ [`${N}canary-weight`]: '100' }));
    expect(await count(40)).toEqual({ 'http-svc-canary': 40 });
  });

  it('"should route requests only to canary if canary weight is equal to canary weight total"', async () => {
    apply(mainIngress(), canaryIngress({ [`${N}canary-weight`]: '1000', [`${N}canary-weight-total`]: '1000' }));
    expect(await count(40)).toEqual({ 'http-svc-canary': 40 });
  });

  it('"should route requests split between mainline and canary if canary weight is 100 and weight total is 200"', async () => {
    apply(mainIngress(), canaryIngress({ [`${N}canary-weight`]: '100', [`${N}canary-weight-total`]: '200' }));
    const seen = await count(200);
    // Half and half: each gets at least 60 of 200 unless something is wrong (a chance below 1e-8 otherwise).
    expect(seen['http-svc']! + seen['http-svc-canary']!).toBe(200);
    expect(seen['http-svc']).toBeGreaterThanOrEqual(60);
    expect(seen['http-svc-canary']).toBeGreaterThanOrEqual(60);
  });
});

describe('canary.go "Single canary Ingress"', () => {
  it('"should not use canary with domain as a server": the canary\'s host answers 404', async () => {
    apply(canaryIngress(BY_HEADER), mainIngress({}, 'bar'));
    expect(await who({ CanaryByHeader: 'always' })).toBe(404);
  });
});
