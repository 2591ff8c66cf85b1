// ingress-nginx's controller ConfigMap (docs/user-guide/nginx-configuration/configmap.md, v1.15) read as Portico's
// gateway-wide settings (`portico sync --nginx-configmap NAMESPACE/NAME`). Every key is one of:
// - an annotation default: the value every Ingress of ours gets for the annotation of the same meaning unless it
//   sets the annotation itself, exactly as ingress-nginx's annotation parsers fall back to the ConfigMap
//   (proxy-body-size, ssl-redirect, timeouts, ...). The value is checked here by the annotation parser itself, so
//   the ConfigMap and the annotation can never disagree;
// - global-auth-*: the auth-url family of an Ingress without its own auth-url, unless it says
//   `enable-global-auth: "false"` (ingress-nginx's template: a location's own external auth, else the global one);
// - a setting of the table or of the compiler (hsts*, limit statuses, global-allowed-response-headers);
// - a worker flag: the worker's own listeners decide it (`--trusted-proxies`, `--proxy-protocol`, ...), and the
//   diagnostic names the flag and the chart value, because a ConfigMap change cannot reach the listening sockets of
//   running workers without their flags;
// - accepted (nothing to do: nginx internals, or a value Portico already behaves like), or not honoured (the
//   diagnostic says why). An unknown key is a warning.
// Nothing is ever text for a proxy: every honoured value becomes a typed table field through the same parsers as
// the annotations.
//
// Defaults: the keys the ConfigMap leaves out take ingress-nginx's defaults where they differ from Portico's
// (hsts on with a year and includeSubDomains, proxy-body-size 1m), because a cluster moving from ingress-nginx must
// keep behaving as it did. Without --nginx-configmap none of this applies.
import { HSTS_VALUE } from '../../gateway/table/validate-settings.ts';
import { isRefusalStatus, MAX_REFUSAL_STATUS, MIN_REFUSAL_STATUS } from '../../gateway/table/refusal-status.ts';
import { CUSTOM_HEADER_NAME } from '../../gateway/table/validate-custom-headers.ts';
import type { ObjectRef } from '../../gateway/table/schema.ts';
import { NGINX_PREFIX, PORTICO_PREFIX } from './annotation-prefixes.ts';
import { commaList, goBool } from './annotation-values.ts';
import type { Report } from './diagnostics.ts';
import { fields, show } from './objects.ts';

export interface ControllerSettings {
  /** Full annotation keys → values every non-canary Ingress of ours gets unless it sets them. */
  annotationDefaults: Readonly<Record<string, string>>;
  /** global-auth-*, as the auth-* annotations they stand for; null: no global-auth-url. */
  globalAuth: Readonly<Record<string, string>> | null;
  /** global-allowed-response-headers (added to the agent's --global-allowed-response-headers). */
  allowedResponseHeaders: readonly string[];
  /** The Strict-Transport-Security value, or null (hsts: "false"). */
  hsts: string | null;
  /** limit-req-status-code, limit-conn-status-code, global-rate-limit-status-code, when not nginx's defaults. */
  statuses: { request?: number; connection?: number; globalRateLimit?: number };
  /** Keys that guard access and that Portico does not enforce (block lists, ModSecurity, snippets): every route of
   * every Ingress answers 503 while one is set (fail closed), as an Ingress's own unenforced guard does. */
  closedBy: readonly string[];
}

/** No ConfigMap: nothing changes Portico's own behaviour. */
export const NO_CONTROLLER_SETTINGS: ControllerSettings = Object.freeze({
  annotationDefaults: {},
  globalAuth: null,
  allowedResponseHeaders: [],
  hsts: null,
  statuses: {},
  closedBy: [],
});

/** Keys whose value is the default of the annotation of the same name (ingress-nginx reads these annotations with
 * the ConfigMap's value as the fallback: internal/ingress/annotations/{proxy,sslredirect,customhttperrors,
 * ipallowlist,serviceupstream,loadbalancing}). */
