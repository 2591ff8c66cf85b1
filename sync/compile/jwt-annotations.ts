// portico.dev/auth-jwt-* → the route's JWT policy, without its keys yet (jwt-keys.ts fills them in once the
// ConfigMaps, Secrets and fetched URLs are known). Portico's own annotations: ingress-nginx has no JWT (its docs
// list none; the NGINX Plus-only `auth_jwt` is not in the open-source controller), so the rules here are
// Portico's, and every value that does not parse fails closed (503), as the ingress-nginx annotations do.
import {
  JWT_ALGORITHMS,
  JWT_CLAIM_NAME,
  JWT_TOKEN_PARAM,
  type JwtAlgorithm,
  type JwtClaimHeader,
  type JwtPolicy,
  type JwtTokenFrom,
  MAX_JWT_CLAIM_HEADERS,
  MAX_JWT_CLOCK_SKEW,
} from '../../gateway/table/jwt.ts';
import { realmProblem } from '../../gateway/table/basic-auth.ts';
import { parseCidr } from '../../gateway/table/cidr.ts';
import { claimHeaderProblem } from '../../gateway/table/validate-jwt.ts';
import { PORTICO_PREFIX } from './annotation-prefixes.ts';
import { commaList } from './annotation-values.ts';
import { secretRef } from './basic-auth.ts';
import type { Fields } from './objects.ts';

const J = (name: string): string => `${PORTICO_PREFIX}auth-jwt-${name}`;
export const JWT_ANNOTATIONS = {
  url: J('jwks-url'),
  configMap: J('jwks-configmap'),
  secret: J('jwks-secret'),
  issuer: J('issuer'),
  audiences: J('audiences'),
  algorithms: J('algorithms'),
  clockSkew: J('clock-skew'),
  claimsToHeaders: J('claims-to-headers'),
  tokenFrom: J('token-from'),
  realm: J('realm'),
} as const;
const SOURCES = [JWT_ANNOTATIONS.url, JWT_ANNOTATIONS.configMap, JWT_ANNOTATIONS.secret] as const;
/** The key (`jwks.json`) a ConfigMap or Secret holds the JWK Set under. */
export const JWKS_KEY = 'jwks.json';
const MAX_TEXT = 2048;

/** Where the keys come from, as written (the namespace is completed by jwt-keys.ts). */
export type JwksSource = { kind: 'url'; url: string } | { kind: 'configmap' | 'secret'; namespace?: string; name: string };

/** Why a JWKS URL is not one the agent fetches, or null. https only: the keys decide who gets in, and a key set
 * read over plain HTTP could be replaced on the way. Plain http only to a loopback address (a sidecar, or a test),
 * where nothing is on the way. No credentials in the URL: it is shown in diagnostics and the table. */
