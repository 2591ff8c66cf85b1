// The global rate limit at the edge, with an injected clock: lua-resty-global-throttle's sliding window
// (sliding_window.lua and its spec), the worker-local windows and their bound, the refusal cache
// (global_throttle.lua's DECISION_CACHE), keys and ignored CIDRs through the access gate; and the limiter over
// a real redis-server: two limiters (two workers) share one count, and a Redis that is stopped or paused
// (slow) makes each count locally with the same limit, never letting a request through uncounted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GateRequest, runGate } from '../../gateway/access/gate.ts';
import { RedisWindows } from '../../gateway/access/global-rate-limit-redis.ts';
import { counterId, GlobalRateLimiter } from '../../gateway/access/global-rate-limit.ts';
import { LocalWindows } from '../../gateway/access/local-window.ts';
import { slidingWindow } from '../../gateway/access/sliding-window.ts';
import type { AccessPolicy, GlobalRateLimitPolicy } from '../../gateway/table/schema.ts';
import { redisLayout } from '../../gateway/table/redis-layout.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

/** A clock at the start of a window of every size used here (a multiple of 60 s). */
function clock(start = 1_800_000_000_000): { now: () => number; advance(ms: number): void; at(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), at: (ms) => void (t = start + ms) };
}

describe('slidingWindow (sliding_window.lua process_sample)', () => {
  const cases: {
    name: string;
    count: number;
    prev: number;
    limit: number;
    windowMs: number;
    nowMs: number;
    admitted: boolean;
    refuseForMs: number;
  }[] = [
    {
      name: 'no previous window: below the limit passes',
      count: 4,
      prev: 0,
      limit: 5,
      windowMs: 1000,
      nowMs: 678,
      admitted: true,
      refuseForMs: 0,
    },
    {
      name: 'no previous window: at the limit, refused until the window ends (the spec: delay = remaining_time 0.322)',
      count: 5,
      prev: 0,
      limit: 5,
      windowMs: 1000,
      nowMs: 1678,
      admitted: false,
      refuseForMs: 322,
    },
    {
      name: 'a full previous window, 200 ms into this one: 5 × 0.8 + 0 = 4 < 5 passes',
      count: 0,
      prev: 5,
      limit: 5,
      windowMs: 1000,
      nowMs: 200,
      admitted: true,
      refuseForMs: 0,
    },
    {
      name: 'a full previous window, 200 ms in, one counted: 5 × 0.8 + 2 ≥ 5, refused for 0.8 - (5 - 2) / 5 s (the spec)',
      count: 2,
      prev: 5,
      limit: 5,
      windowMs: 1000,
      nowMs: 200,
      admitted: false,
      refuseForMs: 200,
    },
    {
      name: 'half the previous window still weighs: 10 × 0.5 + 4 = 9 < 10 passes',
      count: 4,
      prev: 10,
      limit: 10,
      windowMs: 60_000,
      nowMs: 30_000,
      admitted: true,
      refuseForMs: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(slidingWindow(c.count, c.prev, c.limit, c.windowMs, c.nowMs)).toEqual({ admitted: c.admitted, refuseForMs: c.refuseForMs });
    });
  }
});

describe('LocalWindows', () => {
  it('exactly `limit` per window without a previous one; the next window starts weighted by this one', () => {
    const w = new LocalWindows();
    const passed = (n: number, now: number) => Array.from({ length: n }, () => w.hit('k', 5, 1000, now).admitted).filter(Boolean).length;
    expect(passed(8, 0)).toBe(5);
    // 200 ms into the next window: 5 × 0.8 = 4, so one passes (4 + 0 < 5), then 4 + 1 ≥ 5.
    expect(passed(3, 1200)).toBe(1);
    // Two windows later the full limit passes again.
    expect(passed(8, 3000)).toBe(5);
  });
  it('keys count apart', () => {
    const w = new LocalWindows();
    for (let i = 0; i < 5; i++) w.hit('a', 5, 1000, 0);
    expect(w.hit('a', 5, 1000, 0).admitted).toBe(false);
    expect(w.hit('b', 5, 1000, 0).admitted).toBe(true);
  });
  it('holds at most maxEntries keys (the oldest dropped first)', () => {
    const w = new LocalWindows(100);
    for (let i = 0; i < 1000; i++) w.hit(`k${i}`, 5, 1000, 0);
    expect(w.size).toBe(100);
  });
});

describe('counterId', () => {
  it('is bounded and opaque whatever the key value, and differs per Ingress, window and value', () => {
    const long = counterId('default/web', 60, 'x'.repeat(16_384));
    expect(long).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const ids = new Set([
      counterId('default/web', 60, 'a'),
      counterId('default/other', 60, 'a'),
      counterId('default/web', 61, 'a'),
      counterId('default/web', 60, 'b'),
    ]);
    expect(ids.size).toBe(4);
  });
});