const ANNOTATION_DEFAULTS: readonly string[] = [
  'proxy-body-size',
  'ssl-redirect',
  'force-ssl-redirect',
  'proxy-connect-timeout',
  'proxy-read-timeout',
  'proxy-send-timeout',
  'proxy-next-upstream',
  'proxy-next-upstream-tries',
  'proxy-next-upstream-timeout',
  'custom-http-errors',
  'whitelist-source-range',
  'denylist-source-range',
  'service-upstream',
  'load-balance',
];

/** Source ranges: access control, so a malformed value closes routes instead of being dropped. */
const RANGE_KEYS: ReadonlySet<string> = new Set(['whitelist-source-range', 'denylist-source-range']);

/** ingress-nginx's defaults for keys the ConfigMap leaves out, where Portico's own differ (config.go NewDefault). */
const INGRESS_NGINX_DEFAULTS: Readonly<Record<string, string>> = {
  'proxy-body-size': '1m',
  hsts: 'true',
  'hsts-max-age': '31536000',
  'hsts-include-subdomains': 'true',
  'hsts-preload': 'false',
};

/** global-auth-* → the auth-* annotation it stands for (config.go GlobalExternalAuth). */
const GLOBAL_AUTH: Readonly<Record<string, string>> = {
  'global-auth-url': 'auth-url',
  'global-auth-method': 'auth-method',
  'global-auth-signin': 'auth-signin',
  'global-auth-signin-redirect-param': 'auth-signin-redirect-param',
  'global-auth-response-headers': 'auth-response-headers',
  'global-auth-request-redirect': 'auth-request-redirect',
  'global-auth-snippet': 'auth-snippet',
  'global-auth-cache-key': 'auth-cache-key',
  'global-auth-cache-duration': 'auth-cache-duration',
  'global-auth-always-set-cookie': 'auth-always-set-cookie',
};

/** Keys the worker's flags decide: the flag and chart value to use instead. */
const WORKER_FLAGS: Readonly<Record<string, string>> = {
  'use-forwarded-headers': '--trusted-proxies (chart value worker.trustedProxies)',
  'enable-real-ip': '--trusted-proxies (chart value worker.trustedProxies)',
  'proxy-real-ip-cidr': '--trusted-proxies (chart value worker.trustedProxies)',
  'forwarded-for-header': '--forwarded-for-header (chart value worker.forwardedForHeader)',
  'compute-full-forwarded-for': '--compute-full-forwarded-for (chart value worker.computeFullForwardedFor)',
  'use-proxy-protocol': '--proxy-protocol (chart value worker.proxyProtocol)',
  'upstream-keepalive-timeout': 'the worker\'s upstream pools (README, "Upstream connections")',
  'upstream-keepalive-connections': 'the worker\'s upstream pools (README, "Upstream connections")',
  'upstream-keepalive-requests': 'the worker\'s upstream pools (README, "Upstream connections")',
  'upstream-keepalive-time': 'the worker\'s upstream pools (README, "Upstream connections")',
  'keep-alive': '--keepalive-timeout (chart value worker.keepaliveTimeout)',
  'keep-alive-requests': "the worker's client connection limits",
  'client-header-timeout': '--client-header-timeout (chart value worker.clientHeaderTimeout)',
  'client-body-timeout': '--client-body-timeout (chart value worker.clientBodyTimeout)',
  'client-body-buffer-size': '--client-body-buffer-size (chart value worker.clientBodyBufferSize)',
  'large-client-header-buffers': "the worker's client connection limits",
  'client-header-buffer-size': "the worker's client connection limits",
  'http2-max-concurrent-streams': "the worker's client connection limits",
  'ssl-protocols': 'the worker, which accepts TLS 1.2 and 1.3 only',
  'ssl-ciphers': "Node's default TLS cipher list",
};

