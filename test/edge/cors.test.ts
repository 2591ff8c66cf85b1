// The CORS decision alone (gateway/access/cors.ts), and its place in the access gate. Policies are read from the
// annotations of ingress-nginx's test/e2e/annotations/cors.go by the compiler's own parser, so each case names the
// cors.go test it mirrors and uses its values; what it asserts is what that test asserts on the wire (or, for the
// cases that only check the generated nginx.conf, the header that line of nginx.conf sends).
import { describe, expect, it } from 'vitest';
import { AuthCache } from '../../gateway/access/auth-cache.ts';
import { corsDecision } from '../../gateway/access/cors.ts';
import type { AuthClient } from '../../gateway/access/external-auth.ts';
import { type GateRequest, runGate } from '../../gateway/access/gate.ts';
import { withResponseAdditions } from '../../gateway/proxy/headers.ts';
import type { CorsPolicy } from '../../gateway/table/schema.ts';
import { originAllowed, parseOrigin } from '../../gateway/table/validate-cors.ts';
import { parseCors } from '../../sync/compile/cors-annotations.ts';

const N = 'nginx.ingress.kubernetes.io/';

/** enable-cors "true" plus these cors-* annotations (names without the prefix), through the compiler's parser. */
function policy(cors: Record<string, string> = {}): CorsPolicy {
  const annotations = { [`${N}enable-cors`]: 'true', ...Object.fromEntries(Object.entries(cors).map(([k, v]) => [`${N}cors-${k}`, v])) };
  const failures: string[] = [];
  const r = parseCors(
    annotations,
    () => {},
    (k, why) => void failures.push(`${k}: ${why}`),
    () => {},
  );
  if (r === null) throw new Error(`the annotations do not parse: ${failures.join('; ')}`);
  return r.policy;
}

const headerOf = (d: ReturnType<typeof corsDecision>, name: string): string | undefined => d.headers.find(([k]) => k === name)?.[1];
const ACAO = 'access-control-allow-origin';

