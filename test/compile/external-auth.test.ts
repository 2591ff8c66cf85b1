// auth-url and its companions → the route's external auth policy. Cases mirror ingress-nginx's authreq parser
// (internal/ingress/annotations/authreq) and test/e2e/annotations/auth.go; a value that does not parse fails
// closed (503), as ingress-nginx denies the location ("with invalid auth-url should deny whole location").
import { describe, expect, it } from 'vitest';
import type { ExternalAuthPolicy } from '../../gateway/table/schema.ts';
import { app, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const CLS = cls();
const WEB = app('web');
const N = 'nginx.ingress.kubernetes.io/';
const URL = 'http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth';
const authed = (annotations: Record<string, string>) => [
  CLS,
  ...WEB,
  ingress('web', { annotations: { [`${N}auth-url`]: URL, ...annotations }, rules: [rule('foo.com', prefix('/', 'web'))] }),
];
const policy = (r: { table: { hosts: { routes: { policies: { access?: { externalAuth?: ExternalAuthPolicy } } }[] }[] } }) =>
  r.table.hosts[0]!.routes[0]!.policies.access?.externalAuth;
const closed = (key: string) => ({ 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] closed(${key})`] } });

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('auth-url', [
  {
    name: 'auth-url alone: the route asks it, table schema 3',
    objects: authed({}),
    hosts: { 'foo.com': { routes: [`Prefix "" -> default/web:80 [default/web] auth=${URL}`] } },
    check: (r) => {
      expect(policy(r)).toEqual({ url: URL });
      expect(r.table.schema).toBe(3);
    },
  },
  {
    name: 'every companion (auth.go: signin with $host, a custom redirect param, response headers, cookies)',
    objects: authed({
      [`${N}auth-method`]: 'POST',
      [`${N}auth-signin`]: 'http://$host/auth/start',
      [`${N}auth-signin-redirect-param`]: 'orig',
      [`${N}auth-request-redirect`]: 'https://$host/back',
      [`${N}auth-response-headers`]: 'X-Auth-Request-User, X-Auth-Request-Email,,Foo',
      [`${N}auth-always-set-cookie`]: 'true',
    }),
    check: (r) =>
      expect(policy(r)).toEqual({
        url: URL,
        method: 'POST',
        signin: 'http://$host/auth/start',
        signinRedirectParam: 'orig',
        requestRedirect: 'https://$host/back',
        responseHeaders: ['x-auth-request-user', 'x-auth-request-email', 'foo'],
        alwaysSetCookie: true,
      }),
  },
  {
    name: 'variables in the path and query (auth.go "host part of auth-url contains a variable" is refused: see below)',
    objects: [
      CLS,
      ...WEB,
      ingress('web', {
        annotations: { [`${N}auth-url`]: 'http://auth.svc/verify?uri=$escaped_request_uri&h=$http_x_tenant' },
        rules: [rule('foo.com', prefix('/', 'web'))],
      }),
    ],
    check: (r) => expect(policy(r)?.url).toBe('http://auth.svc/verify?uri=$escaped_request_uri&h=$http_x_tenant'),
  },
  {
    name: 'auth-cache-key with the default duration (ingress-nginx: 200 202 401 5m)',
    objects: authed({ [`${N}auth-cache-key`]: '$remote_user$http_authorization' }),
    check: (r) => expect(policy(r)?.cache).toEqual({ key: '$remote_user$http_authorization', seconds: { 200: 300, 202: 300, 401: 300 } }),
  },
  {
    name: 'auth-cache-key with auth-cache-duration "200 201 401 30m" (auth.go caching)',
    objects: authed({ [`${N}auth-cache-key`]: 'fixed', [`${N}auth-cache-duration`]: '200 201 401 30m' }),
    check: (r) => expect(policy(r)?.cache).toEqual({ key: 'fixed', seconds: { 200: 1800, 201: 1800, 401: 1800 } }),
  },
  {
    name: 'auth-cache-duration without a status list caches 200, 301 and 302 (proxy_cache_valid)',
    objects: authed({ [`${N}auth-cache-key`]: 'k', [`${N}auth-cache-duration`]: '1h30m' }),
    check: (r) => expect(policy(r)?.cache?.seconds).toEqual({ 200: 5400, 301: 5400, 302: 5400 }),
  },
  {
    name: 'auth-cache-duration without auth-cache-key has no effect, and says so',
    objects: authed({ [`${N}auth-cache-duration`]: '200 5m' }),
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [/"nginx\.ingress\.kubernetes\.io\/auth-cache-duration" has no effect without auth-cache-key/],
    check: (r) => expect(policy(r)?.cache).toBeUndefined(),
  },
  {
    name: 'auth-keepalive and its siblings are accepted and change nothing (Portico pools connections anyway)',
    objects: authed({
      [`${N}auth-keepalive`]: '10',
      [`${N}auth-keepalive-requests`]: '456',
      [`${N}auth-keepalive-timeout`]: '789',
      [`${N}auth-keepalive-share-vars`]: 'true',
    }),
    check: (r) => expect(policy(r)).toEqual({ url: URL }),
  },
  {
    name: 'auth-always-set-cookie "false" is the default',
    objects: authed({ [`${N}auth-always-set-cookie`]: 'false' }),
    check: (r) => expect(policy(r)).toEqual({ url: URL }),
  },
]);

table('auth-url values that fail closed (503 + AccessControlNotEnforced)', [
  ...[
    [
      'https://invalid..auth.url',
      /has an invalid host "invalid\.\.auth\.url"/,
      'auth.go "with invalid auth-url should deny whole location"',
    ],
    ['http://$host/path', /has a variable in its host or port/, 'a client could choose the host the edge dials'],
    ['http://auth.svc/x?u=$upstream_addr', /uses \$upstream_addr, which Portico does not have/, 'an nginx variable Portico does not have'],
    ['ftp://auth.svc/', /is not an http or https URL/, 'another scheme'],
    ['http://user:pw@auth.svc/', /carries credentials/, 'credentials in the URL'],
    ['', /it is empty/, 'empty'],
  ].map(
    ([url, message, why]): Case => ({
      name: `${JSON.stringify(url)} (${why})`,
      objects: [
        CLS,
        ...WEB,
        ingress('web', { annotations: { [`${N}auth-url`]: url as string }, rules: [rule('foo.com', prefix('/', 'web'))] }),
      ],
      hosts: closed('auth-url'),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
      messages: [message as RegExp],
    }),
  ),
  ...[
    ['auth-method', 'FETCH', /it is not an HTTP method/],
    ['auth-signin', '/relative/start', /it is not an http or https URL/],
    ['auth-signin', 'https://auth.test/start?rd=$bogus', /uses \$bogus/],
    ['auth-signin-redirect-param', 'r d', /it is not a query parameter name/],
    ['auth-response-headers', 'X-User, bad header', /"bad header" is not a header name/],
    [
      'auth-response-headers',
      'X-User, portico-peer, Portico-Backend',
      /"portico-peer", "Portico-Backend" may not be set by an auth service/,
    ],
    ['auth-response-headers', 'Content-Length', /"Content-Length" may not be set by an auth service/],
    ['auth-response-headers', 'Transfer-Encoding, Host', /"Transfer-Encoding", "Host" may not be set by an auth service/],
    ['auth-always-set-cookie', 'yes', /it is not "true" or "false"/],
    ['auth-cache-duration', 'forever', /it is not "\[status \.\.\.\] time"/],
  ].map(
    ([key, value, message]): Case => ({
      name: `${key}: ${JSON.stringify(value)} closes the route even though auth-url parses`,
      objects: authed({ [`${N}${key}`]: value as string, ...(key === 'auth-cache-duration' ? { [`${N}auth-cache-key`]: 'k' } : {}) }),
      diagnostics: ['AccessControlNotEnforced Ingress default/web'],
      messages: [message as RegExp],
      check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.failClosed).toEqual([`${N}${key}`]),
    }),
  ),
  {
    name: 'auth-snippet is never supported: with auth-url it still closes the route',
    objects: authed({ [`${N}auth-snippet`]: 'proxy_set_header Foo-Header 42;' }),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.failClosed).toEqual([`${N}auth-snippet`]),
  },
  {
    name: 'auth-signin without auth-url has nothing to act on: it closes the route rather than mean nothing',
    objects: [
      CLS,
      ...WEB,
      ingress('web', { annotations: { [`${N}auth-signin`]: 'https://auth.test/start' }, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ],
    hosts: closed('auth-signin'),
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);
