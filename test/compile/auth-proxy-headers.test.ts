// auth-proxy-set-headers → the ConfigMap's entries as [name, value] pairs in the route's external auth policy.
// Cases follow ingress-nginx's authreq parser (internal/ingress/annotations/authreq: TestProxySetHeaders, ValidHeader)
// and test/e2e/annotations/auth.go (`should set "proxy_set_header 'My-Custom-Header' '42';" when auth-headers are
// set`); a ConfigMap that is missing, of another namespace, empty or with an entry Portico refuses fails closed (503).
import { describe, expect, it } from 'vitest';
import { validate } from '../../gateway/table/validate.ts';
import type { ExternalAuthPolicy, RoutingTable } from '../../gateway/table/schema.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, cls, configMap, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const KEY = `${N}auth-proxy-set-headers`;
const URL = 'http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth';
const authed = (ref: string, extra: Record<string, string> = {}, ...more: AnyObject[]): AnyObject[] => [
  cls(),
  ...app('web'),
  ingress('web', { annotations: { [`${N}auth-url`]: URL, [KEY]: ref, ...extra }, rules: [rule('foo.com', prefix('/', 'web'))] }),
  ...more,
];
const policy = (r: CompileResult): ExternalAuthPolicy | undefined => r.table.hosts[0]!.routes[0]!.policies.access?.externalAuth;
const CLOSED = { 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(auth-proxy-set-headers)`] } };

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('auth-proxy-set-headers', [
  {
    name: 'auth.go "should set proxy_set_header My-Custom-Header 42 when auth-headers are set": the entry in the policy, schema 4',
    objects: authed('default/auth-headers', {}, configMap('auth-headers', { 'My-Custom-Header': '42' })),
    hosts: { 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] auth=${URL}`] } },
    check: (r) => {
      expect(policy(r)).toEqual({ url: URL, proxySetHeaders: [['my-custom-header', '42']] });
      expect(r.table.schema).toBe(4);
    },
  },
  {
    name: 'a name without namespace is the Ingress own; entries sorted by lower-case name; variables Portico has are kept',
    objects: authed(
      'auth-headers',
      {},
      configMap('auth-headers', { 'X-Forwarded-Host': '$http_host', A_Underscore: 'v', 'X-Tenant': 'acme-$arg_t' }),
    ),
    check: (r) =>
      expect(policy(r)?.proxySetHeaders).toEqual([
        ['a_underscore', 'v'],
        ['x-forwarded-host', '$http_host'],
        ['x-tenant', 'acme-$arg_t'],
      ]),
  },
  {
    name: 'TestProxySetHeaders "header with spaces" and "header with other bad symbols": values are free text',
    objects: authed('auth-headers', {}, configMap('auth-headers', { header: 'bad value', other: 'bad+value', empty: '' })),
    check: (r) =>
      expect(policy(r)?.proxySetHeaders).toEqual([
        ['empty', ''],
        ['header', 'bad value'],
        ['other', 'bad+value'],
      ]),
  },
  {
    name: 'with the other companions: the policy keeps them all',
    objects: authed('auth-headers', { [`${N}auth-method`]: 'GET' }, configMap('auth-headers', { 'X-A': '1' })),
    check: (r) => expect(policy(r)).toEqual({ url: URL, method: 'GET', proxySetHeaders: [['x-a', '1']] }),
  },
]);

const closedCase = (name: string, objects: AnyObject[], message: RegExp): Case => ({
  name,
  objects,
  hosts: CLOSED,
  diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  messages: [message],
  check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
});