describe('which requests get Access-Control-Allow-Origin, and with what (cors.go)', () => {
  const cases: { test: string; cors: Record<string, string>; origin: string | null; allowOrigin: string | null }[] = [
    { test: 'should enable cors', cors: {}, origin: null, allowOrigin: '*' },
    {
      test: 'should allow origin for cors',
      cors: { 'allow-origin': 'https://origin.cors.com:8080' },
      origin: 'https://origin.cors.com:8080',
      allowOrigin: 'https://origin.cors.com:8080',
    },
    {
      test: 'should allow - single origin for multiple cors values',
      cors: { 'allow-origin': 'https://origin.cors.com:8080, https://origin2.cors.com' },
      origin: 'https://origin.cors.com:8080',
      allowOrigin: 'https://origin.cors.com:8080',
    },
    {
      test: 'should not allow - single origin for multiple cors values',
      cors: { 'allow-origin': 'http://origin2.cors.com, https://origin.com' },
      origin: 'http://no.origin.com',
      allowOrigin: null,
    },
    // cors.go lists a malformed "origin.cors.com:8080" first, which ingress-nginx skips; Portico fails closed on it
    // (test/compile/cors.test.ts), so the well-formed rest of that list is checked here.
    ...['https://origin2.cors.com', 'https://origin.com'].map((origin) => ({
      test: 'should allow correct origins - single origin for multiple cors values',
      cors: { 'allow-origin': 'https://origin2.cors.com, https://origin.com' },
      origin,
      allowOrigin: origin,
    })),
    {
      test: 'should allow correct origins - single origin for multiple cors values (the bad origin)',
      cors: { 'allow-origin': 'https://origin2.cors.com, https://origin.com' },
      origin: 'origin.cors.com:8080',
      allowOrigin: null,
    },
    { test: 'should not break functionality', cors: { 'allow-origin': '*' }, origin: null, allowOrigin: '*' },
    { test: 'should not break functionality - without `*`', cors: {}, origin: null, allowOrigin: '*' },
    {
      test: 'should not break functionality with extra domain',
      cors: { 'allow-origin': '*, foo.bar.com' },
      origin: null,
      allowOrigin: '*',
    },
    { test: 'should not match', cors: { 'allow-origin': 'https://foo.bar.com' }, origin: 'https://fooxbar.com', allowOrigin: null },
    {
      test: 'should allow - single origin with required port',
      cors: { 'allow-origin': 'http://origin.cors.com:8080, http://origin.com:8080' },
      origin: 'http://origin.com:8080',
      allowOrigin: 'http://origin.com:8080',
    },
    {
      test: 'should not allow - single origin with port and origin without port',
      cors: { 'allow-origin': 'https://origin2.cors.com, http://origin.com' },
      origin: 'http://origin.com:8080',
      allowOrigin: null,
    },
    {
      test: 'should not allow - single origin without port and origin with required port',
      cors: { 'allow-origin': 'http://origin.cors.com:8080, http://origin.com:8080' },
      origin: 'http://origin.com',
      allowOrigin: null,
    },
    ...['http://foo.origin.cors.com', 'http://bar-foo.origin.cors.com'].map((origin) => ({
      test: 'should allow - matching origin with wildcard origin (2 subdomains)',
      cors: { 'allow-origin': 'http://*.origin.cors.com, http://*.origin.com:8080' },
      origin,
      allowOrigin: origin,
    })),
    {
      test: 'should not allow - unmatching origin with wildcard origin (2 subdomains)',
      cors: { 'allow-origin': 'http://*.origin.cors.com, http://*.origin.com:8080' },
      origin: 'http://bar.foo.origin.cors.com',
      allowOrigin: null,
    },
    {
      test: 'should allow - matching origin+port with wildcard origin',
      cors: { 'allow-origin': 'http://origin.cors.com:8080, http://*.origin.com:8080' },
      origin: 'http://abc.origin.com:8080',
      allowOrigin: 'http://abc.origin.com:8080',
    },
    {
      test: 'should not allow - portless origin with wildcard origin',
      cors: { 'allow-origin': 'http://origin.cors.com:8080, http://*.origin.com:8080' },
      origin: 'http://abc.origin.com',
      allowOrigin: null,
    },
    ...(
      [
        ['http://origin.com:8080', null],
        ['http://bar.origin.com:8080', 'http://bar.origin.com:8080'],
      ] as const
    ).map(([origin, allowOrigin]) => ({
      test: 'should allow correct origins - missing subdomain + origin with wildcard origin and correct origin',
      cors: { 'allow-origin': 'http://origin.cors.com:8080, http://*.origin.com:8080' },
      origin,
      allowOrigin,
    })),
    ...['http://origin.com', 'http://book.origin.com', 'test.origin.com'].map((origin) => ({
      test: 'should allow - missing origins (should allow all origins)',
      cors: { 'allow-origin': '      ' },
      origin,
      allowOrigin: '*',
    })),
    // Beyond cors.go: exact, case-insensitive parts, never a pattern over the text.
    {
      test: 'scheme and host compare case-insensitively (nginx matches with ~*); the Origin is echoed as sent',
      cors: { 'allow-origin': 'https://App.Example.com' },
      origin: 'HTTPS://app.EXAMPLE.com',
      allowOrigin: 'HTTPS://app.EXAMPLE.com',
    },
    {
      test: "an Origin that merely ends with an allowed one does not match (nginx's regex is anchored at the end only)",
      cors: { 'allow-origin': 'https://example.com' },
      origin: 'https://evil-https://example.com',
      allowOrigin: null,
    },
    {
      test: 'another scheme does not match',
      cors: { 'allow-origin': 'https://example.com' },
      origin: 'http://example.com',
      allowOrigin: null,
    },
    {
      test: 'a wildcard never matches its bare domain',
      cors: { 'allow-origin': 'https://*.example.com' },
      origin: 'https://example.com',
      allowOrigin: null,
    },
    { test: 'the origin "null" when listed', cors: { 'allow-origin': 'null, https://example.com' }, origin: 'null', allowOrigin: 'null' },
    { test: 'a list without "null" never matches it', cors: { 'allow-origin': 'https://example.com' }, origin: 'null', allowOrigin: null },
    {
      test: 'no Origin header with an origin list: no CORS headers',
      cors: { 'allow-origin': 'https://example.com' },
      origin: null,
      allowOrigin: null,
    },
    {
      test: 'an Origin with a path does not parse, so it matches nothing',
      cors: { 'allow-origin': 'https://example.com' },
      origin: 'https://example.com/x',
      allowOrigin: null,
    },
  ];
  for (const c of cases) {
    it(`${c.test}: Origin ${JSON.stringify(c.origin)} → ${c.allowOrigin === null ? 'no CORS headers' : c.allowOrigin}`, () => {
      const d = corsDecision(policy(c.cors), 'GET', c.origin);
      expect(d.kind).toBe('pass');
      expect(headerOf(d, ACAO)).toBe(c.allowOrigin ?? undefined);
      if (c.allowOrigin === null) expect(d.headers.filter(([k]) => k.startsWith('access-control-'))).toEqual([]);
    });
  }
});

