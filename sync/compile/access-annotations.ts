// The access-control annotations Portico enforces, parsed into the route's typed access policy. A value that
// does not parse never means "no rule": the routes fail closed (503) with an AccessControlNotEnforced
// diagnostic naming the annotation, the value and why, as ingress-nginx denies a location whose access
// annotation does not parse (internal/ingress/errors LocationDeniedError: "503 (location was denied)").
import { MAX_CIDRS, parseCidr } from '../../gateway/table/cidr.ts';
import type { AccessPolicy, ExternalAuthPolicy } from '../../gateway/table/schema.ts';
import { isCopyableHeader } from '../../gateway/table/header-names.ts';
import { authUrlProblem } from '../../gateway/table/validate-access.ts';
import { parseTemplate } from '../../gateway/table/variables.ts';
import type { UnenforcedGuard } from './access-control.ts';
import { proxySetHeadersRef } from './auth-proxy-headers.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { commaList } from './annotation-values.ts';
import { parseBasicAuth } from './basic-auth.ts';
import { parseCors } from './cors-annotations.ts';
import { CUSTOM_HEADERS, customHeadersRef } from './custom-headers.ts';
import { parseGlobalRateLimit } from './global-rate-limit-annotations.ts';
import { parseJwt } from './jwt-annotations.ts';
import { type LimitParsing, parseLimitAnnotations } from './limit-annotations.ts';
import { show, type Fields } from './objects.ts';
import type { DiagnosticCode } from './types.ts';

export interface ParsedAccess {
  /** Absent when the Ingress asks for no access rule Portico enforces (or every one failed to parse). */
  access?: AccessPolicy;
  /** The annotations the policy came from: what a fallback or default backend of this Ingress cannot enforce. */
  keys: string[];
  /** Annotations whose value does not parse: the Ingress's routes answer 503. */
  malformed: UnenforcedGuard[];
  /** Every annotation read here (enforced, accepted or malformed): none of them is also an unenforced guard. */
  consumed: Set<string>;
  problems: { code: DiagnosticCode; message: string }[];
}

const ALLOW = `${NGINX_PREFIX}allowlist-source-range`;
/** The older name of the allow list; ingress-nginx reads it when the new name is absent (an alias). */
const WHITELIST = `${NGINX_PREFIX}whitelist-source-range`;
const DENY = `${NGINX_PREFIX}denylist-source-range`;

const A = (name: string): string => `${NGINX_PREFIX}auth-${name}`;
const AUTH_URL = A('url');
/** What auth-url's companions are read as; each is read only when auth-url is set, as in ingress-nginx's
 * authreq parser (internal/ingress/annotations/authreq), where they mean nothing without it. */
const AUTH_COMPANIONS = {
  method: A('method'),
  signin: A('signin'),
  signinRedirectParam: A('signin-redirect-param'),
  requestRedirect: A('request-redirect'),
  responseHeaders: A('response-headers'),
  alwaysSetCookie: A('always-set-cookie'),
  cacheKey: A('cache-key'),
  cacheDuration: A('cache-duration'),
  /** The ConfigMap itself is read by resolveAuthProxyHeaders (auth-proxy-headers.ts) once the ConfigMaps are known. */
  proxySetHeaders: A('proxy-set-headers'),
} as const;
/** Connection reuse to the auth service: Portico pools connections to it anyway, so these are accepted and
 * change nothing (nginx needs them to create an upstream block). */
const AUTH_KEEPALIVE = [A('keepalive'), A('keepalive-requests'), A('keepalive-timeout'), A('keepalive-share-vars')];

/** `10.0.0.0/8, 192.168.1.1,2001:db8::/32` → the entries, or the reason it is not a list of ranges. */
function parseRanges(raw: unknown): { ranges: string[] } | { error: string } {
  if (typeof raw !== 'string') return { error: 'it is not text' };
  const entries = commaList(raw);
  if (entries.length === 0) return { error: 'it names no address or range' };
  if (entries.length > MAX_CIDRS) return { error: `it names ${entries.length} ranges (at most ${MAX_CIDRS})` };
  const bad = entries.filter((e) => parseCidr(e) === null);
  if (bad.length > 0)
    return { error: `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a CIDR or an IP address` };
  return { ranges: entries };
}

