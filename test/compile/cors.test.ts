// enable-cors and cors-* → the route's CORS policy. Values and defaults follow ingress-nginx's annotation docs
// ("Enable CORS") and its cors parser (internal/ingress/annotations/cors); each case names the test of
// test/e2e/annotations/cors.go whose annotations it uses. Where ingress-nginx skips a value it cannot use and falls
// back to a default, Portico fails closed (503 + AccessControlNotEnforced); cors-* without enable-cors "true"
// mean nothing in ingress-nginx and are reported, never enforced.
import { describe, expect, it } from 'vitest';
import type { CorsPolicy } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { app, backend, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const DEFAULT_HEADERS = [
  'DNT',
  'Keep-Alive',
  'User-Agent',
  'X-Requested-With',
  'If-Modified-Since',
  'Cache-Control',
  'Content-Type',
  'Range',
  'Authorization',
];
const DEFAULTS: CorsPolicy = {
  methods: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
  allowHeaders: DEFAULT_HEADERS,
  credentials: true,
  maxAge: 1728000,
};
const withAnnotations = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
/** enable-cors "true" plus cors-* (names without the prefix). */
const cors = (values: Record<string, string> = {}) =>
  withAnnotations({ [`${N}enable-cors`]: 'true', ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`${N}cors-${k}`, v])) });
const policyOf = (r: { table: { hosts: { routes: { policies: { access?: { cors?: CorsPolicy } } }[] }[] } }) =>
  r.table.hosts[0]!.routes[0]!.policies.access?.cors;
const open = { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };
const closed = (key: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${key})`] } });

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('enable-cors "true": the policy and its defaults', [
  {
    name: 'should enable cors: every default of the docs, table schema 3, valid',
    objects: cors(),
    hosts: open,
    check: (r) => {
      expect(policyOf(r)).toEqual(DEFAULTS);
      expect(r.table.schema).toBe(3);
      expect(validate(r.table)).toEqual([]);
    },
  },
  ...['true', 'True', 'TRUE', 't', '1', ' true '].map(
    (v): Case => ({
      name: `enable-cors: ${JSON.stringify(v)} switches it on (strconv.ParseBool, as ingress-nginx reads it)`,
      objects: withAnnotations({ [`${N}enable-cors`]: v }),
      check: (r) => expect(policyOf(r)).toEqual(DEFAULTS),
    }),
  ),
  {
    name: 'should set cors methods to only allow POST, GET',
    objects: cors({ 'allow-methods': 'POST, GET' }),
    check: (r) => expect(policyOf(r)?.methods).toEqual(['POST', 'GET']),
  },
  {
    name: 'should set cors max-age',
    objects: cors({ 'max-age': '200' }),
    check: (r) => expect(policyOf(r)?.maxAge).toBe(200),
  },
  {
    name: 'should disable cors allow credentials',
    objects: cors({ 'allow-credentials': 'false' }),
    check: (r) => expect(policyOf(r)?.credentials).toBe(false),
  },
  {
    name: 'should allow origin for cors',
    objects: cors({ 'allow-origin': 'https://origin.cors.com:8080' }),
    check: (r) => expect(policyOf(r)?.origins).toEqual(['https://origin.cors.com:8080']),
  },
  {
    name: 'should allow headers for cors',
    objects: cors({ 'allow-headers': 'DNT, User-Agent' }),
    check: (r) => expect(policyOf(r)?.allowHeaders).toEqual(['DNT', 'User-Agent']),
  },
  {
    name: 'should expose headers for cors',
    objects: cors({ 'expose-headers': 'X-CustomResponseHeader, X-CustomSecondHeader' }),
    check: (r) => expect(policyOf(r)?.exposeHeaders).toEqual(['X-CustomResponseHeader', 'X-CustomSecondHeader']),
  },
  {
    name: 'expose-headers may be * (ingress-nginx: "*, X-CustomResponseHeader")',
    objects: cors({ 'expose-headers': '*, X-CustomResponseHeader' }),
    check: (r) => expect(policyOf(r)?.exposeHeaders).toEqual(['*', 'X-CustomResponseHeader']),
  },
  {
    name: 'should allow - matching origin with wildcard origin (2 subdomains): wildcards kept, lower-cased',
    objects: cors({ 'allow-origin': 'http://*.origin.cors.com, HTTP://*.Origin.com:8080' }),
    check: (r) => expect(policyOf(r)?.origins).toEqual(['http://*.origin.cors.com', 'http://*.origin.com:8080']),
  },
  {
    name: 'the origin "null" (ingress-nginx accepts it) and duplicates once',
    objects: cors({ 'allow-origin': 'null, https://a.example, https://A.example' }),
    check: (r) => expect(policyOf(r)?.origins).toEqual(['null', 'https://a.example']),
  },
  {
    name: 'should not break functionality: "*" allows every origin (no list in the policy)',
    objects: cors({ 'allow-origin': '*' }),
    check: (r) => expect(policyOf(r)).toEqual(DEFAULTS),
  },
  {
    name: 'should not break functionality with extra domain: "*" wins, the rest is reported as changing nothing',
    objects: cors({ 'allow-origin': '*, foo.bar.com' }),
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [
      /"nginx\.ingress\.kubernetes\.io\/cors-allow-origin" lists "\*": every origin is allowed, so "foo\.bar\.com" changes nothing/,
    ],
    check: (r) => expect(policyOf(r)?.origins).toBeUndefined(),
  },
  {
    name: 'should allow - missing origins (should allow all origins): a blank value is *',
    objects: cors({ 'allow-origin': '      ' }),
    check: (r) => expect(policyOf(r)?.origins).toBeUndefined(),
  },
  {
    name: 'blank methods and headers are the defaults (ingress-nginx refuses an empty value and uses its default)',
    objects: cors({ 'allow-methods': ' ', 'allow-headers': '' }),
    check: (r) => expect(policyOf(r)).toEqual(DEFAULTS),
  },
  {
    name: 'with auth-url: one policy with both, CORS checked first by the gate',
    objects: withAnnotations({ [`${N}enable-cors`]: 'true', [`${N}auth-url`]: 'http://auth.svc/check' }),
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] auth=http://auth.svc/check'] } },
    check: (r) =>
      expect(r.table.hosts[0]!.routes[0]!.policies.access).toEqual({ externalAuth: { url: 'http://auth.svc/check' }, cors: DEFAULTS }),
  },
  {
    name: "the Ingress's spec.defaultBackend cannot carry the headers: it answers 503 (as for every access rule)",
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}enable-cors`]: 'true' },
        defaultBackend: backend('web'),
        rules: [rule('foo.com', prefix('/app', 'web'))],
      }),
    ],
    // The closed default backend is said once, on its Ingress.
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    defaultBackend: 'default/web:80',
    check: (r) => {
      expect(r.table.hosts[0]!.fallbackFailClosed).toEqual([`${N}enable-cors`]);
      expect(r.table.defaultBackendFailClosed).toEqual([`${N}enable-cors`]);
    },
  },
]);

