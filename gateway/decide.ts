// What a request gets, decided from the live table alone: a redirect, one of the gateway's own status
// answers, or a backend to forward to. Pure and shared by the Hono request path and the WebSocket
// upgrade path, so both follow exactly the same rules.
import { clientCertificateOutcome, type TlsClientConnection } from './access/client-certificate.ts';
import { needsGate } from './access/gate.ts';
import { sourceAllowed } from './access/source-ranges.ts';
import type { LiveTable } from './live.ts';
import { authorityOf } from './table/client-certificates.ts';
import type { AccessPolicy, Backend, Route } from './table/schema.ts';

export interface RequestFacts {
  /** Host header (or :authority), as sent. */
  host: string;
  /** Path without query, as sent. */
  path: string;
  /** Query including its `?`, or "". */
  search: string;
  scheme: 'http' | 'https';
  clientIp: string;
  localPort: number;
  /** X-Forwarded-For for the upstream when a trusted proxy's chain is kept (compute-full-forwarded-for);
   * absent: the client address alone. */
  forwardedFor?: string;
  /** X-Forwarded-Host a trusted proxy sent; absent: the Host header. */
  forwardedHost?: string;
  /** The TLS connection's client certificate (HTTPS on Node); null on plain HTTP; absent where the runtime
   * cannot see client certificates. Read only for hosts that check them. */
  tlsClient?: TlsClientConnection | null;
}

export type Decision =
  /** 308 for ssl-redirect; 302 to auth-tls-error-page. */
  | { kind: 'redirect'; status: 302 | 308; location: string; label: string }
  | { kind: 'status'; status: 400 | 403 | 404 | 421 | 503; label: string }
  /** `cluster`: the backend is a peer cluster's, reached through the tunnels; absent: this cluster's. */
  | {
      kind: 'forward';
      backend: Backend;
      target: string;
      label: string;
      cluster?: string;
      /** Access rules the gate (gateway/access/gate.ts) applies before the request goes upstream. */
      gate?: AccessPolicy;
      /** With `satisfy: any`: whether the source ranges already granted the request (then no authentication is
       * asked), or refused it (then an authentication must grant it). Absent: ranges and gate both apply. */
      sourceGranted?: boolean;
      /** Headers set on (value) or removed from (null) the upstream request: the client certificate's. */
      upstreamHeaders?: [string, string | null][];
    };

/** A peer cluster's verified table, read by this worker for failover. */
export interface PeerTable {
  cluster: string;
  live: Pick<LiveTable, 'current'>;
}

// ACME HTTP-01 challenges must reach their solver over plain HTTP (RFC 8555 8.3); ingress-nginx exempts them too.
const ACME_PREFIX = '/.well-known/acme-challenge/';
const SAFE_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])$/;

/** Metrics label: `namespace/ingress host path` (`=` marks Exact), or how an unrouted request was served. */
export function routeLabel(route: Route | null, host: string | null, reason: string): string {
  if (route === null) return reason === 'no-match' ? '' : reason;
  return `${route.source.namespace}/${route.source.name} ${host === '' || host === null ? '*' : host} ${route.pathType === 'Exact' ? '=' : ''}${route.path || '/'}`;
}

/** The first peer cluster (in the order given, skipping `tried`) whose table routes host + path to a backend
 * with a ready endpoint: where a request goes when this cluster cannot serve it. */
export function peerDecision(
  peers: readonly PeerTable[],
  f: Pick<RequestFacts, 'host' | 'path' | 'search'>,
  tried?: ReadonlySet<string>,
): Extract<Decision, { kind: 'forward' }> | null {
  for (const p of peers) {
    if (tried?.has(p.cluster)) continue;
    const m = p.live.current?.matcher.match(f.host, f.path);
    // A peer's route guarded by access control (enforced or not) is not a place to fail over to: this worker
    // does not apply the peer's rules, and the peer's gateway applies none to relayed requests.
    if (m?.backend == null || m.backend.endpoints.length === 0 || m.failClosed !== null || m.route?.policies.access !== undefined) continue;
    return {
      kind: 'forward',
      backend: m.backend,
      target: m.upstreamPath + f.search,
      label: `${p.cluster}:${routeLabel(m.route, m.host?.host ?? null, m.reason)}`,
      cluster: p.cluster,
    };
  }
  return null;
}

