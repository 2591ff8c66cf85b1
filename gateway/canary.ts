// canary-*: whether a request of a route with a canary backend goes to the canary. The order and the rules are
// ingress-nginx's balancer.lua (route_to_alternative_balancer): the header, then the cookie, then the weight.
// Pure: the random source is the caller's (decide() takes it, so tests and benchmarks choose it).
import { compileHeaderPattern, type HeaderPattern } from './table/header-pattern.ts';
import type { CanaryPolicy } from './table/schema.ts';

/** Reads a request header by lower-case name; several fields of one name joined as nginx 1.23+ joins `$http_`
 * variables (", ", and "; " for Cookie); undefined when the request has none. */
export type HeaderReader = (lowerName: string) => string | undefined;

// Compiled once per policy object, that is once per table (a table's objects live as long as the table).
const patterns = new WeakMap<CanaryPolicy, HeaderPattern>();

function patternOf(p: CanaryPolicy, source: string): HeaderPattern {
  let c = patterns.get(p);
  if (c === undefined) patterns.set(p, (c = compileHeaderPattern(source)));
  return c;
}

/** nginx's `$cookie_<name>`: the value of the first cookie of that name (compared ignoring case) in the Cookie
 * header, up to the next `;`, as sent (not unquoted). */
export function cookieValue(cookieHeader: string | undefined, lowerName: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim().toLowerCase() === lowerName) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function picksCanary(p: CanaryPolicy, header: HeaderReader | undefined, random: () => number): boolean {
  if (p.header !== undefined && header !== undefined) {
    const v = header(p.header);
    if (v !== undefined) {
      // With canary-by-header-value (or -pattern) only that value decides, `always` and `never` mean nothing, and
      // any other value goes on to the cookie and the weight, as in balance.lua.
      if (p.headerValue !== undefined) {
        if (v === p.headerValue) return true;
      } else if (p.headerPattern !== undefined) {
        if (patternOf(p, p.headerPattern).test(v)) return true;
      } else if (v === 'always') {
        return true;
      } else if (v === 'never') {
        return false;
      }
    }
  }
  if (p.cookie !== undefined && header !== undefined) {
    const c = cookieValue(header('cookie'), p.cookie);
    if (c === 'always') return true;
    if (c === 'never') return false;
  }
  // balance.lua: math.random(total) <= weight, that is weight out of total; weight 0 never asks for a number.
  return p.weight > 0 && random() * p.weightTotal < p.weight;
}
