// Which route a request takes on a host with Regex routes, and which path its upstream sees, decided in process
// from tables built by the real compiler (no sockets). Rows follow test/e2e/annotations/rewrite.go and the
// "Rewrite" page of ingress-nginx's docs; the table-level rows check what validate() refuses.
import { describe, expect, it } from 'vitest';
import { decide, type RequestFacts } from '../../gateway/decide.ts';
import { sealTable } from '../../gateway/table/canonical.ts';
import { compileMatcher } from '../../gateway/table/match.ts';
import type { Route, RoutingTable } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service, type PathSpec } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const HOST = 'rewrite.bar.com';
const IS = 'ImplementationSpecific' as const;

interface Ing {
  name: string;
  annotations?: Record<string, string>;
  paths: PathSpec[];
  created?: string;
}

function build(...ings: Ing[]): RoutingTable {
  return compile(
    objects(
      ourClass(),
      service('a', [{ address: '10.0.0.1', port: 8080 }]),
      service('b', [{ address: '10.0.0.2', port: 8080 }]),
      ...ings.map((i) =>
        ingress(i.name, { host: HOST, paths: i.paths, annotations: i.annotations ?? {}, ...(i.created ? { created: i.created } : {}) }),
      ),
    ),
  ).table;
}

const facts = (path: string, search = ''): RequestFacts => ({
  host: HOST,
  path,
  search,
  scheme: 'http',
  clientIp: '192.0.2.1',
  localPort: 80,
});

/** `service target` the request is forwarded as, or `status N`. */
function outcome(t: RoutingTable, path: string, search = ''): string {
  const d = decide({ current: { matcher: compileMatcher(t) } as never }, facts(path, search), null);
  return d.kind === 'forward'
    ? `${d.backend.service.name} ${d.target}`
    : d.kind === 'status'
      ? `status ${d.status}`
      : `redirect ${d.location}`;
}

interface Row {
  name: string;
  ingresses: Ing[];
  /** request path (with query) → outcome */
  expect: Record<string, string>;
}

const rows: Row[] = [
  {
    name: 'rewrite.go "should write rewrite logs": rewrite-target "/" sends "/" upstream for "/something"',
    ingresses: [{ name: 'r', annotations: { [`${N}rewrite-target`]: '/' }, paths: [{ path: '/something', service: 'a' }] }],
    expect: { '/something': 'a /', '/SomeThing': 'a /', '/something/else?x=1': 'a /?x=1', '/other': 'status 404' },
  },
  {
    name: 'rewrite.go "should use correct longest path match": the acme path keeps its path, "/" is rewritten',
    ingresses: [
      { name: 'kube-lego', created: '2026-01-01T00:00:00Z', paths: [{ path: '/.well-known/acme/challenge', service: 'a' }] },
      {
        name: 'rewrite-index',
        created: '2026-01-01T00:01:00Z',
        annotations: { [`${N}rewrite-target`]: '/new/backend' },
        paths: [{ path: '/', service: 'b' }],
      },
    ],
    expect: { '/.well-known/acme/challenge': 'a /.well-known/acme/challenge', '/anything': 'b /new/backend' },
  },
  {
    name: 'rewrite.go "should use ~* location modifier if regex annotation is present": "/foo" keeps its path, "/foo/bar" matches "^/foo.+"',
    ingresses: [
      { name: 'foo', created: '2026-01-01T00:00:00Z', paths: [{ path: '/foo', service: 'a' }] },
      {
        name: 'regex',
        created: '2026-01-01T00:01:00Z',
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend' },
        paths: [{ path: '/foo.+', pathType: IS, service: 'b' }],
      },
    ],
    expect: { '/foo': 'a /foo', '/foo/bar': 'b /new/backend', '/FOO/bar': 'b /new/backend' },
  },
  {
    name: 'rewrite.go "should fail to use longest match for documented warning": "/foo/bar/bar" goes to the longer regex',
    ingresses: [
      { name: 'foo', created: '2026-01-01T00:00:00Z', paths: [{ path: '/foo/bar/bar', service: 'a' }] },
      {
        name: 'regex',
        created: '2026-01-01T00:01:00Z',
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend' },
        paths: [{ path: '/foo/bar/[a-z]{3}', pathType: IS, service: 'b' }],
      },
    ],
    expect: { '/foo/bar/bar': 'b /new/backend', '/foo/bar/BAR': 'b /new/backend', '/foo/bar/ba1': 'status 404' },
  },
  {
    name: 'rewrite.go "should allow for custom rewrite parameters": "/foo/bar/(.+)" with "/new/backend/$1"',
    ingresses: [
      {
        name: 'regex',
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend/$1' },
        paths: [{ path: '/foo/bar/(.+)', pathType: IS, service: 'a' }],
      },
    ],
    expect: { '/foo/bar/bar': 'a /new/backend/bar', '/foo/bar/x/y?q=1': 'a /new/backend/x/y?q=1', '/foo/bar/': 'status 404' },
  },
  {
    name: 'docs "Rewrite": "/something(/|$)(.*)" with "/$2"',
    ingresses: [
      {
        name: 'r',
        annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/$2' },
        paths: [{ path: '/something(/|$)(.*)', pathType: IS, service: 'a' }],
      },
    ],
    expect: { '/something': 'a /', '/something/': 'a /', '/something/new': 'a /new', '/somethingelse': 'status 404' },
  },
  {
    name: 'a capture the pattern does not have is empty ("$3" of two groups), and unreserved escapes are decoded first',
    ingresses: [
      {
        name: 'r',
        annotations: { [`${N}rewrite-target`]: '/x$3/$1' },
        paths: [{ path: '/(a+)(b*)', pathType: IS, service: 'a' }],
      },
    ],
    expect: { '/aab': 'a /x/aa', '/%61b': 'a /x/a' },
  },
  {
    name: 'a top-level "|" anchors only its first branch, as nginx reads "^/zzzz|/b" (tried one by one, order kept)',
    ingresses: [
      {
        name: 'r',
        annotations: { [`${N}use-regex`]: 'true' },
        paths: [
          { path: '/zzzz|/b', pathType: IS, service: 'a' },
          { path: '/x', pathType: IS, service: 'b' },
        ],
      },
    ],
    expect: { '/x/b': 'a /x/b', '/x': 'b /x', '/zzzz': 'a /zzzz', '/q': 'status 404' },
  },
];