table('enable-cors off: no policy; cors-* alone change nothing and say so', [
  ...['false', 'False', '0', 'f'].map(
    (v): Case => ({
      name: `enable-cors: ${JSON.stringify(v)} asks for no CORS: open, nothing to report`,
      objects: withAnnotations({ [`${N}enable-cors`]: v }),
      hosts: open,
      check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
    }),
  ),
  {
    name: 'cors-* without enable-cors: open, one UnsupportedAnnotation each (they have no effect in ingress-nginx)',
    objects: withAnnotations({ [`${N}cors-allow-origin`]: 'https://a.example', [`${N}cors-max-age`]: 'not a number' }),
    hosts: open,
    diagnostics: ['UnsupportedAnnotation Ingress default/web', 'UnsupportedAnnotation Ingress default/web'],
    messages: [
      /"nginx\.ingress\.kubernetes\.io\/cors-allow-origin" has no effect without enable-cors: "true"/,
      /"nginx\.ingress\.kubernetes\.io\/cors-max-age" has no effect without enable-cors: "true"/,
    ],
  },
  {
    name: 'cors-* with enable-cors "false": the same',
    objects: withAnnotations({ [`${N}enable-cors`]: 'false', [`${N}cors-allow-methods`]: 'GET' }),
    hosts: open,
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [/"nginx\.ingress\.kubernetes\.io\/cors-allow-methods" has no effect without enable-cors: "true"/],
  },
]);