describe('the headers nginx.conf sets (cors.go cases that check the generated configuration)', () => {
  const cases: { test: string; cors: Record<string, string>; headers: Record<string, string | undefined> }[] = [
    {
      test: 'should enable cors (the defaults of the annotations docs)',
      cors: {},
      headers: {
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
        'access-control-allow-headers':
          'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
        'access-control-max-age': '1728000',
        'access-control-expose-headers': undefined,
      },
    },
    {
      test: 'should set cors methods to only allow POST, GET',
      cors: { 'allow-methods': 'POST, GET' },
      headers: { 'access-control-allow-methods': 'POST, GET' },
    },
    { test: 'should set cors max-age', cors: { 'max-age': '200' }, headers: { 'access-control-max-age': '200' } },
    {
      test: 'should disable cors allow credentials',
      cors: { 'allow-credentials': 'false' },
      headers: { 'access-control-allow-credentials': undefined },
    },
    // The list is sent with "," between entries, as ingress-nginx's default is written (nginx sends "DNT, User-Agent").
    {
      test: 'should allow headers for cors',
      cors: { 'allow-headers': 'DNT, User-Agent' },
      headers: { 'access-control-allow-headers': 'DNT,User-Agent' },
    },
    {
      test: 'should expose headers for cors',
      cors: { 'expose-headers': 'X-CustomResponseHeader, X-CustomSecondHeader' },
      headers: { 'access-control-expose-headers': 'X-CustomResponseHeader, X-CustomSecondHeader' },
    },
    {
      test: '* with credentials: both are sent, as nginx does (browsers then refuse credentialed requests)',
      cors: { 'allow-origin': '*', 'allow-credentials': 'true' },
      headers: { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true', vary: undefined },
    },
  ];
  for (const c of cases) {
    it(c.test, () => {
      for (const method of ['GET', 'OPTIONS']) {
        const d = corsDecision(policy(c.cors), method, 'https://app.example.com');
        for (const [name, value] of Object.entries(c.headers)) expect(headerOf(d, name), `${method} ${name}`).toBe(value);
      }
    });
  }
});

describe('the preflight (the template: OPTIONS with $cors "true" → return 204)', () => {
  it('`*`: every OPTIONS is answered at the edge, even without an Origin (the old cors.go "should enable cors": OPTIONS → 204)', () => {
    expect(corsDecision(policy(), 'OPTIONS', null).kind).toBe('preflight');
  });
  it('an origin list: an allowed Origin is answered at the edge, with Vary: Origin', () => {
    const d = corsDecision(policy({ 'allow-origin': 'https://a.example' }), 'OPTIONS', 'https://a.example');
    expect(d).toEqual({
      kind: 'preflight',
      headers: [
        ['access-control-allow-origin', 'https://a.example'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-allow-methods', 'GET, PUT, POST, DELETE, PATCH, OPTIONS'],
        [
          'access-control-allow-headers',
          'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
        ],
        ['access-control-max-age', '1728000'],
        ['vary', 'Origin'],
      ],
    });
  });
  it('an origin list: OPTIONS from another origin, or without one, goes upstream untouched (but for Vary)', () => {
    const p = policy({ 'allow-origin': 'https://a.example' });
    expect(corsDecision(p, 'OPTIONS', 'https://b.example')).toEqual({ kind: 'pass', headers: [['vary', 'Origin']], replaces: [] });
    expect(corsDecision(p, 'OPTIONS', null)).toEqual({ kind: 'pass', headers: [['vary', 'Origin']], replaces: [] });
  });
  it("the method compares exactly, as nginx's `$request_method = 'OPTIONS'`", () => {
    expect(corsDecision(policy(), 'options', null).kind).toBe('pass');
  });
});

describe('headers on other responses replace the upstream ones (more_set_headers)', () => {
  it('the names the policy sets are replaced; Vary and the rest of the upstream headers stay', () => {
    const d = corsDecision(policy({ 'allow-origin': 'https://a.example', 'allow-credentials': 'false' }), 'GET', 'https://a.example');
    if (d.kind !== 'pass') throw new Error('expected pass');
    const upstream = [
      'Access-Control-Allow-Origin',
      '*',
      'Access-Control-Allow-Credentials',
      'true',
      'Access-Control-Max-Age',
      '5',
      'Vary',
      'Accept-Encoding',
      'Content-Type',
      'text/plain',
    ];
    expect(withResponseAdditions(upstream, { always: d.headers, onSuccess: [], replace: d.replaces }, 500)).toEqual([
      // credentials are off: nginx sets no Access-Control-Allow-Credentials, so the upstream's stays
      'Access-Control-Allow-Credentials',
      'true',
      'Vary',
      'Accept-Encoding',
      'Content-Type',
      'text/plain',
      'access-control-allow-origin',
      'https://a.example',
      'access-control-allow-methods',
      'GET, PUT, POST, DELETE, PATCH, OPTIONS',
      'access-control-allow-headers',
      'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
      'access-control-max-age',
      '1728000',
      'vary',
      'Origin',
    ]);
  });
  it('a request that gets no CORS headers leaves the upstream ones alone', () => {
    const d = corsDecision(policy({ 'allow-origin': 'https://a.example' }), 'GET', 'https://b.example');
    if (d.kind !== 'pass') throw new Error('expected pass');
    expect(
      withResponseAdditions(['access-control-allow-origin', '*'], { always: d.headers, onSuccess: [], replace: d.replaces }, 200),
    ).toEqual(['access-control-allow-origin', '*', 'vary', 'Origin']);
  });
});

describe('origins in parts', () => {
  it('parses what cors-allow-origin may say, and nothing else', () => {
    expect(parseOrigin('https://*.Example.com:8443', true)).toEqual({
      kind: 'host',
      scheme: 'https',
      host: 'example.com',
      port: '8443',
      wildcard: true,
    });
    expect(parseOrigin('null', false)).toEqual({ kind: 'null' });
    for (const bad of [
      'origin.cors.com:8080',
      'https://',
      'https://a..b',
      'https://a.b/',
      'https://u@a.b',
      'https://a.b:99999',
      'https://a.b:080',
      'https://*.*.a.b',
      'https://a.*.b',
      'https://[::1]',
      '*',
    ])
      expect(parseOrigin(bad, true), bad).toBeNull();
    expect(parseOrigin('https://*.a.b', false)).toBeNull(); // a request's Origin is never a pattern
  });
  it('a wildcard stands for exactly one label', () => {
    const w = parseOrigin('http://*.origin.com', true)!;
    expect(originAllowed(w, parseOrigin('http://a-b.origin.com', false)!)).toBe(true);
    expect(originAllowed(w, parseOrigin('http://a.b.origin.com', false)!)).toBe(false);
    expect(originAllowed(w, parseOrigin('http://xorigin.com', false)!)).toBe(false);
  });
});

describe('in the access gate', () => {
  const request = (method: string, headers: Record<string, string>): GateRequest => ({
    httpHost: 'app.test',
    scheme: 'http',
    method,
    path: '/',
    search: '',
    clientIp: '192.0.2.1',
    localPort: 80,
    header: (n) => headers[n] ?? null,
    headers: Object.entries(headers),
    requestId: 'rid',
    scope: 'default/web app.test /',
  });
  const auth = (status: number) => {
    const calls: string[] = [];
    const client: AuthClient = async (r) => {
      calls.push(r.method);
      return { status, headers: [] };
    };
    return { calls, deps: { auth: { client, cache: new AuthCache() } } };
  };

  it('a preflight is answered before the auth service is asked (nginx: rewrite phase before access phase)', async () => {
    const a = auth(401);
    const o = await runGate(
      { cors: policy(), externalAuth: { url: 'http://auth.test/' } },
      request('OPTIONS', { origin: 'https://x.test' }),
      a.deps,
    );
    expect(o.kind === 'respond' && o.status).toBe(204);
    expect(a.calls).toEqual([]);
  });
  it('the auth service\'s 401 carries the CORS headers (auth.go "should return status code 401 and cors headers when authentication and cors is configured")', async () => {
    const a = auth(401);
    const o = await runGate({ cors: policy(), externalAuth: { url: 'http://auth.test/' } }, request('GET', {}), a.deps);
    if (o.kind !== 'respond') throw new Error('expected an answer');
    expect(o.status).toBe(401);
    expect(o.headers).toContainEqual(['access-control-allow-origin', '*']);
    expect(a.calls).toEqual(['GET']);
  });
  it('a request let through carries the headers for the response and the names they replace', async () => {
    const o = await runGate({ cors: policy({ 'allow-origin': 'https://x.test' }) }, request('GET', { origin: 'https://x.test' }), {});
    if (o.kind !== 'pass') throw new Error('expected pass');
    expect(o.response.always).toContainEqual(['access-control-allow-origin', 'https://x.test']);
    expect(o.response.replace).toContain('access-control-allow-origin');
    expect(o.response.replace).not.toContain('vary');
  });
});
