// Request and connection limits alone, with an injected clock: nginx's limit_req arithmetic
// (ngx_http_limit_req_module.c, `burst=N nodelay` as ingress-nginx writes it), limit_conn counting, the allow
// list (ingress-nginx's limit-allowlist: an empty zone key, not counted), zones per Ingress, the memory bounds,
// and the two limit steps of the access gate.
import { describe, expect, it } from 'vitest';
import { ConnectionLimiter } from '../../gateway/access/connection-limit.ts';
import { type GateRequest, needsGate, runGate } from '../../gateway/access/gate.ts';
import { limitExempt, type LimitState, limitZone } from '../../gateway/access/limits.ts';
import { RateLimiter } from '../../gateway/access/rate-limit.ts';
import { routeLabel } from '../../gateway/decide.ts';
import type { AccessPolicy, LimitPolicy, Route } from '../../gateway/table/schema.ts';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Sends `n` requests now; how many passed. */
function burst(l: RateLimiter, p: LimitPolicy, n: number, client = '192.0.2.1', zone = 'default/web'): number {
  let passed = 0;
  for (let i = 0; i < n; i++) if (l.admit(zone, client, p)) passed++;
  return passed;
}

describe('RateLimiter (nginx limit_req, burst=N nodelay)', () => {
  const cases: { name: string; policy: LimitPolicy; steps: [advanceMs: number, requests: number, passed: number][] }[] = [
    {
      name: 'rps 1, burst 5 (limit-rps "1", the default multiplier): six at once pass, the seventh is refused (the first request finds an empty bucket)',
      policy: { rps: { rate: 1, burst: 5 } },
      steps: [[0, 7, 6]],
    },
    {
      name: 'burst 0 (limit-burst-multiplier "0"): one request per 1/rate seconds, none early',
      policy: { rps: { rate: 10, burst: 0 } },
      steps: [
        [0, 2, 1],
        [99, 1, 0],
        [1, 1, 1],
        [100, 2, 1],
      ],
    },
    {
      name: 'refill: rps 2, burst 2: three at once, then one per 500 ms, then the whole burst after it drained',
      policy: { rps: { rate: 2, burst: 2 } },
      steps: [
        [0, 4, 3],
        [500, 2, 1],
        [1500, 4, 3],
      ],
    },
    {
      name: 'refused requests are never counted: a client hammering at a full bucket gets through as soon as it leaked',
      policy: { rps: { rate: 1, burst: 0 } },
      steps: [
        [0, 1, 1],
        [0, 100, 0],
        [999, 1, 0],
        [1, 1, 1],
      ],
    },
    {
      name: "rpm 1, burst 1: nginx's integer rate (1r/m leaks 16 thousandths per second), so 60 s is not quite enough",
      policy: { rpm: { rate: 1, burst: 1 } },
      steps: [
        [0, 3, 2],
        [60_000, 1, 0],
        [2_500, 1, 1],
      ],
    },
    {
      name: 'rps and rpm together (both annotations set): the stricter one refuses (2r/m is 33 thousandths a second: 30.4 s for one)',
      policy: { rps: { rate: 100, burst: 500 }, rpm: { rate: 2, burst: 0 } },
      steps: [
        [0, 3, 1],
        [30_000, 1, 0],
        [400, 2, 1],
      ],
    },
    {
      name: 'a clock that goes back a little counts as no time passed (nginx)',
      policy: { rps: { rate: 1, burst: 0 } },
      steps: [
        [0, 1, 1],
        [-500, 1, 0],
        [1_500, 1, 1],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = clock();
      const l = new RateLimiter({ now: t.now });
      for (const [ms, n, passed] of c.steps) {
        t.advance(ms);
        expect(burst(l, c.policy, n)).toBe(passed);
      }
    });
  }

  it('a request refused by one limit is counted in no other (nginx accounts only when every limit admits)', () => {
    const t = clock();
    const l = new RateLimiter({ now: t.now });
    const both: LimitPolicy = { rps: { rate: 1, burst: 1 }, rpm: { rate: 1, burst: 0 } };
    const rpsOnly: LimitPolicy = { rps: { rate: 1, burst: 1 } }; // the same zone: the same per-second bucket
    expect(burst(l, both, 1)).toBe(1);
    expect(burst(l, both, 1)).toBe(0); // refused by rpm: the per-second bucket must not have grown
    expect(burst(l, rpsOnly, 2)).toBe(1);
  });

  it('two clients are independent', () => {
    const l = new RateLimiter({ now: clock().now });
    const p: LimitPolicy = { rps: { rate: 1, burst: 1 } };
    expect(burst(l, p, 5, '192.0.2.1')).toBe(2);
    expect(burst(l, p, 5, '192.0.2.2')).toBe(2);
    expect(burst(l, p, 5, '2001:db8::1')).toBe(2);
  });

  it('zones are independent: another Ingress has its own buckets', () => {
    const l = new RateLimiter({ now: clock().now });
    const p: LimitPolicy = { rps: { rate: 1, burst: 0 } };
    expect(burst(l, p, 3, '192.0.2.1', 'default/a')).toBe(1);
    expect(burst(l, p, 3, '192.0.2.1', 'default/b')).toBe(1);
  });

  it('memory is bounded: a client spraying addresses never holds more than maxEntries; the least recently used go first', () => {
    const l = new RateLimiter({ now: clock().now, maxEntries: 100 });
    const p: LimitPolicy = { rps: { rate: 1, burst: 0 } };
    expect(burst(l, p, 1, 'keep')).toBe(1);
    for (let i = 0; i < 1_000; i++) {
      burst(l, p, 1, `10.0.${i >> 8}.${i & 255}`);
      if (i % 50 === 0) expect(burst(l, p, 1, 'keep')).toBe(0); // used again: stays, still full
    }
    expect(l.size).toBe(100);
    expect(burst(l, p, 1, 'keep')).toBe(0);
  });

  it('idle entries whose excess has leaked away expire after 60 s, two per new entry (ngx_http_limit_req_expire)', () => {
    const t = clock();
    const l = new RateLimiter({ now: t.now });
    const p: LimitPolicy = { rps: { rate: 1, burst: 5 } };
    for (let i = 0; i < 10; i++) burst(l, p, 1, `10.0.0.${i}`);
    t.advance(59_000);
    burst(l, p, 1, 'new-1');
    expect(l.size).toBe(11); // not idle for 60 s yet
    t.advance(1_000);
    burst(l, p, 1, 'new-2');
    expect(l.size).toBe(10); // two expired, one added
    for (let i = 3; i <= 6; i++) burst(l, p, 1, `new-${i}`);
    expect(l.size).toBe(6); // the other eight of the first ten are gone; new-1 to new-6 remain
  });

  it('an entry idle for 60 s that still has excess is kept (nginx keeps it until it leaked away)', () => {
    const t = clock();
    const l = new RateLimiter({ now: t.now });
    expect(burst(l, { rpm: { rate: 1, burst: 100 } }, 50, 'heavy')).toBe(50);
    t.advance(61_000);
    burst(l, { rps: { rate: 1, burst: 0 } }, 1, 'other');
    expect(l.size).toBe(2);
  });
});

