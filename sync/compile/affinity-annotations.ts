// ingress-nginx's balancing annotations (internal/ingress/annotations/sessionaffinity, upstreamhashby,
// loadbalancing) → the route's typed `affinity` and `balance` policies (gateway/table/schema.ts):
// affinity (only `cookie`), affinity-mode, session-cookie-name, -path, -domain, -secure, -samesite,
// -conditional-samesite-none, -expires, -max-age, -change-on-failure; upstream-hash-by, -subset, -subset-size;
// load-balance (round_robin; ewma is accepted and balanced round robin, with a warning).
//
// Routing annotations, not access control: a malformed value is an InvalidAnnotation warning naming what applies
// instead (ingress-nginx logs and falls back to its default the same way, sessionaffinity/main.go).
import type { AffinityPolicy, BalancePolicy } from '../../gateway/table/schema.ts';
import {
  COOKIE_DOMAIN,
  COOKIE_NAME,
  COOKIE_PATH,
  MAX_COOKIE_SECONDS,
  MAX_HASH_KEY,
  MAX_SUBSET_SIZE,
} from '../../gateway/table/validate-affinity.ts';
import { parseTemplate } from '../../gateway/table/variables.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { annotationReader, strictBool } from './annotation-reader.ts';
import type { AnnotationProblem } from './annotations.ts';
import type { Fields } from './objects.ts';

const A = (name: string): string => `${NGINX_PREFIX}${name}`;
const AFFINITY = A('affinity');
const MODE = A('affinity-mode');
const NAME = A('session-cookie-name');
const PATH = A('session-cookie-path');
const DOMAIN = A('session-cookie-domain');
const SECURE = A('session-cookie-secure');
const SAMESITE = A('session-cookie-samesite');
const CONDITIONAL = A('session-cookie-conditional-samesite-none');
const EXPIRES = A('session-cookie-expires');
const MAX_AGE = A('session-cookie-max-age');
const CHANGE = A('session-cookie-change-on-failure');
/** Removed from ingress-nginx (0.24); still found in manifests (test/e2e/annotations/affinitymode.go sets it). */
const HASH = A('session-cookie-hash');
const HASH_BY = A('upstream-hash-by');
const SUBSET = A('upstream-hash-by-subset');
const SUBSET_SIZE = A('upstream-hash-by-subset-size');
const LOAD_BALANCE = A('load-balance');

/** sessionaffinity/main.go defaultAffinityCookieName. */
export const DEFAULT_COOKIE_NAME = 'INGRESSCOOKIE';
/** upstreamhashby/main.go: the subset size when upstream-hash-by-subset-size is not set. */
const DEFAULT_SUBSET_SIZE = 3;

/** The affinity of an Ingress before its routes fill in the cookie path (nginx's $location_path). */
export type AffinityRequest = Omit<AffinityPolicy, 'path'> & { path?: string };

