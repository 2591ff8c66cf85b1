// The external-auth decision alone: the subrequest built, the sign-in Location, what an answer means, the cache.
import { describe, expect, it } from 'vitest';
import { AuthCache } from '../../gateway/access/auth-cache.ts';
import { type AuthContext, authorize, authRequest, signinLocation, verdictOf } from '../../gateway/access/external-auth.ts';
import { escapeUriComponent } from '../../gateway/access/variables.ts';
import type { ExternalAuthPolicy } from '../../gateway/table/schema.ts';

const ctx = (o: Partial<AuthContext> = {}): AuthContext => ({
  httpHost: 'app.test:8080',
  scheme: 'http',
  method: 'GET',
  path: '/a b/c',
  search: '?x=1&y=2',
  clientIp: '192.0.2.7',
  localPort: 8080,
  header: (n) => (n === 'cookie' ? 'sid=abc; theme=dark' : n === 'authorization' ? `Basic ${btoa('alice:pw')}` : null),
  headers: [
    ['cookie', 'sid=abc; theme=dark'],
    ['content-length', '5'],
    ['x-forwarded-for', '6.6.6.6'],
    ['portico-endpoint', 'x'],
    ['accept', '*/*'],
  ],
  requestId: 'rid-1',
  scope: 'default/web app.test /',
  ...o,
});

describe('signinLocation (ingress-nginx buildAuthSignURL)', () => {
  const cases: { name: string; p: ExternalAuthPolicy; location: string }[] = [
    {
      name: 'rd appended with ?',
      p: { url: 'http://a/', signin: 'http://$host/auth/start' },
      location: `http://app.test/auth/start?rd=http://app.test:8080${escapeUriComponent('/a b/c?x=1&y=2')}`,
    },
    {
      name: 'appended with & after a query',
      p: { url: 'http://a/', signin: 'https://sso.test/start?client=1' },
      location: `https://sso.test/start?client=1&rd=http://app.test:8080${escapeUriComponent('/a b/c?x=1&y=2')}`,
    },
    {
      name: 'a custom parameter name',
      p: { url: 'http://a/', signin: 'https://sso.test/start', signinRedirectParam: 'next' },
      location: `https://sso.test/start?next=http://app.test:8080${escapeUriComponent('/a b/c?x=1&y=2')}`,
    },
    {
      name: 'left alone when the sign-in URL already has the parameter',
      p: { url: 'http://a/', signin: 'https://sso.test/start?rd=$escaped_request_uri' },
      location: `https://sso.test/start?rd=${escapeUriComponent('/a b/c?x=1&y=2')}`,
    },
  ];
  for (const c of cases) it(c.name, () => expect(signinLocation(c.p, ctx())).toBe(c.location));

  it('escapes like nginx set_escape_uri (everything but letters, digits and -._~)', () => {
    expect(escapeUriComponent("/?a=b&c=d !'()*~")).toBe('%2F%3Fa%3Db%26c%3Dd%20%21%27%28%29%2A~');
  });
});

