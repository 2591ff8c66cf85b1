// Table-driven compiler cases: one named case per rule (the README's "Ingress semantics").
// Every case also goes through harness.run(): validate() must accept the table and shuffling the input
// must not change a byte of the output.
import { describe, expect, it } from 'vitest';
import { serializeTable } from '../../gateway/table/canonical.ts';
import { validate } from '../../gateway/table/validate.ts';
import { compile } from '../../sync/compile/index.ts';
import type { ClusterObjects, Ingress } from '../../sync/compile/types.ts';
import { app, backend, cls, exact, implSpecific, ingress, objects, prefix, rule, slice, svc, type AnyObject } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';
import { diagSummary, hostSummary, permute, run } from './harness.ts';

const CLS = cls();
const WEB = app('web', ['10.0.0.1']);
const web = (host: string | undefined): Ingress => ingress('web', { rules: [rule(host, prefix('/', 'web'))] });
const ONE_ROUTE = { 'example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

// ── 1. Class selection ────────────────────────────────────────────────────────────────────────────────
const legacy = (value: string): Ingress =>
  ingress('web', {
    className: null,
    annotations: { 'kubernetes.io/ingress.class': value },
    rules: [rule('example.com', prefix('/', 'web'))],
  });
const classless = (): Ingress => ingress('web', { className: null, rules: [rule('example.com', prefix('/', 'web'))] });
const NGINX_CLS = cls('nginx', { controller: 'k8s.io/ingress-nginx' });
const IGNORED = { accepted: [], hosts: {}, backends: {} };

table('class selection', [
  {
    name: 'ingressClassName names our IngressClass',
    objects: [CLS, ...WEB, web('example.com')],
    accepted: ['default/web'],
    hosts: ONE_ROUTE,
  },
  {
    name: "ingressClassName names another controller's IngressClass: ignored",
    objects: [CLS, NGINX_CLS, ...WEB, ingress('web', { className: 'nginx', rules: [rule('example.com', prefix('/', 'web'))] })],
    ...IGNORED,
  },
  {
    name: 'ingressClassName names an IngressClass that does not exist: ignored',
    objects: [CLS, ...WEB, ingress('web', { className: 'nope', rules: [rule('example.com', prefix('/', 'web'))] })],
    ...IGNORED,
  },
  { name: 'ingressClassName of ours, no IngressClass object at all: ignored', objects: [...WEB, web('example.com')], ...IGNORED },
  {
    name: 'legacy annotation names our IngressClass',
    objects: [cls('edge'), ...WEB, legacy('edge')],
    accepted: ['default/web'],
    hosts: ONE_ROUTE,
  },
  {
    name: 'legacy annotation equals options.annotationClass (default "portico"), no IngressClass object',
    objects: [...WEB, legacy('portico')],
    accepted: ['default/web'],
    hosts: ONE_ROUTE,
  },
  {
    name: 'legacy annotation equals a custom options.annotationClass',
    objects: [...WEB, legacy('edge')],
    options: { annotationClass: 'edge' },
    accepted: ['default/web'],
    hosts: ONE_ROUTE,
  },
  {
    name: 'legacy annotation "portico" is not ours when options.annotationClass is something else',
    objects: [...WEB, legacy('portico')],
    options: { annotationClass: 'edge' },
    ...IGNORED,
  },
  {
    name: "legacy annotation names another controller's class: ignored even with our default class",
    objects: [cls('portico', { isDefault: true }), NGINX_CLS, ...WEB, legacy('nginx')],
    ...IGNORED,
  },
  {
    name: 'ingressClassName wins over the legacy annotation (other class + our annotation: ignored)',
    objects: [
      CLS,
      NGINX_CLS,
      ...WEB,
      ingress('web', {
        className: 'nginx',
        annotations: { 'kubernetes.io/ingress.class': 'portico' },
        rules: [rule('example.com', prefix('/', 'web'))],
      }),
    ],
    ...IGNORED,
  },
  {
    name: 'ingressClassName wins over the legacy annotation (our class + other annotation: ours)',
    objects: [
      CLS,
      NGINX_CLS,
      ...WEB,
      ingress('web', { annotations: { 'kubernetes.io/ingress.class': 'nginx' }, rules: [rule('example.com', prefix('/', 'web'))] }),
    ],
    accepted: ['default/web'],
    hosts: ONE_ROUTE,
  },
  {
    name: 'no class at all: our default IngressClass takes it',
    objects: [cls('portico', { isDefault: true }), ...WEB, classless()],
    accepted: ['default/web'],
    hosts: ONE_ROUTE,
  },
  { name: 'no class and no default IngressClass: ignored', objects: [CLS, ...WEB, classless()], ...IGNORED },
  {
    name: "no class: another controller's default IngressClass does not make it ours",
    objects: [CLS, cls('nginx', { controller: 'k8s.io/ingress-nginx', isDefault: true }), ...WEB, classless()],
    ...IGNORED,
  },
  {
    name: 'is-default-class must be exactly "true"',
    objects: [
      { ...CLS, metadata: { name: 'portico', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'yes' } } },
      ...WEB,
      classless(),
    ],
    ...IGNORED,
  },
  {
    name: 'the default class does not take an Ingress that names another class',
    objects: [
      cls('portico', { isDefault: true }),
      NGINX_CLS,
      ...WEB,
      ingress('web', { className: 'nginx', rules: [rule('example.com', prefix('/', 'web'))] }),
    ],
    ...IGNORED,
  },
  {
    name: 'an empty ingressClassName counts as not set (default class applies)',
    objects: [
      cls('portico', { isDefault: true }),
      ...WEB,
      ingress('web', { className: '', rules: [rule('example.com', prefix('/', 'web'))] }),
    ],
    accepted: ['default/web'],
  },
  {
    name: 'an empty legacy annotation counts as not set (default class applies)',
    objects: [cls('portico', { isDefault: true }), ...WEB, legacy('')],
    accepted: ['default/web'],
  },
  {
    name: 'custom options.controller: only IngressClasses of that controller are ours',
    objects: [
      CLS,
      cls('edge', { controller: 'example.com/edge' }),
      ...WEB,
      ingress('mine', { className: 'edge', rules: [rule('a.com', prefix('/', 'web'))] }),
      ingress('theirs', { rules: [rule('b.com', prefix('/', 'web'))] }),
    ],
    options: { controller: 'example.com/edge' },
    accepted: ['default/mine'],
    hosts: { 'a.com': { routes: ['Prefix "" -> default/web:80 [default/mine]'] } },
  },
  {
    name: 'several classes of ours: each name selects',
    objects: [
      CLS,
      cls('portico-internal'),
      ...WEB,
      ingress('a', { rules: [rule('a.com', prefix('/', 'web'))] }),
      ingress('b', { className: 'portico-internal', rules: [rule('b.com', prefix('/', 'web'))] }),
    ],
    accepted: ['default/a', 'default/b'],
  },
  {
    name: 'accepted is sorted by namespace/name and lists ours only',
    objects: [
      CLS,
      ...WEB,
      ...app('web', ['10.1.0.1'], 'alpha'),
      ingress('z', { rules: [rule('z.com', prefix('/', 'web'))] }),
      ingress('m', { namespace: 'alpha', rules: [rule('m.com', prefix('/', 'web'))] }),
      ingress('a', { rules: [rule('a.com', prefix('/', 'web'))] }),
      ingress('b', { className: 'other', rules: [rule('b.com', prefix('/', 'web'))] }),
    ],
    accepted: ['alpha/m', 'default/a', 'default/z'],
  },
  {
    name: 'an Ingress of another class is ignored silently, however broken',
    objects: [CLS, ingress('broken', { className: 'other', rules: [rule('Not A Host!', prefix('nope', 'missing'))] })],
    ...IGNORED,
  },
  {
    name: 'an IngressClass of ours without a name is reported; an Ingress cannot select it',
    objects: [{ kind: 'IngressClass', metadata: {}, spec: { controller: 'portico.dev/ingress-controller' } }, ...WEB, web('example.com')],
    diagnostics: ['InvalidObject IngressClass /'],
    ...IGNORED,
  },
  {
    name: 'an IngressClass of another controller without a name is none of our business',
    objects: [{ kind: 'IngressClass', metadata: {}, spec: { controller: 'x/y' } }, CLS, ...WEB, web('example.com')],
    accepted: ['default/web'],
  },
]);