export interface ParsedAffinity {
  affinity?: AffinityRequest;
  balance?: BalancePolicy;
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

const seconds = (raw: unknown): number | null =>
  typeof raw === 'string' && /^\s*\d{1,10}\s*$/.test(raw) && Number(raw) <= MAX_COOKIE_SECONDS ? Number(raw) : null;

/** `regex`: the Ingress uses regular-expression paths (use-regex or rewrite-target). */
export function parseAffinityAnnotations(annotations: Fields, regex: boolean): ParsedAffinity {
  const reader = annotationReader(annotations);
  const { consumed, problems } = reader;
  const read = <T>(key: string, parse: (raw: unknown) => T | null, expected: string, instead: string): T | undefined =>
    reader.read(key, parse, expected, `${instead} applies`);
  const out: ParsedAffinity = { consumed, problems };
  // Every session-cookie annotation is read (and checked) whether or not affinity is on, so none is reported unknown.
  const on = read(AFFINITY, (r) => (typeof r === 'string' && r.trim() === 'cookie' ? true : null), '"cookie"', 'no session affinity');
  const mode = read(MODE, (r) => (r === 'balanced' || r === 'persistent' ? r : null), '"balanced" or "persistent"', '"balanced"');
  const name = read(
    NAME,
    (r) => (typeof r === 'string' && COOKIE_NAME.test(r.trim()) ? r.trim() : null),
    'a cookie name (an RFC 6265 token)',
    DEFAULT_COOKIE_NAME,
  );
  const path = read(
    PATH,
    (r) => (typeof r === 'string' && COOKIE_PATH.test(r.trim()) ? r.trim() : null),
    'a path starting with "/", without spaces or ";"',
    "the route's path",
  );
  const domain = read(
    DOMAIN,
    (r) => (typeof r === 'string' && r.length <= 253 && COOKIE_DOMAIN.test(r.trim()) ? r.trim() : null),
    'a domain name',
    'no Domain attribute',
  );
  const secure = read(SECURE, strictBool, '"true" or "false"', 'Secure on HTTPS requests only');
  const sameSite = read(
    SAMESITE,
    (r) => {
      const v = typeof r === 'string' ? r.trim().toLowerCase() : '';
      return v === 'none' ? 'None' : v === 'lax' ? 'Lax' : v === 'strict' ? 'Strict' : null;
    },
    '"None", "Lax" or "Strict"',
    'no SameSite attribute',
  );
  const conditional = read(CONDITIONAL, strictBool, '"true" or "false"', '"false"');
  const expires = read(EXPIRES, seconds, `a whole number of seconds up to ${MAX_COOKIE_SECONDS}`, 'no Expires attribute');
  const maxAge = read(MAX_AGE, seconds, `a whole number of seconds up to ${MAX_COOKIE_SECONDS}`, 'no Max-Age attribute');
  const change = read(CHANGE, strictBool, '"true" or "false"', '"false"');
  if (Object.hasOwn(annotations, HASH)) {
    consumed.add(HASH);
    problems.push({
      code: 'UnsupportedAnnotation',
      message: `annotation ${JSON.stringify(HASH)} has no effect: ingress-nginx removed it; the cookie names its endpoint by a salted MD5 as ingress-nginx does`,
    });
  }
  if (on === true) {
    out.affinity = {
      mode: mode ?? 'balanced',
      name: name ?? DEFAULT_COOKIE_NAME,
      ...(path === undefined ? {} : { path }),
      ...(domain === undefined ? {} : { domain }),
      ...(secure === true ? { secure: true as const } : {}),
      ...(sameSite === undefined ? {} : { sameSite }),
      ...(conditional === true ? { conditionalSameSiteNone: true as const } : {}),
      ...(expires === undefined ? {} : { expiresSeconds: expires }),
      ...(maxAge === undefined ? {} : { maxAgeSeconds: maxAge }),
      ...(change === true ? { changeOnFailure: true as const } : {}),
    };
    // test/e2e/annotations/affinity.go "should warn user when use-regex is true and session-cookie-path is not set".
    if (regex && path === undefined)
      problems.push({
        code: 'InvalidAnnotation',
        message: `session-cookie-path should be set when use-regex is true: the cookie's Path is the regular expression as written (or "/" where that is not a cookie path)`,
      });
  }

  const hashBy = read(
    HASH_BY,
    (r) => {
      if (typeof r !== 'string' || r.trim() === '' || r.length > MAX_HASH_KEY) return null;
      const t = parseTemplate(r.trim());
      return t.unknown.length === 0 && t.parts.some((p) => typeof p !== 'string') ? r.trim() : null;
    },
    `a key of nginx variables Portico has (see gateway/table/variables.ts), up to ${MAX_HASH_KEY} characters`,
    'round robin',
  );
  const subset = read(SUBSET, strictBool, '"true" or "false"', '"false"');
  const size = read(
    SUBSET_SIZE,
    (r) => (typeof r === 'string' && /^\s*\d{1,4}\s*$/.test(r) && Number(r) >= 1 && Number(r) <= MAX_SUBSET_SIZE ? Number(r) : null),
    `a whole number from 1 to ${MAX_SUBSET_SIZE}`,
    String(DEFAULT_SUBSET_SIZE),
  );
  if (hashBy !== undefined) {
    if (out.affinity !== undefined)
      problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(HASH_BY)} is ignored: ${JSON.stringify(AFFINITY)} is "cookie", and cookie affinity wins (ingress-nginx's balancer.lua)`,
      });
    else out.balance = { hashBy, ...(subset === true ? { subsetSize: size ?? DEFAULT_SUBSET_SIZE } : {}) };
  }
  const lb = read(LOAD_BALANCE, (r) => (r === 'round_robin' || r === 'ewma' ? r : null), '"round_robin" or "ewma"', 'round robin');
  if (lb === 'ewma')
    problems.push({
      code: 'UnsupportedAnnotation',
      message: `annotation ${JSON.stringify(LOAD_BALANCE)} is "ewma", which Portico does not implement: round robin is used`,
    });
  return out;
}

/** The cookie path of one route: session-cookie-path, else the path as the Ingress wrote it when that is a cookie
 * path (a regular expression may not be), else "/". */
export function affinityFor(a: AffinityRequest, written: string): AffinityPolicy {
  const path = a.path ?? (COOKIE_PATH.test(written) ? written : '/');
  return { ...a, path };
}
