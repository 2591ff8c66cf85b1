// Endpoint choice for affinity: cookie and upstream-hash-by (gateway/affinity.ts, hash-ring.ts): pure functions of
// the endpoint list and the cookie or key. Behaviour from ingress-nginx's balancer/sticky*.lua, chash*.lua and
// util/nodemap.lua; properties a user notices: a session stays on its endpoint, scaling moves few keys, a cookie
// never names anything but an endpoint of the table, and the Set-Cookie attributes ingress-nginx writes.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cookieTime, pickEndpoint, pickHashed, pickSticky, responseCookie } from '../../gateway/affinity.ts';
import type { RequestFacts } from '../../gateway/decide.ts';
import { HashRing } from '../../gateway/hash-ring.ts';
import { md5Hex } from '../../gateway/md5.ts';
import type { AffinityPolicy, Backend, RoutePolicies } from '../../gateway/table/schema.ts';
import { checkAffinity, checkBalance } from '../../gateway/table/validate-affinity.ts';

function backend(n: number, first = 1): Backend {
  const endpoints = Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${first + i}`, port: 8080, zone: null }));
  return { id: 'default/web:80', service: { namespace: 'default', name: 'web', port: 80 }, endpoints, notReady: 0 };
}
const facts = (headers: Record<string, string> = {}, o: Partial<RequestFacts> = {}): RequestFacts => ({
  host: 'foo.com',
  path: '/a',
  search: '',
  scheme: 'http',
  clientIp: '192.0.2.1',
  localPort: 80,
  header: (name) => headers[name],
  ...o,
});
const vars = (headers: Record<string, string> = {}, scheme: 'http' | 'https' = 'http') => ({
  httpHost: 'foo.com',
  scheme,
  method: 'GET',
  path: '/',
  search: '',
  clientIp: '192.0.2.1',
  localPort: 80,
  header: (n: string) => headers[n] ?? null,
});
const STICKY: AffinityPolicy = { mode: 'persistent', name: 'SERVERID', path: '/' };
const NOW = Date.UTC(2025, 0, 6, 12, 0, 0);
const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};
const keys = (n: number) => Array.from({ length: n }, (_, i) => `/item/${i}`);
const addr = (b: Backend, i: number) => b.endpoints[i]!.address;

describe('md5 (ngx.md5)', () => {
  it.each(['', 'abc', 'default-web-8010.0.0.1:8080', 'x'.repeat(200), 'é☃'])('matches node:crypto for %j', (s) => {
    expect(md5Hex(s)).toBe(createHash('md5').update(s).digest('hex'));
  });
});

describe('consistent-hash ring (chash.lua)', () => {
  const where = (names: string[]) => {
    const ring = new HashRing(names);
    return keys(5000).map((k) => names[ring.find(k)]);
  };
  const names = (n: number) => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:8080`);

  it('adding a fifth endpoint moves about a fifth of the keys, all of them to the new endpoint', () => {
    const before = where(names(4));
    const after = where(names(5));
    const moved = before.filter((e, i) => e !== after[i]).length / before.length;
    expect(moved).toBeGreaterThan(0.1);
    expect(moved).toBeLessThan(0.3);
    for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) expect(after[i]).toBe('10.0.0.5:8080');
  });
  it('removing an endpoint moves only the keys it had', () => {
    const before = where(names(5));
    const after = where(names(5).filter((n) => n !== '10.0.0.3:8080'));
    for (let i = 0; i < before.length; i++) if (before[i] !== '10.0.0.3:8080') expect(after[i]).toBe(before[i]);
  });
  it('the order of the endpoint list does not matter', () => {
    expect(where([...names(4)].reverse())).toEqual(where(names(4)));
  });
  it('spreads keys: each of 3 endpoints gets 20% to 47%', () => {
    const counts = new Map<string, number>();
    for (const e of where(names(3))) counts.set(e!, (counts.get(e!) ?? 0) + 1);
    for (const c of counts.values()) expect(c / 5000).toBeGreaterThan(0.2);
    for (const c of counts.values()) expect(c / 5000).toBeLessThan(0.47);
  });
  it('an empty ring finds nothing', () => expect(new HashRing([]).find('x')).toBe(-1));
});

