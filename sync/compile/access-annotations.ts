// The access-control annotations Portico enforces, parsed into the route's typed access policy. A value that
// does not parse never means "no rule": the routes fail closed (503) with an AccessControlNotEnforced
// diagnostic naming the annotation, the value and why, as ingress-nginx denies a location whose access
// annotation does not parse (internal/ingress/errors LocationDeniedError: "503 (location was denied)").
import { parseCidr } from '../../gateway/table/cidr.ts';
import type { AccessPolicy } from '../../gateway/table/schema.ts';
import type { UnenforcedGuard } from './access-control.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { show, type Fields } from './objects.ts';
import type { DiagnosticCode } from './types.ts';

export interface ParsedAccess {
  /** Absent when the Ingress asks for no access rule Portico enforces (or every one failed to parse). */
  access?: AccessPolicy;
  /** The annotations the policy came from: what a fallback or default backend of this Ingress cannot enforce. */
  keys: string[];
  /** Annotations whose value does not parse: the Ingress's routes answer 503. */
  malformed: UnenforcedGuard[];
  problems: { code: DiagnosticCode; message: string }[];
}

const ALLOW = `${NGINX_PREFIX}allowlist-source-range`;
/** The older name of the allow list; ingress-nginx reads it when the new name is absent (an alias). */
const WHITELIST = `${NGINX_PREFIX}whitelist-source-range`;
const DENY = `${NGINX_PREFIX}denylist-source-range`;

/** The annotation keys this file reads; everything else of the access families is still unenforced. */
export const ENFORCED_ACCESS_KEYS: ReadonlySet<string> = new Set([ALLOW, WHITELIST, DENY]);

const MAX_RANGES = 256;

/** `10.0.0.0/8, 192.168.1.1,2001:db8::/32` → the entries, or the reason it is not a list of ranges. */
function parseRanges(raw: unknown): { ranges: string[] } | { error: string } {
  if (typeof raw !== 'string') return { error: 'it is not text' };
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) return { error: 'it names no address or range' };
  if (entries.length > MAX_RANGES) return { error: `it names ${entries.length} ranges (at most ${MAX_RANGES})` };
  const bad = entries.filter((e) => parseCidr(e) === null);
  if (bad.length > 0)
    return { error: `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a CIDR or an IP address` };
  return { ranges: [...new Set(entries)] };
}

export function parseAccessAnnotations(annotations: Fields): ParsedAccess {
  const out: ParsedAccess = { keys: [], malformed: [], problems: [] };
  const access: AccessPolicy = {};
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  const fail = (key: string, why: string): void => {
    out.malformed.push({ key, scope: 'routes' });
    out.problems.push({
      code: 'AccessControlNotEnforced',
      message: `annotation ${JSON.stringify(key)} has value ${show(annotations[key])}: ${why}, so the routes of this Ingress answer 503 (fail closed) instead of serving without the guard`,
    });
  };
  const ranges = (key: string, set: (r: string[]) => void): void => {
    const r = parseRanges(annotations[key]);
    if ('error' in r) return fail(key, r.error);
    out.keys.push(key);
    set(r.ranges);
  };
  if (has(DENY)) ranges(DENY, (r) => (access.deny = r));
  const allowKey = has(ALLOW) ? ALLOW : has(WHITELIST) ? WHITELIST : null;
  if (allowKey !== null) ranges(allowKey, (r) => (access.allow = r));
  if (allowKey === ALLOW && has(WHITELIST)) {
    out.problems.push({
      code: 'UnsupportedAnnotation',
      message: `annotation ${JSON.stringify(WHITELIST)} is ignored: ${JSON.stringify(ALLOW)}, its newer name, is also set and applies (as in ingress-nginx)`,
    });
  }
  if (access.deny !== undefined || access.allow !== undefined) out.access = access;
  return out;
}
