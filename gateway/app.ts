// The request path, runtime-agnostic: Hono answers every request with decide()'s verdict; the runtime
// adapter supplies the facts about the connection and the forwarder that moves the bytes (the Node one
// writes straight into the socket, see proxy/node-forwarder.ts).
import { Hono, type Context, type Env } from 'hono';
import { type GateDeps, type ResponseAdditions, runGate } from './access/gate.ts';
import { type Decision, decide, type PeerTable, type RequestFacts, type UpstreamTlsMaterial } from './decide.ts';
import { joinAdditions } from './header-rules.ts';
import type { LiveTable } from './live.ts';
import type { ErrorPage } from './error-pages.ts';
import type { Metrics } from './metrics.ts';
import { plainResponse, redirectResponse } from './responses.ts';
import { requestIdFor } from './proxy/headers.ts';
import type { AccessPolicy, Backend, RoutePolicies } from './table/schema.ts';
import { bodyTooLarge } from './proxy/body-limit.ts';
import { hstsFor, mergeHsts, withHsts } from './hsts.ts';

export interface ForwardRequest {
  backend: Backend;
  /** A peer cluster's backend, reached through the node-local tunnel. */
  cluster?: string;
  /** Path (normalised for matching) plus query, as sent upstream. */
  target: string;
  facts: RequestFacts;
  /** Metrics label of the route. */
  label: string;
  /** Headers set on the upstream request after the usual rules (null: the client's is removed). */
  upstreamHeaders?: readonly (readonly [string, string | null])[];
  /** Headers for the client's response (the access gate's: an auth service's cookies, ...). */
  responseHeaders?: ResponseAdditions;
  /** The request id the auth service already saw, so the upstream sees the same one. */
  requestId?: string;
  /** The access gate let this request through: it may not fail over to a peer cluster, which would serve it
   * under none of these rules. */
  gated?: true;
  /** The forwarder calls it once the exchange has ended (response sent, client gone, or failed): the
   * access gate's completion hook (a limit-connections slot). Safe to call more than once. */
  onDone?: () => void;
  /** The route's upstream filters (timeouts, bodyLimit, retry), when it has any: decide()'s `upstream`. */
  upstream?: RoutePolicies;
  /** default-backend / custom-http-errors: decide()'s `errorPage`. A `backend` without endpoints: fetch the 503 page. */
  errorPage?: ErrorPage;
  /** proxy-ssl-*: decide()'s `upstreamTls`. */
  upstreamTls?: UpstreamTlsMaterial;
}

export interface RuntimeBindings<E extends Env> {
  facts(c: Context<E>): RequestFacts;
  /** Forwards to one of `req.backend`'s endpoints and records the request's metrics itself. */
  forward(c: Context<E>, req: ForwardRequest): Response | Promise<Response>;
  /** Told what the request path decided, before it answers or forwards (the access log's client and route). */
  observe?(c: Context<E>, facts: RequestFacts, route: string): void;
}

export interface GatewayOptions<E extends Env> {
  live: LiveTable;
  metrics: Metrics;
  runtime: RuntimeBindings<E>;
  ports: ListenerPorts;
  /** Peer clusters' tables for failover; empty: this cluster only. */
  peers?: readonly PeerTable[];
  /** What the access gate needs from this runtime (an HTTP client for auth services, ...). A step whose
   * dependency is missing answers 503 (fail closed). */
  gate?: GateDeps;
}

/** Where this gateway listens (after binding); `https` is the port redirect Locations name. */
export interface ListenerPorts {
  http: number;
  https: number | null;
}

