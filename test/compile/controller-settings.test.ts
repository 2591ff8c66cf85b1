// ingress-nginx's controller ConfigMap as Portico's gateway-wide settings (--nginx-configmap), and the agent's
// --default-backend-service and --default-ssl-certificate. Cases follow ingress-nginx's ConfigMap docs
// (docs/user-guide/nginx-configuration/configmap.md: defaults, "global-auth-url", "hsts", "limit-req-status-code")
// and its annotation parsers, which fall back to the ConfigMap (internal/ingress/annotations/proxy/main.go,
// sslredirect, customhttperrors, ipallowlist).
import { describe, expect, it } from 'vitest';
import type { Route } from '../../gateway/table/schema.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { app, backend, cls, configMap, ingress, prefix, rule, secret, svc, tls } from '../support/builders.ts';
import { makeCert } from './certs.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const SETTINGS = { nginxConfigMap: 'ingress-nginx/ingress-nginx-controller' };
const cm = (data: Record<string, string>) => configMap('ingress-nginx-controller', data, 'ingress-nginx');
const web = (annotations: Record<string, string> = {}, name = 'web', host = 'foo.com') =>
  ingress(name, { annotations, rules: [rule(host, prefix(name === 'web' ? '/' : `/${name}`, 'web'))], tls: [tls('foo-tls', host)] });
const routeOf = (r: CompileResult, i = 0): Route => r.table.hosts[0]!.routes[i]!;
const MiB = 1024 * 1024;
const CERT = makeCert({ cn: 'foo.com', sans: ['foo.com'] });
const base = [cls(), ...app('web'), secret('foo-tls', CERT)];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('ingress-nginx defaults where the ConfigMap is silent', [
  {
    name: "without --nginx-configmap nothing changes: no HSTS, no body limit (Portico's own behaviour)",
    objects: [...base, web(), cm({ 'proxy-body-size': '8m' })],
    check: (r) => {
      expect(r.table.hsts).toBeUndefined();
      expect(routeOf(r).policies.bodyLimit).toBeUndefined();
      expect(r.table.schema).toBe(1);
    },
  },
  {
    name: 'an empty ConfigMap: hsts on for a year with includeSubDomains, proxy-body-size 1m (configmap.md defaults)',
    objects: [...base, web(), cm({})],
    options: SETTINGS,
    check: (r) => {
      expect(r.table.hsts).toBe('max-age=31536000; includeSubDomains');
      expect(routeOf(r).policies.bodyLimit).toBe(MiB);
      expect(r.table.schema).toBe(6);
    },
  },
  {
    name: 'a ConfigMap that does not exist: a diagnostic, and ingress-nginx runs with its defaults',
    objects: [...base, web()],
    options: SETTINGS,
    diagnostics: ['SettingsNotFound ConfigMap ingress-nginx/ingress-nginx-controller'],
    check: (r) => expect(r.table.hsts).toBe('max-age=31536000; includeSubDomains'),
  },
]);

