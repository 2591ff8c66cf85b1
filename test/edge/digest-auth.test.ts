// Digest authentication at the edge, unit by unit: the RFC 2617 arithmetic (its §3.5 example), the Authorization
// header as nginx-http-auth-digest parses it, nonces (HMAC, lifetime, counts, the bounded store), the lock-out
// after repeated failures, and the verdict a client sees (challenge, stale, Authentication-Info).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DIGEST_DEFAULTS,
  DigestFailures,
  type DigestState,
  digestAuthVerdict,
  digestCredentials,
  digestResponse,
  issueNonce,
  NonceUses,
  nonceIssuedAt,
  nonceKeyFrom,
} from '../../gateway/access/digest-auth.ts';
import {
  type BasicAuthMaterial,
  basicAuthMaterialMap,
  basicAuthMaterialProblem,
  basicAuthRevision,
} from '../../gateway/table/basic-auth.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('digestResponse(): RFC 2617 §3.5', () => {
  it('Mufasa / "Circle Of Life" / testrealm@host.com gives the published response 6629fae49393a05397450978507c4ef1', () => {
    const ha1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
    const c = { nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b' };
    expect(digestResponse(ha1, c, 'GET')).toBe('6629fae49393a05397450978507c4ef1');
  });
});

describe('digestCredentials(): the Authorization header the module accepts', () => {
  const rfc =
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
  const cases: [string, string | null, Partial<Record<string, string>> | null][] = [
    ['the RFC 2617 §3.5 example', rfc, { username: 'Mufasa', qop: 'auth', nc: '00000001', uri: '/dir/index.html' }],
    ['the scheme in any case', rfc.replace('Digest', 'dIGEST'), { username: 'Mufasa' }],
    ['a quoted-pair in a value', rfc.replace('"Mufasa"', '"Mu\\"fasa"'), { username: 'Mu"fasa' }],
    ['without qop (RFC 2069): not accepted, as the module requires it', rfc.replace(' qop=auth,', ''), null],
    ['without cnonce', rfc.replace(' cnonce="0a4f113b",', ''), null],
    ['an empty username', rfc.replace('"Mufasa"', '""'), null],
    ['Basic credentials', `Basic ${btoa('a:b')}`, null],
    ['garbage after the parameters', `${rfc} ;;`, null],
    ['no header', null, null],
  ];
  for (const [name, header, want] of cases)
    it(name, () => {
      const got = digestCredentials(header);
      if (want === null) expect(got).toBeNull();
      else expect(got).toMatchObject(want);
    });
});

describe('nonces: HMAC over randomness and time, under the cluster key', () => {
  const key = nonceKeyFrom(new Uint8Array(32).fill(7));
  it('a nonce of this key gives back its issue time (to the second)', () =>
    expect(nonceIssuedAt(key, issueNonce(key, 1_700_000_123_456))).toBe(1_700_000_123_000));
  it('another key (another cluster, another process without the shared key) does not accept it', () =>
    expect(nonceIssuedAt(nonceKeyFrom(new Uint8Array(32).fill(8)), issueNonce(key, 1_700_000_000_000))).toBeNull());
  it('a changed time is refused (the MAC covers it)', () => {
    const n = issueNonce(key, 1_700_000_000_000);
    expect(nonceIssuedAt(key, `${n.slice(0, 8)}7fffffff${n.slice(16)}`)).toBeNull();
  });
  it("the module's own 16-digit nonces are not Portico's", () => expect(nonceIssuedAt(key, '0123456789abcdef')).toBeNull());
  it('two nonces of the same second differ', () => expect(issueNonce(key, 0)).not.toBe(issueNonce(key, 0)));
});

