// default-backend, custom-http-errors, service-upstream, preserve-trailing-slash → the route's errorBackend and
// interceptStatuses and service-upstream backends (schema 5). Cases are named after ingress-nginx's
// test/e2e/annotations/default_backend.go, customhttperrors.go, serviceupstream.go and preservetrailingslash.go.
// A malformed value is a Warning; the route keeps working.
import { describe, expect, it } from 'vitest';
import type { RoutePolicies } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { IncrementalCompiler } from '../../sync/compile/incremental.ts';
import { app, backend, cls, ingress, objects, prefix, rule, slice, svc } from '../support/builders.ts';
import { run } from './harness.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const web = (annotations: Record<string, string>, path = '/') =>
  ingress('web', { annotations, rules: [rule('foo.com', prefix(path, 'web'))] });
// The error backend has two ports: default-backend takes the first (ingress-nginx's svc.Spec.Ports[0]).
const errorsApp = [
  svc('errors', {
    ports: [
      { name: 'http', port: 8080, targetPort: 8080 },
      { name: 'metrics', port: 9090, targetPort: 9090 },
    ],
  }),
  slice('errors', ['10.0.0.9'], { ports: [{ name: 'http', port: 8080 }] }),
];
const policiesOf = (r: CompileResult): RoutePolicies => r.table.hosts[0]!.routes[0]!.policies;

const filters = (name: string, list: unknown[], expected: Omit<RoutePolicies, 'sslRedirect'>, extra: Partial<Case> = {}): Case => ({
  name,
  objects: [cls(), ...app('web'), ...errorsApp, ...(list as never[])],
  check: (r) => {
    const { sslRedirect: _s, ...rest } = policiesOf(r);
    expect(rest).toEqual(expected);
    expect(r.table.schema).toBe(Object.keys(expected).length === 0 ? 1 : 5);
    expect(validate(r.table)).toEqual([]);
  },
  ...extra,
});

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('default-backend (default_backend.go)', [
  filters(
    'should use a custom default backend as upstream: the first port of the named Service',
    [web({ [`${N}default-backend`]: 'errors' })],
    {
      errorBackend: 'default/errors:8080',
    },
    { backends: { 'default/errors:8080': ['10.0.0.9:8080'], 'default/web:80': ['10.0.0.1:8080'] } },
  ),
  filters(
    'a Service that does not exist: a Warning, no error backend, the route still served',
    [web({ [`${N}default-backend`]: 'missing' })],
    {},
    {
      diagnostics: ['ServiceNotFound Ingress default/web'],
      messages: [/default\/missing named by annotation "nginx.ingress.kubernetes.io\/default-backend" was not found/],
    },
  ),
  filters(
    'a value that is not a Service name: InvalidAnnotation, no error backend',
    [web({ [`${N}default-backend`]: 'Not/A-Name' })],
    {},
    {
      diagnostics: ['InvalidAnnotation Ingress default/web'],
    },
  ),
]);

