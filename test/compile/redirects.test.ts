// The redirect and host annotations compiled into the table's schema-5 routing filters: what each value becomes,
// what a malformed one costs (a Warning naming the value and what applies instead; the route keeps serving), how
// server-alias and from-to-www-redirect names are settled against rule hosts, and what validate() refuses.
// Values and precedence follow ingress-nginx's redirect.go / redirect_test.go and the e2e tests named per case.
import { describe, expect, it } from 'vitest';
import type { HostRoutes, RoutePolicies, RoutingTable } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { compile } from '../../sync/compile/index.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { makeCert } from './certs.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const WEB = service('web', [{ address: '10.0.0.1', port: 8080 }]);
const one = (annotations: Record<string, string>, host = 'foo.com'): CompileResult =>
  compile(objects(ourClass(), WEB, ingress('web', { host, paths: [{ path: '/', service: 'web' }], annotations })));
const policies = (r: CompileResult): RoutePolicies => r.table.hosts[0]!.routes[0]!.policies;
const messages = (r: CompileResult): string[] => r.diagnostics.map((d) => `${d.code}: ${d.message}`);
const hostOf = (t: RoutingTable, name: string): HostRoutes | undefined => t.hosts.find((h) => h.host === name);

interface FilterCase {
  name: string;
  annotations: Record<string, string>;
  want: Partial<RoutePolicies>;
  /** Diagnostics expected (regular expressions over "Code: message"); none when absent. */
  warn?: RegExp[];
}