export function jwksUrlProblem(url: string): string | null {
  if (url.length > MAX_TEXT) return `is longer than ${MAX_TEXT} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.username !== '' || u.password !== '') return 'carries credentials';
  if (u.hash !== '') return 'has a fragment';
  if (u.protocol === 'https:') return null;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || (parseCidr(host) !== null && /^(127\.|::1$)/.test(host));
  if (u.protocol === 'http:' && loopback) return null;
  return u.protocol === 'http:' ? 'is plain http to a host other than loopback (https is required)' : 'is not an https URL';
}

/** The source annotation's value → where the keys come from, or why not. */
export function jwksSource(key: string, value: string): JwksSource | { error: string } {
  if (key === JWT_ANNOTATIONS.url) {
    const why = jwksUrlProblem(value);
    return why === null ? { kind: 'url', url: value } : { error: `the URL ${why}` };
  }
  const ref = secretRef(value);
  if (ref === null)
    return { error: `it is not the name of a ${key === JWT_ANNOTATIONS.secret ? 'Secret' : 'ConfigMap'}, or namespace/name` };
  return { kind: key === JWT_ANNOTATIONS.secret ? 'secret' : 'configmap', ...ref };
}

export interface ParsedJwt {
  /** `keys` empty and `source` as written until jwt-keys.ts resolves them. */
  policy: JwtPolicy;
  source: JwksSource;
  /** The annotation the keys come from: what fails closed when they cannot be had. */
  sourceKey: string;
  keys: string[];
}

function parseAlgorithms(v: string): JwtAlgorithm[] | string {
  const list = commaList(v);
  if (list.length === 0) return 'it names no algorithm';
  for (const a of list) {
    if (a.toLowerCase() === 'none') return 'algorithm "none" is never allowed (an unsigned token would pass)';
    if (/^HS(256|384|512)$/.test(a))
      return `${a} needs a symmetric ("oct") key, which Portico never carries in the table (only public keys); use an asymmetric algorithm`;
    if (!JWT_ALGORITHMS.includes(a as JwtAlgorithm)) return `${JSON.stringify(a)} is not one of ${JWT_ALGORITHMS.join(', ')}`;
  }
  return [...(list as JwtAlgorithm[])].sort();
}

function parseClaims(v: string): JwtClaimHeader[] | string {
  const entries = commaList(v);
  if (entries.length === 0) return 'it names no claim';
  if (entries.length > MAX_JWT_CLAIM_HEADERS) return `it names ${entries.length} claims (at most ${MAX_JWT_CLAIM_HEADERS})`;
  const out: JwtClaimHeader[] = [];
  for (const e of entries) {
    const colon = e.indexOf(':');
    const claim = colon < 0 ? '' : e.slice(0, colon).trim();
    const header =
      colon < 0
        ? ''
        : e
            .slice(colon + 1)
            .trim()
            .toLowerCase();
    if (!JWT_CLAIM_NAME.test(claim)) return `${JSON.stringify(e)} is not "claim:Header-Name"`;
    const why = claimHeaderProblem(header);
    if (why !== null) return `${JSON.stringify(header)} ${why}`;
    if (out.some((c) => c.header === header)) return `header ${JSON.stringify(header)} is named twice`;
    out.push({ claim, header });
  }
  return out;
}

function parseTokenFrom(v: string): JwtTokenFrom | string {
  if (v === 'header') return { kind: 'header' };
  const m = /^(cookie|query):(.+)$/.exec(v);
  if (m === null || !JWT_TOKEN_PARAM.test(m[2]!)) return 'it is not "header", "cookie:NAME" or "query:NAME"';
  return { kind: m[1] as 'cookie' | 'query', name: m[2]! };
}

/**
 * The portico.dev/auth-jwt-* annotations → the policy, or null when one of them does not parse (each such
 * annotation is passed to `fail`: 503). Read when any of them is set; exactly one key source is required.
 */
export function parseJwt(annotations: Fields, consume: (key: string) => void, fail: (key: string, why: string) => void): ParsedJwt | null {
  const present = Object.values(JWT_ANNOTATIONS).filter((k) => Object.hasOwn(annotations, k));
  if (present.length === 0) return null;
  for (const k of present) consume(k);
  let ok = true;
  const bad = (key: string, why: string): void => {
    ok = false;
    fail(key, why);
  };
  const value = (k: string): string | null => {
    const v = annotations[k];
    if (typeof v !== 'string' || v.trim() === '') {
      bad(k, 'it is empty');
      return null;
    }
    return v.trim();
  };
  const sources = SOURCES.filter((k) => present.includes(k));
  if (sources.length !== 1) {
    const which = SOURCES.map((s) => JSON.stringify(s)).join(', ');
    bad(
      sources[1] ?? present[0]!,
      sources.length === 0 ? `JWT verification needs its keys: set one of ${which}` : `set exactly one of ${which}`,
    );
    return null;
  }
  const sourceKey = sources[0]!;
  const raw = value(sourceKey);
  const source = raw === null ? null : jwksSource(sourceKey, raw);
  if (source !== null && 'error' in source) bad(sourceKey, source.error);
  const read = <T>(key: string, parse: (v: string) => T | string): T | undefined => {
    if (!present.includes(key)) return undefined;
    const v = value(key);
    if (v === null) return undefined;
    const r = parse(v);
    if (typeof r === 'string') {
      bad(key, r);
      return undefined;
    }
    return r;
  };
  const A = JWT_ANNOTATIONS;
  const algorithms = read(A.algorithms, parseAlgorithms) ?? [...JWT_ALGORITHMS].sort();
  const issuer = read(A.issuer, (v) => (v.length > MAX_TEXT ? `it is longer than ${MAX_TEXT} characters` : { v })) ?? undefined;
  const audiences = read(A.audiences, (v) => {
    const l = commaList(v);
    return l.length === 0
      ? 'it names no audience'
      : l.length > 32
        ? 'it names more than 32 audiences'
        : l.some((a) => a.length > MAX_TEXT)
          ? 'an audience is too long'
          : l;
  });
  const clockSkew =
    read(A.clockSkew, (v) =>
      /^\d{1,4}$/.test(v) && Number(v) <= MAX_JWT_CLOCK_SKEW ? { n: Number(v) } : `it is not whole seconds from 0 to ${MAX_JWT_CLOCK_SKEW}`,
    )?.n ?? 0;
  const claimsToHeaders = read(A.claimsToHeaders, parseClaims);
  const tokenFrom = read(A.tokenFrom, parseTokenFrom) ?? { kind: 'header' };
  let realm = '';
  if (present.includes(A.realm)) {
    const r = annotations[A.realm];
    const why = typeof r !== 'string' ? 'it is not text' : realmProblem(r);
    if (why !== null) bad(A.realm, why);
    else realm = r as string;
  }
  if (!ok || source === null || 'error' in source) return null;
  const policy: JwtPolicy = {
    source: source.kind === 'url' ? `url:${source.url}` : `${source.kind}:${raw}`,
    keys: [],
    algorithms,
    clockSkew,
    tokenFrom,
    realm,
    ...(issuer === undefined ? {} : { issuer: issuer.v }),
    ...(audiences === undefined ? {} : { audiences }),
    ...(claimsToHeaders === undefined ? {} : { claimsToHeaders }),
  };
  return { policy, source, sourceKey, keys: present };
}
