// What the two limit steps of the access gate share: the per-process state, the zone a request counts in and
// the addresses exempt from limits (limit-allowlist).
import type { LimitPolicy } from '../table/schema.ts';
import { ConnectionLimiter } from './connection-limit.ts';
import { RateLimiter } from './rate-limit.ts';
import { type CompiledRanges, onlyIn, passes } from './source-ranges.ts';

/** The counters of request and connection limits. */
export interface LimitState {
  rate: RateLimiter;
  connections: ConnectionLimiter;
}

let processState: LimitState | undefined;

/** This worker process's (or isolate's) counters: every listener and the WebSocket upgrade path count in the
 * same ones, as all locations of an nginx worker count in the same zones. */
export function processLimits(): LimitState {
  processState ??= { rate: new RateLimiter(), connections: new ConnectionLimiter() };
  return processState;
}

/** The zone a route's requests count in: its Ingress (`namespace/name`, the first word of the route's label,
 * gateway/decide.ts routeLabel). ingress-nginx names one limit_req and one limit_conn zone per Ingress
 * (`<namespace>_<name>_<uid>_rps`, `..._conn`, internal/ingress/annotations/ratelimit), and every location of
 * the Ingress uses them, so a client's requests to any of its paths count together. */
export function limitZone(scope: string): string {
  const space = scope.indexOf(' ');
  return space === -1 ? scope : scope.slice(0, space);
}

// Parsed once per policy object: a table's policies are immutable, and a new table brings new objects.
const exemptRanges = new WeakMap<LimitPolicy, CompiledRanges>();

/** Whether limits do not apply to `clientIp`: it lies in limit-allowlist. ingress-nginx maps an allow-listed
 * address to an empty zone key (`geo $remote_addr $allowlist_<id>` then `map ... $limit_<id>`), and nginx
 * counts no request with an empty key, for limit_req and limit_conn alike. Matched as source ranges are. */
export function limitExempt(p: LimitPolicy, clientIp: string): boolean {
  if (p.exempt === undefined) return false;
  let ranges = exemptRanges.get(p);
  if (ranges === undefined) {
    ranges = onlyIn(p.exempt);
    exemptRanges.set(p, ranges);
  }
  return passes(ranges, clientIp);
}
