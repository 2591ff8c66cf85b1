// How the Node forwarder dials a route's TLS upstream under proxy-ssl-* (RoutePolicies.upstreamTls): nginx's
// proxy_ssl_trusted_certificate, proxy_ssl_certificate(_key), proxy_ssl_verify(_depth), proxy_ssl_name,
// proxy_ssl_server_name, proxy_ssl_ciphers and proxy_ssl_protocols as node:tls connect options. Each distinct setting
// has its own `key`, so pools (pools.ts) never let two routes with different TLS share a connection.
import { createHash } from 'node:crypto';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import type { UpstreamTlsMaterial } from '../decide.ts';
import { PorticoError } from '../table/portico-error.ts';
import type { Backend } from '../table/schema.ts';

export interface UpstreamTlsDial {
  /** Distinguishes pools: a digest of every setting and all the material. */
  key: string;
  /** The name checked and, with proxy-ssl-server-name on, sent by SNI. */
  name: string;
  /** SNI to send, or null (proxy_ssl_server_name off: nginx's default). */
  servername: string | null;
  /** For tls.connect (undici's connector passes them on). */
  options: ConnectionOptions;
}

/** proxy-ssl-verify-depth exceeded: the upstream's chain has more intermediates than allowed. Answered 502. */
export class UpstreamTlsDepthError extends PorticoError {
  readonly code = 'PORTICO_UPSTREAM_TLS_DEPTH';
  constructor(intermediates: number, depth: number) {
    super(`the upstream's certificate chain has ${intermediates} intermediate certificates, proxy-ssl-verify-depth allows ${depth}`);
  }
}

/** Intermediates between the upstream's certificate and the trust anchor, as OpenSSL's verify depth counts them
 * (SSL_CTX_set_verify_depth: depth N allows N intermediates). Node's detailed peer certificate links each
 * certificate to its issuer, the trust anchor to itself. */
export function intermediatesOf(leaf: PeerCertificate): number {
  let n = 0;
  let c = leaf as PeerCertificate & { issuerCertificate?: PeerCertificate };
  const seen = new Set<string>();
  while (c.issuerCertificate !== undefined && c.issuerCertificate !== c && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    c = c.issuerCertificate as PeerCertificate & { issuerCertificate?: PeerCertificate };
    n++;
  }
  // n certificates above the leaf; the last is the anchor when it issued itself.
  const anchored = c.issuerCertificate === c || c.issuerCertificate?.fingerprint256 === c.fingerprint256;
  return Math.max(0, anchored ? n - 1 : n);
}

/** The Service's DNS name: what Portico checks (and sends) without proxy-ssl-name. nginx would use its upstream
 * block's name, which no real certificate carries. */
export const serviceName = (b: Backend): string => `${b.service.name}.${b.service.namespace}.svc`;

const cache = new WeakMap<UpstreamTlsMaterial['policy'], Map<string, UpstreamTlsDial>>();

/** The dial settings of a route's upstream TLS to `backend`, built once per policy object (one table) and backend. */
export function upstreamTlsDial(m: UpstreamTlsMaterial, backend: Backend): UpstreamTlsDial {
  let byBackend = cache.get(m.policy);
  if (byBackend === undefined) cache.set(m.policy, (byBackend = new Map()));
  const known = byBackend.get(backend.id);
  if (known !== undefined) return known;
  const p = m.policy;
  const name = p.name ?? serviceName(backend);
  const options: ConnectionOptions = {
    minVersion: p.protocols[0]!,
    maxVersion: p.protocols[p.protocols.length - 1]!,
    ...(p.ciphers === undefined ? {} : { ciphers: p.ciphers }),
    ...(m.client === null ? {} : { cert: m.client.certPem, key: m.client.keyPem }),
    ...(p.verify
      ? {
          ca: m.caPem,
          rejectUnauthorized: true,
          // The hostname Node passes is the endpoint's address (or the SNI): the check is against proxy-ssl-name.
          checkServerIdentity: (_host: string, cert: PeerCertificate) => {
            const wrongName = checkServerIdentity(name, cert);
            if (wrongName !== undefined) return wrongName;
            const n = intermediatesOf(cert);
            return n > p.depth ? new UpstreamTlsDepthError(n, p.depth) : undefined;
          },
        }
      : { rejectUnauthorized: false, checkServerIdentity: () => undefined }),
  };
  const key = createHash('sha256')
    .update(JSON.stringify([p, name, m.caPem, m.client?.certPem ?? '', m.client?.keyPem ?? '']))
    .digest('base64url');
  const dial: UpstreamTlsDial = { key, name, servername: p.serverName ? name : null, options };
  byBackend.set(backend.id, dial);
  return dial;
}