describe('upstream-hash-by (chash.lua, chashsubset.lua)', () => {
  it('should connect to the same pod (upstreamhashby.go): one key, one endpoint, whatever `random` says', () => {
    const b = backend(6);
    const picks = new Set([0.1, 0.5, 0.9].map((r) => pickHashed(b, { hashBy: '$request_uri' }, vars(), () => r)));
    expect(picks.size).toBe(1);
  });
  it('different keys reach different endpoints', () => {
    const b = backend(3);
    const picks = new Set(keys(50).map((k) => pickHashed(b, { hashBy: '$uri' }, { ...vars(), path: k }, Math.random)));
    expect(picks.size).toBe(3);
  });
  it('should connect to the same subset of pods (upstreamhashby.go): 6 endpoints, subset 3 → exactly 3 for one key', () => {
    const b = backend(6);
    const picks = new Set(
      Array.from({ length: 100 }, (_, i) => pickHashed(b, { hashBy: '$request_uri', subsetSize: 3 }, vars(), () => i / 100)),
    );
    expect(picks.size).toBe(3);
  });
  it('a subset larger than the endpoints is filled from the first ones (build_subset_map)', () => {
    const b = backend(2);
    const picks = new Set([0, 0.4, 0.7, 0.99].map((r) => pickHashed(b, { hashBy: '$uri', subsetSize: 3 }, vars(), () => r)));
    expect([...picks].every((i) => i === 0 || i === 1)).toBe(true);
  });
  it('a header variable keys the choice: same X-User, same endpoint across paths', () => {
    const b = backend(5);
    const up: RoutePolicies = { sslRedirect: false, balance: { hashBy: '$http_x_user' } };
    const a = pickEndpoint(b, up, facts({ 'x-user': 'ann' }, { path: '/1' }), 'GET', NOW);
    const c = pickEndpoint(b, up, facts({ 'x-user': 'ann' }, { path: '/2' }), 'POST', NOW);
    expect(a).toEqual(c);
    expect(a?.setCookie).toBeNull();
  });
});