describe('verdictOf (nginx auth_request)', () => {
  const p: ExternalAuthPolicy = { url: 'http://a/', responseHeaders: ['x-user', 'foo'] };
  const cases: { name: string; policy?: ExternalAuthPolicy; status: number; headers?: [string, string][]; verdict: unknown }[] = [
    {
      name: '200 allows, copies response headers, removes the ones it lacks',
      status: 200,
      headers: [
        ['x-user', 'alice'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ],
      verdict: {
        kind: 'allow',
        upstreamHeaders: [
          ['x-user', 'alice'],
          ['foo', null],
        ],
        cookies: ['a=1', 'b=2'],
      },
    },
    {
      name: '204 allows too',
      status: 204,
      verdict: {
        kind: 'allow',
        upstreamHeaders: [
          ['x-user', null],
          ['foo', null],
        ],
        cookies: [],
      },
    },
    {
      name: '401 without sign-in passes WWW-Authenticate',
      status: 401,
      headers: [['www-authenticate', 'Basic realm="x"']],
      verdict: { kind: 'respond', status: 401, headers: [['www-authenticate', 'Basic realm="x"']] },
    },
    {
      name: '401 with sign-in redirects',
      policy: { url: 'http://a/', signin: 'https://sso/' },
      status: 401,
      verdict: {
        kind: 'respond',
        status: 302,
        headers: [['location', `https://sso/?rd=http://app.test:8080${escapeUriComponent('/a b/c?x=1&y=2')}`]],
      },
    },
    { name: '403 is 403', status: 403, verdict: { kind: 'respond', status: 403, headers: [] } },
    ...[302, 404, 500, 503].map((status) => ({
      name: `${status} is 500, never allowed`,
      status,
      verdict: { kind: 'respond', status: 500, headers: [] },
    })),
  ];
  for (const c of cases)
    it(c.name, () => expect(verdictOf(c.policy ?? p, { status: c.status, headers: c.headers ?? [] }, ctx())).toEqual(c.verdict));
});

describe('authRequest (the external auth location of ingress-nginx)', () => {
  it('passes the client headers but never the body, the client forwarding claims or portico-* headers', () => {
    const r = authRequest({ url: 'http://auth.svc/check?u=$remote_user&c=$cookie_sid' }, ctx());
    expect(r.url).toBe('http://auth.svc/check?u=alice&c=abc');
    expect(r.method).toBe('GET');
    const h = Object.fromEntries(r.headers);
    expect(h).toMatchObject({
      cookie: 'sid=abc; theme=dark',
      accept: '*/*',
      'x-forwarded-for': '192.0.2.7',
      'x-real-ip': '192.0.2.7',
      'x-request-id': 'rid-1',
    });
    expect(h['content-length']).toBeUndefined();
    expect(h['portico-endpoint']).toBeUndefined();
    expect(r.headers.filter(([n]) => n === 'x-forwarded-for')).toHaveLength(1);
  });
});

describe('authRequest with auth-proxy-set-headers (proxy_set_header in the auth location)', () => {
  const URL = 'http://auth.svc/check';
  const named = (set: [string, string][], o: Partial<AuthContext> = {}): [string, string][] =>
    authRequest({ url: URL, proxySetHeaders: set }, ctx(o)).headers;
  const one = (headers: [string, string][], name: string): string[] => headers.filter(([n]) => n === name).map(([, v]) => v);
  const cases: { name: string; set: [string, string][]; o?: Partial<AuthContext>; expect: Record<string, string[]> }[] = [
    { name: 'a fixed value (auth.go: My-Custom-Header 42)', set: [['my-custom-header', '42']], expect: { 'my-custom-header': ['42'] } },
    {
      name: 'variables expanded for this request',
      set: [
        ['x-forwarded-host', '$http_host'],
        ['x-auth-uri', '$scheme://$host$request_uri'],
        ['x-who', '$remote_user@$remote_addr'],
      ],
      expect: {
        'x-forwarded-host': ['app.test:8080'],
        'x-auth-uri': ['http://app.test/a b/c?x=1&y=2'],
        'x-who': ['alice@192.0.2.7'],
      },
    },
    {
      name: "replaces the client's header of that name (one header, not two)",
      set: [['accept', 'application/json']],
      expect: { accept: ['application/json'] },
    },
    {
      name: 'replaces one the edge sets itself (X-Forwarded-For), once',
      set: [['x-forwarded-for', 'configured']],
      expect: { 'x-forwarded-for': ['configured'] },
    },
    {
      name: 'an empty value sends no such header, and removes the client one (nginx: an empty value is not passed)',
      set: [['cookie', '']],
      expect: { cookie: [] },
    },
    {
      name: 'a variable that expands to nothing sends no header',
      set: [['x-tenant', '$http_x_tenant']],
      expect: { 'x-tenant': [] },
    },
    {
      name: 'line breaks a variable brings in are removed, the value is trimmed',
      set: [['x-q', ' $arg_q ']],
      o: { search: '?q=a\r\nX-Injected:%201' },
      expect: { 'x-q': ['aX-Injected:%201'], 'x-injected': [] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = named(c.set, c.o);
      for (const [name, values] of Object.entries(c.expect)) expect(one(h, name), name).toEqual(values);
    });
  }
  it('without the field the subrequest is as before', () => {
    expect(authRequest({ url: URL }, ctx()).headers).toEqual(authRequest({ url: URL, proxySetHeaders: [['x-a', '']] }, ctx()).headers);
  });
});

describe('authorize with a cache', () => {
  it('keeps the statuses it is told to, per scope and key, and forgets after the time', async () => {
    let now = 0;
    const cache = new AuthCache(100, () => now);
    let calls = 0;
    const client = async () => {
      calls++;
      return { status: 200, headers: [] as [string, string][] };
    };
    const p: ExternalAuthPolicy = { url: 'http://a/', cache: { key: '$http_authorization', seconds: { 200: 60 } } };
    await authorize(p, ctx(), client, cache);
    await authorize(p, ctx(), client, cache);
    expect(calls).toBe(1);
    await authorize(p, ctx({ scope: 'another route' }), client, cache);
    expect(calls).toBe(2);
    now = 61_000;
    await authorize(p, ctx(), client, cache);
    expect(calls).toBe(3);
  });

  it('a client failure is 500', async () => {
    const v = await authorize({ url: 'http://a/' }, ctx(), async () => Promise.reject(new Error('ECONNREFUSED')), null);
    expect(v).toEqual({ kind: 'respond', status: 500, headers: [] });
  });
});