describe('NonceUses: lifetime and counts as the module keeps them', () => {
  const T = 1_000_000;
  const cases: { name: string; steps: [nc: number, at: number, want: 'ok' | 'stale' | 'replay'][] }[] = [
    { name: 'first use within auth_digest_timeout (60 s)', steps: [[1, T + 59_000, 'ok']] },
    { name: 'first use after 60 s: stale', steps: [[1, T + 60_000, 'stale']] },
    {
      name: 'counts 1, 2, 3 in order',
      steps: [
        [1, T, 'ok'],
        [2, T + 1, 'ok'],
        [3, T + 2, 'ok'],
      ],
    },
    {
      name: 'a count used twice: replay',
      steps: [
        [1, T, 'ok'],
        [1, T + 1, 'replay'],
      ],
    },
    {
      name: 'counts out of order are each accepted once (a bit vector, not a high-water mark)',
      steps: [
        [3, T, 'ok'],
        [2, T + 1, 'ok'],
        [3, T + 2, 'replay'],
      ],
    },
    {
      name: 'count 0 only on a first use',
      steps: [
        [1, T, 'ok'],
        [0, T + 1, 'replay'],
      ],
    },
    {
      name: 'after the first use it answers for auth_digest_expires (10 s)',
      steps: [
        [1, T, 'ok'],
        [2, T + 9_999, 'ok'],
        [3, T + 10_000, 'stale'],
      ],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const uses = new NonceUses();
      for (const [nc, at, want] of c.steps) expect(uses.use('n', T, nc, at)).toBe(want);
    });

  it('bounded: evicting a used nonce makes it (and every older one) stale, never usable again', () => {
    const uses = new NonceUses(2);
    expect(uses.use('a', T, 1, T)).toBe('ok');
    expect(uses.use('b', T + 1000, 1, T + 1000)).toBe('ok');
    expect(uses.use('c', T + 2000, 1, T + 2000)).toBe('ok');
    expect(uses.size).toBe(2);
    expect(uses.use('a', T, 1, T + 2001), 'a replay of the evicted nonce').toBe('stale');
    expect(uses.use('b', T + 1000, 2, T + 2002)).toBe('ok');
  });
});

describe('DigestFailures: auth_digest_maxtries (5) within auth_digest_evasion_time (300 s)', () => {
  it('five failures lock the address out; other addresses are not', () => {
    const f = new DigestFailures();
    for (let i = 0; i < 4; i++) f.record('10.0.0.1', false, i);
    expect(f.locked('10.0.0.1', 10)).toBe(false);
    f.record('10.0.0.1', false, 10);
    expect(f.locked('10.0.0.1', 11)).toBe(true);
    expect(f.locked('10.0.0.2', 11)).toBe(false);
    expect(f.locked('10.0.0.1', 10 + DIGEST_DEFAULTS.evasionMs)).toBe(false);
  });
  it('a success clears the count', () => {
    const f = new DigestFailures();
    for (let i = 0; i < 4; i++) f.record('a', false, i);
    f.record('a', true, 5);
    f.record('a', false, 6);
    expect(f.locked('a', 7)).toBe(false);
  });
});