describe('cookie affinity (sticky.lua)', () => {
  const salt = 'default-web-80';
  const persistentKey = (address: string) => md5Hex(`${salt}${address}:8080`);
  const backendKey = md5Hex(md5Hex(salt) + salt);

  it('persistent, no cookie: a random endpoint and a cookie naming it by ingress-nginx’s salted MD5, never in clear', () => {
    const b = backend(3);
    const p = pickSticky(b, STICKY, vars(), NOW, () => 0.5);
    expect(p.first).toBe(1);
    expect(p.setCookie).toBe(`SERVERID=${persistentKey('10.0.0.2')}|${backendKey}; Path=/; HttpOnly`);
    expect(p.setCookie).not.toContain('10.0.0');
  });
  it('persistent, a cookie ingress-nginx set: the same endpoint, no Set-Cookie', () => {
    const b = backend(3);
    const p = pickSticky(b, STICKY, vars({ cookie: `a=1; SERVERID=${persistentKey('10.0.0.3')}|${backendKey}` }), NOW, () => 0);
    expect(p).toEqual({ first: 2, setCookie: null });
  });
  it('persistent, endpoints added (affinitymode.go "Check persistent affinity mode"): the session stays', () => {
    const cookie = `SERVERID=${persistentKey('10.0.0.2')}|x`;
    for (let n = 2; n <= 8; n++)
      expect(addr(backend(n), pickSticky(backend(n), STICKY, vars({ cookie }), NOW, () => 0).first)).toBe('10.0.0.2');
  });
  it('persistent, its endpoint gone (brand new backends): a new endpoint and a new cookie', () => {
    const b = backend(2, 10);
    const p = pickSticky(b, STICKY, vars({ cookie: `SERVERID=${persistentKey('10.0.0.2')}|x` }), NOW, () => 0);
    expect(addr(b, p.first)).toBe('10.0.0.10');
    expect(p.setCookie).toContain(`SERVERID=${persistentKey('10.0.0.10')}|`);
  });
  it.each([
    ['an address in clear', 'SERVERID=10.0.0.9:8080'],
    ['a hash of an endpoint not in the table', `SERVERID=${persistentKey('10.0.0.9')}`],
    ['an empty key', 'SERVERID=|abc'],
    ['another cookie name (names are case-sensitive)', `serverid=${persistentKey('10.0.0.1')}`],
  ])('persistent, %s: not trusted, a table endpoint is picked and a cookie set', (_n, cookie) => {
    const b = backend(3);
    const p = pickSticky(b, STICKY, vars({ cookie }), NOW, () => 0);
    expect(p.first).toBe(0);
    expect(p.setCookie).not.toBeNull();
  });
  it('balanced: the random key of the cookie keeps its endpoint; an unknown key is still placed on the ring', () => {
    const b = backend(4);
    const bal: AffinityPolicy = { ...STICKY, mode: 'balanced' };
    const first = pickSticky(b, bal, vars(), NOW, seq(0.25, 0.75));
    const key = first.setCookie!.split(';')[0]!.slice('SERVERID='.length);
    expect(key).toMatch(/^[0-9a-f]{16}\|[0-9a-f]{32}$/);
    for (let i = 0; i < 5; i++)
      expect(pickSticky(b, bal, vars({ cookie: `SERVERID=${key}` }), NOW, Math.random)).toEqual({ first: first.first, setCookie: null });
    expect(pickSticky(b, bal, vars({ cookie: 'SERVERID=anything' }), NOW, Math.random).setCookie).toBeNull();
  });
  it('balanced, scaled from 4 to 5 endpoints: most sessions stay (roughly (n-c)/n move)', () => {
    const bal: AffinityPolicy = { ...STICKY, mode: 'balanced' };
    const cookies = keys(1000).map((k) => ({ cookie: `SERVERID=${k}|x` }));
    const before = cookies.map((c) => addr(backend(4), pickSticky(backend(4), bal, vars(c), NOW, Math.random).first));
    const after = cookies.map((c) => addr(backend(5), pickSticky(backend(5), bal, vars(c), NOW, Math.random).first));
    const moved = before.filter((a, i) => a !== after[i]).length / 1000;
    expect(moved).toBeGreaterThan(0.1);
    expect(moved).toBeLessThan(0.3);
  });

  describe('Set-Cookie attributes (affinity.go)', () => {
    const cookieOf = (p: AffinityPolicy, v = vars()) => pickSticky(backend(2), p, v, NOW, () => 0).setCookie!;
    it.each<[string, Partial<AffinityPolicy>, ReturnType<typeof vars>, RegExp[], RegExp[]]>([
      ['should set the path to /something on the generated cookie', { path: '/something' }, vars(), [/; Path=\/something;/], []],
      [
        'should set cookie with expires: Expires 48 h later in nginx’s format, Max-Age as given',
        { expiresSeconds: 172_800, maxAgeSeconds: 259_200 },
        vars(),
        [/; Expires=Wed, 08-Jan-25 12:00:00 GMT; Max-Age=259200;/],
        [],
      ],
      ['should set secure in cookie with provided true annotation on http', { secure: true }, vars(), [/; Secure;/], []],
      ['should not set secure in cookie with provided false annotation on http', {}, vars(), [], [/Secure/]],
      ['should set secure in cookie with provided false annotation on https', {}, vars({}, 'https'), [/; Secure;/], []],
      [
        'domain and SameSite',
        { domain: '.foo.com', sameSite: 'Lax' },
        vars(),
        [/; Domain=\.foo\.com; Path=\/; HttpOnly; SameSite=Lax$/],
        [],
      ],
      [
        'conditional SameSite=None: kept for a current browser',
        { sameSite: 'None', conditionalSameSiteNone: true },
        vars({ 'user-agent': 'Mozilla/5.0 Chrome/120.0' }),
        [/SameSite=None$/],
        [],
      ],
      [
        'conditional SameSite=None: left out for Chrome 51-66',
        { sameSite: 'None', conditionalSameSiteNone: true },
        vars({ 'user-agent': 'Mozilla/5.0 Chrome/62.0' }),
        [],
        [/SameSite/],
      ],
      [
        'unconditional SameSite=None: written for every browser',
        { sameSite: 'None' },
        vars({ 'user-agent': 'Mozilla/5.0 Chrome/62.0' }),
        [/SameSite=None$/],
        [],
      ],
    ])('%s', (_n, extra, v, want, not) => {
      const c = cookieOf({ ...STICKY, ...extra }, v);
      for (const w of want) expect(c).toMatch(w);
      for (const w of not) expect(c).not.toMatch(w);
    });
    it('cookieTime is ngx.cookie_time', () => expect(cookieTime(Date.UTC(2010, 10, 18, 11, 27, 35))).toBe('Thu, 18-Nov-10 11:27:35 GMT'));
  });

  describe('after a failed attempt (session-cookie-change-on-failure)', () => {
    const b = backend(3);
    const valid = facts({ cookie: `SERVERID=${persistentKey('10.0.0.1')}` });
    const up = (changeOnFailure?: true): RoutePolicies => ({
      sslRedirect: false,
      affinity: { ...STICKY, ...(changeOnFailure ? { changeOnFailure } : {}) },
    });
    it('without it: the cookie keeps its endpoint (no Set-Cookie) even though another endpoint answered', () => {
      const pick = pickEndpoint(b, up(), valid, 'GET', NOW)!;
      expect(responseCookie(b, up(), pick, 1, valid, 'GET', NOW)).toBeNull();
    });
    it('with it: the cookie is re-pointed at the endpoint that answered', () => {
      const pick = pickEndpoint(b, up(true), valid, 'GET', NOW)!;
      expect(responseCookie(b, up(true), pick, 1, valid, 'GET', NOW)).toContain(`SERVERID=${persistentKey('10.0.0.2')}|`);
    });
    it('a new session whose first endpoint failed gets the cookie of the one that answered', () => {
      const pick = pickEndpoint(b, up(), facts(), 'GET', NOW, () => 0)!;
      expect(responseCookie(b, up(), pick, 2, facts(), 'GET', NOW)).toContain(`SERVERID=${persistentKey('10.0.0.3')}|`);
    });
    it('balanced: a key that lands on the endpoint that answered', () => {
      const bal: RoutePolicies = { sslRedirect: false, affinity: { ...STICKY, mode: 'balanced', changeOnFailure: true } };
      const pick = pickEndpoint(b, bal, facts({ cookie: 'SERVERID=k' }), 'GET', NOW)!;
      const answered = (pick.first + 1) % 3;
      const c = responseCookie(b, bal, pick, answered, facts(), 'GET', NOW)!;
      const again = pickEndpoint(b, bal, facts({ cookie: c.split(';')[0]! }), 'GET', NOW)!;
      expect(again).toEqual({ first: answered, setCookie: null });
    });
  });
});

