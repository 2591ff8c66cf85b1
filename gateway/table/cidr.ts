// Client address ranges as the table carries them: CIDR text (`10.0.0.0/8`, `2001:db8::/32`) or a bare address
// (its own /32 or /128), as ingress-nginx's source-range annotations accept them. Parsed with ipaddr.js, which
// runs on every runtime, in its strict forms only: dotted-quad IPv4 without leading zeros (as Go's net.ParseIP,
// which ingress-nginx uses), so `010.0.0.1` or `1.2.3` can never mean something other than what it looks like.
import ipaddr from 'ipaddr.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
export interface Cidr {
  address: Address;
  bits: number;
}

function parseAddress(text: string): Address | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return null;
}

/** A CIDR or a bare address, or null when it is neither. An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) is
 * refused: clients are compared by their IPv4 address, so it would never match (write the IPv4 range). */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = parseAddress(slash === -1 ? text : text.slice(0, slash));
  if (address === null) return null;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return null;
  const max = address.kind() === 'ipv4' ? 32 : 128;
  if (slash === -1) return { address, bits: max };
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return null;
  return { address, bits: Number(bitsText) };
}

/** A client address as a runtime reports it (IPv4-mapped IPv6 is its IPv4 address), or null. */
export function parseClientAddress(text: string): Address | null {
  const a = parseAddress(text);
  return a !== null && a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

/** Whether `a` lies in `c` (an IPv4 address never lies in an IPv6 range, nor the reverse). */
export function inCidr(a: Address, c: Cidr): boolean {
  return a.kind() === c.address.kind() && a.match(c.address, c.bits);
}

/** Most CIDRs in one list of a table (a source range, a limit's exempt list); the compiler refuses longer ones. */
export const MAX_CIDRS = 256;

/** validate()'s check of an optional CIDR list: 1 to MAX_CIDRS strings that parse. */
export function checkCidrList(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_CIDRS) return bad(at, `must be a list of 1 to ${MAX_CIDRS} CIDRs`);
  v.forEach((c, i) => {
    if (typeof c !== 'string' || parseCidr(c) === null) bad(`${at}[${i}]`, `${JSON.stringify(c)} is not a CIDR or an IP address`);
  });
}