/** Keys with no effect to give: nginx internals, or what Portico does anyway (the reason is the diagnostic). */
const ACCEPTED: Readonly<Record<string, string>> = {
  'allow-snippet-annotations': 'Portico never runs snippets as configuration; the header directives it recognises in them apply regardless',
  'server-tokens': 'Portico never names a version in its Server header',
  'proxy-buffering': 'Portico streams responses (proxy-buffering "off", the default)',
  'proxy-request-buffering': 'Portico reads request bodies up to --client-body-buffer-size before dialling and streams larger ones',
  'proxy-buffer-size': 'nginx buffer sizes have no meaning for Portico',
  'proxy-buffers-number': 'nginx buffer sizes have no meaning for Portico',
  'use-http2': 'Portico always offers HTTP/2 on HTTPS',
  'generate-request-id': 'Portico always sends X-Request-ID upstream',
  'http-redirect-code': 'Portico redirects to HTTPS with 308, the default',
  'annotation-value-word-blocklist': 'no annotation value ever becomes configuration text in Portico',
  'strict-validate-path-type': 'Portico validates every path',
  'annotations-risk-level': 'no annotation is ever configuration text in Portico: each is parsed through an allow-list',
  'enable-annotation-validation': 'Portico validates every annotation value',
  'worker-processes': 'an nginx internal',
  'worker-cpu-affinity': 'an nginx internal',
  'worker-shutdown-timeout': 'an nginx internal',
  'max-worker-connections': 'an nginx internal',
  'max-worker-open-files': 'an nginx internal',
  'enable-multi-accept': 'an nginx internal',
  'reuse-port': 'an nginx internal',
  'lua-shared-dicts': 'an nginx internal',
  'ssl-buffer-size': 'an nginx internal',
  'ssl-session-cache': 'an nginx internal',
  'ssl-session-cache-size': 'an nginx internal',
  'ssl-session-timeout': 'an nginx internal',
  'ssl-ecdh-curve': 'an nginx internal',
  'variables-hash-bucket-size': 'an nginx internal',
  'variables-hash-max-size': 'an nginx internal',
  'map-hash-bucket-size': 'an nginx internal',
  'server-name-hash-max-size': 'an nginx internal',
  'server-name-hash-bucket-size': 'an nginx internal',
  'proxy-headers-hash-max-size': 'an nginx internal',
  'proxy-headers-hash-bucket-size': 'an nginx internal',
};

/** Keys that guard access when set, which Portico does not enforce: they close every route instead of being ignored
 * (an http-snippet or location-snippet may hold `deny` or `auth_request`; block-cidrs denies clients). `enable-*`
 * switches guard only when true. */
const UNENFORCED_GUARDS: ReadonlySet<string> = new Set([
  'block-cidrs',
  'block-user-agents',
  'block-referers',
  'enable-modsecurity',
  'enable-owasp-modsecurity-crs',
  'modsecurity-snippet',
  'main-snippet',
  'http-snippet',
  'server-snippet',
  'location-snippet',
]);

/** The guard a ConfigMap value asks for: a blank list or a false switch asks for none. */
function guards(key: string, value: string): boolean {
  if (!UNENFORCED_GUARDS.has(key) || value.trim() === '') return false;
  return key.startsWith('enable-') ? goBool(value) !== false : true;
}

/** The failClosed key a ConfigMap guard closes routes with. */
export const configMapGuardKey = (key: string): string => `nginx-configmap:${key}`;

/** Known keys Portico does not honour: why. */
const NOT_HONOURED: readonly (readonly [RegExp, string])[] = [
  [/-snippet$/, 'snippets are configuration text, never run by Portico'],
  [/^(zipkin|jaeger|datadog|opentracing|opentelemetry|otel|otlp)-|^enable-(opentracing|opentelemetry)$/, 'tracing is not built'],
  [
    /^(log-format|access-log|error-log|http-access-log|stream-access-log|skip-access-log|enable-access-log)|^disable-access-log$|^enable-syslog$|^syslog-/,
    'Portico writes its own structured log',
  ],
  [/^(use-gzip|gzip-|enable-brotli$|brotli-)/, 'Portico does not compress responses'],
  [/^(use-geoip|geoip|enable-modsecurity|enable-owasp|modsecurity)/, 'not built'],
  [/^(block-cidrs|block-user-agents|block-referers)$/, 'global block lists are not built'],
  [/^(add-headers|proxy-set-headers|hide-headers|allow-backend-server-header)$/, 'global header rules are not built'],
  [/^(limit-rate|limit-rate-after|limit-conn-zone-variable)$/, 'not built'],
  [
    /^(no-tls-redirect-locations|no-auth-locations)$/,
    'Portico exempts /.well-known/acme-challenge/ from HTTPS redirects, as the default does, and has no list',
  ],
  [/^global-rate-limit-memcached-/, 'Portico counts global rate limits in its Redis'],
  [
    /^(proxy-stream-|bind-address$|disable-ipv6|enable-ocsp$|ssl-dh-param$|ssl-session-ticket|ssl-reject-handshake$|default-type$|proxy-cookie-|proxy-redirect-from$|retry-non-idempotent$|enable-underscores-in-headers$|ignore-invalid-headers$|http2-max-|nginx-status-|plugins$|debug-connections$|proxy-ssl-location-only$|proxy-add-original-uri-header$|upstream-hash-by$)/,
    'not built',
  ],
];

