// enable-cors and cors-* → the route's typed CORS policy, read as ingress-nginx's cors parser does
// (internal/ingress/annotations/cors) with the defaults of its annotation docs ("Enable CORS"). Where ingress-nginx
// quietly drops a value it cannot use (an origin that does not parse, a bad method list) and falls back to a
// default, Portico fails closed instead: a default may allow more than the Ingress asked for.
import type { CorsPolicy } from '../../gateway/table/schema.ts';
import {
  CORS_EXPOSE,
  CORS_HEADER,
  CORS_METHOD,
  MAX_CORS_AGE,
  MAX_CORS_LIST,
  type OriginParts,
  originText,
  parseOrigin,
} from '../../gateway/table/validate-cors.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { commaList, goBool } from './annotation-values.ts';
import type { Fields } from './objects.ts';

const ENABLE_CORS = `${NGINX_PREFIX}enable-cors`;
const C = (name: string): string => `${NGINX_PREFIX}cors-${name}`;
/** The cors-* annotations ingress-nginx reads; each means something only with enable-cors "true". */
const CORS_KEYS = {
  origin: C('allow-origin'),
  methods: C('allow-methods'),
  headers: C('allow-headers'),
  expose: C('expose-headers'),
  credentials: C('allow-credentials'),
  maxAge: C('max-age'),
} as const;

/** ingress-nginx's defaults (annotations docs, "Enable CORS"; internal/ingress/annotations/cors). */
const CORS_DEFAULTS = {
  methods: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
  allowHeaders: [
    'DNT',
    'Keep-Alive',
    'User-Agent',
    'X-Requested-With',
    'If-Modified-Since',
    'Cache-Control',
    'Content-Type',
    'Range',
    'Authorization',
  ],
  credentials: true,
  maxAge: 1728000,
} as const;

const quoted = (xs: readonly string[]): string => xs.map((x) => JSON.stringify(x)).join(', ');

/** A comma-separated list whose every entry matches `entry`; blank means the default (null), as ingress-nginx's
 * GetStringAnnotation refuses an empty value and the default applies. */
function parseList(text: string, entry: RegExp, what: string): { list: string[] | null } | { error: string } {
  const xs = commaList(text);
  if (xs.length === 0) return { list: null };
  if (xs.length > MAX_CORS_LIST) return { error: `it lists ${xs.length} entries (at most ${MAX_CORS_LIST})` };
  const bad = xs.filter((x) => !entry.test(x));
  if (bad.length > 0) return { error: `${quoted(bad)} ${bad.length === 1 ? 'is' : 'are'} not ${what}` };
  return { list: xs };
}

/** cors-allow-origin: null means every origin (`*`, a blank value, or no annotation). */
function parseOrigins(text: string): { origins: string[] | null; ignored: string[] } | { error: string } {
  const xs = commaList(text);
  // ingress-nginx: `*` anywhere in the list allows every origin and ends the list (cors.go "should not break
  // functionality with extra domain"); a blank value is `*` too (cors.go "should allow - missing origins").
  if (xs.length === 0) return { origins: null, ignored: [] };
  if (xs.includes('*')) return { origins: null, ignored: xs.filter((x) => x !== '*') };
  if (xs.length > MAX_CORS_LIST) return { error: `it lists ${xs.length} origins (at most ${MAX_CORS_LIST})` };
  const parsed = xs.map((x) => [x, parseOrigin(x, true)] as const);
  const bad = parsed.filter(([, p]) => p === null).map(([x]) => x);
  if (bad.length > 0)
    return {
      error: `${quoted(bad)} ${bad.length === 1 ? 'is' : 'are'} not an origin (scheme://host[:port], scheme://*.host[:port], null or *)`,
    };
  return { origins: [...new Set(parsed.map(([, p]) => originText(p as OriginParts)))], ignored: [] };
}

/** enable-cors and the cors-* annotations → the CORS policy, or null when CORS is off or a value does not parse
 * (the caller's `fail` then closes the routes). Every key read is passed to `consume`. */
export function parseCors(
  annotations: Fields,
  consume: (key: string) => void,
  fail: (key: string, why: string) => void,
  note: (key: string, message: string) => void,
): { policy: CorsPolicy; keys: string[] } | null {
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  const present = Object.values(CORS_KEYS).filter(has);
  for (const k of present) consume(k);
  if (!has(ENABLE_CORS)) {
    for (const k of present) note(k, 'has no effect without enable-cors: "true" (as in ingress-nginx); it is ignored');
    return null;
  }
  consume(ENABLE_CORS);
  const raw = annotations[ENABLE_CORS];
  const enabled = typeof raw === 'string' ? goBool(raw) : undefined;
  if (enabled === undefined) {
    fail(ENABLE_CORS, 'it is not "true" or "false"');
    return null;
  }
  if (!enabled) {
    for (const k of present) note(k, 'has no effect without enable-cors: "true" (as in ingress-nginx); it is ignored');
    return null;
  }
  const policy: CorsPolicy = {
    methods: [...CORS_DEFAULTS.methods],
    allowHeaders: [...CORS_DEFAULTS.allowHeaders],
    credentials: CORS_DEFAULTS.credentials,
    maxAge: CORS_DEFAULTS.maxAge,
  };
  const keys = [ENABLE_CORS];
  let ok = true;
  const read = (key: string, parse: (v: string) => string | null): void => {
    if (!has(key)) return;
    const v = annotations[key];
    const why = typeof v === 'string' ? parse(v) : 'it is not text';
    if (why !== null) {
      ok = false;
      return fail(key, why);
    }
    keys.push(key);
  };
  read(CORS_KEYS.origin, (v) => {
    const r = parseOrigins(v);
    if ('error' in r) return r.error;
    if (r.origins !== null) policy.origins = r.origins;
    if (r.ignored.length > 0)
      note(
        CORS_KEYS.origin,
        `lists "*": every origin is allowed, so ${quoted(r.ignored)} change${r.ignored.length === 1 ? 's' : ''} nothing (as in ingress-nginx)`,
      );
    return null;
  });
  const list = (key: string, entry: RegExp, what: string, set: (xs: string[]) => void) =>
    read(key, (v) => {
      const r = parseList(v, entry, what);
      if ('error' in r) return r.error;
      if (r.list !== null) set(r.list);
      return null;
    });
  list(CORS_KEYS.methods, CORS_METHOD, 'a method (letters only)', (xs) => (policy.methods = xs));
  list(CORS_KEYS.headers, CORS_HEADER, 'a header name (letters, digits, - and _)', (xs) => (policy.allowHeaders = xs));
  list(CORS_KEYS.expose, CORS_EXPOSE, 'a header name or *', (xs) => (policy.exposeHeaders = xs));
  read(CORS_KEYS.credentials, (v) => {
    const b = goBool(v);
    if (b === undefined) return 'it is not "true" or "false"';
    policy.credentials = b;
    return null;
  });
  read(CORS_KEYS.maxAge, (v) => {
    const t = v.trim();
    if (!/^\d{1,10}$/.test(t) || Number(t) > MAX_CORS_AGE) return `it is not a whole number of seconds from 0 to ${MAX_CORS_AGE}`;
    policy.maxAge = Number(t);
    return null;
  });
  return ok ? { policy, keys } : null;
}
