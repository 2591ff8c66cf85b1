// The PROXY protocol header (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt), v1 (text) and v2
// (binary), that a load balancer writes before anything else on a connection to name the client it accepted:
// ingress-nginx's `use-proxy-protocol` (nginx `listen ... proxy_protocol`). Parsed here rather than with a
// package: it is a small wire format read from unauthenticated peers before anything else happens on the
// connection, so every byte of it is security-relevant, and the rules we need (strict sizes, strict address
// text, which cases fall back to the TCP peer) fit in one pure function that the tests read case by case.
// Pure: bytes in, a verdict out; the Node listener (gateway/runtime/proxy-protocol-listener.ts) does the I/O.
import ipaddr from 'ipaddr.js';
import { PorticoError } from '../table/portico-error.ts';

/** A v1 header is at most 107 bytes, CRLF included (spec §2.1: "TCP6" with the longest addresses and ports). */
export const PROXY_V1_MAX = 107;
/** The v2 fixed part: 12 signature bytes, version/command, family/protocol, a 16-bit length (spec §2.2). */
const V2_FIXED = 16;
/** Most v2 bytes after the fixed part. The spec allows 65535; the address block needs at most 216 (AF_UNIX),
 * and the TLVs load balancers send are small (AUTHORITY ≤ 255, UNIQUE_ID ≤ 128, AWS, Azure and GCP endpoint
 * ids a few dozen bytes each), so 2 KiB holds every real header while an unauthenticated peer can make this
 * connection buffer at most about 2 KiB before it has proved anything. */
export const PROXY_V2_MAX_PAYLOAD = 2048;
/** The v2 signature (spec §2.2): it cannot begin a valid HTTP request or TLS record. */
const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
const V1_PREFIX = Uint8Array.from('PROXY ', (c) => c.charCodeAt(0));

export interface ProxyEndpoint {
  /** Canonical text: dotted quad, or compressed IPv6 (an IPv4-mapped IPv6 address as its IPv4 address). */
  address: string;
  port: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** Bytes the header took; what follows is the client's (an HTTP request, a TLS ClientHello). */
  length: number;
  /** The client the proxy accepted, or null when the header names none and the TCP peer stands for it: a v2
   * LOCAL command (the proxy's own health check), v1 UNKNOWN, v2 AF_UNSPEC or AF_UNIX (spec §2.1, §2.2). */
  source: ProxyEndpoint | null;
  /** The address and port the client connected to on the proxy (null exactly when `source` is). */
  destination: ProxyEndpoint | null;
}

/** Why a header is refused; the connection is closed without an answer, as nginx does. */
export class ProxyHeaderError extends PorticoError {
  readonly code = 'PORTICO_PROXY_HEADER';
}

/** A complete header, `more` (a valid prefix: wait for the next bytes), or the reason the bytes are not one. */
export type ProxyParse = { kind: 'header'; header: ProxyHeader } | { kind: 'more' } | { kind: 'invalid'; error: ProxyHeaderError };

const invalid = (reason: string): ProxyParse => ({ kind: 'invalid', error: new ProxyHeaderError(reason) });
const MORE: ProxyParse = { kind: 'more' };

