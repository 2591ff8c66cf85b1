// JWT verification at the edge (portico.dev/auth-jwt-*): a bearer token (RFC 6750) verified with jose's
// jwtVerify against the route's public keys, which came inside the signed table (createLocalJWKSet): no outbound
// call, ever, so a key rotation is a table change and a worker behaves the same on Node, Deno and workerd.
//
// Answers (RFC 6750 §3): no token → 401 `WWW-Authenticate: Bearer realm="..."` (no error code, §3.1: "the request
// lacks any authentication information"); a token that does not verify (signature, algorithm, `exp`/`nbf`, `iss`,
// `aud`, malformed) → 401 with `error="invalid_token"`; keys the runtime cannot use → 503 (fail closed).
import { createLocalJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { JwtPolicy } from '../table/jwt.ts';
import { arg, cookie } from './variables.ts';

/** What a request offers to the verifier. */
export interface JwtRequest {
  /** A request header by lower-case name, or null. */
  header(name: string): string | null;
  /** Query including its `?`, or "". */
  search: string;
}

export type JwtVerdict =
  | { kind: 'pass'; upstreamHeaders: [string, string | null][] }
  | { kind: 'respond'; status: 401 | 503; headers: [string, string][] };

/** A token longer than this is refused unread: identity providers' tokens are a few KiB. */
const MAX_TOKEN = 16 * 1024;
/** RFC 6750 §2.1: `Bearer` b64token. The scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;
/** A header value a claim may become as written: visible ASCII and spaces (RFC 9110 §5.5 field-vchar, without
 * obs-text), so no claim can split or smuggle a header. */
const HEADER_VALUE = /^[\x20-\x7e]{0,4096}$/;

/** The key set of each policy object: a table's policies live as long as the table, so keys are imported once
 * per table, and a rotated key set (a new table) never reuses an old one. */
const keySets = new WeakMap<JwtPolicy, JWTVerifyGetKey>();

function keySet(p: JwtPolicy): JWTVerifyGetKey {
  let k = keySets.get(p);
  if (k === undefined) {
    k = createLocalJWKSet({ keys: p.keys });
    keySets.set(p, k);
  }
  return k;
}

/** The token the policy reads, or null when the request carries none. */
export function tokenOf(p: JwtPolicy, r: JwtRequest): string | null {
  let t: string;
  switch (p.tokenFrom.kind) {
    case 'header': {
      const m = BEARER.exec(r.header('authorization') ?? '');
      t = m === null ? '' : m[1]!;
      break;
    }
    case 'cookie':
      t = cookie(r.header('cookie'), p.tokenFrom.name).replace(/^"(.*)"$/, '$1');
      break;
    case 'query':
      t = arg(r.search, p.tokenFrom.name);
      break;
  }
  return t === '' ? null : t;
}

/** A claim as a header value: text as written, numbers and booleans as JSON writes them; anything else (objects,
 * arrays, text a header cannot carry) sets no header. */
function claimValue(v: unknown): string | null {
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  return s !== null && HEADER_VALUE.test(s) ? s : null;
}

export async function jwtVerdict(p: JwtPolicy, r: JwtRequest): Promise<JwtVerdict> {
  const challenge = `Bearer realm="${p.realm}"`;
  const token = tokenOf(p, r);
  if (token === null) return { kind: 'respond', status: 401, headers: [['www-authenticate', challenge]] };
  const invalid: JwtVerdict = {
    kind: 'respond',
    status: 401,
    headers: [['www-authenticate', `${challenge}, error="invalid_token"`]],
  };
  if (token.length > MAX_TOKEN) return invalid;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySet(p), {
      algorithms: p.algorithms,
      clockTolerance: p.clockSkew,
      // A token without `exp` would be good forever: refused (RFC 7519 makes exp optional; an edge should not).
      requiredClaims: ['exp'],
      ...(p.issuer === undefined ? {} : { issuer: p.issuer }),
      ...(p.audiences === undefined ? {} : { audience: p.audiences }),
    }));
  } catch (err) {
    // A runtime that cannot use an allowed algorithm or key (jose's JOSENotSupported, raised after the algorithm
    // allow-list) is Portico's problem, not the client's: 503, never a pass.
    if (err instanceof errors.JOSENotSupported) return { kind: 'respond', status: 503, headers: [] };
    if (err instanceof errors.JOSEError) return invalid;
    return { kind: 'respond', status: 503, headers: [] };
  }
  const upstreamHeaders: [string, string | null][] = [];
  for (const { claim, header } of p.claimsToHeaders ?? []) {
    const v = Object.hasOwn(payload, claim) ? claimValue(payload[claim]) : null;
    if (v !== null) upstreamHeaders.push([header, v]);
  }
  return { kind: 'pass', upstreamHeaders };
}
