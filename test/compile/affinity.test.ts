// affinity, affinity-mode, session-cookie-* → the route's `affinity`; upstream-hash-by(-subset, -subset-size) → its
// `balance`; load-balance accepted (ewma with a warning: round robin is used). Cases are named after ingress-nginx's
// test/e2e/annotations/affinity.go, affinitymode.go and upstreamhashby.go, and its parsers
// (annotations/sessionaffinity, upstreamhashby). A malformed value is a Warning; the route keeps working.
import { describe, expect, it } from 'vitest';
import type { RoutePolicies } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const objects = (annotations: Record<string, string>, path = '/') => [
  cls(),
  ...app('web'),
  ingress('web', { annotations, rules: [rule('foo.com', prefix(path, 'web'))] }),
];
const policiesOf = (r: CompileResult): RoutePolicies => r.table.hosts[0]!.routes[0]!.policies;

/** The route carries exactly `expected` (besides sslRedirect) in a valid table of `schema`. */
const policies = (
  name: string,
  annotations: Record<string, string>,
  expected: Omit<RoutePolicies, 'sslRedirect'>,
  extra: Partial<Case> & { path?: string } = {},
  schema = 5,
): Case => ({
  name,
  objects: objects(annotations, extra.path),
  check: (r) => {
    const { sslRedirect: _s, ...rest } = policiesOf(r);
    expect(rest).toEqual(expected);
    expect(r.table.schema).toBe(schema);
    expect(validate(r.table)).toEqual([]);
  },
  ...extra,
});

const WARN = 'InvalidAnnotation Ingress default/web';
const UNSUPPORTED = 'UnsupportedAnnotation Ingress default/web';

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('session affinity (affinity.go)', [
  policies(
    'should set sticky cookie SERVERID: balanced mode, the cookie named, Path the location path',
    { [`${N}affinity`]: 'cookie', [`${N}session-cookie-name`]: 'SERVERID' },
    { affinity: { mode: 'balanced', name: 'SERVERID', path: '/' } },
  ),
  policies(
    'no session-cookie-name: INGRESSCOOKIE',
    { [`${N}affinity`]: 'cookie' },
    { affinity: { mode: 'balanced', name: 'INGRESSCOOKIE', path: '/' } },
  ),
  policies(
    'should set the path to /something on the generated cookie',
    { [`${N}affinity`]: 'cookie', [`${N}session-cookie-name`]: 'SERVERID' },
    { affinity: { mode: 'balanced', name: 'SERVERID', path: '/something' } },
    { path: '/something' },
  ),
  policies(
    'should set cookie with expires: expires 172800, max-age 259200',
    { [`${N}affinity`]: 'cookie', [`${N}session-cookie-expires`]: '172800', [`${N}session-cookie-max-age`]: '259200' },
    { affinity: { mode: 'balanced', name: 'INGRESSCOOKIE', path: '/', expiresSeconds: 172_800, maxAgeSeconds: 259_200 } },
  ),
  policies(
    'every attribute: persistent, path, domain, secure false, SameSite None conditional, change-on-failure',
    {
      [`${N}affinity`]: 'cookie',
      [`${N}affinity-mode`]: 'persistent',
      [`${N}session-cookie-path`]: '/app',
      [`${N}session-cookie-domain`]: '.foo.com',
      [`${N}session-cookie-secure`]: 'false',
      [`${N}session-cookie-samesite`]: 'None',
      [`${N}session-cookie-conditional-samesite-none`]: 'true',
      [`${N}session-cookie-change-on-failure`]: 'true',
    },
    {
      affinity: {
        mode: 'persistent',
        name: 'INGRESSCOOKIE',
        path: '/app',
        domain: '.foo.com',
        sameSite: 'None',
        conditionalSameSiteNone: true,
        changeOnFailure: true,
      },
    },
  ),
  policies(
    'should work with use-regex annotation and session-cookie-path',
    { [`${N}affinity`]: 'cookie', [`${N}use-regex`]: 'true', [`${N}session-cookie-path`]: '/foo/bar' },
    { affinity: { mode: 'balanced', name: 'INGRESSCOOKIE', path: '/foo/bar' } },
    { path: '/foo/.*' },
  ),
  policies(
    'should warn user when use-regex is true and session-cookie-path is not set',
    { [`${N}affinity`]: 'cookie', [`${N}use-regex`]: 'true' },
    { affinity: { mode: 'balanced', name: 'INGRESSCOOKIE', path: '/foo/.*' } },
    { path: '/foo/.*', diagnostics: [WARN], messages: [/session-cookie-path should be set when use-regex is true/] },
  ),
  policies(
    'malformed values are warnings and the defaults apply: mode, name with a space, samesite, expires "1d"',
    {
      [`${N}affinity`]: 'cookie',
      [`${N}affinity-mode`]: 'sticky',
      [`${N}session-cookie-name`]: 'my cookie',
      [`${N}session-cookie-samesite`]: 'Sometimes',
      [`${N}session-cookie-expires`]: '1d',
      [`${N}session-cookie-path`]: '/a;b',
    },
    { affinity: { mode: 'balanced', name: 'INGRESSCOOKIE', path: '/' } },
    { diagnostics: [WARN, WARN, WARN, WARN, WARN] },
  ),
  policies(
    'affinity other than cookie: a warning and no affinity',
    { [`${N}affinity`]: 'ip', [`${N}session-cookie-name`]: 'X' },
    {},
    { diagnostics: [WARN] },
    1,
  ),
  policies('session-cookie-* without affinity: read, no effect', { [`${N}session-cookie-name`]: 'X' }, {}, {}, 1),
  policies(
    'Check persistent affinity mode (affinitymode.go), with the removed session-cookie-hash',
    {
      [`${N}affinity`]: 'cookie',
      [`${N}session-cookie-expires`]: '172800',
      [`${N}session-cookie-max-age`]: '172800',
      [`${N}affinity-mode`]: 'persistent',
      [`${N}session-cookie-hash`]: 'sha1',
    },
    { affinity: { mode: 'persistent', name: 'INGRESSCOOKIE', path: '/', expiresSeconds: 172_800, maxAgeSeconds: 172_800 } },
    { diagnostics: [UNSUPPORTED] },
  ),
]);

