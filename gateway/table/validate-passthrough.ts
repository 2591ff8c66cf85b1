// validate() for a host's TLS passthrough (HostRoutes.passthrough, ssl-passthrough): a worker relays raw TCP to
// what this names, so a malformed field refuses the whole table (the worker keeps its last good one) instead of
// relaying to a backend it cannot tell from the data. The SNI of a ClientHello is a DNS name (RFC 6066 §3), so a
// passthrough entry needs a host: the rules without one ("") can never be selected by it, and a redirect entry
// (from-to-www-redirect) has no backend of its own.
import { isRecord, onlyKeys } from './names.ts';
import type { IdSet } from './validation-memo.ts';

type Bad = (at: string, message: string) => void;

export function checkPassthrough(h: Record<string, unknown>, at: string, backendIds: IdSet, bad: Bad): void {
  const p = h.passthrough;
  const where = `${at}.passthrough`;
  if (!isRecord(p) || !Object.hasOwn(p, 'backend')) return bad(where, 'must be an object with a backend');
  onlyKeys(p, ['backend'], where, bad);
  if (p.backend !== null && (typeof p.backend !== 'string' || !backendIds.has(p.backend)))
    bad(`${where}.backend`, `unknown backend ${JSON.stringify(p.backend)}`);
  if (h.host === '') bad(where, 'needs a host: a ClientHello names a server, never the rules without a host');
  if (h.redirect !== undefined) bad(where, 'a redirect entry (from-to-www-redirect) has no backend to pass TLS to');
}
