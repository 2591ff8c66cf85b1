// validate() for the routing filters of schema 5 (redirect.ts): each object has exactly its known fields, every
// value within the grammar the compiler produces, so the request path can trust them.
import { isRecord, isValidHostName } from './names.ts';
import { locationProblem, rootPathProblem, setHeaderProblem, vhostProblem } from './redirect.ts';
import { rewriteProblem } from './rewrite.ts';

type Bad = (at: string, message: string) => void;

function exactly(v: unknown, at: string, required: readonly string[], optional: readonly string[], bad: Bad): v is Record<string, unknown> {
  if (!isRecord(v)) {
    bad(at, 'must be an object');
    return false;
  }
  for (const k of Object.keys(v)) if (!required.includes(k) && !optional.includes(k)) bad(`${at}.${k}`, 'unknown field');
  for (const k of required) if (!Object.hasOwn(v, k)) bad(`${at}.${k}`, 'is required');
  return true;
}

const isStatus = (v: unknown, lo: number, hi: number): boolean => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

/** The schema-5 routing fields of one route's policies. */
export function checkRouteFilters(p: Record<string, unknown>, at: string, bad: Bad): void {
  if (p.redirect !== undefined && exactly(p.redirect, `${at}.redirect`, ['statusCode', 'location'], ['relative'], bad)) {
    const r = p.redirect;
    if (!isStatus(r.statusCode, 300, 308)) bad(`${at}.redirect.statusCode`, 'must be 300-308');
    const problem = typeof r.location === 'string' ? locationProblem(r.location) : 'must be a string';
    if (problem !== null) bad(`${at}.redirect.location`, problem);
    if (r.relative !== undefined && r.relative !== true) bad(`${at}.redirect.relative`, 'must be true when present');
  }
  if (p.rootRedirect !== undefined && exactly(p.rootRedirect, `${at}.rootRedirect`, ['statusCode', 'replaceFullPath'], [], bad)) {
    const r = p.rootRedirect;
    if (r.statusCode !== 302) bad(`${at}.rootRedirect.statusCode`, 'must be 302');
    const problem = typeof r.replaceFullPath === 'string' ? rootPathProblem(r.replaceFullPath) : 'must be a string';
    if (problem !== null) bad(`${at}.rootRedirect.replaceFullPath`, problem);
  }
  if (p.schemeRedirect !== undefined && exactly(p.schemeRedirect, `${at}.schemeRedirect`, ['scheme', 'statusCode'], [], bad)) {
    if (p.schemeRedirect.scheme !== 'https') bad(`${at}.schemeRedirect.scheme`, 'must be "https"');
    if (p.schemeRedirect.statusCode !== 308) bad(`${at}.schemeRedirect.statusCode`, 'must be 308');
  }
  if (p.rewrite !== undefined && exactly(p.rewrite, `${at}.rewrite`, [], ['hostname', 'path'], bad)) {
    const { hostname, path } = p.rewrite;
    if (hostname === undefined && path === undefined) bad(`${at}.rewrite`, 'needs a hostname or a path');
    if (hostname !== undefined) {
      const problem = typeof hostname === 'string' ? vhostProblem(hostname) : 'must be a string';
      if (problem !== null) bad(`${at}.rewrite.hostname`, problem);
    }
    if (path !== undefined) {
      const problem = typeof path === 'string' ? rewriteProblem(path) : 'must be a string';
      if (problem !== null) bad(`${at}.rewrite.path`, `rewrite ${JSON.stringify(path)} ${problem}`);
    }
  }
  if (p.requestHeaders !== undefined && exactly(p.requestHeaders, `${at}.requestHeaders`, ['set'], [], bad)) {
    const set = p.requestHeaders.set;
    if (!Array.isArray(set) || set.length === 0 || set.length > 16) {
      bad(`${at}.requestHeaders.set`, 'must be a list of 1 to 16 [name, value] pairs');
      return;
    }
    set.forEach((e, i) => {
      const problem =
        Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string'
          ? setHeaderProblem(e[0], e[1])
          : 'must be [name, value]';
      if (problem !== null) bad(`${at}.requestHeaders.set[${i}]`, problem);
      else if (i > 0 && !((set[i - 1] as string[])[0]! < e[0])) bad(`${at}.requestHeaders.set[${i}]`, 'names must be sorted and distinct');
    });
  }
}

/** A host entry's `redirect` (from-to-www-redirect): such an entry has nothing else to serve. */
export function checkHostRedirect(h: Record<string, unknown>, at: string, bad: Bad): void {
  if (h.redirect === undefined || !exactly(h.redirect, `${at}.redirect`, ['statusCode', 'hostname'], [], bad)) return;
  if (h.redirect.statusCode !== 308) bad(`${at}.redirect.statusCode`, 'must be 308');
  if (typeof h.redirect.hostname !== 'string' || !isValidHostName(h.redirect.hostname))
    bad(`${at}.redirect.hostname`, 'must be a host name');
  if (Array.isArray(h.routes) && h.routes.length > 0) bad(`${at}.routes`, 'a redirecting host has no routes');
  if (h.fallbackBackend !== null) bad(`${at}.fallbackBackend`, 'a redirecting host has no fallback');
}
