// ingress-nginx's local limits (internal/ingress/annotations/ratelimit): limit-rps, limit-rpm,
// limit-burst-multiplier, limit-connections and limit-allowlist (its older name limit-whitelist) → the route's
// typed limit policy. burst = limit × limit-burst-multiplier (default 5), as the parser computes it and the
// template writes `limit_req zone=... burst=N nodelay;`.
//
// Stricter than ingress-nginx, towards refusing: a value that does not parse fails closed instead of being
// dropped (ingress-nginx reads a malformed multiplier as 5 and drops a limit whose allow list does not parse);
// `0` and negative limits fail closed too (ingress-nginx writes no limit for them: nginx needs a rate and a
// connection count above 0).
import type { LimitPolicy, RateLimit } from '../../gateway/table/schema.ts';
import { MAX_BURST_MULTIPLIER, MAX_LIMIT } from '../../gateway/table/validate-limits.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { Fields } from './objects.ts';

const RPS = `${NGINX_PREFIX}limit-rps`;
const RPM = `${NGINX_PREFIX}limit-rpm`;
const CONNECTIONS = `${NGINX_PREFIX}limit-connections`;
const BURST_MULTIPLIER = `${NGINX_PREFIX}limit-burst-multiplier`;
const ALLOWLIST = `${NGINX_PREFIX}limit-allowlist`;
/** The older name of the allow list, read when the new name is absent (an alias, as in ingress-nginx). */
const WHITELIST = `${NGINX_PREFIX}limit-whitelist`;
/** "allow 5 times the specified limit as burst" (ratelimit/main.go defBurst). */
const DEFAULT_BURST_MULTIPLIER = 5;

export interface LimitParsing {
  consume(key: string): void;
  /** The value does not parse: the Ingress's routes fail closed. */
  fail(key: string, why: string): void;
  /** A diagnostic that changes nothing (`message` follows the quoted key). */
  note(key: string, message: string): void;
  /** A comma-separated list of CIDRs or addresses, as the source-range annotations are read. */
  ranges(raw: unknown): { ranges: string[] } | { error: string };
}

/** A whole number from `min` to `max` written in decimal, or null. */
function wholeNumber(raw: unknown, min: number, max: number): number | null {
  if (typeof raw !== 'string' || !/^\s*\d{1,10}\s*$/.test(raw)) return null;
  const n = Number(raw.trim());
  return n >= min && n <= max ? n : null;
}

/** The limit policy of an Ingress's annotations, and the annotations it came from; null when it asks for no
 * limit (or none of its limits parses, which fails closed through `fail`). */
export function parseLimitAnnotations(annotations: Fields, p: LimitParsing): { policy: LimitPolicy; keys: string[] } | null {
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  const keys: string[] = [];
  let broken = false;
  const limit = (key: string): number | undefined => {
    if (!has(key)) return undefined;
    p.consume(key);
    const n = wholeNumber(annotations[key], 1, MAX_LIMIT);
    if (n === null) {
      broken = true;
      p.fail(key, `it is not a whole number from 1 to ${MAX_LIMIT}`);
      return undefined;
    }
    keys.push(key);
    return n;
  };
  const rps = limit(RPS);
  const rpm = limit(RPM);
  const connections = limit(CONNECTIONS);

  let multiplier = DEFAULT_BURST_MULTIPLIER;
  let multiplierSet = false;
  if (has(BURST_MULTIPLIER)) {
    p.consume(BURST_MULTIPLIER);
    const m = wholeNumber(annotations[BURST_MULTIPLIER], 0, MAX_BURST_MULTIPLIER);
    if (m === null) {
      broken = true;
      p.fail(BURST_MULTIPLIER, `it is not a whole number from 0 to ${MAX_BURST_MULTIPLIER}`);
    } else {
      multiplier = m;
      multiplierSet = true;
    }
  }

  // limit-allowlist applies when set; limit-whitelist otherwise (ingress-nginx's parser reads an alias only
  // when the annotation itself is empty or absent).
  const allowKey =
    has(ALLOWLIST) && annotations[ALLOWLIST] !== '' ? ALLOWLIST : has(WHITELIST) ? WHITELIST : has(ALLOWLIST) ? ALLOWLIST : null;
  let exempt: string[] | undefined;
  if (allowKey !== null) {
    p.consume(allowKey);
    const r = p.ranges(annotations[allowKey]);
    if ('error' in r) {
      broken = true;
      p.fail(allowKey, r.error);
    } else exempt = r.ranges;
  }
  const ignored = allowKey === ALLOWLIST ? WHITELIST : ALLOWLIST;
  if (allowKey !== null && has(ignored)) {
    p.consume(ignored);
    p.note(ignored, `is ignored: ${JSON.stringify(allowKey)} is also set and applies (as in ingress-nginx)`);
  }

  const limited = rps !== undefined || rpm !== undefined || connections !== undefined;
  if (!limited) {
    // Nothing to apply them to: ingress-nginx sets no limit either. A malformed one has failed closed above.
    if (!broken) {
      if (multiplierSet) p.note(BURST_MULTIPLIER, 'has no effect without limit-rps or limit-rpm (as in ingress-nginx)');
      if (allowKey !== null) p.note(allowKey, 'has no effect without a limit (as in ingress-nginx): no limit applies to anyone');
    }
    return null;
  }
  const policy: LimitPolicy = {};
  const burst = (rate: number): RateLimit => ({ rate, burst: rate * multiplier });
  if (rps !== undefined) policy.rps = burst(rps);
  if (rpm !== undefined) policy.rpm = burst(rpm);
  if (connections !== undefined) policy.connections = connections;
  if (multiplierSet && (rps !== undefined || rpm !== undefined)) keys.push(BURST_MULTIPLIER);
  else if (multiplierSet) {
    // ingress-nginx computes a burst for limit-connections too, but limit_conn has none: nothing uses it.
    p.note(BURST_MULTIPLIER, 'has no effect on limit-connections (nginx limit_conn has no burst; as in ingress-nginx)');
  }
  if (exempt !== undefined) {
    policy.exempt = exempt;
    keys.push(allowKey!);
  }
  return { policy, keys };
}
