// Regex paths and rewrite-target end to end: the real Node gateway and a real echo backend on loopback, which
// reports the request line it received. Cases mirror ingress-nginx's test/e2e/annotations/rewrite.go (named in
// each case) and its docs' "Rewrite" example: which Ingress's backend answers, and which path it sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type AnyObject, ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const IS = 'ImplementationSpecific' as const;
let plain: Backend;
let rewritten: Backend;
let gw: TestGateway;

const at = (minute: number): string => `2026-01-01T00:0${minute}:00Z`;
const world = (): AnyObject[] => [
  ourClass(),
  ...service('plain', [{ address: plain.address, port: plain.port }]),
  ...service('rewritten', [{ address: rewritten.address, port: rewritten.port }]),
  // rewrite.go "should use correct longest path match"
  ingress('kube-lego', { host: 'longest.test', created: at(0), paths: [{ path: '/.well-known/acme/challenge', service: 'plain' }] }),
  ingress('rewrite-index', {
    host: 'longest.test',
    created: at(1),
    annotations: { [`${N}rewrite-target`]: '/new/backend' },
    paths: [{ path: '/', service: 'rewritten' }],
  }),
  // rewrite.go "should fail to use longest match for documented warning"
  ingress('foo', { host: 'warning.test', created: at(0), paths: [{ path: '/foo/bar/bar', service: 'plain' }] }),
  ingress('regex', {
    host: 'warning.test',
    created: at(1),
    annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend' },
    paths: [{ path: '/foo/bar/[a-z]{3}', pathType: IS, service: 'rewritten' }],
  }),
  // rewrite.go "should allow for custom rewrite parameters"
  ingress('custom', {
    host: 'custom.test',
    annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/new/backend/$1', [`${N}enable-rewrite-log`]: 'true' },
    paths: [{ path: '/foo/bar/(.+)', pathType: IS, service: 'rewritten' }],
  }),
  // docs "Rewrite": path /something(/|$)(.*) with rewrite-target /$2
  ingress('docs', {
    host: 'docs.test',
    annotations: { [`${N}use-regex`]: 'true', [`${N}rewrite-target`]: '/$2' },
    paths: [{ path: '/something(/|$)(.*)', pathType: IS, service: 'rewritten' }],
  }),
];

beforeAll(async () => {
  plain = await startBackend('plain', '127.0.0.131');
  rewritten = await startBackend('rewritten', '127.0.0.132');
  gw = await startTestGateway(objects());
  const r = gw.apply(objects(...world()));
  expect(r.diagnostics.map((d) => `${d.code} ${d.object.name}`)).toEqual(['RegexHost foo', 'RegexHost kube-lego']);
  expect(r.table.schema).toBe(5);
});

afterAll(async () => {
  await gw?.close();
  await plain?.close();
  await rewritten?.close();
});

/** `backend url` as the echo backend reports it. */
async function seen(host: string, path: string): Promise<string> {
  const r = await request(`${gw.httpUrl}${path}`, { host, method: 'GET', headers: {} });
  if (r.status !== 200) return `status ${r.status}`;
  const body = JSON.parse(r.body) as { backend: string; url: string };
  return `${body.backend} ${body.url}`;
}

const cases: [name: string, host: string, path: string, expected: string][] = [
  [
    'rewrite.go "should use correct longest path match": the acme path is not rewritten',
    'longest.test',
    '/.well-known/acme/challenge',
    'plain /.well-known/acme/challenge',
  ],
  [
    'rewrite.go "should use correct longest path match": everything else goes to "/new/backend"',
    'longest.test',
    '/x/y?q=1',
    'rewritten /new/backend?q=1',
  ],
  [
    'rewrite.go "should fail to use longest match for documented warning": "/foo/bar/bar" takes the regex',
    'warning.test',
    '/foo/bar/bar',
    'rewritten /new/backend',
  ],
  [
    'rewrite.go "should allow for custom rewrite parameters": "/foo/bar/bar" → "/new/backend/bar"',
    'custom.test',
    '/foo/bar/bar',
    'rewritten /new/backend/bar',
  ],
  [
    "the location is case-insensitive (~*), the captures keep the request's case",
    'custom.test',
    '/FOO/Bar/Baz',
    'rewritten /new/backend/Baz',
  ],
  ['docs "Rewrite": "/something" → "/"', 'docs.test', '/something', 'rewritten /'],
  ['docs "Rewrite": "/something/new" → "/new", query kept', 'docs.test', '/something/new?a=b', 'rewritten /new?a=b'],
  ['docs "Rewrite": "/somethingelse" matches no location: 404', 'docs.test', '/somethingelse', 'status 404'],
];

describe('rewrite.go on a real backend', () => {
  for (const [name, host, path, expected] of cases) it(name, async () => expect(await seen(host, path)).toBe(expected));
});
