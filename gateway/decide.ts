// What a request gets, decided from the live table alone: a redirect, one of the gateway's own status
// answers, or a backend to forward to. Pure and shared by the Hono request path and the WebSocket
// upgrade path, so both follow exactly the same rules.
import { forwardedPath } from './request-target.ts';
import { type HeaderReader, picksCanary } from './canary.ts';
import { clientCertificateOutcome, type TlsClientConnection } from './access/client-certificate.ts';
import { needsGate, type ResponseAdditions } from './access/gate.ts';
import { headerEffects } from './header-rules.ts';
import { sourceAllowed } from './access/source-ranges.ts';
import { type ErrorPage, errorPageOf } from './error-pages.ts';
import type { LiveTable, LoadedTable } from './live.ts';
import { hasRouteFilter } from './table/canonical.ts';
import { authorityOf } from './table/client-certificates.ts';
import type { RedirectStatus } from './table/redirect.ts';
import {
  type AccessPolicy,
  type Backend,
  type CertificateMaterial,
  type Route,
  type RoutePolicies,
  UPSTREAM_CLIENT_SUFFIX,
  type UpstreamTlsPolicy,
} from './table/schema.ts';

/** A route's proxy-ssl-* policy with the material it names: the Secret's authorities and the client certificate. */
export interface UpstreamTlsMaterial {
  policy: UpstreamTlsPolicy;
  caPem: string;
  /** tls.crt and tls.key; null when the Secret has only ca.crt. */
  client: CertificateMaterial | null;
}

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
  /** The TCP peer is a trusted proxy whose forwarding headers are believed (not under the PROXY protocol): its
   * `Forwarded` header reaches the upstream; anyone else's is removed. */
  trustedForwarder?: true;
  /** The TLS connection's client certificate (HTTPS on Node); null on plain HTTP; absent where the runtime
   * cannot see client certificates. Read only for hosts that check them. */
  tlsClient?: TlsClientConnection | null;
  /** The request's headers by lower-case name; read only for routes with a canary (canary-by-header, -cookie).
   * Absent: none are read, so header and cookie rules never pick the canary. */
  header?: HeaderReader;
}

export type Decision =
  /** 308 for ssl-redirect, force-ssl-redirect and from-to-www-redirect; 302 to auth-tls-error-page and for app-root;
   * 300-308 for permanent-redirect and temporal-redirect. */
  | { kind: 'redirect'; status: RedirectStatus; location: string; label: string }
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
      /** The route's policies, when it has upstream filters (timeouts, bodyLimit, retry, backendProtocol) or an
       * endpoint choice of its own (affinity, balance: gateway/affinity.ts): the forwarders read them. */
      upstream?: RoutePolicies;
      /** default-backend / custom-http-errors: where intercepted statuses get their page (error-pages.ts). With a
       * `backend` that has no endpoint, the forwarder fetches the page for 503 at once. */
      errorPage?: ErrorPage;
      /** proxy-ssl-*: how to authenticate the TLS upstream (gateway/proxy/upstream-tls.ts); the Web forwarder answers
       * 503 for it. */
      upstreamTls?: UpstreamTlsMaterial;
      /** The route's header rules for the client's response (snippets: header-rules.ts). */
      responseHeaders?: ResponseAdditions;
    };

/** A peer cluster's verified table, read by this worker for failover. */
export interface PeerTable {
  cluster: string;
  live: Pick<LiveTable, 'current'>;
}

// ACME HTTP-01 challenges must reach their solver over plain HTTP (RFC 8555 8.3); ingress-nginx exempts them too.
const ACME_PREFIX = '/.well-known/acme-challenge/';
const SAFE_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])$/;
const SAFE_HOST_PORT = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

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
    // A peer's route guarded by access control (enforced or not, client certificates of its host included) is not a
    // place to fail over to: this worker does not apply the peer's rules, and the peer's gateway applies none to
    // relayed requests.
    if (
      m?.backend == null ||
      m.backend.endpoints.length === 0 ||
      m.failClosed !== null ||
      m.route?.policies.access !== undefined ||
      m.host?.clientCertificate !== undefined
    )
      continue;
    // Nor is one with routing filters (redirects, rewrites, timeouts and limits, canary, affinity, error pages, a
    // backend protocol): this worker would not apply them to a relayed request.
    const filters = m.route?.policies;
    if (filters !== undefined && (hasRouteFilter(filters) || filters.headerRules !== undefined)) continue;
    // The path the peer's own matcher routed by, checked the way a local one is (request-target.ts).
    const matcher = p.live.current!.matcher;
    const path = forwardedPath(f.path, m, (x) => matcher.match(f.host, x).route);
    if (path === null) continue;
    return {
      kind: 'forward',
      backend: m.backend,
      target: path + f.search,
      label: `${p.cluster}:${routeLabel(m.route, m.host?.host ?? null, m.reason)}`,
      cluster: p.cluster,
    };
  }
  return null;
}