describe('digestAuthVerdict(): what a client sees', () => {
  const realm = 'testrealm@host.com';
  const material: BasicAuthMaterial = {
    secret: 'default/users',
    type: 'auth-file',
    scheme: 'digest',
    realm,
    users: [{ user: 'Mufasa', hash: md5(`Mufasa:${realm}:Circle Of Life`) }],
  };
  const policy = { realm, secret: 'default/users', type: 'auth-file', scheme: 'digest', revision: basicAuthRevision(material) } as const;
  const map = basicAuthMaterialMap([material]);
  const fresh = (now = 1_700_000_000_000): DigestState & { at: number } => {
    const s = { key: nonceKeyFrom(new Uint8Array(32)), uses: new NonceUses(), failures: new DigestFailures(), at: now, now: () => s.at };
    return s;
  };
  const answer = (
    nonce: string,
    o: { user?: string; password?: string; nc?: string; uri?: string; method?: string; qop?: string; realm?: string } = {},
  ) => {
    const c = { nonce, uri: o.uri ?? '/dir/index.html?x=1', qop: o.qop ?? 'auth', nc: o.nc ?? '00000001', cnonce: 'c0ffee' };
    const r = digestResponse(md5(`${o.user ?? 'Mufasa'}:${o.realm ?? realm}:${o.password ?? 'Circle Of Life'}`), c, o.method ?? 'GET');
    return `Digest username="${o.user ?? 'Mufasa'}", realm="${o.realm ?? realm}", nonce="${nonce}", uri="${c.uri}", qop=${c.qop}, nc=${c.nc}, cnonce="${c.cnonce}", response="${r}"`;
  };
  const req = (authorization: string | null, uri = '/dir/index.html?x=1') => ({ method: 'GET', uri, clientIp: '192.0.2.1', authorization });
  const challengeNonce = (s: DigestState): string => {
    const v = digestAuthVerdict(policy, req(null), map, s);
    if (v.kind !== 'respond') throw new Error('expected a challenge');
    return /nonce="([0-9a-f]+)"/.exec(v.headers[0]![1])![1]!;
  };

  it("no credentials: 401 with the module's challenge, parameters in its order", () => {
    const v = digestAuthVerdict(policy, req(null), map, fresh());
    expect(v.kind === 'respond' && v.status).toBe(401);
    expect(v.headers).toHaveLength(1);
    expect(v.headers[0]![0]).toBe('www-authenticate');
    expect(v.headers[0]![1]).toMatch(/^Digest algorithm="MD5", qop="auth", realm="testrealm@host\.com", nonce="[0-9a-f]{48}"$/);
  });

  const cases: { name: string; auth: (nonce: string) => string; uri?: string; status: 200 | 401; stale?: boolean }[] = [
    { name: 'the right response: pass', auth: (n) => answer(n), status: 200 },
    {
      name: 'the uri without the query (the module allows it for .NET clients): pass',
      auth: (n) => answer(n, { uri: '/dir/index.html' }),
      status: 200,
    },
    {
      name: 'a wrong password: a new challenge, not stale',
      auth: (n) => answer(n, { password: 'circle of life' }),
      status: 401,
      stale: false,
    },
    { name: 'an unknown user', auth: (n) => answer(n, { user: 'Simba' }), status: 401, stale: false },
    { name: "another uri than the request's", auth: (n) => answer(n, { uri: '/other' }), status: 401, stale: false },
    { name: 'a uri that is only a prefix of the path', auth: (n) => answer(n, { uri: '/dir/index' }), status: 401, stale: false },
    { name: "another method than the request's", auth: (n) => answer(n, { method: 'POST' }), status: 401, stale: false },
    { name: 'qop=auth-int (not offered)', auth: (n) => answer(n, { qop: 'auth-int' }), status: 401, stale: false },
    { name: "another realm (even with that realm's right HA1)", auth: (n) => answer(n, { realm: 'other' }), status: 401, stale: false },
    { name: 'nc 20 (auth_digest_replays): stale', auth: (n) => answer(n, { nc: '00000014' }), status: 401, stale: true },
    { name: 'a nonce this cluster never issued', auth: () => answer(`${'0'.repeat(16)}${'1'.repeat(32)}`), status: 401, stale: false },
  ];
  for (const c of cases)
    it(`${c.name}: ${c.status}`, () => {
      const s = fresh();
      const v = digestAuthVerdict(policy, req(c.auth(challengeNonce(s))), map, s);
      if (c.status === 200) {
        expect(v.kind).toBe('pass');
        return;
      }
      expect(v.kind === 'respond' && v.status).toBe(401);
      expect(v.headers[0]![1].startsWith('Digest algorithm="MD5", qop="auth"')).toBe(true);
      expect(v.headers[0]![1].endsWith(', stale="true"')).toBe(c.stale === true);
    });

  it('on success: Authentication-Info with rspauth = MD5(HA1:nonce:nc:cnonce:qop:MD5(":" uri))', () => {
    const s = fresh();
    const n = challengeNonce(s);
    const v = digestAuthVerdict(policy, req(answer(n)), map, s);
    const ha1 = md5(`Mufasa:${realm}:Circle Of Life`);
    const rsp = md5(`${ha1}:${n}:00000001:c0ffee:auth:${md5(':/dir/index.html?x=1')}`);
    expect(v).toEqual({ kind: 'pass', headers: [['authentication-info', `qop="auth", rspauth="${rsp}", cnonce="c0ffee", nc=00000001`]] });
  });

  it('a replayed request (same nonce and nc) is refused; the next nc passes', () => {
    const s = fresh();
    const n = challengeNonce(s);
    expect(digestAuthVerdict(policy, req(answer(n)), map, s).kind).toBe('pass');
    const replay = digestAuthVerdict(policy, req(answer(n)), map, s);
    expect(replay.kind === 'respond' && replay.status).toBe(401);
    expect(replay.headers[0]![1]).not.toContain('stale');
    expect(digestAuthVerdict(policy, req(answer(n, { nc: '00000002' })), map, s).kind).toBe('pass');
  });

  it('a nonce answered after 60 s: stale="true" (the client retries with the new nonce without asking its user)', () => {
    const s = fresh();
    const n = challengeNonce(s);
    s.at += DIGEST_DEFAULTS.timeoutMs;
    const v = digestAuthVerdict(policy, req(answer(n)), map, s);
    expect(v.kind === 'respond' && v.headers[0]![1]).toMatch(/, stale="true"$/);
  });

  it('five failures from an address: 401 without a challenge, even with the right response', () => {
    const s = fresh();
    const good = challengeNonce(s);
    for (let i = 0; i < 5; i++) digestAuthVerdict(policy, req(answer(challengeNonce(s), { password: 'x' })), map, s);
    expect(digestAuthVerdict(policy, req(answer(good)), map, s)).toEqual({ kind: 'respond', status: 401, headers: [] });
    expect(digestAuthVerdict(policy, req(null), map, s), 'not even a challenge').toEqual({ kind: 'respond', status: 401, headers: [] });
    s.at += DIGEST_DEFAULTS.evasionMs;
    expect(digestAuthVerdict(policy, req(null), map, s).headers).toHaveLength(1);
  });

  it('material of another revision, or basic material: 503 (fail closed)', () => {
    expect(digestAuthVerdict({ ...policy, revision: `sha256:${'0'.repeat(64)}` }, req(null), map, fresh()).kind === 'respond').toBe(true);
    expect(digestAuthVerdict({ ...policy, revision: `sha256:${'0'.repeat(64)}` }, req(null), map, fresh())).toMatchObject({ status: 503 });
    const basic: BasicAuthMaterial = { secret: 'default/users', type: 'auth-file', users: [] };
    expect(
      digestAuthVerdict({ ...policy, revision: basicAuthRevision(basic) }, req(null), basicAuthMaterialMap([basic]), fresh()),
    ).toMatchObject({
      status: 503,
    });
  });
});

describe('digest material in the contract', () => {
  const ok: BasicAuthMaterial = {
    secret: 'default/d',
    type: 'auth-file',
    scheme: 'digest',
    realm: 'r',
    users: [{ user: 'u', hash: md5('u:r:p') }],
  };
  const cases: [string, unknown, string | null][] = [
    ['digest material', ok, null],
    [
      'an HA1 that is not 32 hex digits',
      { ...ok, users: [{ user: 'u', hash: '$apr1$x' }] },
      'has a digest entry whose HA1 is not 32 hex digits',
    ],
    ['digest material without its realm', { ...ok, realm: undefined }, 'is digest material without a usable realm'],
    ['a realm on basic material', { ...ok, scheme: undefined }, 'has a realm but is not digest material'],
  ];
  for (const [name, m, want] of cases) it(name, () => expect(basicAuthMaterialProblem(m)).toBe(want));
  it('the same users as basic material have another revision (a route never uses the other kind)', () =>
    expect(basicAuthRevision(ok)).not.toBe(basicAuthRevision({ secret: ok.secret, type: ok.type, users: ok.users })));
});