describe('regex paths: which route, which upstream path', () => {
  for (const r of rows) {
    it(r.name, () => {
      const t = build(...r.ingresses);
      expect(validate(t)).toEqual([]);
      const got = Object.fromEntries(
        Object.keys(r.expect).map((req) => {
          const [path, query] = req.split('?');
          return [req, outcome(t, path!, query === undefined ? '' : `?${query}`)];
        }),
      );
      expect(got).toEqual(r.expect);
    });
  }
});

describe('validate() on Regex routes and rewrites', () => {
  const route = (path: string, pathType: Route['pathType'], rewrite?: unknown): Route =>
    ({
      path,
      pathType,
      backend: 'default/a:80',
      source: { namespace: 'default', name: 'x' },
      policies: { sslRedirect: false, ...(rewrite === undefined ? {} : { rewrite }) },
    }) as Route;
  const table = (...routes: Route[]): RoutingTable =>
    sealTable({
      hosts: [{ host: 'h.com', tls: null, routes, fallbackBackend: null }],
      defaultBackend: null,
      backends: [{ id: 'default/a:80', service: { namespace: 'default', name: 'a', port: 80 }, endpoints: [], notReady: 0 }],
      certificates: [],
    });
  const cases: [string, RoutingTable, RegExp | null][] = [
    ['a valid Regex route with a rewrite is schema 5', table(route('/a(.*)', 'Regex', { path: '/$1' })), null],
    ['a lookahead', table(route('/a(?=b)', 'Regex')), /regex path .* RE2/],
    ['Regex beside Prefix on one host', table(route('/aaaa', 'Regex'), route('/b', 'Prefix')), /only Regex routes/],
    ['a rewrite with an unknown field', table(route('/a', 'Regex', { path: '/', scheme: 'x' })), /rewrite.scheme: unknown field/],
    ['a rewrite with a query', table(route('/a', 'Regex', { path: '/?a=1' })), /contains "\?"/],
    ['a rewrite with an nginx variable', table(route('/a', 'Regex', { path: '/$uri' })), /capture groups/],
    ['a pattern over the length bound', table(route(`/${'a'.repeat(1100)}`, 'Regex')), /longer than 1024/],
  ];
  for (const [name, t, problem] of cases) {
    it(name, () => {
      const found = validate(t).map((p) => `${p.at}: ${p.message}`);
      if (problem === null) {
        expect(found).toEqual([]);
        expect(t.schema).toBe(5);
      } else expect(found).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    });
  }
});