const POLICY: GlobalRateLimitPolicy = { limit: 3, windowSeconds: 60, key: '$remote_addr' };

function gateRequest(clientIp: string, headers: Record<string, string> = {}, scope = 'default/web foo.com/'): GateRequest {
  const list = Object.entries(headers);
  return {
    httpHost: 'foo.com',
    scheme: 'http',
    method: 'GET',
    path: '/',
    search: '',
    clientIp,
    localPort: 80,
    header: (n) => headers[n] ?? null,
    headers: list,
    requestId: 'r',
    scope,
  };
}

describe('the access gate step (local counting, as portico local)', () => {
  const statuses = async (p: AccessPolicy, limiter: GlobalRateLimiter | undefined, reqs: GateRequest[]): Promise<number[]> => {
    const out: number[] = [];
    for (const r of reqs) {
      const o = await runGate(p, r, limiter === undefined ? {} : { globalLimits: limiter });
      out.push(o.kind === 'respond' ? o.status : 200);
    }
    return out;
  };
  const cases: { name: string; policy: GlobalRateLimitPolicy; requests: GateRequest[]; expected: number[] }[] = [
    {
      name: 'the default key ($remote_addr): 3 pass, then 429',
      policy: POLICY,
      requests: Array.from({ length: 5 }, () => gateRequest('192.0.2.1')),
      expected: [200, 200, 200, 429, 429],
    },
    {
      name: 'another client address counts apart',
      policy: POLICY,
      requests: [...Array.from({ length: 4 }, () => gateRequest('192.0.2.2')), gateRequest('192.0.2.3')],
      expected: [200, 200, 200, 429, 200],
    },
    {
      name: 'a header key: one API client across addresses; another client apart',
      policy: { ...POLICY, key: '$http_x_api_client' },
      requests: [
        gateRequest('192.0.2.4', { 'x-api-client': 'a' }),
        gateRequest('192.0.2.5', { 'x-api-client': 'a' }),
        gateRequest('192.0.2.6', { 'x-api-client': 'a' }),
        gateRequest('192.0.2.7', { 'x-api-client': 'a' }),
        gateRequest('192.0.2.7', { 'x-api-client': 'b' }),
      ],
      expected: [200, 200, 200, 429, 200],
    },
    {
      name: 'a key that expands to nothing counts under the client address (DEFAULT_RAW_KEY)',
      policy: { ...POLICY, key: '$http_x_api_client' },
      requests: [...Array.from({ length: 4 }, () => gateRequest('192.0.2.8')), gateRequest('192.0.2.9')],
      expected: [200, 200, 200, 429, 200],
    },
    {
      name: 'ignored-cidrs: neither limited nor counted',
      policy: { ...POLICY, ignored: ['198.51.100.0/24'] },
      requests: Array.from({ length: 6 }, () => gateRequest('198.51.100.7')),
      expected: [200, 200, 200, 200, 200, 200],
    },
    {
      name: 'every path of the Ingress counts in one counter (its zone)',
      policy: POLICY,
      requests: [
        gateRequest('192.0.2.10', {}, 'default/web foo.com/a'),
        gateRequest('192.0.2.10', {}, 'default/web foo.com/b'),
        gateRequest('192.0.2.10', {}, 'default/web foo.com/c'),
        gateRequest('192.0.2.10', {}, 'default/web foo.com/a'),
        gateRequest('192.0.2.10', {}, 'default/other foo.com/x'),
      ],
      expected: [200, 200, 200, 429, 200],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const limiter = new GlobalRateLimiter({ shared: null, now: clock().now });
      expect(await statuses({ globalRateLimit: c.policy }, limiter, c.requests)).toEqual(c.expected);
    });
  }
  it('a runtime without global limit counters (Deno, workerd) answers 503: fail closed', async () => {
    expect(await statuses({ globalRateLimit: POLICY }, undefined, [gateRequest('192.0.2.1')])).toEqual([503]);
  });
  it('a CORS preflight is answered before the limit and not counted; limit-rps refusals come after (nginx phase order)', async () => {
    const limiter = new GlobalRateLimiter({ shared: null, now: clock().now });
    const p: AccessPolicy = {
      globalRateLimit: { ...POLICY, limit: 1 },
      cors: { methods: ['GET'], allowHeaders: [], credentials: false, maxAge: 1 },
      limits: { rps: { rate: 1, burst: 0 } },
    };
    const pre = { ...gateRequest('192.0.2.20', { origin: 'https://a.test' }), method: 'OPTIONS' };
    expect(await statuses(p, limiter, [pre, pre, gateRequest('192.0.2.20'), gateRequest('192.0.2.20')])).toEqual([204, 204, 200, 429]);
  });
});

