// The CORS policy's grammar and validate() for it. Origins are parsed into typed parts (scheme, host, port, a
// one-label wildcard) here, once, for the compiler, validate() and the edge alike: an origin is compared part by
// part, never through a regular expression built from a user's text (ingress-nginx turns cors-allow-origin into an
// nginx regex, buildCorsOriginRegex in its template helpers).
import { isRecord } from './names.ts';

/** An allowed origin (cors-allow-origin), or the Origin of a request, in parts. */
export type OriginParts =
  | { kind: 'null' }
  | {
      kind: 'host';
      /** Lower-case scheme, without `://`. */
      scheme: string;
      /** Lower-case host; for a wildcard, what follows `*.`. */
      host: string;
      /** The port as written (no leading zero), or null when the origin names none. */
      port: string | null;
      /** `scheme://*.host`: one label in place of `*` (ingress-nginx: `[A-Za-z0-9-]+`). */
      wildcard: boolean;
    };

const SCHEME = /^[a-z][a-z0-9+.-]{0,31}$/;
const LABEL = /^[a-z0-9-]{1,63}$/;
const PORT = /^(?:0|[1-9]\d{0,4})$/;
const ORIGIN = /^([^:/]+):\/\/([^/?#:]*)(?::([^/?#:]*))?$/;

function hostName(host: string): boolean {
  return host.length > 0 && host.length <= 253 && host.split('.').every((l) => LABEL.test(l));
}

/** `scheme://host[:port]`, `null` and, when `wildcard` is allowed, `scheme://*.host[:port]`, case-insensitive;
 * null for anything else (a path, credentials, an empty or bracketed host, a port over 65535). */
export function parseOrigin(text: string, wildcard: boolean): OriginParts | null {
  const t = text.toLowerCase();
  if (t === 'null') return { kind: 'null' };
  const m = ORIGIN.exec(t);
  if (m === null) return null;
  const [, scheme, rawHost, port] = m as unknown as [string, string, string, string | undefined];
  if (!SCHEME.test(scheme)) return null;
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) return null;
  const isWildcard = rawHost.startsWith('*.');
  if (isWildcard && !wildcard) return null;
  const host = isWildcard ? rawHost.slice(2) : rawHost;
  if (!hostName(host)) return null;
  return { kind: 'host', scheme, host, port: port ?? null, wildcard: isWildcard };
}

/** The canonical (lower-case) text of an origin, as the table stores it. */
export function originText(o: OriginParts): string {
  if (o.kind === 'null') return 'null';
  return `${o.scheme}://${o.wildcard ? '*.' : ''}${o.host}${o.port === null ? '' : `:${o.port}`}`;
}

/** Whether a request's Origin (parsed without wildcard) is the allowed origin `allowed`: the same scheme, host and
 * port (a port written on one side only never matches: cors.go "should not allow - single origin with port and
 * origin without port"), a wildcard standing for exactly one label (cors.go "should not allow - unmatching origin
 * with wildcard origin (2 subdomains)"). */
export function originAllowed(allowed: OriginParts, origin: OriginParts): boolean {
  if (allowed.kind === 'null' || origin.kind === 'null') return allowed.kind === origin.kind;
  if (allowed.scheme !== origin.scheme || allowed.port !== origin.port) return false;
  if (!allowed.wildcard) return allowed.host === origin.host;
  const label = origin.host.length - allowed.host.length - 1;
  return label > 0 && origin.host.endsWith(`.${allowed.host}`) && !origin.host.slice(0, label).includes('.');
}

/** cors-allow-methods entries (ingress-nginx: letters only). */
export const CORS_METHOD = /^[A-Za-z]{1,32}$/;
/** cors-allow-headers entries (ingress-nginx: letters, digits, `-` and `_`). */
export const CORS_HEADER = /^[A-Za-z0-9_-]{1,64}$/;
/** cors-expose-headers entries: a header name or `*`. */
export const CORS_EXPOSE = /^(?:[A-Za-z0-9_-]{1,64}|\*)$/;
export const MAX_CORS_LIST = 64;
/** The largest Access-Control-Max-Age accepted (2^31 - 1 seconds; browsers cap far lower anyway). */
export const MAX_CORS_AGE = 2147483647;

function list(v: unknown, entry: RegExp): boolean {
  return Array.isArray(v) && v.length > 0 && v.length <= MAX_CORS_LIST && v.every((e) => typeof e === 'string' && entry.test(e));
}

export function checkCors(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  if (v.origins !== undefined) {
    const ok =
      Array.isArray(v.origins) &&
      v.origins.length > 0 &&
      v.origins.length <= MAX_CORS_LIST &&
      v.origins.every((o) => {
        if (typeof o !== 'string') return false;
        const p = parseOrigin(o, true);
        return p !== null && originText(p) === o;
      });
    if (!ok)
      bad(
        `${at}.origins`,
        `must be a list of 1 to ${MAX_CORS_LIST} lower-case origins (scheme://host[:port], scheme://*.host[:port] or null)`,
      );
  }
  if (!list(v.methods, CORS_METHOD)) bad(`${at}.methods`, `must be a list of 1 to ${MAX_CORS_LIST} methods`);
  if (!list(v.allowHeaders, CORS_HEADER)) bad(`${at}.allowHeaders`, `must be a list of 1 to ${MAX_CORS_LIST} header names`);
  if (v.exposeHeaders !== undefined && !list(v.exposeHeaders, CORS_EXPOSE))
    bad(`${at}.exposeHeaders`, `must be a list of 1 to ${MAX_CORS_LIST} header names or *`);
  if (typeof v.credentials !== 'boolean') bad(`${at}.credentials`, 'must be a boolean');
  if (!Number.isSafeInteger(v.maxAge) || (v.maxAge as number) < 0 || (v.maxAge as number) > MAX_CORS_AGE)
    bad(`${at}.maxAge`, `must be a whole number of seconds from 0 to ${MAX_CORS_AGE}`);
}
