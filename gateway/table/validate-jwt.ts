// validate() for a route's JWT policy (gateway/table/jwt.ts): every field typed and bounded, every key a public
// key of a type jose verifies on each runtime, so a worker never verifies with a rule it would have to guess at.
import { HEADER_NAME, isCopyableHeader } from './header-names.ts';
import {
  JWT_ALGORITHMS,
  JWT_CLAIM_NAME,
  JWT_TOKEN_PARAM,
  type JwtAlgorithm,
  MAX_JWK_FIELD,
  MAX_JWT_CLAIM_HEADERS,
  MAX_JWT_CLOCK_SKEW,
  MAX_JWT_KEYS,
  PRIVATE_JWK_MEMBERS,
} from './jwt.ts';
import { isRecord } from './names.ts';

const MAX_TEXT = 2048;
const MAX_AUDIENCES = 32;
const B64URL = /^[A-Za-z0-9_-]+$/;
/** RFC 9110 §5.6.2 token, lower-case. */
/** Why a header name cannot carry a claim, or null. `lower` is lower-case. */
export function claimHeaderProblem(lower: string): string | null {
  if (!HEADER_NAME.test(lower)) return 'is not a header name';
  // Nor the credentials themselves: a claim must not pose as the client's Authorization or Cookie.
  if (!isCopyableHeader(lower) || lower === 'authorization' || lower === 'cookie')
    return 'frames the request, belongs to one hop, carries credentials or steers the edge';
  return null;
}

const KEY_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};
const CURVES: Readonly<Record<string, readonly string[]>> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519'] };
const OPTIONAL_MEMBERS = ['kid', 'alg', 'use'];

/** Why a JWK cannot be carried as a public verification key, or null (validate() and the compiler agree). */
export function publicJwkProblem(k: unknown): string | null {
  if (!isRecord(k)) return 'is not an object';
  const kty = k.kty;
  if (typeof kty !== 'string') return 'has no "kty"';
  if (kty === 'oct') return 'is a symmetric ("oct") key, which Portico never carries (only public keys travel in the table)';
  const required = KEY_MEMBERS[kty];
  if (required === undefined) return `has key type ${JSON.stringify(kty)} (RSA, EC and OKP are verified)`;
  const priv = PRIVATE_JWK_MEMBERS.filter((m) => Object.hasOwn(k, m));
  if (priv.length > 0) return `has private key members (${priv.join(', ')})`;
  for (const m of required) {
    const v = k[m];
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_JWK_FIELD) return `has no usable "${m}"`;
    if (m !== 'crv' && !B64URL.test(v)) return `has a "${m}" that is not base64url`;
  }
  const curves = CURVES[kty];
  if (curves !== undefined && !curves.includes(k.crv as string))
    return `has curve ${JSON.stringify(k.crv)} (${curves.join(', ')} are verified)`;
  for (const m of OPTIONAL_MEMBERS) {
    const v = k[m];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > 256)) return `has a "${m}" that is not short text`;
  }
  if (k.use !== undefined && k.use !== 'sig') return `is for ${JSON.stringify(k.use)}, not signatures`;
  return null;
}

function stringList(v: unknown, max: number, each: (s: string) => boolean): boolean {
  return (
    Array.isArray(v) && v.length > 0 && v.length <= max && v.every((s) => typeof s === 'string' && each(s)) && new Set(v).size === v.length
  );
}

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT;

/** validate() for `policies.access.jwt`. */
export function checkJwtPolicy(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  const known = new Set(['source', 'keys', 'algorithms', 'issuer', 'audiences', 'clockSkew', 'claimsToHeaders', 'tokenFrom', 'realm']);
  for (const k of Object.keys(v)) if (!known.has(k)) bad(at, `unknown field ${JSON.stringify(k)}`);
  if (!text(v.source) || !/^(configmap|secret|url):/.test(v.source)) bad(`${at}.source`, 'must say configmap:, secret: or url:');
  if (!Array.isArray(v.keys) || v.keys.length === 0 || v.keys.length > MAX_JWT_KEYS)
    bad(`${at}.keys`, `must list 1 to ${MAX_JWT_KEYS} keys`);
  else
    for (const [i, k] of v.keys.entries()) {
      const problem = publicJwkProblem(k);
      if (problem !== null) bad(`${at}.keys[${i}]`, problem);
      else
        for (const m of Object.keys(k as object))
          if (!['kty', ...(KEY_MEMBERS[(k as { kty: string }).kty] ?? []), ...OPTIONAL_MEMBERS].includes(m))
            bad(`${at}.keys[${i}]`, `unknown member ${JSON.stringify(m)}`);
    }
  if (!stringList(v.algorithms, JWT_ALGORITHMS.length, (a) => JWT_ALGORITHMS.includes(a as JwtAlgorithm)))
    bad(`${at}.algorithms`, `must list distinct algorithms among ${JWT_ALGORITHMS.join(', ')}`);
  if (v.issuer !== undefined && !text(v.issuer)) bad(`${at}.issuer`, 'must be text');
  if (v.audiences !== undefined && !stringList(v.audiences, MAX_AUDIENCES, (a) => text(a)))
    bad(`${at}.audiences`, `must list 1 to ${MAX_AUDIENCES} distinct audiences`);
  if (!Number.isSafeInteger(v.clockSkew) || (v.clockSkew as number) < 0 || (v.clockSkew as number) > MAX_JWT_CLOCK_SKEW)
    bad(`${at}.clockSkew`, `must be whole seconds from 0 to ${MAX_JWT_CLOCK_SKEW}`);
  if (v.claimsToHeaders !== undefined) {
    const list = v.claimsToHeaders;
    const ok =
      Array.isArray(list) &&
      list.length > 0 &&
      list.length <= MAX_JWT_CLAIM_HEADERS &&
      list.every(
        (e) =>
          isRecord(e) &&
          Object.keys(e).length === 2 &&
          typeof e.claim === 'string' &&
          JWT_CLAIM_NAME.test(e.claim) &&
          typeof e.header === 'string' &&
          claimHeaderProblem(e.header) === null,
      ) &&
      new Set(list.map((e) => (e as { header: string }).header)).size === list.length;
    if (!ok) bad(`${at}.claimsToHeaders`, `must list 1 to ${MAX_JWT_CLAIM_HEADERS} { claim, header } with distinct allowed header names`);
  }
  const t = v.tokenFrom;
  const tokenOk =
    isRecord(t) &&
    ((t.kind === 'header' && Object.keys(t).length === 1) ||
      ((t.kind === 'cookie' || t.kind === 'query') &&
        Object.keys(t).length === 2 &&
        typeof t.name === 'string' &&
        JWT_TOKEN_PARAM.test(t.name)));
  if (!tokenOk) bad(`${at}.tokenFrom`, 'must be { kind: "header" } or { kind: "cookie" | "query", name }');
  if (typeof v.realm !== 'string' || v.realm.length > 256 || !/^[\x20-\x7e]*$/.test(v.realm) || /["\\]/.test(v.realm))
    bad(`${at}.realm`, 'must be a realm a header can quote');
}
