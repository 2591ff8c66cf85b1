// Source ranges (denylist-source-range, allowlist-source-range): whether a client address may reach a route.
// ingress-nginx writes `deny` rules first, then `allow` rules and a final `deny all` when there are any: the
// first match wins, so a denied address stays denied even inside an allowed range
// (test/e2e/annotations/ipdenylist.go, "should set valid ip denylist range when whitelist is set").
import { type Address, type Cidr, inCidr, parseCidr, parseClientAddress } from '../table/cidr.ts';
import type { AccessPolicy } from '../table/schema.ts';

export interface CompiledRanges {
  deny: Ranges;
  allow: Ranges | null;
}

/** IPv4 ranges as (network, mask) integers, so the common case costs a few integer operations per range
 * instead of parsing; IPv6 ranges through ipaddr.js. */
interface Ranges {
  v4: { net: number; mask: number }[];
  v6: Cidr[];
}

// Parsed once per policy object: a table's policies are immutable, and a new table brings new objects.
const compiled = new WeakMap<AccessPolicy, CompiledRanges>();

function toRanges(list: readonly string[]): Ranges {
  const out: Ranges = { v4: [], v6: [] };
  // validate() refused any entry that does not parse, so none is dropped here.
  for (const c of list.map(parseCidr)) {
    if (c === null) continue;
    if (c.address.kind() === 'ipv4') {
      const mask = c.bits === 0 ? 0 : (0xffffffff << (32 - c.bits)) >>> 0;
      out.v4.push({ net: ((v4int(c.address.toString()) ?? 0) & mask) >>> 0, mask });
    } else out.v6.push(c);
  }
  return out;
}

function ranges(p: AccessPolicy): CompiledRanges {
  let c = compiled.get(p);
  if (c === undefined) {
    c = { deny: toRanges(p.deny ?? []), allow: p.allow === undefined ? null : toRanges(p.allow) };
    compiled.set(p, c);
  }
  return c;
}

/** A dotted-quad IPv4 address as an unsigned 32-bit integer, or null (then ipaddr.js reads the address). */
function v4int(s: string): number | null {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return null;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros (as parseCidr, and Go's net.ParseIP): `010` never reads as 10 or as octal 8.
      if (digits === 1 && part === 0) return null;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return (n * 256 + part) >>> 0;
}

function inRanges(r: Ranges, v4: number | null, a: Address | null): boolean {
  if (v4 !== null) {
    for (const x of r.v4) if ((v4 & x.mask) >>> 0 === x.net) return true;
    return false;
  }
  if (a === null) return false;
  for (const c of r.v6) if (inCidr(a, c)) return true;
  return false;
}

/** Whether a client at `clientIp` passes `c`: in no deny range, and in an allow range if there is an allow list.
 * An address that cannot be read (a Unix socket peer, an empty string) passes no allow list and is denied
 * wherever a range is set. No allocation: it runs on every request of a route with ranges. */
export function passes(c: CompiledRanges, clientIp: string): boolean {
  const v4 = v4int(clientIp);
  if (v4 !== null) return !inRanges(c.deny, v4, null) && (c.allow === null || inRanges(c.allow, v4, null));
  // IPv6 (and IPv4-mapped IPv6, which parseClientAddress reads as its IPv4 address) through ipaddr.js.
  const a = parseClientAddress(clientIp);
  if (a === null) return false;
  const mapped = a.kind() === 'ipv4' ? v4int(a.toString()) : null;
  return !inRanges(c.deny, mapped, a) && (c.allow === null || inRanges(c.allow, mapped, a));
}

/** Ranges that only admit: `passes(onlyIn(list), ip)` is whether `ip` lies in `list` (limit-allowlist). */
export function onlyIn(list: readonly string[]): CompiledRanges {
  return { deny: { v4: [], v6: [] }, allow: toRanges(list) };
}

/** Whether a client at `clientIp` passes the policy's source ranges (see passes). */
export function sourceAllowed(p: AccessPolicy, clientIp: string): boolean {
  if (p.deny === undefined && p.allow === undefined) return true;
  return passes(ranges(p), clientIp);
}