export function createGatewayApp<E extends Env>(o: GatewayOptions<E>): Hono<E> {
  const app = new Hono<E>();
  const peers = o.peers ?? [];
  app.all('*', (c) => {
    const facts = o.runtime.facts(c);
    const d = decide(o.live, facts, o.ports.https, peers);
    o.runtime.observe?.(c, facts, d.label);
    const hsts = facts.scheme === 'https' ? hstsFor(o.live, facts.host) : null;
    if (d.kind === 'forward') {
      // client_max_body_size: nginx checks the declared length when it finds the location, before the access
      // phase, so a too-large request gets 413 before any authentication and before a byte reaches an upstream.
      if (d.upstream?.bodyLimit !== undefined && bodyTooLarge(c.req.header('content-length'), d.upstream.bodyLimit)) {
        o.metrics.request(d.label, 413);
        return plainResponse(413, withHsts([['connection', 'close']], hsts));
      }
      if (d.gate !== undefined) return forwardThroughGate(o, c, d, d.gate, facts, hsts);
      const req: ForwardRequest = { backend: d.backend, target: d.target, facts, label: d.label, cluster: d.cluster };
      if (d.upstreamHeaders !== undefined) {
        // A host that checks client certificates: its requests never fail over to a peer cluster either.
        req.upstreamHeaders = d.upstreamHeaders;
        req.gated = true;
      }
      if (d.upstream !== undefined) req.upstream = d.upstream;
      if (d.errorPage !== undefined) req.errorPage = d.errorPage;
      if (d.upstreamTls !== undefined) req.upstreamTls = d.upstreamTls;
      if (d.responseHeaders !== undefined) {
        // A route with header rules (snippets) never fails over to a peer cluster either: its answer carries them.
        req.responseHeaders = hsts === null ? d.responseHeaders : mergeHsts(d.responseHeaders, hsts);
        req.gated = true;
      } else if (hsts !== null) req.responseHeaders = hsts;
      return o.runtime.forward(c, req);
    }
    o.metrics.request(d.label, d.status);
    if (hsts !== null) return plainResponse(d.status, withHsts(d.kind === 'redirect' ? [['location', d.location]] : [], hsts));
    return d.kind === 'redirect' ? redirectResponse(d.location, d.status) : plainResponse(d.status);
  });
  return app;
}

/** The access gate decides first (gateway/access/gate.ts); only a request it lets pass is forwarded, carrying
 * what the gate adds (an auth service's headers, response headers for the client). */
async function forwardThroughGate<E extends Env>(
  o: GatewayOptions<E>,
  c: Context<E>,
  d: Extract<Decision, { kind: 'forward' }>,
  policy: AccessPolicy,
  facts: RequestFacts,
  hsts: ResponseAdditions | null,
): Promise<Response> {
  const raw = c.req.raw;
  const headers: [string, string][] = [];
  raw.headers.forEach((value, name) => void headers.push([name, value]));
  const requestId = requestIdFor(raw.headers.get('x-request-id') ?? undefined, () => crypto.randomUUID());
  const outcome = await runGate(
    policy,
    {
      httpHost: facts.host,
      scheme: facts.scheme,
      method: raw.method,
      path: facts.path,
      search: facts.search,
      clientIp: facts.clientIp,
      localPort: facts.localPort,
      header: (name) => raw.headers.get(name),
      headers,
      requestId,
      scope: d.label,
      ...(d.sourceGranted === undefined ? {} : { sourceGranted: d.sourceGranted }),
      // Read before the first await, so it is the material of the table decide() routed by.
      credentials: o.live.current?.basicAuth,
    },
    o.gate ?? {},
    d.responseHeaders,
  );
  if (outcome.kind === 'respond') {
    o.metrics.request(d.label, outcome.status);
    return plainResponse(outcome.status, withHsts(outcome.headers, hsts));
  }
  const req: ForwardRequest = {
    backend: d.backend,
    target: d.target,
    facts,
    label: d.label,
    upstreamHeaders: d.upstreamHeaders === undefined ? outcome.upstreamHeaders : [...d.upstreamHeaders, ...outcome.upstreamHeaders],
    responseHeaders: mergeHsts(joinAdditions(outcome.response, d.responseHeaders)!, hsts),
    requestId,
    gated: true,
    ...(d.upstream === undefined ? {} : { upstream: d.upstream }),
    ...(d.errorPage === undefined ? {} : { errorPage: d.errorPage }),
    ...(d.upstreamTls === undefined ? {} : { upstreamTls: d.upstreamTls }),
  };
  if (outcome.onDone === undefined) return o.runtime.forward(c, req);
  req.onDone = outcome.onDone;
  try {
    return await o.runtime.forward(c, req);
  } catch (err) {
    outcome.onDone(); // a forwarder that throws has not ended the request itself
    throw err;
  }
}