// ── 2. Hosts ──────────────────────────────────────────────────────────────────────────────────────────
const hostCase = (host: string): AnyObject[] => [
  CLS,
  ...WEB,
  ingress('web', { rules: [rule(host, prefix('/', 'web')), rule('ok.com', prefix('/', 'web'))] }),
];
const OK_ONLY = { 'ok.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };

table('hosts', [
  {
    name: 'host is lower-cased',
    objects: [CLS, ...WEB, web('Foo.Example.COM')],
    hosts: { 'foo.example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
  },
  {
    name: 'a rule without host goes to host entry ""',
    objects: [CLS, ...WEB, web(undefined)],
    hosts: { '': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
  },
  {
    name: 'an empty host counts as no host',
    objects: [CLS, ...WEB, web('')],
    hosts: { '': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
  },
  {
    name: 'a one-label wildcard host is kept as written',
    objects: [CLS, ...WEB, web('*.Foo.com')],
    hosts: { '*.foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
  },
  ...[
    'foo_bar.com',
    '1.2.3.4',
    '*',
    '*.*.foo.com',
    'foo.*.com',
    '*foo.com',
    '-foo.com',
    'a..b.com',
    'foo.com.',
    'foo.com:80',
    'föö.com',
    `${'a'.repeat(64)}.com`,
  ].map(
    (bad): Case => ({
      name: `invalid host ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 20)}…` : bad)}: the rule is skipped, other rules stay`,
      objects: hostCase(bad),
      diagnostics: ['InvalidHost Ingress default/web'],
      hosts: OK_ONLY,
      messages: [/is not a valid host/],
    }),
  ),
  {
    name: 'the InvalidHost message names the offending value',
    objects: hostCase('Bad_Host.com'),
    diagnostics: ['InvalidHost Ingress default/web'],
    messages: [/spec\.rules\[0\]\.host "Bad_Host\.com" is not a valid host/],
  },
  {
    name: 'two rules for the same host merge into one entry',
    objects: [
      CLS,
      ...WEB,
      ...app('api'),
      ingress('web', { rules: [rule('example.com', prefix('/', 'web')), rule('EXAMPLE.com', prefix('/api', 'api'))] }),
    ],
    hosts: { 'example.com': { routes: ['Prefix "/api" -> default/api:80 [default/web]', 'Prefix "" -> default/web:80 [default/web]'] } },
  },
  {
    name: 'several Ingresses share a host entry',
    objects: [
      CLS,
      ...WEB,
      ...app('api'),
      ingress('web', { rules: [rule('example.com', prefix('/', 'web'))] }),
      ingress('api', { namespace: 'default', created: 1, rules: [rule('example.com', prefix('/api', 'api'))] }),
    ],
    hosts: { 'example.com': { routes: ['Prefix "/api" -> default/api:80 [default/api]', 'Prefix "" -> default/web:80 [default/web]'] } },
  },
  {
    name: 'exact and wildcard hosts are separate entries',
    objects: [CLS, ...WEB, ingress('web', { rules: [rule('foo.com', prefix('/', 'web')), rule('*.foo.com', prefix('/', 'web'))] })],
    check: (r) => expect(r.table.hosts.map((h) => h.host)).toEqual(['*.foo.com', 'foo.com']),
  },
  {
    name: 'a rule with a host but no http creates an empty host entry',
    objects: [CLS, ingress('web', { rules: [{ host: 'example.com' }] })],
    hosts: { 'example.com': { routes: [] } },
  },
]);

// ── 3. Paths ──────────────────────────────────────────────────────────────────────────────────────────
const pathCase = (...paths: Parameters<typeof rule>[1][]): AnyObject[] => [
  CLS,
  ...WEB,
  ingress('web', { rules: [rule('example.com', ...paths)] }),
];
const routesOnly = (...lines: string[]): Record<string, { routes: string[] }> => ({ 'example.com': { routes: lines } });

table('paths', [
  {
    name: 'Prefix "/" is stored as ""',
    objects: pathCase(prefix('/', 'web')),
    hosts: routesOnly('Prefix "" -> default/web:80 [default/web]'),
  },
  {
    name: 'Prefix "/api/" is stored without its trailing slash',
    objects: pathCase(prefix('/api/', 'web')),
    hosts: routesOnly('Prefix "/api" -> default/web:80 [default/web]'),
  },
  {
    name: 'Prefix "/api" is stored as written',
    objects: pathCase(prefix('/api', 'web')),
    hosts: routesOnly('Prefix "/api" -> default/web:80 [default/web]'),
  },
  {
    name: 'Exact is stored as written, trailing slash included',
    objects: pathCase(exact('/api/', 'web'), exact('/', 'web')),
    hosts: routesOnly('Exact "/api/" -> default/web:80 [default/web]', 'Exact "/" -> default/web:80 [default/web]'),
  },
  {
    name: 'a missing path defaults to "/" (Prefix)',
    objects: pathCase(prefix(undefined, 'web')),
    hosts: routesOnly('Prefix "" -> default/web:80 [default/web]'),
  },
  {
    name: 'an empty path defaults to "/" (Exact)',
    objects: pathCase({ path: '', pathType: 'Exact', backend: backend('web') }),
    hosts: routesOnly('Exact "/" -> default/web:80 [default/web]'),
  },
  {
    name: 'ImplementationSpecific is treated as Prefix',
    objects: pathCase(implSpecific('/docs/', 'web')),
    hosts: routesOnly('Prefix "/docs" -> default/web:80 [default/web]'),
  },
  {
    name: 'Exact and Prefix on the same path are both kept (no conflict)',
    objects: pathCase(prefix('/foo', 'web'), exact('/foo', 'web')),
    hosts: routesOnly('Exact "/foo" -> default/web:80 [default/web]', 'Prefix "/foo" -> default/web:80 [default/web]'),
  },
  {
    name: 'routes are ordered longest first, Exact before Prefix on a tie',
    objects: pathCase(prefix('/', 'web'), prefix('/a', 'web'), exact('/a', 'web'), prefix('/a/b/c', 'web'), exact('/zz', 'web')),
    hosts: routesOnly(
      'Prefix "/a/b/c" -> default/web:80 [default/web]',
      'Exact "/zz" -> default/web:80 [default/web]',
      'Exact "/a" -> default/web:80 [default/web]',
      'Prefix "/a" -> default/web:80 [default/web]',
      'Prefix "" -> default/web:80 [default/web]',
    ),
  },
  {
    name: 'missing pathType → InvalidPathType, the path is skipped',
    objects: pathCase({ path: '/x', backend: backend('web') }, prefix('/', 'web')),
    diagnostics: ['InvalidPathType Ingress default/web'],
    hosts: routesOnly('Prefix "" -> default/web:80 [default/web]'),
    messages: [/pathType is missing/],
  },
  {
    name: 'unknown pathType "Regex" → InvalidPathType',
    objects: pathCase({ path: '/x', pathType: 'Regex', backend: backend('web') }),
    diagnostics: ['InvalidPathType Ingress default/web'],
    hosts: routesOnly(),
    messages: [/pathType is "Regex"/],
  },
  {
    name: 'pathType is case-sensitive ("prefix" is invalid)',
    objects: pathCase({ path: '/x', pathType: 'prefix', backend: backend('web') }),
    diagnostics: ['InvalidPathType Ingress default/web'],
    hosts: routesOnly(),
  },
  {
    name: 'pathType "toString" is not a path type',
    objects: pathCase({ path: '/x', pathType: 'toString', backend: backend('web') }),
    diagnostics: ['InvalidPathType Ingress default/web'],
    hosts: routesOnly(),
  },
  ...[
    ['api', 'must start with "/"'],
    ['/a//b', 'must not contain "//"'],
    ['/a/../b', '"." or ".."'],
    ['/a/./b', '"." or ".."'],
    ['/..', '"." or ".."'],
    ['/a%2Fb', 'encoded "/"'],
    ['/a b', 'not allowed'],
    ['/a?x=1', 'not allowed'],
    ['/a#frag', 'not allowed'],
    ['/a"b', 'not allowed'],
    ['/a{b}', 'not allowed'],
  ].map(
    ([bad, why]): Case => ({
      name: `invalid path ${JSON.stringify(bad)} → InvalidPath (${why})`,
      objects: pathCase(prefix(bad, 'web'), prefix('/ok', 'web')),
      diagnostics: ['InvalidPath Ingress default/web'],
      hosts: routesOnly('Prefix "/ok" -> default/web:80 [default/web]'),
      messages: [
        new RegExp(`path ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*${why!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      ],
    }),
  ),
  {
    name: 'InvalidPath applies to Exact paths too',
    objects: pathCase(exact('/a//b', 'web')),
    diagnostics: ['InvalidPath Ingress default/web'],
    hosts: routesOnly(),
  },
  {
    name: 'a path that is not a string → InvalidPath',
    objects: pathCase({ path: 42 as unknown as string, pathType: 'Prefix', backend: backend('web') }),
    diagnostics: ['InvalidPath Ingress default/web'],
    hosts: routesOnly(),
  },
  {
    name: 'bad pathType and bad path in one entry: both reported',
    objects: pathCase({ path: 'x', pathType: 'Nope', backend: backend('web') }),
    diagnostics: ['InvalidPath Ingress default/web', 'InvalidPathType Ingress default/web'],
    hosts: routesOnly(),
  },
  {
    name: 'allowed punctuation in paths is kept',
    objects: pathCase(exact("/a-b_c.d~e!$&'()*+,;=:@%20", 'web')),
    hosts: routesOnly('Exact "/a-b_c.d~e!$&\'()*+,;=:@%20" -> default/web:80 [default/web]'),
  },
  {
    name: 'paths are case-sensitive: /Foo and /foo are different routes',
    objects: pathCase(exact('/Foo', 'web'), exact('/foo', 'web')),
    hosts: routesOnly('Exact "/Foo" -> default/web:80 [default/web]', 'Exact "/foo" -> default/web:80 [default/web]'),
  },
]);

// ── 4. Backends and endpoints ─────────────────────────────────────────────────────────────────────────
const via = (port: number | string, ...objs: AnyObject[]): AnyObject[] => [
  CLS,
  ...objs,
  ingress('web', { rules: [rule('example.com', prefix('/', 'web', port))] }),
];
const MULTI = svc('web', {
  ports: [
    { name: 'http', port: 80, targetPort: 'http' },
    { name: 'https', port: 443, targetPort: 8443 },
    { name: 'metrics', port: 9090 },
  ],
});
const MULTI_SLICE = slice('web', ['10.0.0.1', '10.0.0.2'], {
  ports: [
    { name: 'http', port: 8080 },
    { name: 'https', port: 8443 },
    { name: 'metrics', port: 9100 },
  ],
});

table('backends', [
  {
    name: 'Service port by number',
    objects: via(80, ...WEB),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
    hosts: { 'example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
  },
  { name: 'Service port by name', objects: via('http', ...WEB), backends: { 'default/web:http': ['10.0.0.1:8080'] } },
  {
    name: 'port number → Service port name → EndpointSlice port of that name (443 → "https" → 8443)',
    objects: via(443, MULTI, MULTI_SLICE),
    backends: { 'default/web:443': ['10.0.0.1:8443', '10.0.0.2:8443'] },
  },
  {
    name: 'port name → EndpointSlice port of that name ("metrics" → 9100, not the Service port 9090)',
    objects: via('metrics', MULTI, MULTI_SLICE),
    backends: { 'default/web:metrics': ['10.0.0.1:9100', '10.0.0.2:9100'] },
  },
  {
    name: 'an unnamed Service port matches the unnamed EndpointSlice port',
    objects: via(8000, svc('web', { ports: [8000] }), slice('web', ['10.0.0.9'], { ports: [{ port: 3000 }] })),
    backends: { 'default/web:8000': ['10.0.0.9:3000'] },
  },
  {
    name: 'an unnamed Service port does not take a named slice port',
    objects: via(8000, svc('web', { ports: [8000] }), slice('web', ['10.0.0.9'], { ports: [{ name: 'x', port: 3000 }] })),
    backends: { 'default/web:8000': [] },
    diagnostics: ['NoReadyEndpoints Service default/web (Info)'],
  },
  {
    name: 'the same port by number and by name gives two backends with the same endpoints',
    objects: [CLS, ...WEB, ingress('web', { rules: [rule('a.com', prefix('/', 'web', 80)), rule('b.com', prefix('/', 'web', 'http'))] })],
    backends: { 'default/web:80': ['10.0.0.1:8080'], 'default/web:http': ['10.0.0.1:8080'] },
  },
  {
    name: 'missing Service → ServiceNotFound; the route is kept and answers 503',
    objects: via(80),
    diagnostics: ['ServiceNotFound Ingress default/web'],
    backends: { 'default/web:80': [] },
    hosts: { 'example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
    messages: [/Service "web" not found in namespace "default"/],
  },
  {
    name: 'a Service in another namespace is not found',
    objects: [CLS, ...app('web', ['10.0.0.1'], 'other'), ingress('web', { rules: [rule('example.com', prefix('/', 'web'))] })],
    diagnostics: ['ServiceNotFound Ingress default/web'],
    backends: { 'default/web:80': [] },
  },
  {
    name: 'unknown port name → ServicePortNotFound; the route is kept with no endpoints',
    objects: via('grpc', ...WEB),
    diagnostics: ['ServicePortNotFound Ingress default/web'],
    backends: { 'default/web:grpc': [] },
    hosts: { 'example.com': { routes: ['Prefix "" -> default/web:grpc [default/web]'] } },
    messages: [/Service default\/web has no port named "grpc" \(it has 80 \("http"\)\)/],
  },
  {
    name: 'unknown port number → ServicePortNotFound',
    objects: via(8080, ...WEB),
    diagnostics: ['ServicePortNotFound Ingress default/web'],
    backends: { 'default/web:8080': [] },
    messages: [/has no port 8080/],
  },
  {
    name: 'ExternalName Service → ServiceTypeUnsupported; the route is kept with no endpoints',
    objects: via(80, svc('web', { type: 'ExternalName', externalName: 'db.example.net', ports: [80] })),
    diagnostics: ['ServiceTypeUnsupported Ingress default/web'],
    backends: { 'default/web:80': [] },
    hosts: { 'example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
    messages: [/ExternalName \("db\.example\.net"\)/],
  },
  {
    name: 'resource backend → InvalidBackend; the route is skipped',
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        rules: [
          rule(
            'example.com',
            {
              path: '/icons',
              pathType: 'Prefix',
              backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'icons' } },
            },
            prefix('/', 'web'),
          ),
        ],
      }),
    ],
    diagnostics: ['InvalidBackend Ingress default/web'],
    hosts: { 'example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
    messages: [/resource backend \(StorageBucket "icons"\)/],
  },
  {
    name: 'backend with no service → InvalidBackend',
    objects: [CLS, ingress('web', { rules: [rule('example.com', { path: '/', pathType: 'Prefix', backend: {} })] })],
    diagnostics: ['InvalidBackend Ingress default/web'],
    hosts: { 'example.com': { routes: [] } },
    backends: {},
  },
  {
    name: 'path with no backend at all → InvalidBackend',
    objects: [CLS, ingress('web', { rules: [rule('example.com', { path: '/', pathType: 'Prefix' })] })],
    diagnostics: ['InvalidBackend Ingress default/web'],
    hosts: { 'example.com': { routes: [] } },
  },
  {
    name: 'service without name → InvalidBackend',
    objects: [
      CLS,
      ingress('web', { rules: [rule('example.com', { path: '/', pathType: 'Prefix', backend: { service: { port: { number: 80 } } } })] }),
    ],
    diagnostics: ['InvalidBackend Ingress default/web'],
    hosts: { 'example.com': { routes: [] } },
  },
  {
    name: 'service without port → InvalidBackend',
    objects: [
      CLS,
      ...WEB,
      ingress('web', { rules: [rule('example.com', { path: '/', pathType: 'Prefix', backend: { service: { name: 'web' } } })] }),
    ],
    diagnostics: ['InvalidBackend Ingress default/web'],
    hosts: { 'example.com': { routes: [] } },
  },
  {
    name: 'port with both number and name → InvalidBackend',
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        rules: [
          rule('example.com', { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80, name: 'http' } } } }),
        ],
      }),
    ],
    diagnostics: ['InvalidBackend Ingress default/web'],
    hosts: { 'example.com': { routes: [] } },
  },
  ...[0, 65536, 80.5, -1].map(
    (n): Case => ({
      name: `port number ${n} → InvalidBackend`,
      objects: [CLS, ...WEB, ingress('web', { rules: [rule('example.com', prefix('/', 'web', n))] })],
      diagnostics: ['InvalidBackend Ingress default/web'],
      hosts: { 'example.com': { routes: [] } },
      backends: {},
    }),
  ),
  ...['Web', 'web_1', '1web', 'web.svc', 'a/b', 'x:80', 'a'.repeat(64)].map(
    (n): Case => ({
      name: `service name ${JSON.stringify(n.length > 20 ? `${n.slice(0, 20)}…` : n)} → InvalidBackend`,
      objects: [CLS, ingress('web', { rules: [rule('example.com', prefix('/', n))] })],
      diagnostics: ['InvalidBackend Ingress default/web'],
      hosts: { 'example.com': { routes: [] } },
      backends: {},
      messages: [/not a Service name/],
    }),
  ),
  ...['80', 'HTTP', 'h_t', '-http', 'ht--tp', 'a-very-long-port-name'].map(
    (n): Case => ({
      name: `port name ${JSON.stringify(n)} → InvalidBackend`,
      objects: [CLS, ...WEB, ingress('web', { rules: [rule('example.com', prefix('/', 'web', n))] })],
      diagnostics: ['InvalidBackend Ingress default/web'],
      hosts: { 'example.com': { routes: [] } },
      backends: {},
      messages: [/not a port name/],
    }),
  ),
  {
    name: 'valid unusual names are accepted (digits, hyphens, 15-character port name)',
    objects: [
      CLS,
      svc('a-1', { ports: [{ name: 'metrics-port-15', port: 9 }] }),
      slice('a-1', ['10.0.0.1'], { ports: [{ name: 'metrics-port-15', port: 9100 }] }),
      ingress('web', { rules: [rule('example.com', prefix('/', 'a-1', 'metrics-port-15'))] }),
    ],
    backends: { 'default/a-1:metrics-port-15': ['10.0.0.1:9100'] },
  },
  {
    name: 'port number given as a string → InvalidBackend',
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        rules: [
          rule('example.com', {
            path: '/',
            pathType: 'Prefix',
            backend: { service: { name: 'web', port: { number: '80' as unknown as number } } },
          }),
        ],
      }),
    ],
    diagnostics: ['InvalidBackend Ingress default/web'],
  },
  {
    name: 'backend ids carry the Ingress namespace',
    objects: [
      CLS,
      ...app('web', ['10.1.0.1'], 'a'),
      ...app('web', ['10.2.0.1'], 'b'),
      ingress('web', { namespace: 'a', rules: [rule('a.com', prefix('/', 'web'))] }),
      ingress('web', { namespace: 'b', rules: [rule('b.com', prefix('/', 'web'))] }),
    ],
    backends: { 'a/web:80': ['10.1.0.1:8080'], 'b/web:80': ['10.2.0.1:8080'] },
  },
  {
    name: 'one missing Service referenced by many paths gives one diagnostic',
    objects: [CLS, ingress('web', { rules: [rule('example.com', prefix('/a', 'gone'), prefix('/b', 'gone'), exact('/c', 'gone'))] })],
    diagnostics: ['ServiceNotFound Ingress default/web'],
  },
  {
    name: 'a Service with ports that are not a list → ServicePortNotFound',
    objects: [
      CLS,
      { kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { ports: 'http' as unknown as [] } },
      ingress('web', { rules: [rule('example.com', prefix('/', 'web'))] }),
    ],
    diagnostics: ['ServicePortNotFound Ingress default/web'],
    messages: [/it has no ports/],
  },
]);

