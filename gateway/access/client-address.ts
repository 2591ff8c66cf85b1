// Who the client is when the edge sits behind proxies the operator trusts (a cloud load balancer, a CDN):
// ingress-nginx's use-forwarded-headers + proxy-real-ip-cidr + forwarded-for-header + compute-full-forwarded-for,
// which configure nginx's realip module (`set_real_ip_from`, `real_ip_header`, `real_ip_recursive on`).
// Without a trusted proxy configured, or for a peer outside the trusted ranges, nothing a client sends is
// believed: the client is the TCP peer (https://nginx.org/en/docs/http/ngx_http_realip_module.html).
import { type Address, type Cidr, inCidr, parseCidr, parseClientAddress } from '../table/cidr.ts';

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
