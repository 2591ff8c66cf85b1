// Strict-Transport-Security (RFC 6797) as ingress-nginx sends it: its lua_ingress.lua header filter sets the header
// on every answer to an HTTPS request for a server that has a certificate configured (the upstream's own header of
// that name is replaced), from the controller ConfigMap's hsts, hsts-max-age, hsts-include-subdomains and
// hsts-preload (compiled into the table's `hsts`). RFC 6797 §7.2: never over plain HTTP.
import type { ResponseAdditions } from './access/gate.ts';
import type { LiveTable } from './live.ts';

const NAME = 'strict-transport-security';
let last: { value: string; additions: ResponseAdditions } | null = null;

/** The header as response additions (shared, never mutated: callers copy before adding to them). */
function additionsOf(value: string): ResponseAdditions {
  if (last?.value !== value) last = { value, additions: { always: [[NAME, value]], onSuccess: [], replace: [NAME] } };
  return last.additions;
}

/** The additions an HTTPS request for `host` gets, or null (no HSTS in the table, or a host without TLS). */
export function hstsFor(live: Pick<LiveTable, 'current'>, host: string): ResponseAdditions | null {
  const loaded = live.current;
  const value = loaded?.matcher.table.hsts;
  if (value === undefined || loaded === null) return null;
  return loaded.matcher.lookupHost(host)?.tls == null ? null : additionsOf(value);
}

/** `extra` with the HSTS header (the gate's own answers and the gateway's statuses and redirects). */
export function withHsts(extra: readonly (readonly [string, string])[], hsts: ResponseAdditions | null): (readonly [string, string])[] {
  return hsts === null ? [...extra] : [...extra.filter(([n]) => n.toLowerCase() !== NAME), ...hsts.always];
}

/** Response additions (the gate's, a route's header rules) with the HSTS header, which replaces theirs. */
export function mergeHsts(add: ResponseAdditions, hsts: ResponseAdditions | null): ResponseAdditions {
  if (hsts === null) return add;
  return { ...add, always: [...add.always.filter(([n]) => n.toLowerCase() !== NAME), ...hsts.always], replace: [...add.replace, NAME] };
}