/** permanent-redirect / temporal-redirect (every request), then app-root (a request for `/`); null: neither. */
function routeRedirect(p: RoutePolicies, f: RequestFacts, path: string, label: string): Decision | null {
  const r = p.redirect;
  if (r !== undefined) {
    // nginx's `return <code> <url>`: the value as written; a path is made absolute from the request unless
    // relative-redirects turned absolute_redirect off (test/e2e/annotations/relativeredirects.go).
    if (r.relative === true || !r.location.startsWith('/')) return { kind: 'redirect', status: r.statusCode, location: r.location, label };
    const host = f.host.toLowerCase();
    if (!SAFE_HOST_PORT.test(host)) return { kind: 'status', status: 400, label };
    return { kind: 'redirect', status: r.statusCode, location: `${f.scheme}://${host}${r.location}`, label };
  }
  const root = p.rootRedirect;
  if (root === undefined || path !== '/') return null;
  // `if ($uri = /) { return 302 $scheme://$http_host<app-root>; }`: the query is not kept (approot.go).
  const host = f.host.toLowerCase();
  if (!SAFE_HOST_PORT.test(host)) return { kind: 'status', status: 400, label };
  return { kind: 'redirect', status: root.statusCode, location: `${f.scheme}://${host}${root.replaceFullPath}`, label };
}

/** The route's upstream-vhost (Host) and x-forwarded-prefix headers after the client certificate's. */
function withRouteHeaders(before: [string, string | null][] | undefined, p: RoutePolicies): [string, string | null][] {
  const out: [string, string | null][] = before === undefined ? [] : [...before];
  if (p.rewrite?.hostname !== undefined) out.push(['host', p.rewrite.hostname]);
  for (const [name, value] of p.requestHeaders?.set ?? []) out.push([name, value]);
  return out;
}

/** The route's error page: its default-backend, else the table's default backend (ingress-nginx's
 * upstream-default-backend) for custom-http-errors alone. */