describe('validate(): affinity and balance', () => {
  const problems = (f: (bad: (at: string, m: string) => void) => void) => {
    const out: string[] = [];
    f((at, m) => out.push(`${at}: ${m}`));
    return out;
  };
  it.each<[string, unknown, number]>([
    [
      'a complete policy',
      {
        mode: 'balanced',
        name: 'S',
        path: '/',
        domain: 'a.b',
        secure: true,
        sameSite: 'Lax',
        expiresSeconds: 1,
        maxAgeSeconds: 2,
        changeOnFailure: true,
        conditionalSameSiteNone: true,
      },
      0,
    ],
    ['a path with ";" (another attribute smuggled in)', { mode: 'balanced', name: 'S', path: '/; Domain=evil.com' }, 1],
    ['a name with "="', { mode: 'balanced', name: 'a=b', path: '/' }, 1],
    ['an unknown mode and an extra field', { mode: 'ip', name: 'S', path: '/', extra: 1 }, 2],
    ['no path', { mode: 'persistent', name: 'S' }, 1],
    ['a domain with a space', { mode: 'persistent', name: 'S', path: '/', domain: 'a b' }, 1],
  ])('affinity: %s → %i problems', (_n, v, count) => expect(problems((bad) => checkAffinity(v, 'a', bad))).toHaveLength(count));
  it.each<[string, unknown, unknown, number]>([
    ['a key with a variable', { hashBy: '$request_uri' }, undefined, 0],
    ['an unknown variable', { hashBy: '$binary_remote_addr' }, undefined, 1],
    ['no variable at all', { hashBy: 'constant' }, undefined, 1],
    ['beside affinity', { hashBy: '$uri' }, { mode: 'balanced' }, 1],
    ['a subset of 0', { hashBy: '$uri', subsetSize: 0 }, undefined, 1],
  ])('balance: %s → %i problems', (_n, v, aff, count) => expect(problems((bad) => checkBalance(v, 'b', bad, aff))).toHaveLength(count));
});
