// Who the client is when the edge sits behind proxies the operator trusts (a cloud load balancer, a CDN):
// ingress-nginx's use-forwarded-headers + proxy-real-ip-cidr + forwarded-for-header + compute-full-forwarded-for,
// which configure nginx's realip module (`set_real_ip_from`, `real_ip_header`, `real_ip_recursive on`).
// Without a trusted proxy configured, or for a peer outside the trusted ranges, nothing a client sends is
// believed: the client is the TCP peer (https://nginx.org/en/docs/http/ngx_http_realip_module.html).
import { type Address, type Cidr, inCidr, parseCidr, parseClientAddress } from '../table/cidr.ts';
import type { ProxyHeader } from './proxy-protocol.ts';

export interface TrustedProxies {
  /** Peers whose forwarding headers are believed (proxy-real-ip-cidr). */
  from: readonly Cidr[];
  /** The lower-case header naming the client chain (forwarded-for-header; default x-forwarded-for). */
  header: string;
  /** The upstream gets the whole chain plus the peer in X-Forwarded-For (compute-full-forwarded-for), instead
   * of the client alone. */
  fullChain: boolean;
}

/** The trusted-proxy settings as configured (text: they cross to worker processes as JSON). */
export interface TrustConfig {
  proxies: string;
  header: string;
  fullChain: boolean;
}

/** The configured settings, parsed; throws on ranges that do not parse (the command line checked them first). */
export function trustedProxies(c: TrustConfig): TrustedProxies {
  const t = parseTrustedProxies(c.proxies, c.header, c.fullChain);
  if ('invalid' in t) throw new Error(`trusted proxies: ${t.invalid.join(', ')} is not a CIDR`);
  return t;
}

/** `--trusted-proxies 10.0.0.0/8,192.168.0.0/16` → the ranges, or the entries that do not parse. */
export function parseTrustedProxies(list: string, header = 'x-forwarded-for', fullChain = false): TrustedProxies | { invalid: string[] } {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const parsed = entries.map(parseCidr);
  const invalid = entries.filter((_, i) => parsed[i] === null);
  if (invalid.length > 0 || entries.length === 0) return { invalid: entries.length === 0 ? [list] : invalid };
  return { from: parsed as Cidr[], header: header.toLowerCase(), fullChain };
}

const trusted = (a: Address | null, t: TrustedProxies): boolean => a !== null && t.from.some((c) => inCidr(a, c));

/** Whether a TCP peer (as the runtime reports it) is one of the trusted proxies. */
export const trustsPeer = (peer: string, t: TrustedProxies): boolean => trusted(parseClientAddress(peer), t);

export interface ForwardedFacts {
  /** The client: the first address from the right of the chain that is not a trusted proxy. */
  clientIp: string;
  /** X-Forwarded-For for the upstream. */
  forwardedFor: string;
  /** X-Forwarded-Proto, -Host and -Port as the trusted proxy sent them, when it did (valid values only). */
  scheme?: 'http' | 'https';
  host?: string;
  port?: number;
}

/** The facts a trusted proxy vouches for, or null when the peer is not trusted (or no proxy is). */
export function forwardedFacts(peer: string, header: (name: string) => string | undefined, t: TrustedProxies): ForwardedFacts | null {
  if (!trusted(parseClientAddress(peer), t)) return null;
  const chainHeader = header(t.header);
  const chain = (chainHeader ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  // real_ip_recursive on: from the right, skip trusted proxies; the first other address is the client. An
  // entry that is not an address ends the walk there, as it would in nginx.
  let client = peer;
  for (let i = chain.length - 1; i >= 0; i--) {
    const a = parseClientAddress(chain[i]!);
    if (a === null) break;
    client = a.toString();
    if (!trusted(a, t)) break;
  }
  const out: ForwardedFacts = {
    clientIp: client,
    forwardedFor: t.fullChain && chainHeader !== undefined ? `${chainHeader}, ${peer}` : client,
  };
  const proto = header('x-forwarded-proto')?.trim().toLowerCase();
  if (proto === 'http' || proto === 'https') out.scheme = proto;
  const host = header('x-forwarded-host')?.trim();
  if (host !== undefined && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host)) out.host = host;
  const port = header('x-forwarded-port')?.trim();
  if (port !== undefined && /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) out.port = Number(port);
  return out;
}

export interface ProxiedFacts {
  /** The PROXY header's source address; the TCP peer when the header names none (LOCAL, UNKNOWN, AF_UNIX);
   * "" when the connection carries no header record at all (the client is unknown: source ranges refuse). */
  clientIp: string;
  forwardedFor: string;
  /** https when the client connected to port 443 of the load balancer (ingress-nginx lua_ingress.rewrite:
   * `proxy_protocol_server_port == "443"` sets $pass_access_scheme), so a load balancer that terminates TLS and
   * sends plain HTTP is not redirected to HTTPS in a loop. Absent: the listener's scheme. */
  scheme?: 'https';
  /** The port the client connected to on the load balancer: X-Forwarded-Port (ingress-nginx sets
   * $pass_server_port to $proxy_protocol_server_port). Absent: the listener's port. */
  port?: number;
}

/** Who the client is on a connection that began with a PROXY header from a trusted proxy (the listener closed
 * every other connection): nginx's `real_ip_header proxy_protocol` with `set_real_ip_from` the trusted proxies.
 * X-Forwarded-* headers are not believed: a layer-4 load balancer does not write them, so a client did. With
 * compute-full-forwarded-for the client's chain is kept in front of the PROXY address (ingress-nginx's
 * $full_x_forwarded_for with use-proxy-protocol: "$http_x_forwarded_for, $proxy_protocol_addr"). */
export function proxiedFacts(
  h: Pick<ProxyHeader, 'source' | 'destination'> | undefined,
  peer: string,
  header: (name: string) => string | undefined,
  t: TrustedProxies,
): ProxiedFacts {
  const clientIp = h === undefined ? '' : (h.source?.address ?? peer);
  const chain = t.fullChain ? header(t.header) : undefined;
  const out: ProxiedFacts = { clientIp, forwardedFor: chain === undefined || chain.trim() === '' ? clientIp : `${chain}, ${clientIp}` };
  const port = h?.destination?.port;
  if (port !== undefined && port > 0) {
    out.port = port;
    if (port === 443) out.scheme = 'https';
  }
  return out;
}
