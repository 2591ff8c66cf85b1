// canary, canary-by-header(-value, -pattern), canary-by-cookie, canary-weight(-total) → a canary Ingress joins the
// main Ingress's host and path as `policies.canary` (schema 5) instead of losing it as a RouteConflict. Cases are
// named after test/e2e/annotations/canary.go of ingress-nginx, plus the rules of internal/ingress/annotations/canary
// and the controller's mergeAlternativeBackends.
import { describe, expect, it } from 'vitest';
import type { CanaryPolicy } from '../../gateway/table/schema.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, backend, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const BY_HEADER = { [`${N}canary`]: 'true', [`${N}canary-by-header`]: 'CanaryByHeader' };
const services = (): AnyObject[] => [cls(), ...app('http-svc'), ...app('http-svc-canary', ['10.0.0.2'])];
const main = (o: { created?: number; annotations?: Record<string, string>; host?: string } = {}): AnyObject =>
  ingress('foo', {
    created: o.created ?? 0,
    rules: [rule(o.host ?? 'foo', prefix('/', 'http-svc'))],
    ...(o.annotations ? { annotations: o.annotations } : {}),
  });
const canaryIngress = (annotations: Record<string, string>, o: { created?: number; name?: string; host?: string } = {}): AnyObject =>
  ingress(o.name ?? 'foo-canary', { created: o.created ?? 1, annotations, rules: [rule(o.host ?? 'foo', prefix('/', 'http-svc-canary'))] });
