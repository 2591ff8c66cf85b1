// Fail closed: an access-control annotation Portico does not enforce makes what it guards answer 503 (a
// route, a host's fallback, the default backend) with a Warning, whatever its value, and never leaves it
// open. The annotation names are ingress-nginx's (docs/user-guide/nginx-configuration/annotations.md).
import { describe, expect, it } from 'vitest';
import { explain } from '../../gateway/inspect/views.ts';
import { guardOf } from '../../sync/compile/access-control.ts';
import { app, backend, cls, implSpecific, ingress, prefix, rule, tls } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const guarded = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', { annotations, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const closedRoute = (...names: string[]) => ({
  'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${names.join(', ')})`] },
});
const openRoute = { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] } };

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

/** Route-scoped guards Portico does not enforce yet, with a typical value and a malformed one each: both must
 * close the route. (Source ranges, auth-url and CORS are enforced: see source-ranges.test.ts, external-auth.test.ts
 * and cors.test.ts; auth-url's companions written without auth-url are guards with nothing to act on, so they still
 * close.) */
const ROUTE_GUARDS: [string, string, string][] = [
  ['auth-signin', 'https://auth.example.com/oauth2/start?rd=$escaped_request_uri', '::'],
  ['auth-method', 'GET', 'FETCH;'],
  ['auth-signin-redirect-param', 'rd', ''],
  ['auth-request-redirect', 'https://foo.com/', '\n'],
  ['auth-response-headers', 'X-Auth-Request-User, X-Auth-Request-Email', ',,'],
  ['auth-proxy-set-headers', 'auth/proxy-headers', 'no-such-configmap'],
  ['auth-always-set-cookie', 'true', 'yes'],
  ['auth-cache-key', '$remote_user$http_authorization', ''],
  ['auth-cache-duration', '200 202 401 5m', 'forever'],
  ['auth-keepalive', '10', '-1'],
  ['auth-snippet', 'proxy_set_header Foo-Header 42;', ''],
  // auth-type is read (basic-auth.test.ts); its companions written without it are guards with nothing to act on.
  ['auth-secret', 'basic-auth', 'missing-secret'],
  ['auth-secret-type', 'auth-map', 'auth-blob'],
  ['auth-realm', 'Authentication Required - foo', ''],
  // limit-rps, limit-rpm, limit-burst-multiplier, limit-connections, limit-allowlist and limit-whitelist are
  // enforced (limits.test.ts), and so is the global rate limit (global-rate-limit.test.ts); any other name of
  // those families still closes.
  ['limit-something-new', '100', 'many'],
  ['global-rate-limit-status-code', '429', 'x'],
  // custom-headers is enforced (custom-headers.test.ts): a missing ConfigMap still closes, with its own message.
];

table(
  'every access-control annotation fails closed, whatever its value',
  ROUTE_GUARDS.flatMap(([name, good, bad]) =>
    [good, bad].map(
      (v): Case => ({
        name: `${name}: ${JSON.stringify(v)} → 503 route + AccessControlNotEnforced`,
        objects: guarded({ [N + name]: v }),
        hosts: closedRoute(name),
        diagnostics: ['AccessControlNotEnforced Ingress default/web'],
        messages: [
          new RegExp(
            `annotation "nginx\\.ingress\\.kubernetes\\.io/${name}" guards access and .*, so the routes of this Ingress answer 503 \\(fail closed\\)`,
          ),
        ],
      }),
    ),
  ),
);

table('what is not an access-control annotation', [
  ...['false', 'False', '0'].map(
    (v): Case => ({
      name: `enable-cors: ${JSON.stringify(v)} asks for no CORS policy: open, nothing to report`,
      objects: guarded({ [`${N}enable-cors`]: v }),
      hosts: openRoute,
    }),
  ),
  ...['false', 'true'].map(
    (v): Case => ({
      name: `enable-global-auth: ${JSON.stringify(v)}: there is no global auth to opt out of`,
      objects: guarded({ [`${N}enable-global-auth`]: v }),
      hosts: openRoute,
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    }),
  ),
  ...['limit-rate', 'limit-rate-after'].map(
    (a): Case => ({
      name: `${a} shapes response bandwidth: unsupported, not a guard`,
      objects: guarded({ [N + a]: '100' }),
      hosts: openRoute,
      diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    }),
  ),
  {
    name: 'annotations of other tools that look like guards pass silently',
    objects: guarded({ 'example.com/auth-url': 'x', 'nginx.org/basic-auth-secret': 'x' }),
    hosts: openRoute,
  },
]);