/** Whether `buf` starts with the first bytes of `prefix` (as many as both have). */
function startsLike(buf: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/** Reads a header from the first bytes of a connection (everything received so far, not only the last chunk).
 * Only the bytes of the header are looked at; what follows it is left to the caller. */
export function parseProxyHeader(buf: Uint8Array): ProxyParse {
  if (buf.length === 0) return MORE;
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? MORE : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? MORE : parseV1(buf);
  return invalid('the connection does not start with a PROXY protocol header');
}

const PORT = /^(?:0|[1-9]\d{0,4})$/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** Four decimal octets 0-255 without leading zeros: already the canonical text. */
const DOTTED_QUAD = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** Printable US-ASCII only reaches it (checked byte by byte first), so any single-byte decoding is exact. */
const ASCII = new TextDecoder('latin1');

function v1Endpoint(family: 'TCP4' | 'TCP6', address: string, port: string): ProxyEndpoint | null {
  if (!PORT.test(port) || Number(port) > 65535) return null;
  // Strict text only (spec §2.1: the address "as output by inet_ntop"): dotted quad without leading zeros for
  // TCP4, so `010.0.0.1` or `1.2.3` cannot mean something other than what it looks like; IPv6 text for TCP6.
  if (family === 'TCP4') return DOTTED_QUAD.test(address) ? { address, port: Number(port) } : null;
  if (!address.includes(':') || !ipaddr.IPv6.isValid(address)) return null;
  return { address: canonicalV6(ipaddr.IPv6.parse(address)), port: Number(port) };
}

const canonicalV6 = (a: ipaddr.IPv6): string => (a.isIPv4MappedAddress() ? a.toIPv4Address().toString() : a.toString());

function parseV1(buf: Uint8Array): ProxyParse {
  // The line ends at the first CRLF, within 107 bytes (so its CR is at index 105 at the latest); a longer one
  // is refused before it is buffered further.
  const limit = Math.min(buf.length, PROXY_V1_MAX - 1);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const b = buf[i]!;
    if (b === 0x0d) {
      if (i + 1 >= buf.length) return MORE;
      if (buf[i + 1] !== 0x0a) return invalid('v1 header: CR not followed by LF');
      end = i;
      break;
    }
    if (b < 0x20 || b > 0x7e) return invalid('v1 header: a byte that is not printable US-ASCII');
  }
  if (end === -1) return buf.length >= PROXY_V1_MAX - 1 ? invalid(`v1 header longer than ${PROXY_V1_MAX} bytes`) : MORE;
  const line = ASCII.decode(buf.subarray(V1_PREFIX.length, end));
  const length = end + 2;
  // "UNKNOWN": the proxy cannot name the client; whatever follows up to CRLF is ignored (spec §2.1).
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) return header(1, length, null, null);
  const parts = line.split(' ');
  const family = parts[0];
  if (family !== 'TCP4' && family !== 'TCP6') return invalid('v1 header: the protocol is not TCP4, TCP6 or UNKNOWN');
  if (parts.length !== 5) return invalid('v1 header: expected source, destination and two ports separated by single spaces');
  const source = v1Endpoint(family, parts[1]!, parts[3]!);
  const destination = v1Endpoint(family, parts[2]!, parts[4]!);
  if (source === null || destination === null) return invalid(`v1 header: an address or port that is not valid ${family}`);
  return header(1, length, source, destination);
}

function header(version: 1 | 2, length: number, source: ProxyEndpoint | null, destination: ProxyEndpoint | null): ProxyParse {
  return { kind: 'header', header: { version, length, source, destination } };
}

function parseV2(buf: Uint8Array): ProxyParse {
  if (buf.length < V2_FIXED) return MORE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return invalid('v2 header: version is not 2');
  const command = verCmd & 0x0f;
  if (command !== 0 && command !== 1) return invalid('v2 header: command is neither LOCAL nor PROXY');
  const famProto = buf[13]!;
  const len = (buf[14]! << 8) | buf[15]!;
  if (len > PROXY_V2_MAX_PAYLOAD) return invalid(`v2 header: ${len} bytes of addresses and TLVs (at most ${PROXY_V2_MAX_PAYLOAD})`);
  const length = V2_FIXED + len;
  if (buf.length < length) return MORE;
  // LOCAL: the proxy speaks for itself (a health check); the address block, whatever it holds, is discarded (§2.2).
  if (command === 0) return header(2, length, null, null);
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  // AF_UNSPEC (the proxy does not know the client) and AF_UNIX (no IP address to judge): the TCP peer stands
  // for the client (§2.2: "the receiver should use the real connection endpoints"). TLVs after the addresses
  // are skipped: nothing Portico does depends on them.
  if (family === 0 || family === 3)
    return family === 3 && len < 216 ? invalid('v2 header: AF_UNIX addresses truncated') : header(2, length, null, null);
  if (family !== 1 && family !== 2) return invalid('v2 header: unknown address family');
  if (transport !== 1) return invalid('v2 header: the transport is not STREAM (this listener is TCP)');
  const a = V2_FIXED;
  if (family === 1) {
    if (len < 12) return invalid('v2 header: AF_INET addresses truncated');
    const v4 = (o: number): string => `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
    return header(2, length, { address: v4(a), port: port16(buf, a + 8) }, { address: v4(a + 4), port: port16(buf, a + 10) });
  }
  if (len < 36) return invalid('v2 header: AF_INET6 addresses truncated');
  const v6 = (o: number): string => canonicalV6(ipaddr.fromByteArray([...buf.subarray(o, o + 16)]) as ipaddr.IPv6);
  return header(2, length, { address: v6(a), port: port16(buf, a + 32) }, { address: v6(a + 16), port: port16(buf, a + 34) });
}

const port16 = (buf: Uint8Array, o: number): number => (buf[o]! << 8) | buf[o + 1]!;