const canaryOf = (r: CompileResult): CanaryPolicy | undefined => r.table.hosts.find((h) => h.host === 'foo')?.routes[0]?.policies.canary;
const ROUTE = 'Prefix "" -> default/http-svc:80 [default/foo]';
const split = (expected: Omit<CanaryPolicy, 'backend'>) => (r: CompileResult) => {
  expect(canaryOf(r)).toEqual({ backend: 'default/http-svc-canary:80', ...expected });
  expect(r.table.schema).toBe(5);
};

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('canary: joining the main route (canary.go "when canary is created")', [
  {
    name: 'canary.go "should response with a 200 status from the mainline upstream when requests are made to the mainline ingress": the canary joins the route, no RouteConflict',
    objects: [...services(), main(), canaryIngress(BY_HEADER)],
    hosts: { foo: { routes: [ROUTE] } },
    check: split({ header: 'canarybyheader', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "should return 404 status for requests to the canary if no matching ingress is found": no host, a warning',
    objects: [...services(), canaryIngress(BY_HEADER)],
    hosts: {},
    diagnostics: ['CanaryWithoutMain Ingress default/foo-canary'],
    messages: [/no other Ingress routes this host and path/],
    check: (r) => expect(r.table.schema).toBe(1),
  },
  {
    name: 'canary.go "should route requests to the correct upstream if mainline ingress is created after the canary ingress": age does not matter',
    objects: [...services(), canaryIngress(BY_HEADER, { created: 0 }), main({ created: 5 })],
    hosts: { foo: { routes: [ROUTE] } },
    check: split({ header: 'canarybyheader', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "should route requests to the correct upstream if the mainline ingress is modified": other annotations on the main keep the split',
    objects: [...services(), main({ annotations: { foo: 'bar' } }), canaryIngress(BY_HEADER)],
    hosts: { foo: { routes: [ROUTE] } },
    check: split({ header: 'canarybyheader', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "should route requests to the correct upstream if the canary ingress is modified": the new header name is used',
    objects: [...services(), main(), canaryIngress({ [`${N}canary`]: 'true', [`${N}canary-by-header`]: 'CanaryByHeader2' })],
    check: split({ header: 'canarybyheader2', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'only one canary per route: the oldest canary Ingress splits it, a younger one gets CanaryConflict',
    objects: [
      ...services(),
      ...app('third', ['10.0.0.3']),
      main(),
      canaryIngress(BY_HEADER),
      ingress('foo-canary-2', {
        created: 2,
        annotations: { [`${N}canary`]: 'true', [`${N}canary-weight`]: '50' },
        rules: [rule('foo', prefix('/', 'third'))],
      }),
    ],
    diagnostics: ['CanaryConflict Ingress default/foo-canary-2'],
    messages: [/default\/foo-canary is already the canary of this route .* takes precedence because/],
    check: split({ header: 'canarybyheader', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'a canary with the main backend itself splits nothing: CanaryConflict (ingress-nginx: "is primary upstream")',
    objects: [
      ...services(),
      main(),
      ingress('foo-canary', { created: 1, annotations: BY_HEADER, rules: [rule('foo', prefix('/', 'http-svc'))] }),
    ],
    diagnostics: ['CanaryConflict Ingress default/foo-canary'],
    check: (r) => expect(canaryOf(r)).toBeUndefined(),
  },
  {
    name: 'canary-* annotations without canary: "true" are ignored (ingress-nginx: "configured but not enabled"): a normal Ingress, RouteConflict',
    objects: [...services(), main(), canaryIngress({ [`${N}canary-by-header`]: 'CanaryByHeader' })],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary', 'RouteConflict Ingress default/foo-canary'],
    messages: [/set without "nginx.ingress.kubernetes.io\/canary": "true"/],
    check: (r) => expect(canaryOf(r)).toBeUndefined(),
  },
  {
    name: 'canary: "false" with canary-weight: ignored too, a normal Ingress',
    objects: [...services(), main(), canaryIngress({ [`${N}canary`]: 'false', [`${N}canary-weight`]: '50' })],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary', 'RouteConflict Ingress default/foo-canary'],
  },
  {
    name: "the canary's other annotations are ignored (access control included: the main Ingress's apply to both backends)",
    objects: [
      ...services(),
      main({ annotations: { [`${N}whitelist-source-range`]: '10.0.0.0/8' } }),
      canaryIngress({ ...BY_HEADER, [`${N}auth-url`]: 'http://auth.example/', [`${N}ssl-redirect`]: 'false' }),
    ],
    hosts: { foo: { routes: [`${ROUTE} allow=[10.0.0.0/8]`] } },
    diagnostics: ['CanaryAnnotationIgnored Ingress default/foo-canary (Info)'],
    messages: [/"nginx.ingress.kubernetes.io\/auth-url", "nginx.ingress.kubernetes.io\/ssl-redirect" are ignored on a canary Ingress/],
    check: split({ header: 'canarybyheader', weight: 0, weightTotal: 100 }),
  },
]);

table('canary: by header, cookie and weight', [
  {
    name: 'canary.go "when canaried by header with value": the exact value',
    objects: [...services(), main(), canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-value`]: 'DoCanary' })],
    check: split({ header: 'canarybyheader', headerValue: 'DoCanary', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "when canaried by header with value and pattern": the value wins, the pattern is ignored with a warning',
    objects: [
      ...services(),
      main(),
      canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-value`]: 'DoCanary', [`${N}canary-by-header-pattern`]: '^Do[A-Z][a-z]+y$' }),
    ],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary'],
    messages: [/canary-by-header-value is also set and wins/],
    check: split({ header: 'canarybyheader', headerValue: 'DoCanary', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "when canaried by header with pattern": a pattern of the linear-time subset is kept',
    objects: [...services(), main(), canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-pattern`]: '^Do[A-Z][a-z]+y$' })],
    check: split({ header: 'canarybyheader', headerPattern: '^Do[A-Z][a-z]+y$', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'a pattern outside the subset (look-ahead) is refused: the header rule is dropped, the cookie still applies',
    objects: [
      ...services(),
      main(),
      canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-pattern`]: '^(?=Do)', [`${N}canary-by-cookie`]: 'Canary-By-Cookie' }),
    ],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary'],
    messages: [/outside the regular-expression subset .* never picks the canary/],
    check: split({ cookie: 'canary-by-cookie', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "when canaried by header with value and cookie": both kept, cookie name lower-case',
    objects: [
      ...services(),
      main(),
      canaryIngress({ ...BY_HEADER, [`${N}canary-by-header-value`]: 'DoCanary', [`${N}canary-by-cookie`]: 'CanaryByCookie' }),
    ],
    check: split({ header: 'canarybyheader', headerValue: 'DoCanary', cookie: 'canarybycookie', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'canary.go "when canaried by weight" "should route requests only to canary if canary weight is 100"',
    objects: [...services(), main(), canaryIngress({ [`${N}canary`]: 'true', [`${N}canary-weight`]: '100' })],
    check: split({ weight: 100, weightTotal: 100 }),
  },
  {
    name: 'canary.go "should route requests split between mainline and canary if canary weight is 100 and weight total is 200"',
    objects: [
      ...services(),
      main(),
      canaryIngress({ [`${N}canary`]: 'true', [`${N}canary-weight`]: '100', [`${N}canary-weight-total`]: '200' }),
    ],
    check: split({ weight: 100, weightTotal: 200 }),
  },
  {
    name: 'canary-weight-total under 100: balance.lua uses 100, said in a warning; a weight above the total is the total',
    objects: [
      ...services(),
      main(),
      canaryIngress({ [`${N}canary`]: 'true', [`${N}canary-weight`]: '150', [`${N}canary-weight-total`]: '50' }),
    ],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary'],
    messages: [/uses 100 for a total under 100/],
    check: split({ weight: 100, weightTotal: 100 }),
  },
  {
    name: 'a malformed canary-weight: warning, weight 0 (the header still decides)',
    objects: [...services(), main(), canaryIngress({ ...BY_HEADER, [`${N}canary-weight`]: 'ten' })],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary'],
    messages: [/the default 0 applies/],
    check: split({ header: 'canarybyheader', weight: 0, weightTotal: 100 }),
  },
  {
    name: 'a malformed canary-by-header name: warning, no header rule',
    objects: [
      ...services(),
      main(),
      canaryIngress({ [`${N}canary`]: 'true', [`${N}canary-by-header`]: 'Bad Header', [`${N}canary-weight`]: '10' }),
    ],
    diagnostics: ['InvalidAnnotation Ingress default/foo-canary'],
    check: split({ weight: 10, weightTotal: 100 }),
  },
]);

table('canary: a canary is never a server of its own (canary.go "Single canary Ingress")', [
  {
    name: 'canary.go "should not use canary as a catch-all server": the main Ingress\'s default backend is the default',
    objects: [
      ...services(),
      ingress('foo-canary', { created: 0, annotations: BY_HEADER, defaultBackend: backend('http-svc-canary') }),
      ingress('foo', { created: 1, defaultBackend: backend('http-svc') }),
    ],
    defaultBackend: 'default/http-svc:80',
    diagnostics: ['CanaryWithoutMain Ingress default/foo-canary'],
    messages: [/of a canary Ingress is not used/],
  },
  {
    name: 'canary.go "should not use canary with domain as a server": only the main Ingress\'s host exists',
    objects: [...services(), canaryIngress(BY_HEADER), main({ host: 'bar' })],
    hosts: { bar: { routes: ['Prefix "" -> default/http-svc:80 [default/foo]'] } },
    diagnostics: ['CanaryWithoutMain Ingress default/foo-canary'],
  },
  {
    name: 'canary.go "does not crash when canary ingress has multiple paths to the same non-matching backend"',
    objects: [
      ...services(),
      ingress('foo-canary', {
        created: 0,
        annotations: BY_HEADER,
        rules: [rule('foo', prefix('/foo', 'httpy-svc-canary'), prefix('/bar', 'httpy-svc-canary'))],
      }),
      main({ created: 1 }),
    ],
    hosts: { foo: { routes: [ROUTE] } },
    diagnostics: [
      'CanaryWithoutMain Ingress default/foo-canary',
      'CanaryWithoutMain Ingress default/foo-canary',
      'ServiceNotFound Ingress default/foo-canary',
    ],
  },
]);
