// validate() for a route's session affinity and hashing (RoutePolicies.affinity, balance): every attribute that
// ends up in a Set-Cookie header is checked for the characters RFC 6265 allows there, so a table can never make a
// worker write a header that smuggles another attribute or a second cookie; the hash key names only variables a
// worker knows. Nothing else may appear inside the objects.
import { isRecord, isWhole, onlyKeys } from './names.ts';
import { parseTemplate } from './variables.ts';

/** Longest session-cookie-expires / -max-age: ten years in seconds (ingress-nginx takes any whole number). */
export const MAX_COOKIE_SECONDS = 10 * 366 * 86_400;
/** Largest upstream-hash-by-subset-size. */
export const MAX_SUBSET_SIZE = 1_000;
/** Longest upstream-hash-by template. */
export const MAX_HASH_KEY = 1_024;

/** RFC 6265 4.1.1 cookie-name (an RFC 2616 token). */
export const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
/** RFC 6265 path-value: any CHAR but controls and `;`; Portico also wants it to start with `/` and have no space. */
export const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]{0,1023}$/;
/** A domain-value: a host name, with or without a leading dot. */
export const COOKIE_DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

type Bad = (at: string, message: string) => void;

export function checkAffinity(v: unknown, at: string, bad: Bad): void {
  if (!isRecord(v)) return bad(at, 'must be { mode, name, ... }');
  onlyKeys(
    v,
    [
      'mode',
      'name',
      'path',
      'domain',
      'secure',
      'sameSite',
      'conditionalSameSiteNone',
      'expiresSeconds',
      'maxAgeSeconds',
      'changeOnFailure',
    ],
    at,
    bad,
  );
  if (v.mode !== 'balanced' && v.mode !== 'persistent') bad(`${at}.mode`, 'must be "balanced" or "persistent"');
  if (typeof v.name !== 'string' || !COOKIE_NAME.test(v.name)) bad(`${at}.name`, 'must be a cookie name (an RFC 6265 token)');
  if (typeof v.path !== 'string' || !COOKIE_PATH.test(v.path))
    bad(`${at}.path`, 'must be a cookie path: "/" then printable characters other than ";" and space');
  if (v.domain !== undefined && (typeof v.domain !== 'string' || v.domain.length > 253 || !COOKIE_DOMAIN.test(v.domain)))
    bad(`${at}.domain`, 'must be a domain name');
  if (v.secure !== undefined && v.secure !== true) bad(`${at}.secure`, 'must be true when present');
  if (v.sameSite !== undefined && v.sameSite !== 'None' && v.sameSite !== 'Lax' && v.sameSite !== 'Strict')
    bad(`${at}.sameSite`, 'must be "None", "Lax" or "Strict"');
  if (v.conditionalSameSiteNone !== undefined && v.conditionalSameSiteNone !== true)
    bad(`${at}.conditionalSameSiteNone`, 'must be true when present');
  if (v.changeOnFailure !== undefined && v.changeOnFailure !== true) bad(`${at}.changeOnFailure`, 'must be true when present');
  for (const k of ['expiresSeconds', 'maxAgeSeconds'] as const) {
    if (v[k] !== undefined && !isWhole(v[k], 0, MAX_COOKIE_SECONDS))
      bad(`${at}.${k}`, `must be a whole number of seconds from 0 to ${MAX_COOKIE_SECONDS}`);
  }
}

export function checkBalance(v: unknown, at: string, bad: Bad, affinity: unknown): void {
  if (!isRecord(v)) return bad(at, 'must be { hashBy, subsetSize? }');
  onlyKeys(v, ['hashBy', 'subsetSize'], at, bad);
  if (affinity !== undefined) bad(at, 'a route with cookie affinity is not also hashed (affinity wins in ingress-nginx)');
  if (typeof v.hashBy !== 'string' || v.hashBy.length === 0 || v.hashBy.length > MAX_HASH_KEY)
    bad(`${at}.hashBy`, `must be a template of 1 to ${MAX_HASH_KEY} characters`);
  else {
    const { parts, unknown } = parseTemplate(v.hashBy);
    if (unknown.length > 0) bad(`${at}.hashBy`, `names variables Portico does not have: ${unknown.map((u) => `$${u}`).join(', ')}`);
    else if (!parts.some((p) => typeof p !== 'string')) bad(`${at}.hashBy`, 'names no variable: every request would reach one endpoint');
  }
  if (v.subsetSize !== undefined && !isWhole(v.subsetSize, 1, MAX_SUBSET_SIZE))
    bad(`${at}.subsetSize`, `must be a whole number from 1 to ${MAX_SUBSET_SIZE}`);
}
