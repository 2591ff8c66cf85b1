// Rule 8: the typed annotation allow-list, and the ssl-redirect policy it controls.
import { describe, expect, it } from 'vitest';
import { parseAnnotations, SUPPORTED_ANNOTATIONS } from '../../sync/compile/annotations.ts';
import { app, cls, ingress, prefix, rule, tls } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const withTls = (annotations: Record<string, string>, name = 'web', created = 0) =>
  ingress(name, {
    created,
    annotations,
    tls: [tls(undefined, 'foo.com')],
    rules: [rule('foo.com', prefix(name === 'web' ? '/' : `/${name}`, 'web'))],
  });
const redirect = (on: boolean): Record<string, { tls: null; routes: string[] }> => ({
  'foo.com': { tls: null, routes: [`Prefix "" -> default/web:80 [default/web]${on ? ' redirect' : ''}`] },
});

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('ssl-redirect', [
  { name: 'TLS host: redirect by default', objects: [CLS, ...WEB, withTls({})], hosts: redirect(true) },
  {
    name: 'portico.dev/ssl-redirect: "false" turns it off',
    objects: [CLS, ...WEB, withTls({ 'portico.dev/ssl-redirect': 'false' })],
    hosts: redirect(false),
  },
  {
    name: 'portico.dev/ssl-redirect: "true" keeps it on',
    objects: [CLS, ...WEB, withTls({ 'portico.dev/ssl-redirect': 'true' })],
    hosts: redirect(true),
  },
  ...['FALSE', 'False', ' false '].map(
    (v): Case => ({
      name: `values are case-insensitive (${JSON.stringify(v)})`,
      objects: [CLS, ...WEB, withTls({ 'portico.dev/ssl-redirect': v })],
      hosts: redirect(false),
    }),
  ),
  {
    name: 'nginx.ingress.kubernetes.io/ssl-redirect: "false" is honoured for migration',
    objects: [CLS, ...WEB, withTls({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' })],
    hosts: redirect(false),
  },
  ...['no', '0', '', 'yes please', 'false;return 200'].map(
    (v): Case => ({
      name: `invalid value ${JSON.stringify(v)} → InvalidAnnotation, the default (true) applies`,
      objects: [CLS, ...WEB, withTls({ 'portico.dev/ssl-redirect': v })],
      hosts: redirect(true),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [
        new RegExp(
          `annotation "portico\\.dev/ssl-redirect" has value ${JSON.stringify(JSON.stringify(v))
            .slice(1, -1)
            .replace(/[.*+?^${}()|[\]]/g, '\\$&')}; expected "true" or "false", so the default \\(true\\) applies`,
        ),
      ],
    }),
  ),
  {
    name: 'an invalid nginx ssl-redirect value → InvalidAnnotation',
    objects: [CLS, ...WEB, withTls({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'off' })],
    hosts: redirect(true),
    diagnostics: ['InvalidAnnotation Ingress default/web'],
  },
  {
    name: 'the portico.dev spelling wins over the nginx one',
    objects: [CLS, ...WEB, withTls({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false', 'portico.dev/ssl-redirect': 'true' })],
    hosts: redirect(true),
  },
  {
    name: 'an invalid portico.dev value leaves a valid nginx value in force',
    objects: [CLS, ...WEB, withTls({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false', 'portico.dev/ssl-redirect': 'nah' })],
    hosts: redirect(false),
    diagnostics: ['InvalidAnnotation Ingress default/web'],
  },
  {
    name: 'the annotation is per Ingress: another Ingress on the same host still redirects',
    objects: [CLS, ...WEB, withTls({ 'portico.dev/ssl-redirect': 'false' }), withTls({}, 'api', 1)],
    hosts: {
      'foo.com': {
        tls: null,
        routes: ['Prefix "/api" -> default/web:80 [default/api] redirect', 'Prefix "" -> default/web:80 [default/web]'],
      },
    },
  },
  {
    name: 'no TLS: no redirect even with "true"',
    objects: [
      CLS,
      ...WEB,
      ingress('web', { annotations: { 'portico.dev/ssl-redirect': 'true' }, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ],
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
  },
  {
    name: 'an invalid value on an Ingress without TLS is still reported',
    objects: [
      CLS,
      ...WEB,
      ingress('web', { annotations: { 'portico.dev/ssl-redirect': 'maybe' }, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ],
    diagnostics: ['InvalidAnnotation Ingress default/web'],
  },
]);

const weighted = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const weightRoute = (w: number | null) => ({
  'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web]${w === null ? '' : ` local-weight=${w}`}`] },
});

// The share of requests a cluster keeps while a peer cluster also serves the route.
table('cluster-weight', [
  { name: 'absent: no weight in the table (local first, peers only for failover)', objects: weighted({}), hosts: weightRoute(null) },
  ...[
    ['50', 50],
    ['0', 0],
    [' 25 ', 25],
    ['007', 7],
  ].map(
    ([v, w]): Case => ({
      name: `${JSON.stringify(v)} → local-weight=${w}`,
      objects: weighted({ 'portico.dev/cluster-weight': v as string }),
      hosts: weightRoute(w as number),
    }),
  ),
  {
    name: '"100" is the default: the table is the same as without it',
    objects: weighted({ 'portico.dev/cluster-weight': '100' }),
    hosts: weightRoute(null),
  },
  ...['101', '-1', '50%', '0.5', 'half', '', '1e2'].map(
    (v): Case => ({
      name: `invalid value ${JSON.stringify(v)} → InvalidAnnotation, the default (100) applies`,
      objects: weighted({ 'portico.dev/cluster-weight': v }),
      hosts: weightRoute(null),
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [
        /annotation "portico\.dev\/cluster-weight" has value .*; expected a whole number from 0 to 100, so the default \(100\) applies/,
      ],
    }),
  ),
]);

const annotated = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', {
    annotations,
    rules: [rule('a.com', prefix('/', 'web')), rule('b.com', prefix('/', 'web')), rule('c.com', prefix('/', 'web'))],
  }),
];

table('other annotations', [
  ...['stream-snippet'].map(
    (a): Case => ({
      name: `nginx ${a} (TCP/UDP streams, no HTTP route) → UnsupportedAnnotation: snippets are never supported`,
      objects: annotated({ [`nginx.ingress.kubernetes.io/${a}`]: 'more_set_headers "X: y";' }),
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
      messages: [
        new RegExp(
          `"nginx\\.ingress\\.kubernetes\\.io/${a}" is ignored: snippets are never supported, because they inject raw configuration text`,
        ),
      ],
      check: (r) => expect(JSON.stringify(r.table)).not.toContain('more_set_headers'),
    }),
  ),
  ...[
    ['configuration-snippet', 'routes', 'is refused \\(directive "allow" on line 1: it is not one of the directives Portico accepts'],
    ['modsecurity-snippet', 'routes', 'guards access and is never supported \\(snippets inject raw configuration text'],
    ['server-snippet', 'hosts', 'is refused \\(directive "allow" on line 1: it is not one of the directives Portico accepts'],
  ].map(
    ([a, scope, why]): Case => ({
      name: `nginx ${a} may hold access rules Portico cannot see: it fails closed (${scope}), its text never reaches the table`,
      objects: annotated({ [`nginx.ingress.kubernetes.io/${a}`]: 'allow 10.0.0.0/8; deny all;' }),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
      messages: [new RegExp(`"nginx\\.ingress\\.kubernetes\\.io/${a}" ${why}`)],
      check: (r) => {
        expect(JSON.stringify(r.table)).not.toContain('deny all');
        expect(r.table.hosts.every((h) => h.routes.every((x) => x.policies.failClosed?.includes(`nginx.ingress.kubernetes.io/${a}`)))).toBe(
          true,
        );
      },
    }),
  ),
  ...['proxy-cookie-path', 'proxy-redirect-from', 'proxy-redirect-to'].map(
    (a): Case => ({
      name: `nginx ${a} → UnsupportedAnnotation`,
      objects: annotated({ [`nginx.ingress.kubernetes.io/${a}`]: 'x' }),
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
      messages: [new RegExp(`"nginx\\.ingress\\.kubernetes\\.io/${a}" is an ingress-nginx annotation that Portico does not implement`)],
    }),
  ),
  {
    name: 'an unknown portico.dev annotation → UnknownAnnotation listing the supported ones',
    objects: annotated({ 'portico.dev/rate-limit': '10' }),
    diagnostics: ['UnknownAnnotation Ingress default/web'],
    messages: [
      /"portico\.dev\/rate-limit" is not a Portico annotation \(supported: portico\.dev\/ssl-redirect, portico\.dev\/cluster-weight\)/,
    ],
  },
  {
    name: 'a misspelt portico.dev annotation is unknown, not silently ignored',
    objects: annotated({ 'portico.dev/ssl_redirect': 'false' }),
    diagnostics: ['UnknownAnnotation Ingress default/web'],
  },
  {
    name: 'annotations of other tools pass silently',
    objects: annotated({
      'cert-manager.io/cluster-issuer': 'letsencrypt',
      'kubernetes.io/ingress.class': 'portico',
      'external-dns.alpha.kubernetes.io/hostname': 'a.com',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      'nginx.org/client-max-body-size': '1m',
    }),
  },
  {
    name: 'each annotation is reported once per Ingress, however many rules it has',
    objects: annotated({
      'portico.dev/x': '1',
      'nginx.ingress.kubernetes.io/stream-snippet': 'x',
      'nginx.ingress.kubernetes.io/proxy-redirect-to': '/x',
    }),
    diagnostics: [
      'UnknownAnnotation Ingress default/web',
      'UnsupportedAnnotation Ingress default/web',
      'UnsupportedAnnotation Ingress default/web',
    ],
  },
  {
    name: 'the same annotation on two Ingresses is reported on each',
    objects: [
      CLS,
      ...WEB,
      ingress('a', { annotations: { 'portico.dev/x': '1' }, rules: [rule('a.com', prefix('/', 'web'))] }),
      ingress('b', { annotations: { 'portico.dev/x': '1' }, rules: [rule('b.com', prefix('/', 'web'))] }),
    ],
    diagnostics: ['UnknownAnnotation Ingress default/a', 'UnknownAnnotation Ingress default/b'],
  },
  {
    name: 'an unsupported annotation does not change routing',
    objects: annotated({ 'nginx.ingress.kubernetes.io/proxy-redirect-to': '/x' }),
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    check: (r) => expect(r.table.hosts.map((h) => h.routes.length)).toEqual([1, 1, 1]),
  },
]);

describe('parseAnnotations (unit)', () => {
  it('defaults with no annotations', () => {
    expect(parseAnnotations({})).toEqual({
      values: { sslRedirect: true, clusterWeight: 100 },
      access: { keys: [] },
      unenforced: [],
      problems: [],
      routing: { filters: {}, fromToWww: false, aliases: [] },
      upstream: {},
      rewrite: { regex: false },
      balancing: {},
      backends: { serviceUpstream: false },
      snippets: {},
      sslPassthrough: false,
    });
  });
  it('every allow-listed annotation parses its documented values', () => {
    for (const spec of SUPPORTED_ANNOTATIONS.filter((s) => s.setting === 'sslRedirect')) {
      expect(parseAnnotations({ [spec.key]: 'false' }).values.sslRedirect, spec.key).toBe(false);
      expect(parseAnnotations({ [spec.key]: 'true' }).values.sslRedirect, spec.key).toBe(true);
      expect(
        parseAnnotations({ [spec.key]: 'garbage' }).problems.map((p) => p.code),
        spec.key,
      ).toEqual(['InvalidAnnotation']);
    }
    expect(parseAnnotations({ 'portico.dev/cluster-weight': '40' }).values.clusterWeight).toBe(40);
    expect(parseAnnotations({ 'portico.dev/cluster-weight': 'garbage' }).problems.map((p) => p.code)).toEqual(['InvalidAnnotation']);
  });
  it('the allow-list is exactly the two ssl-redirect spellings and the cluster weight', () => {
    expect(SUPPORTED_ANNOTATIONS.map((s) => s.key)).toEqual([
      'nginx.ingress.kubernetes.io/ssl-redirect',
      'portico.dev/ssl-redirect',
      'portico.dev/cluster-weight',
    ]);
  });
  it('problems come in key order', () => {
    const { problems } = parseAnnotations({ 'portico.dev/z': '1', 'nginx.ingress.kubernetes.io/a': '1', 'portico.dev/a': '1' });
    expect(problems.map((p) => p.message.match(/"([^"]+)"/)?.[1])).toEqual([
      'nginx.ingress.kubernetes.io/a',
      'portico.dev/a',
      'portico.dev/z',
    ]);
  });
  it('a non-string value is invalid, never coerced', () => {
    expect(parseAnnotations({ 'portico.dev/ssl-redirect': false }).problems.map((p) => p.code)).toEqual(['InvalidAnnotation']);
    expect(parseAnnotations({ 'portico.dev/ssl-redirect': false }).values.sslRedirect).toBe(true);
  });
  it('an inherited key is not an annotation', () => {
    const proto = { 'portico.dev/ssl-redirect': 'false' };
    const annotations = Object.create(proto) as Record<string, unknown>;
    expect(parseAnnotations(annotations)).toEqual({
      values: { sslRedirect: true, clusterWeight: 100 },
      access: { keys: [] },
      unenforced: [],
      problems: [],
      routing: { filters: {}, fromToWww: false, aliases: [] },
      upstream: {},
      rewrite: { regex: false },
      balancing: {},
      backends: { serviceUpstream: false },
      snippets: {},
      sslPassthrough: false,
    });
  });
});
