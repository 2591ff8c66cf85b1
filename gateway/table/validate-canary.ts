// validate() for a route's canary backend (policies.canary, schema 5): every field bounded, unknown fields refused,
// the pattern inside the linear-time subset (header-pattern.ts), and the backend one the table carries.
import { HEADER_NAME } from './header-names.ts';
import { headerPatternProblem } from './header-pattern.ts';
import { isRecord } from './names.ts';
import type { IdSet } from './validation-memo.ts';

/** RFC 6265 §4.1.1 cookie-name (an RFC 2616 token), lower-case: nginx's `$cookie_` lookup ignores case. */
export const COOKIE_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** A header value to compare with: visible ASCII and the space (ingress-nginx refuses anything else). */
export const CANARY_HEADER_VALUE = /^[\x20-\x7e]{1,1024}$/;
/** Largest canary-weight-total: enough for 0.0001 % steps. */
export const MAX_WEIGHT_TOTAL = 1_000_000;

const FIELDS = new Set(['backend', 'header', 'headerValue', 'headerPattern', 'cookie', 'weight', 'weightTotal']);

export function checkCanary(v: unknown, at: string, backendIds: IdSet, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  for (const k of Object.keys(v)) if (!FIELDS.has(k)) bad(`${at}.${k}`, 'unknown field');
  if (typeof v.backend !== 'string' || !backendIds.has(v.backend)) bad(`${at}.backend`, `unknown backend ${JSON.stringify(v.backend)}`);
  if (v.header !== undefined && (typeof v.header !== 'string' || !HEADER_NAME.test(v.header)))
    bad(`${at}.header`, 'must be a lower-case header name');
  for (const k of ['headerValue', 'headerPattern'] as const) {
    if (v[k] === undefined) continue;
    if (v.header === undefined) bad(`${at}.${k}`, 'needs header');
    if (typeof v[k] !== 'string' || !CANARY_HEADER_VALUE.test(v[k])) bad(`${at}.${k}`, 'must be 1 to 1024 visible ASCII characters');
  }
  if (v.headerValue !== undefined && v.headerPattern !== undefined) bad(`${at}.headerPattern`, 'is not used with headerValue');
  if (typeof v.headerPattern === 'string') {
    const p = headerPatternProblem(v.headerPattern);
    if (p !== null) bad(`${at}.headerPattern`, `is outside the supported pattern subset: ${p}`);
  }
  if (v.cookie !== undefined && (typeof v.cookie !== 'string' || !COOKIE_NAME.test(v.cookie)))
    bad(`${at}.cookie`, 'must be a lower-case cookie name');
  const total = v.weightTotal;
  if (!Number.isInteger(total) || (total as number) < 100 || (total as number) > MAX_WEIGHT_TOTAL)
    bad(`${at}.weightTotal`, `must be a whole number from 100 to ${MAX_WEIGHT_TOTAL}`);
  else if (!Number.isInteger(v.weight) || (v.weight as number) < 0 || (v.weight as number) > (total as number))
    bad(`${at}.weight`, 'must be a whole number from 0 to weightTotal');
}