const HSTS_KEYS = new Set(['hsts', 'hsts-max-age', 'hsts-include-subdomains', 'hsts-preload']);
const STATUS_KEYS: Readonly<Record<string, keyof ControllerSettings['statuses']>> = {
  'limit-req-status-code': 'request',
  'limit-conn-status-code': 'connection',
  'global-rate-limit-status-code': 'globalRateLimit',
};
const ALLOWED_HEADERS = 'global-allowed-response-headers';

/** What Portico does with a ConfigMap key (`portico migrate` reports it; readControllerSettings acts on it). */
export type SettingDisposition = {
  kind: 'annotation-default' | 'global-auth' | 'setting' | 'worker-flag' | 'accepted' | 'not-honoured' | 'unknown';
  note: string;
};

export function settingDisposition(key: string): SettingDisposition {
  if (ANNOTATION_DEFAULTS.includes(key)) return { kind: 'annotation-default', note: `the default of annotation ${NGINX_PREFIX}${key}` };
  if (key in GLOBAL_AUTH)
    return { kind: 'global-auth', note: `${NGINX_PREFIX}${GLOBAL_AUTH[key]} for Ingresses without their own auth-url` };
  if (HSTS_KEYS.has(key)) return { kind: 'setting', note: 'the Strict-Transport-Security header of HTTPS answers' };
  if (key in STATUS_KEYS) return { kind: 'setting', note: 'the status limits refuse with' };
  if (key === ALLOWED_HEADERS) return { kind: 'setting', note: 'added to --global-allowed-response-headers' };
  if (key in WORKER_FLAGS) return { kind: 'worker-flag', note: WORKER_FLAGS[key]! };
  if (key in ACCEPTED) return { kind: 'accepted', note: ACCEPTED[key]! };
  const known = NOT_HONOURED.find(([re]) => re.test(key));
  return known === undefined ? { kind: 'unknown', note: 'not an ingress-nginx ConfigMap key' } : { kind: 'not-honoured', note: known[1] };
}

/** Checks one annotation value the way an Ingress's would be: problems, or none. */
export type AnnotationCheck = (annotations: Record<string, string>) => string[];