function routeErrorPage(matcher: NonNullable<LiveTable['current']>['matcher'], route: Route, service: Backend, f: RequestFacts): ErrorPage {
  const p = route.policies;
  const id = p.errorBackend ?? matcher.table.defaultBackend;
  return errorPageOf(route, service, p.interceptStatuses ?? [], id === null ? null : (matcher.backend(id) ?? null), f);
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
  // A NUL or control character, a path whose dot segments readers resolve differently, or one that leaves its route
  // once decoded: refused before anything else.
  const upstreamPath = forwardedPath(f.path, m, (x) => loaded.matcher.match(f.host, x).route);
  if (upstreamPath === null) return { kind: 'status', status: 400, label };
  // from-to-www-redirect: the other name's whole server redirects, before any location is chosen.
  const hostRedirect = m.host?.redirect;
  if (hostRedirect !== undefined) {
    const port = /:\d+$/.exec(f.host)?.[0] ?? '';
    return {
      kind: 'redirect',
      status: hostRedirect.statusCode,
      location: `${f.scheme}://${hostRedirect.hostname}${port}${m.path}${f.search}`,
      label,
    };
  }
  const p = m.route?.policies;
  // nginx runs a location's `return` (permanent-redirect, temporal-redirect, app-root) in the rewrite phase,
  // before lua_ingress's HTTPS redirect at the end of that phase: so they come first, on HTTP too.
  if (p?.redirect !== undefined || p?.rootRedirect !== undefined) {
    const r = routeRedirect(p, f, m.path, label);
    if (r !== null) return r;
  }
  if (p !== undefined && (p.sslRedirect || p.schemeRedirect !== undefined) && f.scheme === 'http' && !m.path.startsWith(ACME_PREFIX)) {
    // force-ssl-redirect redirects also where this worker has no HTTPS listener (TLS ends in front of it): to 443.
    const to = httpsPort ?? (p.schemeRedirect === undefined ? null : 443);
    if (to !== null) {
      const name = f.host.replace(/:\d+$/, '').toLowerCase();
      if (!SAFE_HOST.test(name)) return { kind: 'status', status: 400, label };
      const port = to === 443 ? '' : `:${to}`;
      return { kind: 'redirect', status: 308, location: `https://${name}${port}${m.path}${f.search}`, label };
    }
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
  // Nor does a route with a canary: the peer's table would choose between the backends by its own rules.
  const canary = m.route?.policies.canary;
  // Nor does a route with header rules (snippets): a peer's answer would not carry them.
  const local =
    (access === undefined || !needsGate(access)) && upstreamHeaders === undefined && canary === undefined && p?.headerRules === undefined
      ? peers
      : [];
  // The canary is chosen before the endpoints are looked at: a request sent to a canary without a ready endpoint
  // answers 503 rather than quietly reaching the main backend (and the reverse).
  const backend =
    canary !== undefined && m.backend !== null && picksCanary(canary, f.header, random)
      ? (loaded.matcher.backend(canary.backend) ?? null)
      : m.backend;
  let errorPage: ErrorPage | undefined;
  if (p !== undefined && backend !== null && (p.errorBackend !== undefined || p.interceptStatuses !== undefined))
    errorPage = routeErrorPage(loaded.matcher, m.route!, backend, f);
  if (backend === null || backend.endpoints.length === 0) {
    const remote = local.length === 0 ? null : peerDecision(local, f);
    if (remote !== null) return remote;
    // default-backend (or custom-http-errors with 503): the error backend answers instead of the gateway's 503.
    const pageFor503 =
      errorPage !== undefined &&
      (p?.errorBackend !== undefined || errorPage.statuses.includes(503)) &&
      errorPage.backend !== null &&
      errorPage.backend.endpoints.length > 0;
    if (!pageFor503) return { kind: 'status', status: backend === null && m.backend === null ? 404 : 503, label };
  }
  // A weighted split across clusters (portico.dev/cluster-weight): this share stays, the rest goes to a peer.
  const w = m.route?.policies.localWeight;
  if (w !== undefined && local.length > 0 && random() * 100 >= w) {
    const remote = peerDecision(local, f);
    if (remote !== null) return remote;
  }
  // proxy-ssl-*: the material comes with the table (LiveTable.swap checks it); if it did not, 503 rather than dial
  // the upstream without it.
  const tlsPolicy = p?.upstreamTls;
  const upstreamTls = tlsPolicy === undefined ? undefined : upstreamTlsMaterial(loaded, tlsPolicy);
  if (upstreamTls === null) return { kind: 'status', status: 503, label };
  const forward: Extract<Decision, { kind: 'forward' }> = { kind: 'forward', backend: backend!, target: upstreamPath + f.search, label };
  if (upstreamTls !== undefined) forward.upstreamTls = upstreamTls;
  if (errorPage !== undefined) forward.errorPage = errorPage;
  if (p?.rewrite?.hostname !== undefined || p?.requestHeaders !== undefined) upstreamHeaders = withRouteHeaders(upstreamHeaders, p);
  // configuration-snippet / server-snippet header rules: the upstream request's after the edge's own, the
  // response's for the forwarder (and the gate's own answers).
  if (p?.headerRules !== undefined) {
    const e = headerEffects(p.headerRules);
    if (e.upstream.length > 0) upstreamHeaders = [...(upstreamHeaders ?? []), ...e.upstream];
    if (e.response !== undefined) forward.responseHeaders = e.response;
  }
  if (upstreamHeaders !== undefined) forward.upstreamHeaders = upstreamHeaders;
  const policies = m.route?.policies;
  if (
    policies !== undefined &&
    (policies.timeouts !== undefined ||
      policies.bodyLimit !== undefined ||
      policies.retry !== undefined ||
      policies.backendProtocol !== undefined ||
      policies.upstreamTls !== undefined ||
      policies.affinity !== undefined ||
      policies.balance !== undefined)
  )
    forward.upstream = policies;
  if (access !== undefined && needsGate(access)) {
    forward.gate = access;
    if (any) forward.sourceGranted = sourceOk;
  }
  return forward;
}

/** The Secret a route's proxy-ssl-* names, with its client certificate; null when either is missing. */
function upstreamTlsMaterial(loaded: LoadedTable, policy: UpstreamTlsPolicy): UpstreamTlsMaterial | null {
  const secret = loaded.matcher.table.upstreamTlsSecrets?.find((s) => s.id === policy.secret);
  if (secret === undefined) return null;
  if (secret.clientFingerprint === undefined) return { policy, caPem: secret.caPem, client: null };
  const client = loaded.certificates.get(`${secret.id}${UPSTREAM_CLIENT_SUFFIX}`);
  return client === undefined ? null : { policy, caPem: secret.caPem, client };
}