table('what a guard closes', [
  {
    name: 'several guards on one Ingress: one diagnostic each, the route lists them sorted',
    objects: guarded({ [`${N}auth-snippet`]: 'x', [`${N}auth-type`]: 'digest', [`${N}custom-headers`]: 'default/custom-headers' }),
    hosts: closedRoute('auth-snippet', 'auth-type', 'custom-headers'),
    diagnostics: [
      'AccessControlNotEnforced Ingress default/web',
      'AccessControlNotEnforced Ingress default/web',
      'AccessControlNotEnforced Ingress default/web',
    ],
  },
  {
    name: 'a route guard closes only its own Ingress: another Ingress on the same host keeps serving',
    objects: [
      CLS,
      ...WEB,
      ingress('admin', { annotations: { [`${N}auth-type`]: 'digest' }, rules: [rule('foo.com', prefix('/admin', 'web'))] }),
      ingress('web', { created: 1, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ],
    hosts: {
      'foo.com': {
        routes: ['Prefix "/admin" -> default/web:80 [default/admin] closed(auth-type)', 'Prefix "" -> default/web:80 [default/web]'],
      },
    },
    diagnostics: ['AccessControlNotEnforced Ingress default/admin'],
  },
  {
    name: 'client certificates whose Secret is missing close the whole host (nginx checks them in the TLS handshake): other Ingresses on it close, other hosts do not',
    objects: [
      CLS,
      ...WEB,
      ingress('mtls', {
        annotations: { [`${N}auth-tls-secret`]: 'default/ca', [`${N}auth-tls-verify-client`]: 'on' },
        tls: [tls('cert', 'foo.com')],
        rules: [rule('foo.com', prefix('/secure', 'web'))],
      }),
      ingress('web', { created: 1, rules: [rule('foo.com', prefix('/', 'web')), rule('bar.com', prefix('/', 'web'))] }),
    ],
    hosts: {
      'bar.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] },
      'foo.com': {
        tls: null,
        routes: [
          'Prefix "/secure" -> default/web:80 [default/mtls] redirect closed(auth-tls-secret)',
          'Prefix "" -> default/web:80 [default/web] redirect closed(auth-tls-secret)',
        ],
      },
    },
    // One for the auth-tls-secret, one for the TLS Secret "cert".
    diagnostics: ['SecretNotFound Ingress default/mtls', 'SecretNotFound Ingress default/mtls'],
    messages: [
      /Secret default\/ca named by "nginx\.ingress\.kubernetes\.io\/auth-tls-secret" does not exist; every route of this Ingress's hosts answers 503/,
    ],
  },
  ...['auth-tls-verify-depth', 'auth-tls-error-page', 'auth-tls-pass-certificate-to-upstream', 'auth-tls-match-cn'].map(
    (a): Case => ({
      name: `${a} is a client-certificate guard too`,
      objects: guarded({ [N + a]: 'x' }),
      hosts: closedRoute(a),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    }),
  ),
  {
    name: "the Ingress's spec.defaultBackend closes too: as its hosts' fallback and as the table's default backend",
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}auth-type`]: 'digest', [`${N}auth-secret`]: 'htpasswd' },
        defaultBackend: backend('web'),
        rules: [rule('foo.com', prefix('/app', 'web'))],
      }),
    ],
    hosts: {
      'foo.com': {
        fallback: 'default/web:80 closed(auth-type)',
        routes: ['Prefix "/app" -> default/web:80 [default/web] closed(auth-type)'],
      },
    },
    defaultBackend: 'default/web:80',
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    check: (r) => expect(r.table.defaultBackendFailClosed).toEqual([`${N}auth-type`]),
  },
  {
    name: 'an unguarded default backend stays open (no field in the table)',
    objects: [CLS, ...WEB, ingress('web', { defaultBackend: backend('web') })],
    defaultBackend: 'default/web:80',
    check: (r) => expect(r.table).not.toHaveProperty('defaultBackendFailClosed'),
  },
  {
    name: 'the redirect to HTTPS stays: the HTTPS request is then refused',
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}auth-type`]: 'digest' },
        tls: [tls(undefined, 'foo.com')],
        rules: [rule('foo.com', prefix('/', 'web'))],
      }),
    ],
    hosts: { 'foo.com': { tls: null, routes: ['Prefix "" -> default/web:80 [default/web] redirect closed(auth-type)'] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'portico.dev/auth-jwt-* without a key source closes the route (test/compile/jwt.test.ts has the rest)',
    objects: guarded({ 'portico.dev/auth-jwt-issuer': 'https://issuer.example.com/', 'portico.dev/auth-jwt-audiences': 'api' }),
    hosts: {
      'foo.com': {
        routes: ['Prefix "" -> default/web:80 [default/web] closed(portico.dev/auth-jwt-issuer)'],
      },
    },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'an ingress-nginx guard written with the portico.dev prefix still closes the route',
    objects: guarded({ 'portico.dev/whitelist-source-range': '10.0.0.0/8' }),
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] closed(portico.dev/whitelist-source-range)'] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'a guarded Ingress whose regex path is skipped closes its whole host: the path would fall to the public rule',
    objects: [
      CLS,
      ...WEB,
      ingress('admin', {
        annotations: { [`${N}auth-url`]: 'http://auth.svc/check', [`${N}use-regex`]: 'true' },
        // A lookahead: RE2 (linear time) has none, so the path is skipped.
        rules: [rule('foo.com', implSpecific('/admin(?=/)(.*)', 'web'))],
      }),
      ingress('web', { created: 1, rules: [rule('foo.com', prefix('/', 'web')), rule('bar.com', prefix('/', 'web'))] }),
    ],
    hosts: {
      'bar.com': { routes: ['Prefix "" -> default/web:80 [default/web]'] },
      'foo.com': { routes: ['Prefix "" -> default/web:80 [default/web] closed(auth-url)'] },
    },
    diagnostics: ['AccessControlNotEnforced Ingress default/admin', 'InvalidPath Ingress default/admin'],
    messages: [/a path of host "foo\.com" was skipped .* every route of the host answers 503 \(fail closed\)/],
  },
  {
    name: 'a guarded Ingress that loses a route conflict closes nothing of the winner',
    objects: [
      CLS,
      ...WEB,
      ingress('old', { rules: [rule('foo.com', prefix('/', 'web'))] }),
      ingress('new', { created: 1, annotations: { [`${N}auth-type`]: 'digest' }, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ],
    hosts: { 'foo.com': { routes: ['Prefix "" -> default/web:80 [default/old]'] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/new', 'RouteConflict Ingress default/new'],
  },
]);

describe('guardOf (unit)', () => {
  it('every family the ingress-nginx docs list is a guard under either prefix', () => {
    for (const [name] of ROUTE_GUARDS) {
      expect(guardOf(N + name, 'x'), name).toEqual({ key: N + name, scope: 'routes' });
      expect(guardOf(`portico.dev/${name}`, 'x'), name).toEqual({ key: `portico.dev/${name}`, scope: 'routes' });
    }
  });
  it('a non-string value of a switch is not "false": it fails closed', () => {
    expect(guardOf(`${N}enable-cors`, false)).toEqual({ key: `${N}enable-cors`, scope: 'routes' });
  });
});

describe('inspect explain', () => {
  it('names the annotations a fail-closed answer comes from', () => {
    const r = runCase({
      name: 'explain',
      objects: guarded({ [`${N}auth-type`]: 'digest', [`${N}custom-headers`]: 'default/custom-headers' }),
      diagnostics: ['AccessControlNotEnforced Ingress default/web', 'AccessControlNotEnforced Ingress default/web'],
    });
    expect(explain(r.table, 'http://foo.com/x', {}).answer).toBe(
      `503 (fail closed: access control not enforced: ${N}auth-type, ${N}custom-headers)`,
    );
  });
});