table('annotation defaults', [
  {
    name: 'proxy-body-size "8m" applies to every Ingress; its own annotation wins (proxy/main.go: annotation over ConfigMap)',
    objects: [...base, web(), web({ [`${N}proxy-body-size`]: '2m' }, 'api'), cm({ 'proxy-body-size': '8m' })],
    options: SETTINGS,
    check: (r) => {
      const byPath = Object.fromEntries(r.table.hosts[0]!.routes.map((x) => [x.path, x.policies.bodyLimit]));
      expect(byPath).toEqual({ '': 8 * MiB, '/api': 2 * MiB });
    },
  },
  {
    name: 'ssl-redirect "false": plain HTTP is served on TLS hosts',
    objects: [...base, web(), cm({ 'ssl-redirect': 'false' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.sslRedirect).toBe(false),
  },
  {
    name: 'proxy-read-timeout "120" and proxy-connect-timeout "3" become the routes\' timeouts',
    objects: [...base, web(), cm({ 'proxy-read-timeout': '120', 'proxy-connect-timeout': '3' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.timeouts).toMatchObject({ readMs: 120_000, connectMs: 3_000 }),
  },
  {
    name: 'custom-http-errors "404,503" intercepts those statuses on every route',
    objects: [...base, web(), cm({ 'custom-http-errors': '404,503' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.interceptStatuses).toEqual([404, 503]),
  },
  {
    name: 'whitelist-source-range "10.0.0.0/8" guards every route',
    objects: [...base, web(), cm({ 'whitelist-source-range': '10.0.0.0/8' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.allow).toEqual(['10.0.0.0/8']),
  },
  {
    name: 'a malformed proxy-body-size is reported once, on the ConfigMap, and does not apply (not even the 1m default)',
    objects: [...base, web(), cm({ 'proxy-body-size': 'lots' })],
    options: SETTINGS,
    diagnostics: ['InvalidSetting ConfigMap ingress-nginx/ingress-nginx-controller'],
    messages: [/key "proxy-body-size" has value "lots".*does not apply/],
    check: (r) => expect(routeOf(r).policies.bodyLimit).toBeUndefined(),
  },
  {
    name: 'a malformed whitelist-source-range fails closed on every route (access control is never dropped)',
    objects: [...base, web(), cm({ 'whitelist-source-range': '10.0.0.0/99' })],
    options: SETTINGS,
    diagnostics: ['InvalidSetting ConfigMap ingress-nginx/ingress-nginx-controller', 'AccessControlNotEnforced Ingress default/web'],
    check: (r) => expect(routeOf(r).policies.failClosed).toEqual([`${N}whitelist-source-range`]),
  },
]);

table('global-auth-url (configmap.md "global-auth-url"; the template uses a location\'s own auth-url first)', [
  {
    name: 'every Ingress without auth-url is authenticated by the global URL, with its method and response headers',
    objects: [...base, web(), cm({ 'global-auth-url': 'http://auth.example/check', 'global-auth-response-headers': 'X-User' })],
    options: SETTINGS,
    check: (r) => {
      expect(routeOf(r).policies.access?.externalAuth?.url).toBe('http://auth.example/check');
      expect(routeOf(r).policies.access?.externalAuth?.responseHeaders).toEqual(['x-user']);
    },
  },
  {
    name: 'enable-global-auth "false" opts an Ingress out, without a diagnostic',
    objects: [...base, web({ [`${N}enable-global-auth`]: 'false' }), cm({ 'global-auth-url': 'http://auth.example/check' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access).toBeUndefined(),
  },
  {
    name: 'enable-global-auth "maybe" keeps the global auth (parser.GetBoolAnnotation fails: the default true)',
    objects: [...base, web({ [`${N}enable-global-auth`]: 'maybe' }), cm({ 'global-auth-url': 'http://auth.example/check' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.externalAuth?.url).toBe('http://auth.example/check'),
  },
  {
    name: "an Ingress's own auth-url replaces the global one whole (the global method is not mixed in)",
    objects: [
      ...base,
      web({ [`${N}auth-url`]: 'http://own.example/' }),
      cm({ 'global-auth-url': 'http://auth.example/check', 'global-auth-method': 'POST' }),
    ],
    options: SETTINGS,
    check: (r) => {
      expect(routeOf(r).policies.access?.externalAuth?.url).toBe('http://own.example/');
      expect(routeOf(r).policies.access?.externalAuth?.method).toBeUndefined();
    },
  },
  {
    name: 'a malformed global-auth-url fails closed on every route it applies to',
    objects: [...base, web(), cm({ 'global-auth-url': 'not a url' })],
    options: SETTINGS,
    diagnostics: ['InvalidSetting ConfigMap ingress-nginx/ingress-nginx-controller', 'AccessControlNotEnforced Ingress default/web'],
    check: (r) => expect(routeOf(r).policies.failClosed).toEqual([`${N}auth-url`]),
  },
  {
    name: 'enable-global-auth without any global auth is still reported as not honoured',
    objects: [...base, web({ [`${N}enable-global-auth`]: 'false' }), cm({})],
    options: SETTINGS,
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
  },
]);

table('table settings', [
  {
    name: 'hsts-max-age "100", hsts-include-subdomains "false", hsts-preload "true"',
    objects: [...base, web(), cm({ 'hsts-max-age': '100', 'hsts-include-subdomains': 'false', 'hsts-preload': 'true' })],
    options: SETTINGS,
    check: (r) => expect(r.table.hsts).toBe('max-age=100; preload'),
  },
  {
    name: 'hsts "false": no header',
    objects: [...base, web(), cm({ hsts: 'false' })],
    options: SETTINGS,
    check: (r) => expect(r.table.hsts).toBeUndefined(),
  },
  {
    name: 'hsts-max-age "1y" is not seconds: a diagnostic and the default',
    objects: [...base, web(), cm({ 'hsts-max-age': '1y' })],
    options: SETTINGS,
    diagnostics: ['InvalidSetting ConfigMap ingress-nginx/ingress-nginx-controller'],
    check: (r) => expect(r.table.hsts).toBe('max-age=31536000; includeSubDomains'),
  },
  {
    name: 'limit-req-status-code "429" and limit-conn-status-code "509" on the limits Ingresses ask for',
    objects: [
      ...base,
      web({ [`${N}limit-rps`]: '5', [`${N}limit-connections`]: '2' }),
      cm({ 'limit-req-status-code': '429', 'limit-conn-status-code': '509' }),
    ],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.limits).toMatchObject({ status: 429, connectionStatus: 509 }),
  },
  {
    name: 'the default statuses (503, 429) write nothing into the table',
    objects: [...base, web({ [`${N}limit-rps`]: '5' }), cm({ 'limit-req-status-code': '503', 'global-rate-limit-status-code': '429' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.limits?.status).toBeUndefined(),
  },
  {
    name: 'global-rate-limit-status-code "503"',
    objects: [
      ...base,
      web({ [`${N}global-rate-limit`]: '10', [`${N}global-rate-limit-window`]: '1m' }),
      cm({ 'global-rate-limit-status-code': '503' }),
    ],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.globalRateLimit?.status).toBe(503),
  },
  {
    name: 'limit-req-status-code "200" is no refusal: a diagnostic, and 503 stays',
    objects: [...base, web({ [`${N}limit-rps`]: '5' }), cm({ 'limit-req-status-code': '200' })],
    options: SETTINGS,
    diagnostics: ['InvalidSetting ConfigMap ingress-nginx/ingress-nginx-controller'],
    check: (r) => expect(routeOf(r).policies.access?.limits?.status).toBeUndefined(),
  },
  {
    name: 'global-allowed-response-headers lets a custom-headers ConfigMap set those headers (it closed the routes without)',
    objects: [
      ...base,
      web({ [`${N}custom-headers`]: 'default/headers' }),
      configMap('headers', { 'X-Frame-Options': 'DENY' }),
      cm({ 'global-allowed-response-headers': 'X-Frame-Options' }),
    ],
    options: SETTINGS,
    check: (r) => {
      expect(routeOf(r).policies.failClosed).toBeUndefined();
      expect(routeOf(r).policies.access?.customHeaders).toEqual([['X-Frame-Options', 'DENY']]);
    },
  },
]);

table('keys Portico does not read from the ConfigMap', [
  {
    name: 'use-forwarded-headers names the worker flag and chart value that do it',
    objects: [...base, web(), cm({ 'use-forwarded-headers': 'true' })],
    options: SETTINGS,
    diagnostics: ['UnsupportedSetting ConfigMap ingress-nginx/ingress-nginx-controller'],
    messages: [/use-forwarded-headers.*--trusted-proxies \(chart value worker\.trustedProxies\)/],
  },
  {
    name: 'a snippet key that cannot guard HTTP (stream-snippet) is refused, never run',
    objects: [...base, web(), cm({ 'stream-snippet': 'server { listen 9000; }' })],
    options: SETTINGS,
    diagnostics: ['UnsupportedSetting ConfigMap ingress-nginx/ingress-nginx-controller'],
    messages: [/snippets are configuration text/],
  },
  {
    name: 'an nginx internal is accepted (Info)',
    objects: [...base, web(), cm({ 'worker-processes': '4' })],
    options: SETTINGS,
    diagnostics: ['SettingAccepted ConfigMap ingress-nginx/ingress-nginx-controller (Info)'],
  },
  {
    name: 'an unknown key is a warning',
    objects: [...base, web(), cm({ 'proxy-bodysize': '8m' })],
    options: SETTINGS,
    diagnostics: ['UnknownSetting ConfigMap ingress-nginx/ingress-nginx-controller'],
  },
]);

table('--default-backend-service and --default-ssl-certificate', [
  {
    name: 'the Service (its first port) answers requests no Ingress takes',
    objects: [cls(), ...app('web'), svc('fallback', { namespace: 'ingress-nginx', ports: [8080, 9090] }), web({}, 'web', 'bar.com')],
    options: { defaultBackendService: 'ingress-nginx/fallback' },
    diagnostics: ['SecretNotFound Ingress default/web', 'NoReadyEndpoints Service ingress-nginx/fallback (Info)'],
    defaultBackend: 'ingress-nginx/fallback:8080',
  },
  {
    name: "a catch-all Ingress's spec.defaultBackend takes precedence over it",
    objects: [
      cls(),
      ...app('web'),
      svc('fallback', { namespace: 'ingress-nginx', ports: [8080] }),
      ingress('catch-all', { defaultBackend: backend('web') }),
    ],
    options: { defaultBackendService: 'ingress-nginx/fallback' },
    defaultBackend: 'default/web:80',
  },
  {
    name: 'a Service that does not exist: a diagnostic, and 404 stays',
    objects: [cls(), ...app('web'), web({}, 'web', 'bar.com')],
    options: { defaultBackendService: 'ingress-nginx/missing' },
    diagnostics: ['SecretNotFound Ingress default/web', 'SettingsNotFound Service ingress-nginx/missing'],
    defaultBackend: null,
  },
  {
    name: 'the default certificate travels as a certificate of the table',
    objects: [
      ...base,
      web(),
      secret('default-cert', makeCert({ cn: 'default.example', sans: ['default.example'] }), { namespace: 'ingress-nginx' }),
    ],
    options: { defaultSslCertificate: 'ingress-nginx/default-cert' },
    check: (r) => {
      expect(r.table.defaultCertificate).toBe('ingress-nginx/default-cert');
      expect(r.certificates.map((c) => c.id)).toEqual(['default/foo-tls', 'ingress-nginx/default-cert']);
      expect(r.table.schema).toBe(6);
    },
  },
  {
    name: 'a default certificate Secret that does not exist: a diagnostic, and the worker keeps its generated one',
    objects: [...base, web()],
    options: { defaultSslCertificate: 'ingress-nginx/nope' },
    diagnostics: ['SecretNotFound Secret ingress-nginx/nope'],
    check: (r) => expect(r.table.defaultCertificate).toBeUndefined(),
  },
]);

table('access control from the ConfigMap never fails open', [
  {
    name: 'denylist-source-range "0.0.0.0/0" denies every client on every route (ipdenylist reads the ConfigMap too)',
    objects: [...base, web(), cm({ 'denylist-source-range': '0.0.0.0/0' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.deny).toEqual(['0.0.0.0/0']),
  },
  {
    name: 'whitelist-source-range "" is no allowlist (ingress-nginx splits and trims it), not a malformed one',
    objects: [...base, web(), cm({ 'whitelist-source-range': '' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access).toBeUndefined(),
  },
  {
    name: "an Ingress's own allowlist-source-range replaces the ConfigMap's whitelist-source-range, without a diagnostic",
    objects: [...base, web({ [`${N}allowlist-source-range`]: '192.168.0.0/16' }), cm({ 'whitelist-source-range': '10.0.0.0/8' })],
    options: SETTINGS,
    check: (r) => expect(routeOf(r).policies.access?.allow).toEqual(['192.168.0.0/16']),
  },
  ...(
    [
      ['block-cidrs', '1.2.3.4'],
      ['block-user-agents', 'curl'],
      ['http-snippet', 'deny all;'],
      ['location-snippet', 'auth_request /auth;'],
      ['enable-modsecurity', 'true'],
    ] as const
  ).map(
    ([key, value]): Case => ({
      name: `${key} (guards access, not enforced) closes every route: 503 with a diagnostic on the ConfigMap`,
      objects: [...base, web(), cm({ [key]: value })],
      options: SETTINGS,
      diagnostics: ['AccessControlNotEnforced ConfigMap ingress-nginx/ingress-nginx-controller'],
      check: (r) => expect(routeOf(r).policies.failClosed).toEqual([`nginx-configmap:${key}`]),
    }),
  ),
  {
    name: 'enable-modsecurity "false" and block-cidrs "" ask for nothing',
    objects: [...base, web(), cm({ 'enable-modsecurity': 'false', 'block-cidrs': '' })],
    options: SETTINGS,
    diagnostics: [
      'UnsupportedSetting ConfigMap ingress-nginx/ingress-nginx-controller',
      'UnsupportedSetting ConfigMap ingress-nginx/ingress-nginx-controller',
    ],
    check: (r) => expect(routeOf(r).policies.failClosed).toBeUndefined(),
  },
  {
    name: "under the global auth, an Ingress's stray auth-cache-key and auth-signin are not grafted onto it (ignored, reported)",
    objects: [
      ...base,
      web({ [`${N}auth-cache-key`]: 'k', [`${N}auth-signin`]: 'https://evil.example/x' }),
      cm({ 'global-auth-url': 'http://auth.example/check' }),
    ],
    options: SETTINGS,
    diagnostics: ['UnsupportedAnnotation Ingress default/web', 'UnsupportedAnnotation Ingress default/web'],
    check: (r) => expect(routeOf(r).policies.access?.externalAuth).toEqual({ url: 'http://auth.example/check' }),
  },
  {
    name: 'a default backend of an Ingress with access rules answers 503, and says so (rules cannot apply to it yet)',
    objects: [
      ...base,
      ingress('web', { defaultBackend: backend('web'), rules: [rule('foo.com', prefix('/app', 'web'))] }),
      cm({ 'whitelist-source-range': '10.0.0.0/8' }),
    ],
    options: SETTINGS,
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [
      /spec\.defaultBackend of this Ingress answers 503 \(fail closed\): its access rules \(nginx\.ingress\.kubernetes\.io\/whitelist-source-range\)/,
    ],
    check: (r) => expect(r.table.hosts[0]!.fallbackFailClosed).toEqual([`${N}whitelist-source-range`]),
  },
]);