describe('ConnectionLimiter (nginx limit_conn)', () => {
  it('N requests in progress pass, the N+1th is refused, and a finished one frees its slot', () => {
    const c = new ConnectionLimiter();
    const held = [1, 2, 3].map(() => c.acquire('default/web', '192.0.2.1', 3));
    expect(held.every((r) => r !== null)).toBe(true);
    expect(c.acquire('default/web', '192.0.2.1', 3)).toBeNull();
    held[0]!();
    expect(c.inProgress('default/web', '192.0.2.1')).toBe(2);
    expect(c.acquire('default/web', '192.0.2.1', 3)).not.toBeNull();
  });

  it('releasing twice frees one slot only', () => {
    const c = new ConnectionLimiter();
    const a = c.acquire('z', 'x', 2)!;
    c.acquire('z', 'x', 2);
    a();
    a();
    expect(c.inProgress('z', 'x')).toBe(1);
  });

  it('two clients and two zones are independent', () => {
    const c = new ConnectionLimiter();
    expect(c.acquire('z', 'a', 1)).not.toBeNull();
    expect(c.acquire('z', 'b', 1)).not.toBeNull();
    expect(c.acquire('y', 'a', 1)).not.toBeNull();
    expect(c.acquire('z', 'a', 1)).toBeNull();
  });

  it('memory is bounded: an entry lives only while its client has a request in progress; a full store refuses new clients', () => {
    const c = new ConnectionLimiter({ maxEntries: 3 });
    const releases = ['a', 'b', 'c'].map((k) => c.acquire('z', k, 5)!);
    expect(c.acquire('z', 'd', 5)).toBeNull(); // no room (nginx: "could not allocate node" → limit_conn_status)
    expect(c.acquire('z', 'a', 5)).not.toBeNull(); // a client already counted still may
    for (const r of releases) r();
    expect(c.size).toBe(1); // only 'a' still has a request in progress
    expect(c.acquire('z', 'd', 5)).not.toBeNull();
  });

  it('the bound is per zone: a flood against one Ingress leaves room in every other', () => {
    const c = new ConnectionLimiter({ maxEntries: 2 });
    const flood = ['a', 'b'].map((k) => c.acquire('flooded', k, 5)!);
    expect(c.acquire('flooded', 'x', 5)).toBeNull();
    expect(c.acquire('quiet', 'x', 5)).not.toBeNull();
    for (const r of flood) r();
    expect(c.acquire('flooded', 'x', 5)).not.toBeNull(); // the zone's room came back with its entries
  });
});