describe('the refusal cache (global_throttle.lua DECISION_CACHE)', () => {
  it('a refused key is not asked about again until its refusal ends', async () => {
    const c = clock();
    const shared = new CountingWindows();
    const limiter = new GlobalRateLimiter({ shared, now: c.now });
    for (let i = 0; i < 10; i++) await limiter.admit('default/web', 'k', POLICY);
    // Three admitted, the fourth refused by the store; the other six never reached it.
    expect(shared.calls).toBe(4);
    c.at(60_000); // the next window: the refusal ended, the store is asked again
    await limiter.admit('default/web', 'k', POLICY);
    expect(shared.calls).toBe(5);
  });
});

/** Not Redis: a counting stand-in named as such, for the cache test only (how often the store is asked). */
class CountingWindows {
  calls = 0;
  readonly ready = true;
  private readonly w = new LocalWindows();
  async hit(id: string, limit: number, windowMs: number, nowMs: number) {
    this.calls++;
    return this.w.hit(id, limit, windowMs, nowMs);
  }
}

describe('over a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** A worker's limiter over its own Redis connection, with its log lines and fallback count. */
  async function worker(c: { now: () => number }, timeoutMs?: number) {
    const shared = new RedisWindows({ redis: redis.url, cluster: 'edge', ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    const logs: string[] = [];
    let fallbacks = 0;
    const limiter = new GlobalRateLimiter({
      shared,
      now: c.now,
      log: (level, msg) => logs.push(`${level} ${msg}`),
      onFallback: () => void fallbacks++,
    });
    const deadline = Date.now() + 5_000;
    while (!shared.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return { shared, limiter, logs, fallbacks: () => fallbacks };
  }

  it('two workers share one count: 3 pass across both, then both refuse; the next windows admit again', async () => {
    const c = clock();
    const a = await worker(c);
    const b = await worker(c);
    const seq: boolean[] = [];
    for (let i = 0; i < 6; i++) seq.push(await (i % 2 === 0 ? a : b).limiter.admit('default/shared', '192.0.2.1', POLICY));
    expect(seq).toEqual([true, true, true, false, false, false]);
    c.at(120_000); // two windows later: no previous window weighs
    expect(await b.limiter.admit('default/shared', '192.0.2.1', POLICY)).toBe(true);
    await a.shared.close();
    await b.shared.close();
  });

  it('keys live under the cluster prefix, hashed, and expire after two windows', async () => {
    const c = clock();
    const a = await worker(c);
    await a.limiter.admit('default/keys', 'secret-api-token', POLICY);
    const keys = await redis.client().keys('*');
    const mine = keys.filter((k) => k.startsWith(redisLayout('edge').globalLimit));
    expect(mine.length).toBeGreaterThan(0);
    expect(keys.some((k) => k.includes('secret-api-token'))).toBe(false);
    const id = counterId('default/keys', 60, 'secret-api-token');
    const key = `${redisLayout('edge').globalLimit}${id}:${Math.floor(c.now() / 60_000)}`;
    const ttl = await redis.client().pttl(key);
    expect(ttl).toBeGreaterThan(110_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    await a.shared.close();
  });

  it('a paused (slow) Redis: requests wait at most the timeout, then count locally with the same limit; a log line once', async () => {
    const c = clock();
    const a = await worker(c, 100);
    await redis.client().client('PAUSE', 1_500, 'ALL');
    const started = performance.now();
    const seq: boolean[] = [];
    for (let i = 0; i < 5; i++) seq.push(await a.limiter.admit('default/slow', '192.0.2.1', POLICY));
    expect(performance.now() - started).toBeLessThan(1_000); // one timeout, then local at once
    expect(seq).toEqual([true, true, true, false, false]);
    expect(a.limiter.degraded).toBe(true);
    expect(a.fallbacks()).toBe(4); // the fifth was refused from the cache, counted nowhere
    expect(a.logs.filter((l) => l.includes('did not answer'))).toHaveLength(1);
    await a.shared.close();
  });

  it('a stopped Redis: counted locally at once; after a restart, counted in Redis again with one more log line', async () => {
    const c = clock();
    const a = await worker(c);
    await redis.kill();
    const deadline = Date.now() + 5_000;
    while (a.shared.ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const seq: boolean[] = [];
    for (let i = 0; i < 4; i++) seq.push(await a.limiter.admit('default/down', '192.0.2.1', POLICY));
    expect(seq).toEqual([true, true, true, false]);
    expect(a.fallbacks()).toBe(4);
    await redis.restart();
    while (!a.shared.ready && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
    c.advance(1_000); // the retry interval
    expect(await a.limiter.admit('default/up', '192.0.2.1', POLICY)).toBe(true);
    expect(a.limiter.degraded).toBe(false);
    expect(a.logs).toEqual([
      expect.stringMatching(/^warn global rate limit: Redis did not answer/),
      expect.stringMatching(/^info global rate limit: Redis answers again/),
    ]);
    expect(await redis.client().keys(`${redisLayout('edge').globalLimit}*`)).toHaveLength(1);
    await a.shared.close();
  });
});