table('consistent hashing (upstreamhashby.go) and load-balance', [
  policies(
    'should connect to the same pod: upstream-hash-by $request_uri',
    { [`${N}upstream-hash-by`]: '$request_uri' },
    { balance: { hashBy: '$request_uri' } },
  ),
  policies(
    'should connect to the same subset of pods: subset true, size 3',
    { [`${N}upstream-hash-by`]: '$request_uri', [`${N}upstream-hash-by-subset`]: 'true', [`${N}upstream-hash-by-subset-size`]: '3' },
    { balance: { hashBy: '$request_uri', subsetSize: 3 } },
  ),
  policies(
    'subset without a size: 3',
    { [`${N}upstream-hash-by`]: '$remote_addr$http_x_user', [`${N}upstream-hash-by-subset`]: 'true' },
    { balance: { hashBy: '$remote_addr$http_x_user', subsetSize: 3 } },
  ),
  policies(
    'a variable Portico does not have: a warning, round robin',
    { [`${N}upstream-hash-by`]: '$binary_remote_addr' },
    {},
    { diagnostics: [WARN], messages: [/upstream-hash-by.*round robin applies/] },
    1,
  ),
  policies(
    'with affinity: cookie affinity wins, upstream-hash-by is ignored with a warning',
    { [`${N}affinity`]: 'cookie', [`${N}upstream-hash-by`]: '$request_uri' },
    { affinity: { mode: 'balanced', name: 'INGRESSCOOKIE', path: '/' } },
    { diagnostics: [WARN] },
  ),
  policies('load-balance round_robin: nothing to carry', { [`${N}load-balance`]: 'round_robin' }, {}, {}, 1),
  policies(
    'load-balance ewma: accepted, a warning that round robin is used',
    { [`${N}load-balance`]: 'ewma' },
    {},
    { diagnostics: [UNSUPPORTED], messages: [/"ewma".*round robin is used/] },
    1,
  ),
  policies('load-balance something else: a warning', { [`${N}load-balance`]: 'least_conn' }, {}, { diagnostics: [WARN] }, 1),
]);