describe('limit-allowlist: exempt addresses', () => {
  const p: LimitPolicy = { connections: 1, exempt: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'] };
  const cases: [string, boolean][] = [
    ['10.1.2.3', true],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['2001:db8::5', true],
    ['::ffff:10.0.0.1', true],
    ['2001:db9::1', false],
    ['', false],
  ];
  for (const [client, exempt] of cases)
    it(`${JSON.stringify(client)} is ${exempt ? '' : 'not '}exempt`, () => expect(limitExempt(p, client)).toBe(exempt));
  it('no allow list: nobody is exempt', () => expect(limitExempt({ connections: 1 }, '10.0.0.1')).toBe(false));
});

describe('zones: one per Ingress, as ingress-nginx names them', () => {
  const route = (name: string, path: string): Route => ({
    path,
    pathType: 'Prefix',
    backend: 'default/web:80',
    source: { namespace: 'default', name },
    policies: { sslRedirect: false },
  });
  it('two paths of one Ingress share a zone; another Ingress has its own', () => {
    expect(limitZone(routeLabel(route('web', '/a'), 'foo.com', 'route'))).toBe('default/web');
    expect(limitZone(routeLabel(route('web', '/b'), 'bar.com', 'route'))).toBe('default/web');
    expect(limitZone(routeLabel(route('api', '/a'), 'foo.com', 'route'))).toBe('default/api');
  });
});

describe('the access gate with limits', () => {
  const request = (clientIp: string, scope = 'default/web foo.com /'): GateRequest => ({
    httpHost: 'foo.com',
    scheme: 'http',
    method: 'GET',
    path: '/',
    search: '',
    clientIp,
    localPort: 80,
    header: () => null,
    headers: [],
    requestId: 'r',
    scope,
  });
  const state = (): LimitState => ({ rate: new RateLimiter({ now: clock().now }), connections: new ConnectionLimiter() });

  it('a route with limits needs the gate', () => {
    expect(needsGate({ limits: { connections: 1 } })).toBe(true);
    expect(needsGate({ allow: ['10.0.0.0/8'] })).toBe(false);
  });

  it('limit-rps: beyond rate + burst the gate answers 503; paths of the same Ingress count together', async () => {
    const limits = state();
    const p: AccessPolicy = { limits: { rps: { rate: 1, burst: 1 } } };
    const statuses: string[] = [];
    for (const scope of ['default/web foo.com /', 'default/web foo.com /b', 'default/web foo.com /c']) {
      const o = await runGate(p, request('192.0.2.1', scope), { limits });
      statuses.push(o.kind === 'pass' ? 'pass' : String(o.status));
    }
    expect(statuses).toEqual(['pass', 'pass', '503']);
  });

  it('limit-connections: the slot is held until onDone, which the pass carries', async () => {
    const limits = state();
    const p: AccessPolicy = { limits: { connections: 1 } };
    const first = await runGate(p, request('192.0.2.1'), { limits });
    expect(first.kind).toBe('pass');
    expect(await runGate(p, request('192.0.2.1'), { limits })).toMatchObject({ kind: 'respond', status: 503 });
    if (first.kind === 'pass') first.onDone!();
    expect((await runGate(p, request('192.0.2.1'), { limits })).kind).toBe('pass');
  });

  it('a request a later step refuses gives its slot back at once (external auth without a client answers 503)', async () => {
    const limits = state();
    const p: AccessPolicy = { limits: { connections: 1 }, externalAuth: { url: 'http://auth.test/' } };
    expect(await runGate(p, request('192.0.2.1'), { limits })).toMatchObject({ kind: 'respond', status: 503 });
    expect(limits.connections.inProgress('default/web', '192.0.2.1')).toBe(0);
  });

  it('an exempt client is neither limited nor counted, and holds no slot', async () => {
    const limits = state();
    const p: AccessPolicy = { limits: { rps: { rate: 1, burst: 0 }, connections: 1, exempt: ['192.0.2.0/24'] } };
    for (let i = 0; i < 5; i++) {
      const o = await runGate(p, request('192.0.2.9'), { limits });
      expect(o.kind).toBe('pass');
      if (o.kind === 'pass') expect(o.onDone).toBeUndefined();
    }
    expect(limits.rate.size).toBe(0);
    expect((await runGate(p, request('198.51.100.1'), { limits })).kind).toBe('pass');
    expect(await runGate(p, request('198.51.100.1'), { limits })).toMatchObject({ kind: 'respond', status: 503 });
  });

  it('rate limit before connection limit (nginx preaccess order): a request refused by rate takes no slot', async () => {
    const limits = state();
    const p: AccessPolicy = { limits: { rps: { rate: 1, burst: 0 }, connections: 5 } };
    await runGate(p, request('192.0.2.1'), { limits });
    expect(await runGate(p, request('192.0.2.1'), { limits })).toMatchObject({ kind: 'respond', status: 503 });
    expect(limits.connections.inProgress('default/web', '192.0.2.1')).toBe(1);
  });
});