const FILTERS: FilterCase[] = [
  {
    name: 'permanent-redirect: 301 by default (redirect.go)',
    annotations: { [`${N}permanent-redirect`]: 'http://redirect.example.com' },
    want: { redirect: { statusCode: 301, location: 'http://redirect.example.com' } },
  },
  {
    name: 'permanent-redirect-code 302 (e2e redirect.go "custom redirect code")',
    annotations: { [`${N}permanent-redirect`]: 'http://redirect.example.com', [`${N}permanent-redirect-code`]: '302' },
    want: { redirect: { statusCode: 302, location: 'http://redirect.example.com' } },
  },
  {
    name: 'permanent-redirect-code 308 is in range',
    annotations: { [`${N}permanent-redirect`]: 'https://a.example/x', [`${N}permanent-redirect-code`]: '308' },
    want: { redirect: { statusCode: 308, location: 'https://a.example/x' } },
  },
  {
    name: 'permanent-redirect-code out of range: the default 301, and a Warning',
    annotations: { [`${N}permanent-redirect`]: 'http://redirect.example.com', [`${N}permanent-redirect-code`]: '418' },
    want: { redirect: { statusCode: 301, location: 'http://redirect.example.com' } },
    warn: [
      /InvalidAnnotation: .*permanent-redirect-code" has value "418"; expected a redirect code from 300 to 308, so the default \(301\) applies/,
    ],
  },
  {
    name: 'temporal-redirect: 302 by default',
    annotations: { [`${N}temporal-redirect`]: 'https://maintenance.example.com' },
    want: { redirect: { statusCode: 302, location: 'https://maintenance.example.com' } },
  },
  {
    name: 'temporal-redirect-code 307 (redirect_test.go TestTemporalRedirectWithCustomCode "valid code")',
    annotations: { [`${N}temporal-redirect`]: 'https://m.example', [`${N}temporal-redirect-code`]: '307' },
    want: { redirect: { statusCode: 307, location: 'https://m.example' } },
  },
  {
    name: 'temporal-redirect-code 418: the default 302 (TestTemporalRedirectWithCustomCode "invalid code")',
    annotations: { [`${N}temporal-redirect`]: 'https://m.example', [`${N}temporal-redirect-code`]: '418' },
    want: { redirect: { statusCode: 302, location: 'https://m.example' } },
    warn: [/temporal-redirect-code" has value "418"; expected a redirect code from 300 to 307, so the default \(302\) applies/],
  },
  {
    name: 'temporal-redirect wins over permanent-redirect, whatever the order written',
    annotations: { [`${N}permanent-redirect`]: 'https://p.example', [`${N}temporal-redirect`]: 'https://t.example' },
    want: { redirect: { statusCode: 302, location: 'https://t.example' } },
    warn: [/permanent-redirect" is ignored: .*temporal-redirect" is also set and takes precedence/],
  },
  {
    name: 'a redirect to something that is no http(s) URL or path: no redirect, a Warning',
    annotations: { [`${N}permanent-redirect`]: 'ftp://files.example' },
    want: {},
    warn: [/permanent-redirect" has value "ftp:\/\/files.example"; expected an http\(s\) URL or a path .*so no redirect applies/],
  },
  {
    name: 'a redirect with a space or a line break is refused (the value becomes a response header)',
    annotations: { [`${N}permanent-redirect`]: 'https://a.example/\r\nSet-Cookie: x=1' },
    want: {},
    warn: [/permanent-redirect" has value .*visible ASCII/],
  },
  {
    name: 'relative-redirects true with a path location (relativeredirects.go)',
    annotations: { [`${N}permanent-redirect`]: '/new-location', [`${N}relative-redirects`]: 'true' },
    want: { redirect: { statusCode: 301, location: '/new-location', relative: true } },
  },
  {
    name: 'relative-redirects false: the path is made absolute at request time',
    annotations: { [`${N}permanent-redirect`]: '/new-location', [`${N}relative-redirects`]: 'false' },
    want: { redirect: { statusCode: 301, location: '/new-location' } },
  },
  {
    name: 'app-root /foo (approot.go)',
    annotations: { [`${N}app-root`]: '/foo' },
    want: { rootRedirect: { statusCode: 302, replaceFullPath: '/foo' } },
  },
  {
    name: 'app-root that is an absolute URL: ignored with a Warning (ingress-nginx takes a path)',
    annotations: { [`${N}app-root`]: 'https://elsewhere.example/' },
    want: {},
    warn: [/app-root" has value "https:\/\/elsewhere.example\/"; expected a path .*so "\/" is not redirected/],
  },
  {
    name: 'force-ssl-redirect true (forcesslredirect.go)',
    annotations: { [`${N}force-ssl-redirect`]: 'true' },
    want: { schemeRedirect: { scheme: 'https', statusCode: 308 } },
  },
  { name: 'force-ssl-redirect false: nothing', annotations: { [`${N}force-ssl-redirect`]: 'false' }, want: {} },
  {
    name: 'force-ssl-redirect "yes": the default (false), a Warning',
    annotations: { [`${N}force-ssl-redirect`]: 'yes' },
    want: {},
    warn: [/force-ssl-redirect" has value "yes"; expected "true" or "false", so the default \(false\) applies/],
  },
  {
    name: 'upstream-vhost (upstreamvhost.go)',
    annotations: { [`${N}upstream-vhost`]: 'upstreamvhost.bar.com' },
    want: { rewrite: { hostname: 'upstreamvhost.bar.com' } },
  },
  {
    name: 'upstream-vhost with a port',
    annotations: { [`${N}upstream-vhost`]: 'internal.svc:8080' },
    want: { rewrite: { hostname: 'internal.svc:8080' } },
  },
  {
    name: 'upstream-vhost with a variable is not a host: the client Host goes upstream, a Warning',
    annotations: { [`${N}upstream-vhost`]: '$host' },
    want: {},
    warn: [/upstream-vhost" has value "\$host"; expected a host name .*so the upstream gets the Host the client sent/],
  },
  {
    name: 'x-forwarded-prefix (xforwardedprefix.go)',
    annotations: { [`${N}x-forwarded-prefix`]: '/test/value' },
    want: { requestHeaders: { set: [['x-forwarded-prefix', '/test/value']] } },
  },
  {
    name: 'x-forwarded-prefix "": no header and no Warning (xforwardedprefix.go)',
    annotations: { [`${N}x-forwarded-prefix`]: '' },
    want: {},
  },
];

describe('route filters from annotations', () => {
  it.each(FILTERS)('$name', (c) => {
    const r = one(c.annotations);
    const p = policies(r);
    const got = Object.fromEntries(
      (['redirect', 'rootRedirect', 'schemeRedirect', 'rewrite', 'requestHeaders'] as const)
        .filter((k) => p[k] !== undefined)
        .map((k) => [k, p[k]]),
    );
    expect(got).toEqual(c.want);
    expect(messages(r)).toHaveLength(c.warn?.length ?? 0);
    for (const w of c.warn ?? []) expect(messages(r).some((m) => w.test(m))).toBe(true);
    // Routing is not access control: the route always keeps serving.
    expect(p.failClosed).toBeUndefined();
    expect(r.table.schema).toBe(Object.keys(c.want).length > 0 ? 5 : 1);
    expect(validate(r.table)).toEqual([]);
  });
});

describe('server-alias and from-to-www-redirect names', () => {
  const cert = makeCert({ cn: 'secure.com', sans: ['secure.com', 'www.secure.com'], key: 'ec' });
  const r = compile(
    objects(
      ourClass(),
      WEB,
      tlsSecret('tls', cert.certPem, cert.keyPem),
      ingress('old', { host: 'taken.com', paths: [{ path: '/', service: 'web' }], created: '2025-01-01T00:00:00Z' }),
      ingress('foo', {
        host: 'foo',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}server-alias`]: 'bar, Baz.com ,taken.com, bad_name' },
      }),
      ingress('www', {
        host: 'www.bare.com',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}from-to-www-redirect`]: 'true' },
      }),
      ingress('clash', {
        host: 'taken.com',
        paths: [{ path: '/x', service: 'web' }],
        annotations: { [`${N}from-to-www-redirect`]: 'true' },
      }),
      ingress('wwwclash', { host: 'www.taken.com', paths: [{ path: '/', service: 'web' }] }),
      ingress('secure', {
        host: 'secure.com',
        tls: [{ hosts: ['secure.com', 'www.secure.com'], secretName: 'tls' }],
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}from-to-www-redirect`]: 'true' },
      }),
    ),
  );
  it('an alias routes exactly like its host (alias.go "200 for host foo and bar"), lower-cased', () => {
    expect(hostOf(r.table, 'bar')?.routes).toEqual(hostOf(r.table, 'foo')?.routes);
    expect(hostOf(r.table, 'baz.com')?.routes).toEqual(hostOf(r.table, 'foo')?.routes);
  });
  it('an alias that is a rule host is ignored, with a HostNameConflict Warning (annotations.md: the server wins)', () => {
    expect(hostOf(r.table, 'taken.com')?.routes.map((x) => x.source.name)).toEqual(['clash', 'old']);
    expect(messages(r)).toContainEqual(
      expect.stringMatching(/^HostNameConflict: server-alias "taken.com" is ignored: a rule already serves that name/),
    );
  });
  it('a malformed alias is a Warning and the others still apply', () => {
    expect(messages(r)).toContainEqual(
      expect.stringMatching(/server-alias" has value "bad_name"; expected host names separated by ",", so that alias is ignored/),
    );
  });
  it('from-to-www-redirect: the bare name redirects to the www host (308), with no routes', () => {
    expect(hostOf(r.table, 'bare.com')).toEqual({
      host: 'bare.com',
      tls: null,
      routes: [],
      fallbackBackend: null,
      redirect: { statusCode: 308, hostname: 'www.bare.com' },
    });
  });
  it('from-to-www-redirect: a www name a rule serves is not taken over', () => {
    expect(hostOf(r.table, 'www.taken.com')?.redirect).toBeUndefined();
    expect(messages(r)).toContainEqual(
      expect.stringMatching(/^HostNameConflict: the from-to-www-redirect name "www.taken.com" is ignored/),
    );
  });
  it('the www name gets the host certificate when it covers the name (fromtowwwredirect.go "HTTPS to HTTPS")', () => {
    expect(hostOf(r.table, 'www.secure.com')).toMatchObject({ tls: { certificate: 'default/tls' }, redirect: { hostname: 'secure.com' } });
    expect(r.table.schema).toBe(5);
    expect(validate(r.table)).toEqual([]);
  });
});

describe('validate() refuses malformed routing filters', () => {
  const base = one({ [`${N}permanent-redirect`]: 'https://a.example', [`${N}x-forwarded-prefix`]: '/p' }).table;
  const cases: { name: string; mutate: (p: Record<string, unknown>) => void; at: RegExp }[] = [
    {
      name: 'an unknown field inside redirect',
      mutate: (p) => void ((p.redirect as Record<string, unknown>).extra = 1),
      at: /redirect\.extra/,
    },
    {
      name: 'a status outside 300-308',
      mutate: (p) => void ((p.redirect as Record<string, unknown>).statusCode = 200),
      at: /redirect\.statusCode/,
    },
    {
      name: 'a location with a line break',
      mutate: (p) => void ((p.redirect as Record<string, unknown>).location = 'https://a\r\nx: y'),
      at: /redirect\.location/,
    },
    {
      name: 'a header the edge may not set',
      mutate: (p) => void (p.requestHeaders = { set: [['host', 'x']] }),
      at: /requestHeaders\.set\[0\]/,
    },
    { name: 'an upstream Host that is no name', mutate: (p) => void (p.rewrite = { hostname: 'a b' }), at: /rewrite\.hostname/ },
    {
      name: 'a scheme redirect to http',
      mutate: (p) => void (p.schemeRedirect = { scheme: 'http', statusCode: 308 }),
      at: /schemeRedirect\.scheme/,
    },
  ];
  it.each(cases)('$name', (c) => {
    const t = structuredClone(base);
    c.mutate(t.hosts[0]!.routes[0]!.policies as unknown as Record<string, unknown>);
    expect(validate(t, { checkHash: false }).map((p) => p.at)).toContainEqual(expect.stringMatching(c.at));
  });
  it('a table without routing filters keeps its schema and hash (old tables unchanged)', () => {
    const plain = one({});
    expect(plain.table.schema).toBe(1);
    expect(JSON.stringify(plain.table)).not.toMatch(/redirect|rewrite|requestHeaders/);
  });
});