table('auth-proxy-set-headers that fails closed (503 + AccessControlNotEnforced)', [
  closedCase(
    'TestProxySetHeaders "no header map": the ConfigMap does not exist',
    authed('default/auth-headers'),
    /ConfigMap default\/auth-headers named by .* does not exist; the routes of this Ingress answer 503/,
  ),
  closedCase(
    'a ConfigMap of another namespace (ingress-nginx: allow-cross-namespace-resources is off by default)',
    authed('other/auth-headers', {}, configMap('auth-headers', { 'X-A': '1' }, 'other')),
    /names ConfigMap other\/auth-headers of another namespace, which is not allowed/,
  ),
  closedCase(
    'an empty ConfigMap',
    authed('auth-headers', {}, configMap('auth-headers', {})),
    /ConfigMap default\/auth-headers has no entries/,
  ),
  ...(
    [
      ['ValidHeader: a name with a dot', { 'X.Header': '1' }, /entry "X\.Header" is not a header name/],
      ['ValidHeader: a name with a colon', { 'X:Header': '1' }, /entry "X:Header" is not a header name/],
      ['Host', { Host: 'evil.test' }, /entry "Host" may not be set/],
      [
        'a framing header',
        { 'Content-Length': '0', 'Transfer-Encoding': 'chunked' },
        /"Content-Length" may not be set.*"Transfer-Encoding" may not/,
      ],
      ['a hop-by-hop header', { Connection: 'close' }, /entry "Connection" may not be set/],
      ['the tunnel protocol (portico-*)', { 'Portico-Endpoint': '10.0.0.1:80' }, /entry "Portico-Endpoint" may not be set/],
      ['a variable Portico does not have', { 'X-Up': '$upstream_addr' }, /entry "X-Up" has a value that uses \$upstream_addr/],
      ['a line break in a value', { 'X-A': 'a\r\nX-Injected: 1' }, /entry "X-A" has a value with a control character/],
      ['a value too long', { 'X-A': 'v'.repeat(1025) }, /entry "X-A" has a value longer than 1024/],
      ['the same name twice in another case', { 'X-A': '1', 'x-a': '2' }, /names "x-a" more than once/],
      ['too many entries', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-H${i}`, '1'])), /has 65 entries \(at most 64\)/],
    ] as const
  ).map(([why, data, message]) => closedCase(why, authed('auth-headers', {}, configMap('auth-headers', data)), message)),
  closedCase(
    'binaryData (ingress-nginx reads only data)',
    authed('auth-headers', {}, {
      ...configMap('auth-headers', { 'X-A': '1' }),
      binaryData: { 'X-B': 'MQ==' },
    } as AnyObject),
    /has binaryData \("X-B"\)/,
  ),
  {
    name: 'a value that names no ConfigMap closes the route (as a malformed companion of auth-url does)',
    objects: authed('a/b/c'),
    hosts: { 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(auth-proxy-set-headers) auth=${URL}`] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/it is not the name of a ConfigMap, or namespace\/name/],
  },
  {
    name: 'one Ingress closed by its ConfigMap, another with a good one keeps working',
    objects: [
      ...authed('missing'),
      ingress('ok', {
        annotations: { [`${N}auth-url`]: URL, [KEY]: 'good' },
        rules: [rule('bar.com', prefix('/', 'web'))],
      }),
      configMap('good', { 'X-A': '1' }),
    ],
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    check: (r) => {
      const bar = r.table.hosts.find((h) => h.host === 'bar.com')!;
      expect(bar.routes[0]!.policies.access?.externalAuth?.proxySetHeaders).toEqual([['x-a', '1']]);
      expect(bar.routes[0]!.policies.failClosed).toBeUndefined();
    },
  },
]);

describe('validate() refuses a malformed proxySetHeaders (a worker never sets a header it would have to guess at)', () => {
  const base = runCase({
    name: 'base',
    objects: authed('auth-headers', {}, configMap('auth-headers', { 'X-A': '1', 'X-B': '$host' })),
  }).table;
  const withHeaders = (h: unknown): RoutingTable => {
    const t = structuredClone(base);
    (t.hosts[0]!.routes[0]!.policies.access!.externalAuth as { proxySetHeaders: unknown }).proxySetHeaders = h;
    return t;
  };
  const cases: [string, unknown, RegExp][] = [
    ['an empty list', [], /must be a list of 1 to 64/],
    ['not a pair', [['x-a']], /must be a \[name, value\] pair/],
    ['an upper-case name', [['X-A', '1']], /"X-A" is not lower-case/],
    [
      'out of order',
      [
        ['x-b', '1'],
        ['x-a', '1'],
      ],
      /"x-a" is out of order or repeated/,
    ],
    [
      'repeated',
      [
        ['x-a', '1'],
        ['x-a', '2'],
      ],
      /"x-a" is out of order or repeated/,
    ],
    ['host', [['host', 'evil']], /"host" may not be set/],
    ['portico-peer', [['portico-peer', 'x']], /"portico-peer" may not be set/],
    ['a line break', [['x-a', 'a\nb']], /control character/],
    ['an unknown variable', [['x-a', '$foo']], /uses \$foo/],
  ];
  it('the compiled table is valid', () => expect(validate(base)).toEqual([]));
  for (const [name, h, message] of cases) {
    it(name, () => {
      const problems = validate(withHeaders(h)).map((p) => `${p.at}: ${p.message}`);
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });
  }
});