/** The ConfigMap's data (strings only; `binaryData` is not configuration), or null when it has none. */
function dataOf(configMap: unknown): Record<string, string> {
  const data = fields(fields(configMap).data);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Reads the controller ConfigMap. `check` runs the annotation parser on a would-be annotation set, so a value the
 * parser refuses is reported here once, naming the key; an access-control value is kept even then, so every Ingress
 * it applies to fails closed instead of losing the guard.
 */
export function readControllerSettings(configMap: unknown, ref: ObjectRef, check: AnnotationCheck, report: Report): ControllerSettings {
  const data = dataOf(configMap);
  const where = `ConfigMap ${ref.namespace}/${ref.name}`;
  const annotationDefaults: Record<string, string> = {};
  const settings: ControllerSettings = { ...NO_CONTROLLER_SETTINGS, annotationDefaults, statuses: {} };
  const withDefaults = { ...INGRESS_NGINX_DEFAULTS, ...data };

  const closedBy: string[] = [];
  for (const key of Object.keys(data).sort()) {
    const d = settingDisposition(key);
    const what = `${where}: key ${JSON.stringify(key)}`;
    if (guards(key, data[key]!)) {
      closedBy.push(key);
      report(
        'AccessControlNotEnforced',
        `${what} (${show(data[key])}) guards access and is not enforced by Portico, so every route answers 503 (fail closed) instead of serving without it; remove the key or move the rule to an annotation Portico enforces`,
      );
      continue;
    }
    if (d.kind === 'worker-flag')
      report('UnsupportedSetting', `${what} (${show(data[key])}) is not read from the ConfigMap; set ${d.note} instead`);
    else if (d.kind === 'accepted') report('SettingAccepted', `${what} is accepted and changes nothing: ${d.note}`);
    else if (d.kind === 'not-honoured') report('UnsupportedSetting', `${what} is not honoured: ${d.note}`);
    else if (d.kind === 'unknown') report('UnknownSetting', `${what} is not an ingress-nginx ConfigMap key Portico knows; it is ignored`);
  }

  settings.closedBy = closedBy;

  // Annotation defaults: the annotation parser is the judge. A source range that does not parse is kept, so every
  // Ingress it applies to fails closed rather than losing the range; a blank one is no range (ingress-nginx splits and
  // trims the list, so "" allows everyone, a common Helm default).
  for (const key of ANNOTATION_DEFAULTS) {
    const value = withDefaults[key];
    if (value === undefined) continue;
    const range = RANGE_KEYS.has(key);
    if (range && value.trim() === '') continue;
    const annotation = `${NGINX_PREFIX}${key}`;
    const problems = check({ [annotation]: value });
    if (problems.length === 0 || range) annotationDefaults[annotation] = value;
    if (problems.length > 0)
      report(
        'InvalidSetting',
        `${where}: key ${JSON.stringify(key)} has value ${show(value)}: ${problems.join('; ')}${range ? ' (every Ingress it applies to answers 503: fail closed)' : ' (the key does not apply)'}`,
      );
  }

  // global-auth-*: together, as one external auth; a malformed one closes the routes it applies to.
  const auth: Record<string, string> = {};
  for (const [key, annotation] of Object.entries(GLOBAL_AUTH))
    if (data[key] !== undefined && data[key] !== '') auth[`${NGINX_PREFIX}${annotation}`] = data[key]!;
  if (data['global-auth-url'] !== undefined && data['global-auth-url'] !== '') {
    settings.globalAuth = auth;
    const problems = check(auth);
    if (problems.length > 0)
      report('InvalidSetting', `${where}: global-auth-*: ${problems.join('; ')} (every Ingress it applies to answers 503: fail closed)`);
  } else if (Object.keys(auth).length > 0) {
    report('InvalidSetting', `${where}: global-auth-* keys without global-auth-url change nothing (ingress-nginx reads them only with it)`);
  }

  settings.hsts = hstsValue(withDefaults, where, report);

  for (const [key, slot] of Object.entries(STATUS_KEYS)) {
    const raw = data[key];
    if (raw === undefined) continue;
    const n = /^\s*\d{3}\s*$/.test(raw) ? Number(raw) : Number.NaN;
    if (!isRefusalStatus(n)) {
      report(
        'InvalidSetting',
        `${where}: key ${JSON.stringify(key)} has value ${show(raw)}; expected a status from ${MIN_REFUSAL_STATUS} to ${MAX_REFUSAL_STATUS}, so the default applies`,
      );
      continue;
    }
    const nginxDefault = slot === 'globalRateLimit' ? 429 : 503;
    if (n !== nginxDefault) settings.statuses[slot] = n;
  }

  const headers = data[ALLOWED_HEADERS];
  if (headers !== undefined) {
    const names = commaList(headers);
    const bad = names.filter((n) => !CUSTOM_HEADER_NAME.test(n));
    if (bad.length > 0)
      report(
        'InvalidSetting',
        `${where}: key ${JSON.stringify(ALLOWED_HEADERS)} names ${bad.map((b) => JSON.stringify(b)).join(', ')}, not header names; they are left out`,
      );
    settings.allowedResponseHeaders = names.filter((n) => CUSTOM_HEADER_NAME.test(n));
  }
  return settings;
}

/** hsts, hsts-max-age, hsts-include-subdomains, hsts-preload → the header value (lua_ingress.lua builds it in this
 * order), or null with hsts off. A malformed switch keeps ingress-nginx's default; a malformed max-age keeps its
 * default too (config.go reads it as a string and nginx would send it verbatim: Portico sends only digits). */
function hstsValue(values: Readonly<Record<string, string>>, where: string, report: Report): string | null {
  const bool = (key: string): boolean => {
    const v = goBool(values[key]!);
    if (v !== undefined) return v;
    report(
      'InvalidSetting',
      `${where}: key ${JSON.stringify(key)} has value ${show(values[key])}; expected "true" or "false", so ${INGRESS_NGINX_DEFAULTS[key]} applies`,
    );
    return INGRESS_NGINX_DEFAULTS[key] === 'true';
  };
  if (!bool('hsts')) return null;
  let maxAge = values['hsts-max-age']!.trim();
  if (!/^\d{1,10}$/.test(maxAge)) {
    report(
      'InvalidSetting',
      `${where}: key "hsts-max-age" has value ${show(values['hsts-max-age'])}; expected whole seconds, so ${INGRESS_NGINX_DEFAULTS['hsts-max-age']} applies`,
    );
    maxAge = INGRESS_NGINX_DEFAULTS['hsts-max-age']!;
  }
  const value = `max-age=${maxAge}${bool('hsts-include-subdomains') ? '; includeSubDomains' : ''}${bool('hsts-preload') ? '; preload' : ''}`;
  return HSTS_VALUE.test(value) ? value : null;
}

export const ENABLE_GLOBAL_AUTH = `${NGINX_PREFIX}enable-global-auth`;
const AUTH_URL = `${NGINX_PREFIX}auth-url`;
/** The auth-url companions the global auth brings (GLOBAL_AUTH's annotations but auth-url), plus
 * auth-proxy-set-headers: with the global auth in force an Ingress's own are not grafted onto it. */
const GLOBAL_AUTH_COMPANIONS: ReadonlySet<string> = new Set(
  [...Object.values(GLOBAL_AUTH), 'auth-proxy-set-headers'].filter((a) => a !== 'auth-url').map((a) => `${NGINX_PREFIX}${a}`),
);
const ALLOWLIST_NAMES = ['allowlist-source-range', 'whitelist-source-range'].flatMap((n) => [
  `${NGINX_PREFIX}${n}`,
  `${PORTICO_PREFIX}${n}`,
]);

export interface EffectiveAnnotations {
  annotations: Record<string, unknown>;
  /** The Ingress's own auth-url companions, left out because the global auth applies (ingress-nginx reads them
   * only with the Ingress's own auth-url). */
  ignored: string[];
}

/**
 * The annotations one Ingress is compiled with: the ConfigMap's defaults under its own, and the global auth when it
 * has no auth-url of its own and does not opt out. `enable-global-auth` is consumed here when there is a global auth
 * (a malformed value keeps it on, as parser.GetBoolAnnotation's error leaves ingress-nginx's default true). An
 * Ingress that sets its own allowlist takes no ConfigMap allowlist under another name.
 */
export function effectiveAnnotations(own: Readonly<Record<string, unknown>>, s: ControllerSettings): EffectiveAnnotations {
  // A canary Ingress takes its main Ingress's policies (routes.ts mergeCanaries): defaults would only be reported as
  // its own ignored annotations.
  const canary = own[`${NGINX_PREFIX}canary`];
  if (s === NO_CONTROLLER_SETTINGS || (typeof canary === 'string' && goBool(canary) === true))
    return { annotations: own as Record<string, unknown>, ignored: [] };
  const out: Record<string, unknown> = { ...s.annotationDefaults };
  if (ALLOWLIST_NAMES.some((k) => Object.hasOwn(own, k))) for (const k of ALLOWLIST_NAMES) delete out[k];
  const ignored: string[] = [];
  let global = false;
  if (s.globalAuth !== null) {
    const optOut = own[ENABLE_GLOBAL_AUTH];
    const off = typeof optOut === 'string' && goBool(optOut) === false;
    global = !off && !Object.hasOwn(own, AUTH_URL);
    if (global) Object.assign(out, s.globalAuth);
  }
  for (const [k, v] of Object.entries(own)) {
    if (s.globalAuth !== null && k === ENABLE_GLOBAL_AUTH) continue;
    if (global && GLOBAL_AUTH_COMPANIONS.has(k)) {
      ignored.push(k);
      continue;
    }
    out[k] = v;
  }
  return { annotations: out, ignored };
}