export function parseAccessAnnotations(annotations: Fields): ParsedAccess {
  const out: ParsedAccess = { keys: [], malformed: [], problems: [], consumed: new Set() };
  const access: AccessPolicy = {};
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  const fail = (key: string, why: string): void => {
    out.malformed.push({ key, scope: 'routes' });
    out.problems.push({
      code: 'AccessControlNotEnforced',
      message: `annotation ${JSON.stringify(key)} has value ${show(annotations[key])}: ${why}, so the routes of this Ingress answer 503 (fail closed) instead of serving without the guard`,
    });
  };
  const ranges = (key: string, set: (r: string[]) => void): void => {
    out.consumed.add(key);
    const r = parseRanges(annotations[key]);
    if ('error' in r) return fail(key, r.error);
    out.keys.push(key);
    set(r.ranges);
  };
  if (has(DENY)) ranges(DENY, (r) => (access.deny = r));
  const allowKey = has(ALLOW) ? ALLOW : has(WHITELIST) ? WHITELIST : null;
  if (allowKey !== null) ranges(allowKey, (r) => (access.allow = r));
  if (allowKey === ALLOW && has(WHITELIST)) {
    out.consumed.add(WHITELIST);
    out.problems.push({
      code: 'UnsupportedAnnotation',
      message: `annotation ${JSON.stringify(WHITELIST)} is ignored: ${JSON.stringify(ALLOW)}, its newer name, is also set and applies (as in ingress-nginx)`,
    });
  }
  if (has(AUTH_URL)) {
    const note = (key: string, message: string): void =>
      void out.problems.push({ code: 'UnsupportedAnnotation', message: `annotation ${JSON.stringify(key)} ${message}` });
    const auth = parseExternalAuth(annotations, (k) => out.consumed.add(k), fail, note);
    if (auth !== null) {
      access.externalAuth = auth.policy;
      out.keys.push(...auth.keys);
    }
  }
  if (has(`${NGINX_PREFIX}auth-type`)) {
    const basic = parseBasicAuth(annotations, (k) => out.consumed.add(k), fail);
    if (basic !== null) {
      access.basicAuth = basic.policy;
      out.keys.push(...basic.keys);
    }
  }
  const jwt = parseJwt(annotations, (k) => out.consumed.add(k), fail);
  if (jwt !== null) {
    access.jwt = jwt.policy;
    out.keys.push(...jwt.keys);
  }
  const cors = parseCors(
    annotations,
    (k) => out.consumed.add(k),
    fail,
    (key, message) => out.problems.push({ code: 'UnsupportedAnnotation', message: `annotation ${JSON.stringify(key)} ${message}` }),
  );
  if (cors !== null) {
    access.cors = cors.policy;
    out.keys.push(...cors.keys);
  }
  // custom-headers: the ConfigMap itself is read by resolveCustomHeaders (custom-headers.ts) once the ConfigMaps are
  // known; here only whether the value names one (ingress-nginx's validator for it is BasicCharsRegex).
  if (has(CUSTOM_HEADERS)) {
    out.consumed.add(CUSTOM_HEADERS);
    const v = annotations[CUSTOM_HEADERS];
    if (typeof v !== 'string' || customHeadersRef(v) === null) fail(CUSTOM_HEADERS, 'it is not the name of a ConfigMap, or namespace/name');
    else out.keys.push(CUSTOM_HEADERS);
  }
  const limitParsing: LimitParsing = {
    consume: (k) => out.consumed.add(k),
    fail,
    note: (key, message) =>
      void out.problems.push({ code: 'UnsupportedAnnotation', message: `annotation ${JSON.stringify(key)} ${message}` }),
    ranges: parseRanges,
  };
  const limits = parseLimitAnnotations(annotations, limitParsing);
  if (limits !== null) {
    access.limits = limits.policy;
    out.keys.push(...limits.keys);
  }
  const global = parseGlobalRateLimit(annotations, limitParsing);
  if (global !== null) {
    access.globalRateLimit = global.policy;
    out.keys.push(...global.keys);
  }
  // satisfy (ingress-nginx's satisfy annotation: "any" or "all"): with nothing to choose between it changes nothing.
  const SATISFY = `${NGINX_PREFIX}satisfy`;
  if (has(SATISFY)) {
    out.consumed.add(SATISFY);
    const v = annotations[SATISFY];
    if (v !== 'any' && v !== 'all') fail(SATISFY, 'it is not "any" or "all"');
    else if (v === 'any' && (access.basicAuth !== undefined || access.externalAuth !== undefined || access.jwt !== undefined)) {
      access.satisfy = 'any';
      out.keys.push(SATISFY);
    }
  }
  if (
    access.deny !== undefined ||
    access.allow !== undefined ||
    access.externalAuth !== undefined ||
    access.cors !== undefined ||
    access.limits !== undefined ||
    access.globalRateLimit !== undefined ||
    access.basicAuth !== undefined ||
    access.jwt !== undefined
  )
    out.access = access;
  return out;
}

const METHODS = /^(GET|HEAD|POST|PUT|PATCH|DELETE|CONNECT|OPTIONS|TRACE)$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const QUERY_PARAM = /^[A-Za-z0-9._~-]{1,64}$/;
const BOOLEAN: Readonly<Record<string, boolean>> = { true: true, false: false };

/** nginx time (`30m`, `1h`, `90s`, `1d`, or `1h30m`) in seconds, or null. */
function parseNginxTime(text: string): number | null {
  if (!/^(\d+[smhd]?)+$/.test(text)) return null;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  let seconds = 0;
  for (const m of text.matchAll(/(\d+)([smhd]?)/g)) seconds += Number(m[1]) * unit[m[2] || 's']!;
  return seconds > 0 && seconds <= 30 * 86400 ? seconds : null;
}