table('custom-http-errors (customhttperrors.go)', [
  filters('configures Nginx correctly when enabled: 404,500 intercepted', [web({ [`${N}custom-http-errors`]: '404,500' })], {
    interceptStatuses: [404, 500],
  }),
  filters('ignoring duplicate values per server: "503, 404, 503" is [404, 503]', [web({ [`${N}custom-http-errors`]: '503, 404, 503' })], {
    interceptStatuses: [404, 503],
  }),
  filters(
    'using the custom default-backend from annotation for upstream',
    [web({ [`${N}custom-http-errors`]: '503', [`${N}default-backend`]: 'errors' })],
    { interceptStatuses: [503], errorBackend: 'default/errors:8080' },
  ),
  filters(
    'configures Nginx correctly when disabled: enable-custom-http-errors "false"',
    [web({ [`${N}custom-http-errors`]: '404, 503', [`${N}enable-custom-http-errors`]: 'false' })],
    {},
  ),
  filters(
    'a status outside 300-599: InvalidAnnotation, nothing intercepted',
    [web({ [`${N}custom-http-errors`]: '404,200' })],
    {},
    {
      diagnostics: ['InvalidAnnotation Ingress default/web'],
      messages: [/custom-http-errors" has value "404,200"; expected statuses from 300 to 599/],
    },
  ),
]);

table('service-upstream (serviceupstream.go)', [
  {
    name: 'should use the Service Cluster IP and Port: one endpoint, the ClusterIP and the Service port',
    objects: [
      cls(),
      svc('web', { clusterIP: '10.96.0.10' }),
      slice('web', ['10.0.0.1', '10.0.0.2']),
      web({ [`${N}service-upstream`]: 'true' }),
    ],
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80#cluster-ip [default/web]'] } },
    backends: { 'default/web:80#cluster-ip': ['10.96.0.10:80'] },
    check: (r) => {
      expect(r.table.backends[0]!.serviceUpstream).toBe(true);
      expect(r.table.schema).toBe(5);
      expect(validate(r.table)).toEqual([]);
    },
  },
  {
    name: 'should not use the Service Cluster IP and Port when disabled in the annotations',
    objects: [cls(), svc('web', { clusterIP: '10.96.0.10' }), slice('web', ['10.0.0.1']), web({ [`${N}service-upstream`]: 'false' })],
    backends: { 'default/web:80': ['10.0.0.1:8080'] },
  },
  {
    name: 'a headless Service (clusterIP None): its endpoints, with a Warning, as ingress-nginx falls back',
    objects: [cls(), svc('web', { clusterIP: 'None' }), slice('web', ['10.0.0.1']), web({ [`${N}service-upstream`]: 'true' })],
    backends: { 'default/web:80#cluster-ip': ['10.0.0.1:8080'] },
    diagnostics: ['InvalidAnnotation Ingress default/web'],
    messages: [/has no ClusterIP \("None"\), so service-upstream cannot use it/],
  },
  {
    name: 'the same Service port with and without service-upstream: two backends',
    objects: [
      cls(),
      svc('web', { clusterIP: '10.96.0.10' }),
      slice('web', ['10.0.0.1']),
      web({ [`${N}service-upstream`]: 'true' }, '/a'),
      ingress('pods', { rules: [rule('foo.com', prefix('/b', 'web'))], defaultBackend: backend('web') }),
    ],
    backends: { 'default/web:80': ['10.0.0.1:8080'], 'default/web:80#cluster-ip': ['10.96.0.10:80'] },
  },
]);

table('preserve-trailing-slash (preservetrailingslash.go)', [
  filters(
    'should allow preservation of trailing slashes: accepted, nothing to carry (Portico always keeps it)',
    [web({ [`${N}preserve-trailing-slash`]: 'true' })],
    {},
  ),
  filters(
    'a malformed value: InvalidAnnotation',
    [web({ [`${N}preserve-trailing-slash`]: 'yes' })],
    {},
    {
      diagnostics: ['InvalidAnnotation Ingress default/web'],
    },
  ),
]);

describe('service-upstream and endpoint churn', () => {
  it('an incremental compile after endpoint churn keeps the ClusterIP backend (same table as a full compile)', () => {
    const list = [cls(), svc('web', { clusterIP: '10.96.0.10' }), slice('web', ['10.0.0.1']), web({ [`${N}service-upstream`]: 'true' })];
    const inc = new IncrementalCompiler({}, 1);
    inc.compile(objects(...list));
    list[2] = slice('web', ['10.0.0.2']);
    const again = inc.compile(objects(...list));
    expect(inc.stats.partial).toBe(1);
    expect(again.table).toEqual(run(objects(...list)).table);
  });
});

describe('validate(): error pages and service-upstream fields', () => {
  const base = () =>
    run(objects(cls(), ...app('web'), ...errorsApp, web({ [`${N}custom-http-errors`]: '404,503', [`${N}default-backend`]: 'errors' })))
      .table;
  const cases: [string, (t: ReturnType<typeof base>) => void, RegExp][] = [
    [
      'an errorBackend the table does not have',
      (t) => void (t.hosts[0]!.routes[0]!.policies.errorBackend = 'default/nope:80'),
      /unknown backend/,
    ],
    ['unsorted interceptStatuses', (t) => void (t.hosts[0]!.routes[0]!.policies.interceptStatuses = [503, 404]), /sorted/],
    ['a status nginx error_page refuses (200)', (t) => void (t.hosts[0]!.routes[0]!.policies.interceptStatuses = [200]), /from 300 to 599/],
    ['serviceUpstream on an id without #cluster-ip', (t) => void (t.backends[0]!.serviceUpstream = true), /ends in #cluster-ip/],
  ];
  for (const [name, spoil, message] of cases)
    it(name, () => {
      const t = base();
      expect(validate(t, { checkHash: false })).toEqual([]);
      spoil(t);
      expect(validate(t, { checkHash: false }).map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });
});