table('values that fail closed (503 + AccessControlNotEnforced), where ingress-nginx would use a default', [
  {
    name: 'enable-cors: "sure" is neither true nor false',
    objects: withAnnotations({ [`${N}enable-cors`]: 'sure', [`${N}cors-max-age`]: '5' }),
    hosts: closed('enable-cors'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [
      /"nginx\.ingress\.kubernetes\.io\/enable-cors" has value "sure": it is not "true" or "false", so the routes of this Ingress answer 503/,
    ],
  },
  ...[
    [
      'allow-origin',
      'origin.cors.com:8080, https://origin2.cors.com, https://origin.com',
      /"origin\.cors\.com:8080" is not an origin/,
      'should allow correct origins - single origin for multiple cors values (ingress-nginx skips the first entry)',
    ],
    ['allow-origin', 'https://a.example/path', /"https:\/\/a\.example\/path" is not an origin/, 'an origin with a path'],
    ['allow-origin', 'https://*.*.a.example', /is not an origin/, 'a wildcard of two labels'],
    ['allow-origin', 'https://a.example:99999', /is not an origin/, 'a port over 65535'],
    ['allow-origin', 'https://[::1]:8080', /is not an origin/, 'an IPv6 origin (ingress-nginx does not take it either)'],
    ['allow-methods', 'GET;', /"GET;" is not a method/, 'a method that is not a token'],
    ['allow-methods', 'M-SEARCH', /"M-SEARCH" is not a method \(letters only\)/, 'ingress-nginx allows letters only'],
    ['allow-headers', '$$$', /"\$\$\$" is not a header name/, 'not a header name'],
    ['expose-headers', 'X-A, X B', /"X B" is not a header name or \*/, 'a space inside a name'],
    ['allow-credentials', 'maybe', /it is not "true" or "false"/, 'not a boolean'],
    ['allow-credentials', '', /it is not "true" or "false"/, 'empty'],
    ['max-age', 'ten', /it is not a whole number of seconds/, 'a non-numeric max-age'],
    ['max-age', '-1', /it is not a whole number of seconds/, 'a negative max-age'],
    ['max-age', '99999999999', /it is not a whole number of seconds/, 'a max-age over 2^31 - 1'],
  ].map(
    ([key, value, message, why]): Case => ({
      name: `cors-${key}: ${JSON.stringify(value)} (${why})`,
      objects: cors({ [key as string]: value as string }),
      hosts: closed(`cors-${key}`),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
      messages: [message as RegExp],
      check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
    }),
  ),
  {
    name: 'a cors-* name ingress-nginx does not have still closes the route (unknown guard)',
    objects: cors({ 'allow-private-network': 'true' }),
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] closed(cors-allow-private-network)'] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/"nginx\.ingress\.kubernetes\.io\/cors-allow-private-network" guards access and is not enforced by Portico yet/],
  },
  {
    name: 'portico.dev/enable-cors (the ingress-nginx name with our prefix, by mistake) still closes the route',
    objects: withAnnotations({ 'portico.dev/enable-cors': 'true' }),
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] closed(portico.dev/enable-cors)'] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

describe('validate() refuses a CORS policy it would have to guess at', () => {
  const tableWith = (c: unknown) => {
    const r = runCase({ name: 'base', objects: cors() });
    const t = structuredClone(r.table);
    (t.hosts[0]!.routes[0]!.policies.access as { cors: unknown }).cors = c;
    return t;
  };
  const cases: [string, unknown, RegExp][] = [
    ['an origin in upper case', { ...DEFAULTS, origins: ['HTTPS://A.EXAMPLE'] }, /\.cors\.origins: must be a list/],
    ['an empty origin list', { ...DEFAULTS, origins: [] }, /\.cors\.origins: must be a list/],
    ['a regular expression as an origin', { ...DEFAULTS, origins: ['https://.*'] }, /\.cors\.origins: must be a list/],
    ['no methods', { ...DEFAULTS, methods: [] }, /\.cors\.methods: must be a list/],
    ['a header with a newline', { ...DEFAULTS, allowHeaders: ['X-A\r\nX-B: 1'] }, /\.cors\.allowHeaders: must be a list/],
    ['credentials as text', { ...DEFAULTS, credentials: 'true' }, /\.cors\.credentials: must be a boolean/],
    ['a fractional max-age', { ...DEFAULTS, maxAge: 1.5 }, /\.cors\.maxAge: must be a whole number/],
    ['not an object', 'yes', /\.cors: must be an object/],
  ];
  for (const [name, c, message] of cases) {
    it(name, () => {
      const problems = validate(tableWith(c), { checkHash: false }).map((p) => `${p.at}: ${p.message}`);
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });
  }
  it('a CORS-only policy names an access rule', () => {
    expect(validate(tableWith(DEFAULTS), { checkHash: false })).toEqual([]);
  });
});
