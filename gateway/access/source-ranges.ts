// Source ranges (denylist-source-range, allowlist-source-range): whether a client address may reach a route.
// ingress-nginx writes `deny` rules first, then `allow` rules and a final `deny all` when there are any: the
// first match wins, so a denied address stays denied even inside an allowed range
// (test/e2e/annotations/ipdenylist.go, "should set valid ip denylist range when whitelist is set").
import { type Address, type Cidr, inCidr, parseCidr, parseClientAddress } from '../table/cidr.ts';
import type { AccessPolicy } from '../table/schema.ts';

interface CompiledRanges {
  deny: Cidr[];
  allow: Cidr[] | null;
}

// Parsed once per policy object: a table's policies are immutable, and a new table brings new objects.
const compiled = new WeakMap<AccessPolicy, CompiledRanges>();

function ranges(p: AccessPolicy): CompiledRanges {
  let c = compiled.get(p);
  if (c === undefined) {
    // validate() refused any entry that does not parse, so none is dropped here.
    const parse = (list: readonly string[]): Cidr[] => list.map(parseCidr).filter((x): x is Cidr => x !== null);
    c = { deny: parse(p.deny ?? []), allow: p.allow === undefined ? null : parse(p.allow) };
    compiled.set(p, c);
  }
  return c;
}

/** Whether a client at `clientIp` passes the policy's source ranges. An address that cannot be read (a Unix
 * socket peer, an empty string) passes no allow list and is denied wherever a range is set. */
export function sourceAllowed(p: AccessPolicy, clientIp: string): boolean {
  if (p.deny === undefined && p.allow === undefined) return true;
  const r = ranges(p);
  const a: Address | null = parseClientAddress(clientIp);
  if (a === null) return false;
  for (const c of r.deny) if (inCidr(a, c)) return false;
  if (r.allow === null) return true;
  for (const c of r.allow) if (inCidr(a, c)) return true;
  return false;
}