/** `httpsPort` is where HTTPS is served (for redirect Locations), or null when there is no HTTPS listener.
 * `peers`: when this cluster has no route or no ready endpoint for a request, the first peer that has one
 * serves it (local first, failover to the peers in order). */
export function decide(
  live: Pick<LiveTable, 'current'>,
  f: RequestFacts,
  httpsPort: number | null,
  peers: readonly PeerTable[] = [],
  random: () => number = Math.random,
): Decision {
  const loaded = live.current;
  if (loaded === null) return { kind: 'status', status: 503, label: '' };
  const m = loaded.matcher.match(f.host, f.path);
  const label = routeLabel(m.route, m.host?.host ?? null, m.reason);
  if (m.route?.policies.sslRedirect && f.scheme === 'http' && httpsPort !== null && !m.path.startsWith(ACME_PREFIX)) {
    const name = f.host.replace(/:\d+$/, '').toLowerCase();
    if (!SAFE_HOST.test(name)) return { kind: 'status', status: 400, label };
    const port = httpsPort === 443 ? '' : `:${httpsPort}`;
    return { kind: 'redirect', status: 308, location: `https://${name}${port}${m.path}${f.search}`, label };
  }
  // Client certificates, for every request to the host (nginx checks them before any location is chosen).
  const certificatePolicy = m.host?.clientCertificate;
  let upstreamHeaders: [string, string | null][] | undefined;
  if (certificatePolicy !== undefined && m.host !== null) {
    const c = clientCertificateOutcome(
      certificatePolicy,
      authorityOf(loaded.matcher.table, certificatePolicy),
      m.host.host,
      f.scheme === 'http' ? null : f.tlsClient,
      (name) => loaded.matcher.lookupHost(name)?.host ?? null,
    );
    if (c.kind === 'refuse') return { kind: 'status', status: c.status, label };
    if (c.kind === 'redirect') return { kind: 'redirect', status: 302, location: c.location, label };
    upstreamHeaders = c.upstreamHeaders;
  }
  // Fail closed: access control this route asks for and the table says is not enforced. After the HTTPS
  // redirect, as in nginx, where ssl-redirect runs in the rewrite phase and auth in the later access phase.
  if (m.failClosed !== null) return { kind: 'status', status: 503, label };
  // Source ranges: 403 before anything reaches an upstream or an auth service.
  const access = m.route?.policies.access;
  // With `satisfy: any` a refusal by the ranges is not final: an authentication may still grant the request.
  const sourceOk = access === undefined || sourceAllowed(access, f.clientIp);
  const any = access?.satisfy === 'any' && (access.allow !== undefined || access.deny !== undefined);
  if (!sourceOk && !any) return { kind: 'status', status: 403, label };
  // A route with gated access rules or client certificates never fails over to a peer cluster: the peer would
  // serve it ungated.
  const local = (access === undefined || !needsGate(access)) && upstreamHeaders === undefined ? peers : [];
  if (m.backend === null || m.backend.endpoints.length === 0) {
    const remote = local.length === 0 ? null : peerDecision(local, f);
    if (remote !== null) return remote;
    return { kind: 'status', status: m.backend === null ? 404 : 503, label };
  }
  // A weighted split across clusters (portico.dev/cluster-weight): this share stays, the rest goes to a peer.
  const w = m.route?.policies.localWeight;
  if (w !== undefined && local.length > 0 && random() * 100 >= w) {
    const remote = peerDecision(local, f);
    if (remote !== null) return remote;
  }
  const forward: Extract<Decision, { kind: 'forward' }> = { kind: 'forward', backend: m.backend, target: m.upstreamPath + f.search, label };
  if (upstreamHeaders !== undefined) forward.upstreamHeaders = upstreamHeaders;
  if (access !== undefined && needsGate(access)) {
    forward.gate = access;
    if (any) forward.sourceGranted = sourceOk;
  }
  return forward;
}