const withSlices = (...slices: AnyObject[]): AnyObject[] => [CLS, svc('web'), ...slices, web('example.com')];

table('endpoints', [
  {
    name: 'only ready endpoints: ready false is dropped; true, missing and null count as ready',
    objects: withSlices(
      slice('web', [
        { ip: '10.0.0.1', ready: true },
        { ip: '10.0.0.2', ready: false },
        { ip: '10.0.0.3' },
        { ip: '10.0.0.4', ready: null },
      ]),
    ),
    backends: { 'default/web:80': ['10.0.0.1:8080', '10.0.0.3:8080', '10.0.0.4:8080'] },
  },
  {
    name: 'endpoints from several slices are merged',
    objects: withSlices(slice('web', ['10.0.0.1'], { name: 'web-1' }), slice('web', ['10.0.0.2', '10.0.0.3'], { name: 'web-2' })),
    backends: { 'default/web:80': ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'] },
  },
  {
    name: 'the same address and port in two slices appears once',
    objects: withSlices(slice('web', ['10.0.0.1', '10.0.0.2'], { name: 'web-1' }), slice('web', ['10.0.0.2'], { name: 'web-2' })),
    backends: { 'default/web:80': ['10.0.0.1:8080', '10.0.0.2:8080'] },
  },
  {
    name: 'the same address on different slice ports stays two endpoints',
    objects: withSlices(
      slice('web', ['10.0.0.1'], { name: 'web-1' }),
      slice('web', ['10.0.0.1'], { name: 'web-2', ports: [{ name: 'http', port: 9090 }] }),
    ),
    backends: { 'default/web:80': ['10.0.0.1:8080', '10.0.0.1:9090'] },
  },
  {
    name: 'a duplicate endpoint keeps the zone from the slice that sorts first by name',
    objects: withSlices(
      slice('web', [{ ip: '10.0.0.1', zone: 'zone-b' }], { name: 'web-b' }),
      slice('web', [{ ip: '10.0.0.1', zone: 'zone-a' }], { name: 'web-a' }),
    ),
    backends: { 'default/web:80': ['10.0.0.1:8080@zone-a'] },
  },
  {
    name: 'FQDN slices are skipped even when their addresses look like IPs',
    objects: withSlices(slice('web', ['fd00::1', '10.0.0.5'], { name: 'web-fqdn', addressType: 'FQDN' }), slice('web', ['10.0.0.1'])),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'IPv6 slices are used',
    objects: withSlices(slice('web', ['fd00::1', '2001:db8::2'], { addressType: 'IPv6' })),
    backends: { 'default/web:80': ['2001:db8::2:8080', 'fd00::1:8080'] },
  },
  {
    name: 'FQDN slices are skipped',
    objects: withSlices(slice('web', ['web.example.net'], { name: 'web-fqdn', addressType: 'FQDN' }), slice('web', ['10.0.0.1'])),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'addresses that do not match the slice address type are skipped',
    objects: withSlices(slice('web', ['fd00::1', 'not-an-ip', '', '10.0.0.1'])),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'the first address of an endpoint is used',
    objects: withSlices(slice('web', [{ ip: '10.0.0.1', more: ['10.0.0.99'] }])),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'the zone is carried',
    objects: withSlices(slice('web', [{ ip: '10.0.0.1', zone: 'eu-west-1a' }, '10.0.0.2'])),
    backends: { 'default/web:80': ['10.0.0.1:8080@eu-west-1a', '10.0.0.2:8080'] },
  },
  {
    name: 'slices of other Services (by label) are ignored',
    objects: withSlices(slice('web', ['10.0.0.1']), slice('api', ['10.0.0.50'], { name: 'web-lookalike' })),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'slices in other namespaces are ignored',
    objects: withSlices(slice('web', ['10.0.0.1']), slice('web', ['10.9.0.1'], { namespace: 'other' })),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'a slice without the Service port name contributes nothing',
    objects: withSlices(slice('web', ['10.0.0.7'], { name: 'web-x', ports: [{ name: 'admin', port: 9000 }] }), slice('web', ['10.0.0.1'])),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'a slice port without a port number contributes nothing',
    objects: withSlices(slice('web', ['10.0.0.1'], { ports: [{ name: 'http' }] })),
    backends: { 'default/web:80': [] },
    diagnostics: ['NoReadyEndpoints Service default/web (Info)'],
  },
  {
    name: 'a slice without the service-name label is ignored',
    objects: withSlices({ ...slice('web', ['10.0.0.1']), metadata: { namespace: 'default', name: 'web-abcde' } }),
    backends: { 'default/web:80': [] },
    diagnostics: ['NoReadyEndpoints Service default/web (Info)'],
  },
  {
    name: 'no ready endpoints → NoReadyEndpoints (Info) on the Service, backend kept empty',
    objects: withSlices(slice('web', [{ ip: '10.0.0.1', ready: false }])),
    backends: { 'default/web:80': [] },
    diagnostics: ['NoReadyEndpoints Service default/web (Info)'],
    hosts: { 'example.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } },
    messages: [/backend default\/web:80 has no ready endpoints/],
  },
  { name: 'no slices at all → NoReadyEndpoints', objects: withSlices(), diagnostics: ['NoReadyEndpoints Service default/web (Info)'] },
  {
    name: 'a Service nobody routes to is not in the table and gets no diagnostic',
    objects: [CLS, ...WEB, svc('idle'), web('example.com')],
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'endpoints are in canonical order whatever the slice order',
    objects: withSlices(slice('web', ['10.0.0.9', '10.0.0.10', '10.0.0.2'])),
    check: (r) => expect(r.table.backends[0]!.endpoints.map((e) => e.address)).toEqual(['10.0.0.10', '10.0.0.2', '10.0.0.9']),
  },
  {
    name: 'garbage endpoint entries are skipped without failing the slice',
    objects: withSlices({
      ...slice('web', ['10.0.0.1']),
      endpoints: [null, 'x', { addresses: 'nope' }, { addresses: [7] }, { addresses: ['10.0.0.1'] }] as unknown as [],
    }),
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
]);

// ── 5. Conflicts ──────────────────────────────────────────────────────────────────────────────────────
const claim = (
  name: string,
  created: number | null,
  o: { namespace?: string; path?: string; service?: string; type?: 'Prefix' | 'Exact' } = {},
): Ingress =>
  ingress(name, {
    namespace: o.namespace,
    created,
    rules: [rule('example.com', (o.type === 'Exact' ? exact : prefix)(o.path ?? '/app', o.service ?? name))],
  });
const both = [
  CLS,
  ...app('old'),
  ...app('new'),
  ...app('a'),
  ...app('b'),
  ...app('a', ['10.1.0.1'], 'ns-a'),
  ...app('b', ['10.2.0.1'], 'ns-b'),
];

table('conflicts', [
  {
    name: 'same host and path in two Ingresses: the oldest wins, the loser gets RouteConflict naming the winner',
    objects: [...both, claim('new', 5), claim('old', 1)],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/old:80 [default/old]'] } },
    diagnostics: ['RouteConflict Ingress default/new'],
    messages: [/Ingress default\/old already routes it .* because it was created earlier/],
  },
  {
    name: 'the winner does not depend on which Ingress is listed first',
    objects: [...both, claim('old', 1), claim('new', 5)],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/old:80 [default/old]'] } },
    diagnostics: ['RouteConflict Ingress default/new'],
  },
  {
    name: 'same creation time: the earlier namespace wins',
    objects: [...both, claim('b', 3, { namespace: 'ns-a', service: 'a' }), claim('a', 3, { namespace: 'ns-b', service: 'b' })],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> ns-a/a:80 [ns-a/b]'] } },
    diagnostics: ['RouteConflict Ingress ns-b/a'],
    messages: [/same time and it sorts first by namespace\/name/],
  },
  {
    name: 'same creation time and namespace: the earlier name wins',
    objects: [...both, claim('b', 3), claim('a', 3)],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/a:80 [default/a]'] } },
    diagnostics: ['RouteConflict Ingress default/b'],
  },
  {
    name: 'a missing creationTimestamp sorts last',
    objects: [...both, claim('a', null), claim('b', 100000)],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/b:80 [default/b]'] } },
    diagnostics: ['RouteConflict Ingress default/a'],
    messages: [/it has a creation timestamp and this one has none/],
  },
  {
    name: 'an unparsable creationTimestamp sorts last',
    objects: [
      ...both,
      { ...claim('a', 0), metadata: { namespace: 'default', name: 'a', creationTimestamp: 'yesterday' } },
      claim('b', 100000),
    ],
    diagnostics: ['RouteConflict Ingress default/a'],
  },
  {
    name: 'neither has a timestamp: namespace/name decides',
    objects: [...both, claim('b', null), claim('a', null)],
    diagnostics: ['RouteConflict Ingress default/b'],
    messages: [/neither has a creation timestamp/],
  },
  {
    name: 'Exact and Prefix on the same path in two Ingresses are not a conflict',
    objects: [...both, claim('old', 1), claim('new', 2, { type: 'Exact' })],
    hosts: { 'example.com': { routes: ['Exact "/app" -> default/new:80 [default/new]', 'Prefix "/app" -> default/old:80 [default/old]'] } },
  },
  {
    name: 'the same path on different hosts is not a conflict',
    objects: [...both, claim('old', 1), ingress('new', { created: 2, rules: [rule('other.com', prefix('/app', 'new'))] })],
    check: (r) => expect(r.table.hosts.map((h) => h.routes.length)).toEqual([1, 1]),
  },
  {
    name: 'Prefix "/app" and "/app/" are the same route',
    objects: [...both, claim('old', 1, { path: '/app/' }), claim('new', 2, { path: '/app' })],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/old:80 [default/old]'] } },
    diagnostics: ['RouteConflict Ingress default/new'],
  },
  {
    name: 'ImplementationSpecific conflicts with Prefix on the same path',
    objects: [...both, claim('old', 1), ingress('new', { created: 2, rules: [rule('example.com', implSpecific('/app', 'new'))] })],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/old:80 [default/old]'] } },
    diagnostics: ['RouteConflict Ingress default/new'],
  },
  {
    name: 'the loser keeps its other routes',
    objects: [
      ...both,
      claim('old', 1),
      ingress('new', { created: 2, rules: [rule('example.com', prefix('/app', 'new'), prefix('/new', 'new'))] }),
    ],
    hosts: {
      'example.com': { routes: ['Prefix "/app" -> default/old:80 [default/old]', 'Prefix "/new" -> default/new:80 [default/new]'] },
    },
    diagnostics: ['RouteConflict Ingress default/new'],
  },
  {
    name: 'three Ingresses on one path: both losers are told, each naming the oldest',
    objects: [...both, claim('a', 2), claim('b', 3), claim('old', 1)],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/old:80 [default/old]'] } },
    diagnostics: ['RouteConflict Ingress default/a', 'RouteConflict Ingress default/b'],
    check: (r) => expect(r.diagnostics.every((d) => d.message.includes('Ingress default/old'))).toBe(true),
  },
  {
    name: 'within one Ingress a repeated (host, pathType, path) → DuplicateRule, the first one wins',
    objects: [...both, ingress('web', { rules: [rule('example.com', prefix('/app', 'a'), prefix('/app', 'b'))] })],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/a:80 [default/web]'] } },
    diagnostics: ['DuplicateRule Ingress default/web'],
    messages: [/spec\.rules\[0\]\.http\.paths\[1\] .* repeats spec\.rules\[0\]\.http\.paths\[0\]/],
  },
  {
    name: 'a repeat across two rules of the same host → DuplicateRule',
    objects: [...both, ingress('web', { rules: [rule('example.com', exact('/x', 'a')), rule('Example.com', exact('/x', 'b'))] })],
    hosts: { 'example.com': { routes: ['Exact "/x" -> default/a:80 [default/web]'] } },
    diagnostics: ['DuplicateRule Ingress default/web'],
  },
  {
    name: 'a path with an invalid backend claims nothing (a younger Ingress may have it)',
    objects: [
      ...both,
      ingress('a', {
        created: 1,
        rules: [rule('example.com', { path: '/app', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } })],
      }),
      claim('b', 2),
    ],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/b:80 [default/b]'] } },
    diagnostics: ['InvalidBackend Ingress default/a'],
  },
  {
    name: 'a route to a missing Service still wins its path (and answers 503)',
    objects: [...both, claim('a', 1, { service: 'gone' }), claim('b', 2)],
    hosts: { 'example.com': { routes: ['Prefix "/app" -> default/gone:80 [default/a]'] } },
    diagnostics: ['ServiceNotFound Ingress default/a', 'RouteConflict Ingress default/b'],
    backends: { 'default/gone:80': [] },
  },
  {
    name: 'the loser’s backend is not in the table',
    objects: [...both, claim('old', 1), claim('new', 2)],
    backends: { 'default/old:80': ['10.0.0.1:8080'] },
    diagnostics: ['RouteConflict Ingress default/new'],
  },
]);

// ── 6. Default backend ────────────────────────────────────────────────────────────────────────────────
const dflt = (name: string, created: number, service: string, ...rules: ReturnType<typeof rule>[]): Ingress =>
  ingress(name, { created, defaultBackend: backend(service), rules });
const BACKS = [CLS, ...app('web'), ...app('fallback-a', ['10.0.1.1']), ...app('fallback-b', ['10.0.2.1'])];

table('default backend', [
  {
    name: 'an Ingress with only a defaultBackend is valid and sets the table default',
    objects: [...BACKS, dflt('catch', 0, 'fallback-a')],
    defaultBackend: 'default/fallback-a:80',
    hosts: {},
    backends: { 'default/fallback-a:80': ['10.0.1.1:8080'] },
    accepted: ['default/catch'],
  },
  { name: 'no defaultBackend anywhere: null', objects: [...BACKS, web('example.com')], defaultBackend: null, hosts: ONE_ROUTE },
  {
    name: 'the oldest Ingress provides the table default; a younger one gets DefaultBackendConflict (Info) but stays the fallback of its hosts',
    objects: [
      ...BACKS,
      dflt('young', 5, 'fallback-b', rule('b.com', prefix('/', 'web'))),
      dflt('old', 1, 'fallback-a', rule('a.com', prefix('/', 'web'))),
    ],
    defaultBackend: 'default/fallback-a:80',
    hosts: {
      'a.com': { fallback: 'default/fallback-a:80', routes: ['Prefix "" -> default/web:80 [default/old]'] },
      'b.com': { fallback: 'default/fallback-b:80', routes: ['Prefix "" -> default/web:80 [default/young]'] },
    },
    diagnostics: ['DefaultBackendConflict Ingress default/young (Info)'],
    messages: [/Ingress default\/old provides default\/fallback-a:80 .* still the fallback for unmatched paths of "b\.com"/],
  },
  {
    name: 'a younger default backend with no hosts of its own is not used at all',
    objects: [...BACKS, dflt('young', 5, 'fallback-b'), dflt('old', 1, 'fallback-a')],
    defaultBackend: 'default/fallback-a:80',
    backends: { 'default/fallback-a:80': ['10.0.1.1:8080'] },
    diagnostics: ['DefaultBackendConflict Ingress default/young (Info)'],
    messages: [/; it is not used$/],
  },
  {
    name: 'host fallback = the oldest Ingress that has rules for the host AND a defaultBackend',
    objects: [
      ...BACKS,
      ingress('plain', { created: 0, rules: [rule('shared.com', prefix('/', 'web'))] }),
      dflt('second', 2, 'fallback-b', rule('shared.com', exact('/b', 'web'))),
      dflt('first', 1, 'fallback-a', rule('shared.com', exact('/a', 'web'))),
    ],
    hosts: {
      'shared.com': {
        fallback: 'default/fallback-a:80',
        routes: [
          'Exact "/a" -> default/web:80 [default/first]',
          'Exact "/b" -> default/web:80 [default/second]',
          'Prefix "" -> default/web:80 [default/plain]',
        ],
      },
    },
    defaultBackend: 'default/fallback-a:80',
    diagnostics: ['DefaultBackendConflict Ingress default/second (Info)'],
    messages: [/; it is not used$/],
  },
  {
    name: 'a host without any Ingress with a defaultBackend has no fallback',
    objects: [
      ...BACKS,
      dflt('d', 1, 'fallback-a', rule('a.com', prefix('/', 'web'))),
      ingress('p', { created: 0, rules: [rule('p.com', prefix('/', 'web'))] }),
    ],
    hosts: {
      'a.com': { fallback: 'default/fallback-a:80', routes: ['Prefix "" -> default/web:80 [default/d]'] },
      'p.com': { routes: ['Prefix "" -> default/web:80 [default/p]'] },
    },
  },
  {
    name: 'the same defaultBackend in two Ingresses is not a conflict',
    objects: [...BACKS, dflt('a', 1, 'fallback-a'), dflt('b', 2, 'fallback-a')],
    defaultBackend: 'default/fallback-a:80',
  },
  {
    name: 'an invalid defaultBackend is reported and the next oldest provides the default',
    objects: [
      ...BACKS,
      ingress('a', { created: 1, defaultBackend: { resource: { kind: 'Bucket', name: 'x' } } }),
      dflt('b', 2, 'fallback-b'),
    ],
    defaultBackend: 'default/fallback-b:80',
    diagnostics: ['InvalidBackend Ingress default/a'],
    messages: [/spec\.defaultBackend is a resource backend/],
  },
  {
    name: 'a defaultBackend to a missing Service is kept (503) and reported',
    objects: [...BACKS, dflt('a', 1, 'gone')],
    defaultBackend: 'default/gone:80',
    backends: { 'default/gone:80': [] },
    diagnostics: ['ServiceNotFound Ingress default/a'],
  },
  {
    name: 'fallback applies to the hostless entry too',
    objects: [...BACKS, dflt('a', 1, 'fallback-a', rule(undefined, prefix('/web', 'web')))],
    hosts: { '': { fallback: 'default/fallback-a:80', routes: ['Prefix "/web" -> default/web:80 [default/a]'] } },
  },
  {
    name: 'a backend used only as a fallback is in the table; one used nowhere is not',
    objects: [...BACKS, dflt('old', 1, 'fallback-a'), dflt('young', 2, 'fallback-b', rule('b.com', prefix('/', 'web'))), ...app('unused')],
    backends: {
      'default/fallback-a:80': ['10.0.1.1:8080'],
      'default/fallback-b:80': ['10.0.2.1:8080'],
      'default/web:80': ['10.0.0.1:8080'],
    },
    diagnostics: ['DefaultBackendConflict Ingress default/young (Info)'],
  },
]);

// ── 9. Robustness ─────────────────────────────────────────────────────────────────────────────────────
const good = ingress('good', { rules: [rule('good.com', prefix('/', 'web'))] });
const GOOD = { 'good.com': { routes: ['Prefix "" -> default/web:80 [default/good]'] } };
const raw = (v: unknown): Ingress => v as Ingress;

table('robustness', [
  {
    name: 'an Ingress without metadata.name → InvalidObject, skipped, not accepted',
    objects: [
      CLS,
      ...WEB,
      good,
      raw({
        kind: 'Ingress',
        metadata: { namespace: 'default' },
        spec: { ingressClassName: 'portico', rules: [rule('bad.com', prefix('/', 'web'))] },
      }),
    ],
    diagnostics: ['InvalidObject Ingress default/'],
    hosts: GOOD,
    accepted: ['default/good'],
    messages: [/no metadata\.name/],
  },
  {
    name: 'an Ingress without metadata.namespace → InvalidObject',
    objects: [CLS, ...WEB, good, raw({ kind: 'Ingress', metadata: { name: 'x' }, spec: { ingressClassName: 'portico' } })],
    diagnostics: ['InvalidObject Ingress /x'],
    hosts: GOOD,
    messages: [/no metadata\.namespace/],
  },
  {
    name: 'an Ingress without metadata at all → InvalidObject naming both',
    objects: [CLS, ...WEB, good, raw({ kind: 'Ingress', spec: { ingressClassName: 'portico' } })],
    diagnostics: ['InvalidObject Ingress /'],
    messages: [/no metadata\.namespace and metadata\.name/],
  },
  {
    name: 'an Ingress without spec is empty (taken by the default class)',
    objects: [cls('portico', { isDefault: true }), raw({ kind: 'Ingress', metadata: { namespace: 'default', name: 'empty' } })],
    accepted: ['default/empty'],
    hosts: {},
  },
  {
    name: 'spec: null is empty',
    objects: [cls('portico', { isDefault: true }), raw({ kind: 'Ingress', metadata: { namespace: 'default', name: 'empty' }, spec: null })],
    accepted: ['default/empty'],
    hosts: {},
  },
  {
    name: 'spec.rules that is not a list → InvalidObject, the rest of the Ingress still counts',
    objects: [
      CLS,
      ...WEB,
      raw({
        kind: 'Ingress',
        metadata: { namespace: 'default', name: 'x' },
        spec: { ingressClassName: 'portico', rules: 'all', defaultBackend: backend('web') },
      }),
    ],
    diagnostics: ['InvalidObject Ingress default/x'],
    defaultBackend: 'default/web:80',
  },
  {
    name: 'spec.tls that is not a list → InvalidObject',
    objects: [
      CLS,
      ...WEB,
      raw({
        kind: 'Ingress',
        metadata: { namespace: 'default', name: 'web' },
        spec: { ingressClassName: 'portico', tls: {}, rules: [rule('example.com', prefix('/', 'web'))] },
      }),
    ],
    diagnostics: ['InvalidObject Ingress default/web'],
    hosts: ONE_ROUTE,
  },
  {
    name: 'null rules, paths and backends are skipped with diagnostics',
    objects: [
      CLS,
      ...WEB,
      raw({
        kind: 'Ingress',
        metadata: { namespace: 'default', name: 'x' },
        spec: { ingressClassName: 'portico', rules: [null, { host: 'a.com', http: { paths: [null] } }, { host: 'b.com', http: null }] },
      }),
    ],
    diagnostics: ['InvalidBackend Ingress default/x', 'InvalidPathType Ingress default/x'],
    hosts: { '': { routes: [] }, 'a.com': { routes: [] }, 'b.com': { routes: [] } },
  },
  {
    name: 'a host that is not a string → InvalidHost',
    objects: [
      CLS,
      ...WEB,
      good,
      raw({
        kind: 'Ingress',
        metadata: { namespace: 'default', name: 'x' },
        spec: { ingressClassName: 'portico', rules: [{ host: 42, http: { paths: [prefix('/', 'web')] } }] },
      }),
    ],
    diagnostics: ['InvalidHost Ingress default/x'],
    hosts: GOOD,
    messages: [/host 42 is not a valid host/],
  },
  {
    name: 'one bad Ingress does not remove another’s routes',
    objects: [
      CLS,
      ...WEB,
      good,
      ingress('bad', {
        rules: [
          rule('Bad Host', prefix('/', 'web')),
          rule('bad.com', prefix('nope', 'web'), { path: '/x', pathType: 'Nope', backend: { resource: { kind: 'X', name: 'y' } } }),
        ],
      }),
    ],
    diagnostics: [
      'InvalidBackend Ingress default/bad',
      'InvalidHost Ingress default/bad',
      'InvalidPath Ingress default/bad',
      'InvalidPathType Ingress default/bad',
    ],
    hosts: { ...GOOD, 'bad.com': { routes: [] } },
  },
  {
    name: 'annotations that are not strings are not trusted',
    objects: [
      CLS,
      ...WEB,
      raw({ ...good, metadata: { namespace: 'default', name: 'good', annotations: { 'portico.dev/ssl-redirect': false } } }),
    ],
    diagnostics: ['InvalidAnnotation Ingress default/good'],
    hosts: GOOD,
    messages: [/has value false/],
  },
  {
    name: 'a Secret with data that is not an object is SecretInvalid, not a crash',
    objects: [
      CLS,
      ...WEB,
      {
        kind: 'Secret',
        metadata: { namespace: 'default', name: 's' },
        type: 'kubernetes.io/tls',
        data: 'x' as unknown as Record<string, string>,
      },
      ingress('good', { tls: [{ secretName: 's', hosts: ['good.com'] }], rules: [rule('good.com', prefix('/', 'web'))] }),
    ],
    diagnostics: ['SecretInvalid Ingress default/good'],
    hosts: { 'good.com': { tls: null, routes: ['Prefix "" -> default/web:80 [default/good] redirect'] } },
  },
  {
    name: 'a numeric tls secretName → SecretInvalid, TLS with the default certificate',
    objects: [
      CLS,
      ...WEB,
      ingress('good', { tls: [{ secretName: 5 as unknown as string }], rules: [rule('good.com', prefix('/', 'web'))] }),
    ],
    diagnostics: ['SecretInvalid Ingress default/good'],
    hosts: { 'good.com': { tls: null, routes: ['Prefix "" -> default/web:80 [default/good] redirect'] } },
  },
  {
    name: 'Services and EndpointSlices without names are skipped',
    objects: [
      CLS,
      ...WEB,
      { kind: 'Service', metadata: {}, spec: {} },
      { kind: 'EndpointSlice', metadata: { labels: { 'kubernetes.io/service-name': 'web' } } },
      good,
    ],
    hosts: GOOD,
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'two objects with the same namespace/name: the result is still independent of order',
    objects: [
      CLS,
      ...WEB,
      ...app('api'),
      ingress('dup', { rules: [rule('a.com', prefix('/', 'web'))] }),
      ingress('dup', { rules: [rule('a.com', prefix('/', 'api'))] }),
    ],
    accepted: ['default/dup'],
    diagnostics: ['RouteConflict Ingress default/dup'],
  },
]);

describe('compile() entry point', () => {
  it('accepts a ClusterObjects with missing lists (read as empty)', () => {
    const r = compile({
      ingresses: [
        ingress('a', { className: null, annotations: { 'kubernetes.io/ingress.class': 'portico' }, defaultBackend: backend('x') }),
      ],
    } as unknown as ClusterObjects);
    expect(validate(r.table)).toEqual([]);
    expect(r.table.defaultBackend).toBe('default/x:80');
    expect(diagSummary(r)).toEqual(['ServiceNotFound Ingress default/a']);
  });

  it('null and non-object entries in every input list are ignored', () => {
    const junk = [null, 'x', 7, [], true] as unknown as never[];
    const objs = objects(CLS, ...WEB, ingress('good', { rules: [rule('good.com', prefix('/', 'web'))] }));
    const r = run({
      ingresses: [...junk, ...objs.ingresses],
      ingressClasses: [...junk, ...objs.ingressClasses],
      services: [...junk, ...objs.services],
      endpointSlices: [...junk, ...objs.endpointSlices],
      secrets: [...junk],
    });
    expect(hostSummary(r.table)).toEqual({ 'good.com': { routes: ['Prefix "" -> default/web:80 [default/good]'] } });
    expect(r.accepted).toEqual([{ namespace: 'default', name: 'good' }]);
    expect(r.diagnostics).toEqual([]);
  });

  it('a hostile object whose fields throw when read costs a diagnostic, never the table', () => {
    const trap = (path: string): Record<string, unknown> =>
      new Proxy(
        {},
        {
          get: (_t, k) => {
            throw new Error(`boom reading ${path}.${String(k)}`);
          },
          ownKeys: () => {
            throw new Error('boom listing keys');
          },
        },
      );
    const hostileSpec = {
      kind: 'Ingress',
      metadata: { namespace: 'default', name: 'hostile' },
      get spec(): unknown {
        throw new Error('boom reading spec');
      },
    };
    const hostileRules = {
      kind: 'Ingress',
      metadata: { namespace: 'default', name: 'hostile-rules' },
      spec: { ingressClassName: 'portico', rules: [trap('rule')] },
    };
    const hostileMeta = {
      kind: 'Ingress',
      get metadata(): unknown {
        throw new Error('boom reading metadata');
      },
    };
    const objs = objects(CLS, ...WEB, ingress('good', { rules: [rule('good.com', prefix('/', 'web'))] }));
    const r = compile({
      ...objs,
      ingresses: [hostileSpec, hostileRules, hostileMeta, trap('ingress'), ...objs.ingresses] as unknown as Ingress[],
      services: [trap('service'), ...objs.services] as unknown as ClusterObjects['services'],
      endpointSlices: [trap('slice'), ...objs.endpointSlices] as unknown as ClusterObjects['endpointSlices'],
      secrets: [trap('secret')] as unknown as ClusterObjects['secrets'],
      ingressClasses: [trap('class'), ...objs.ingressClasses] as unknown as ClusterObjects['ingressClasses'],
    });
    expect(validate(r.table)).toEqual([]);
    expect(hostSummary(r.table)).toEqual({ 'good.com': { routes: ['Prefix "" -> default/web:80 [default/good]'] } });
    expect(r.table.backends.map((b) => b.endpoints.length)).toEqual([1]);
    // hostileMeta has no readable metadata and no class: not ours, so silently ignored like any other.
    expect(diagSummary(r)).toEqual([
      'InvalidObject Ingress /',
      'InvalidObject Ingress default/hostile',
      'InvalidObject Ingress default/hostile-rules',
    ]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      expect.stringMatching(/could not be read \(boom reading ingress\.spec\)/),
      expect.stringMatching(/could not be read \(boom reading spec\)/),
      expect.stringMatching(/could not be compiled \(boom reading rule\.host\)/),
    ]);
    expect(r.accepted.map((a) => a.name)).toEqual(['good', 'hostile-rules']);
  });

  it('an empty cluster gives an empty, valid table', () => {
    const r = run(objects());
    expect(r.table).toMatchObject({ schema: 1, hosts: [], backends: [], certificates: [], defaultBackend: null });
    expect(r.diagnostics).toEqual([]);
    expect(r.accepted).toEqual([]);
    expect(r.certificates).toEqual([]);
  });

  it('the options default to the portico controller and annotation class', () => {
    const objs = objects(CLS, ...WEB, web('example.com'), legacy('portico'));
    expect(serializeTable(compile(objs).table)).toBe(
      serializeTable(compile(objs, { controller: 'portico.dev/ingress-controller', annotationClass: 'portico' }).table),
    );
    expect(compile(objs, { controller: 'someone.else/controller' }).accepted.map((a) => a.name)).toEqual(['web']);
  });

  it('does not mutate its input', () => {
    const objs = objects(CLS, ...WEB, web('Example.com'), ingress('b', { rules: [rule('a.com', prefix('/x/', 'web'))] }));
    const before = structuredClone(objs);
    compile(objs);
    expect(objs).toEqual(before);
  });

  it('every diagnostic is well-formed: code, severity, object and a non-empty message', () => {
    const r = run(
      objects(
        CLS,
        ingress('x', {
          annotations: { 'portico.dev/nope': '1', 'nginx.ingress.kubernetes.io/server-snippet': 'x' },
          tls: [{ secretName: 'gone', hosts: ['a.com', 'b.com'] }],
          defaultBackend: backend('gone'),
          rules: [rule('a.com', prefix('/', 'gone'), prefix('/', 'gone')), rule('BAD HOST')],
        }),
      ),
    );
    expect(r.diagnostics.length).toBeGreaterThan(5);
    for (const d of r.diagnostics) {
      expect(['Warning', 'Info']).toContain(d.severity);
      expect(Object.keys(d.object).sort()).toEqual(['kind', 'name', 'namespace']);
      expect(d.message.length).toBeGreaterThan(10);
    }
  });

  it('diagnostics are sorted by object kind/namespace/name, then code, then message', () => {
    const r = run(
      objects(
        CLS,
        svc('web', { namespace: 'z' }),
        ingress('b', {
          namespace: 'z',
          annotations: { 'portico.dev/b': '1', 'portico.dev/a': '1' },
          rules: [rule('b.com', prefix('/', 'web'))],
        }),
        ingress('a', { namespace: 'z', rules: [rule('a.com', prefix('/', 'gone'))] }),
        ingress('c', { namespace: 'a', rules: [rule('Bad Host')] }),
      ),
    );
    expect(diagSummary(r)).toEqual([
      'InvalidHost Ingress a/c',
      'ServiceNotFound Ingress z/a',
      'UnknownAnnotation Ingress z/b',
      'UnknownAnnotation Ingress z/b',
      'NoReadyEndpoints Service z/web (Info)',
    ]);
    expect(r.diagnostics.filter((d) => d.code === 'UnknownAnnotation').map((d) => d.message)).toEqual([
      expect.stringContaining('portico.dev/a'),
      expect.stringContaining('portico.dev/b'),
    ]);
  });
});

describe('determinism', () => {
  const everything = (): ClusterObjects =>
    objects(
      CLS,
      cls('portico-b', { isDefault: true }),
      ...app('web', ['10.0.0.3', '10.0.0.1', '10.0.0.2']),
      slice('web', ['10.0.0.4', '10.0.0.1'], { name: 'web-2' }),
      ...app('api', ['10.0.1.1'], 'team'),
      ingress('a', {
        created: 2,
        defaultBackend: backend('web'),
        rules: [rule('x.com', prefix('/', 'web'), exact('/e', 'web')), rule('*.x.com', prefix('/w', 'web'))],
      }),
      ingress('b', {
        created: 2,
        defaultBackend: backend('web', 'http'),
        rules: [rule('x.com', prefix('/', 'web', 'http'), prefix('/b', 'web'))],
      }),
      ingress('c', {
        namespace: 'team',
        created: 1,
        className: null,
        rules: [rule('x.com', prefix('/api', 'api')), rule(undefined, prefix('/', 'api'))],
      }),
      ingress('d', { created: null, tls: [{ secretName: 'gone' }], rules: [rule('y.com', prefix('/', 'missing'))] }),
      ingress('e', {
        created: 3,
        annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/' },
        rules: [rule('x.com', prefix('/api', 'web'))],
      }),
    );

  it('shuffled input order gives byte-identical tables and identical diagnostics (50 permutations)', () => {
    const base = compile(everything());
    expect(validate(base.table)).toEqual([]);
    expect(base.diagnostics.length).toBeGreaterThan(3);
    const bytes = serializeTable(base.table);
    for (let seed = 1; seed <= 50; seed++) {
      const r = compile(permute(everything(), seed));
      expect(serializeTable(r.table)).toBe(bytes);
      expect(r.diagnostics).toEqual(base.diagnostics);
      expect(r.accepted).toEqual(base.accepted);
    }
  });

  it('reversing every list changes nothing', () => {
    const objs = everything();
    const rev: ClusterObjects = {
      ingresses: [...objs.ingresses].reverse(),
      ingressClasses: [...objs.ingressClasses].reverse(),
      services: [...objs.services].reverse(),
      endpointSlices: [...objs.endpointSlices].reverse(),
      secrets: [...objs.secrets].reverse(),
    };
    expect(serializeTable(compile(rev).table)).toBe(serializeTable(compile(objs).table));
  });

  it('compiling twice gives the same version', () => {
    expect(compile(everything()).table.version).toBe(compile(everything()).table.version);
  });

  it('a change in any routed fact changes the version', () => {
    const v = compile(everything()).table.version;
    const moved = everything();
    moved.endpointSlices.push(slice('web', ['10.0.0.99'], { name: 'web-3' }));
    expect(compile(moved).table.version).not.toBe(v);
  });

  it('the table summary of the mixed case is what the rules say', () => {
    const r = run(everything());
    expect(hostSummary(r.table)).toEqual({
      '': { routes: ['Prefix "" -> team/api:80 [team/c]'] },
      '*.x.com': { fallback: 'default/web:80', routes: ['Prefix "/w" -> default/web:80 [default/a]'] },
      'x.com': {
        fallback: 'default/web:80',
        routes: [
          'Prefix "/api" -> team/api:80 [team/c]',
          'Exact "/e" -> default/web:80 [default/a]',
          'Prefix "/b" -> default/web:80 [default/b]',
          'Prefix "" -> default/web:80 [default/a]',
        ],
      },
      'y.com': { tls: null, routes: ['Prefix "" -> default/missing:80 [default/d] redirect'] },
    });
    expect(r.table.defaultBackend).toBe('default/web:80');
  });
});