/** `200 202 401 5m` (proxy_cache_valid's syntax: statuses, then a time; no status means 200, 301 and 302). */
function parseCacheDuration(text: string): Record<string, number> | null {
  const words = text.trim().split(/\s+/);
  const time = parseNginxTime(words.pop() ?? '');
  if (time === null || !words.every((w) => /^[1-5]\d\d$/.test(w))) return null;
  const statuses = words.length === 0 ? ['200', '301', '302'] : words;
  return Object.fromEntries(statuses.map((s) => [s, time]));
}

/** Variables a value may use (gateway/table/variables.ts), or why it may not. */
function templateProblem(value: string): string | null {
  const { unknown } = parseTemplate(value);
  return unknown.length === 0 ? null : `it uses ${unknown.map((u) => `$${u}`).join(', ')}, which Portico does not have`;
}

/** auth-url and its companions → the external auth policy, or null when auth-url itself is unusable. */
function parseExternalAuth(
  annotations: Fields,
  consume: (key: string) => void,
  fail: (key: string, why: string) => void,
  note: (key: string, message: string) => void,
): { policy: ExternalAuthPolicy; keys: string[] } | null {
  const text = (key: string): string | undefined => {
    consume(key);
    const v = annotations[key];
    if (typeof v !== 'string' || v.trim() === '') {
      fail(key, 'it is empty');
      return undefined;
    }
    return v.trim();
  };
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  for (const k of AUTH_KEEPALIVE) if (has(k)) consume(k);
  for (const k of Object.values(AUTH_COMPANIONS)) if (has(k)) consume(k);
  const url = text(AUTH_URL);
  if (url === undefined) return null;
  const urlProblem = authUrlProblem(url) ?? templateProblem(url);
  if (urlProblem !== null) {
    fail(AUTH_URL, `the URL ${urlProblem}`);
    return null;
  }
  const policy: ExternalAuthPolicy = { url };
  const keys = [AUTH_URL];
  const read = (key: string, parse: (v: string) => string | null, set: (v: string) => void): void => {
    if (!has(key)) return;
    const v = text(key);
    if (v === undefined) return;
    const why = parse(v);
    if (why !== null) return fail(key, why);
    keys.push(key);
    set(v);
  };
  const C = AUTH_COMPANIONS;
  read(
    C.method,
    (v) => (METHODS.test(v) ? null : 'it is not an HTTP method'),
    (v) => (policy.method = v),
  );
  read(
    C.signin,
    (v) => (/^https?:\/\//.test(v) ? templateProblem(v) : 'it is not an http or https URL'),
    (v) => (policy.signin = v),
  );
  read(
    C.signinRedirectParam,
    (v) => (QUERY_PARAM.test(v) ? null : 'it is not a query parameter name'),
    (v) => (policy.signinRedirectParam = v),
  );
  read(C.requestRedirect, templateProblem, (v) => (policy.requestRedirect = v));
  read(
    C.responseHeaders,
    (v) => {
      const names = commaList(v);
      const bad = names.filter((h) => !HEADER_NAME.test(h));
      const framing = names.filter((h) => HEADER_NAME.test(h) && !isCopyableHeader(h.toLowerCase()));
      return names.length === 0
        ? 'it names no header'
        : bad.length > 0
          ? `${bad.map((b) => JSON.stringify(b)).join(', ')} is not a header name`
          : framing.length > 0
            ? `${framing.map((b) => JSON.stringify(b)).join(', ')} may not be set by an auth service (a header that frames the request, belongs to one hop, or steers the edge)`
            : null;
    },
    (v) => (policy.responseHeaders = commaList(v.toLowerCase())),
  );
  read(
    C.proxySetHeaders,
    (v) => (proxySetHeadersRef(v) === null ? 'it is not the name of a ConfigMap, or namespace/name' : null),
    () => undefined,
  );
  read(
    C.alwaysSetCookie,
    (v) => (Object.hasOwn(BOOLEAN, v) ? null : 'it is not "true" or "false"'),
    (v) => {
      if (BOOLEAN[v]) policy.alwaysSetCookie = true;
    },
  );
  if (has(C.cacheKey)) {
    let seconds: Record<string, number> | null = { '200': 300, '202': 300, '401': 300 }; // ingress-nginx's default: 200 202 401 5m
    if (has(C.cacheDuration)) {
      const d = text(C.cacheDuration);
      seconds = d === undefined ? null : parseCacheDuration(d);
      if (d !== undefined && seconds === null) fail(C.cacheDuration, 'it is not "[status ...] time" (for example "200 202 401 5m")');
    }
    read(C.cacheKey, templateProblem, (key) => {
      if (seconds !== null) policy.cache = { key, seconds };
    });
    if (seconds !== null && policy.cache !== undefined && has(C.cacheDuration)) keys.push(C.cacheDuration);
  } else if (has(C.cacheDuration)) {
    note(C.cacheDuration, 'has no effect without auth-cache-key (as in ingress-nginx): answers are not cached');
  }
  return { policy, keys };
}
