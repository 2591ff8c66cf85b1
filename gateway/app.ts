// The request path, runtime-agnostic: Hono answers every request with decide()'s verdict; the runtime
// adapter supplies the facts about the connection and the forwarder that moves the bytes (the Node one
// writes straight into the socket, see proxy/node-forwarder.ts).
import { Hono, type Context, type Env } from 'hono';
import type { AuthCache } from './access/auth-cache.ts';
import { type AuthClient, authorize } from './access/external-auth.ts';
import { type Decision, decide, type PeerTable, type RequestFacts } from './decide.ts';
import type { LiveTable } from './live.ts';
import type { Metrics } from './metrics.ts';
import { plainResponse, redirectResponse } from './responses.ts';
import { requestIdFor } from './proxy/headers.ts';
import type { Backend, ExternalAuthPolicy } from './table/schema.ts';

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
  /** Set-Cookie values for the client's response: on 2xx/3xx answers, or on every answer with `always`. */
  responseCookies?: { values: readonly string[]; always: boolean };
  /** The request id the auth service already saw, so the upstream sees the same one. */
  requestId?: string;
}

export interface RuntimeBindings<E extends Env> {
  facts(c: Context<E>): RequestFacts;
  /** Forwards to one of `req.backend`'s endpoints and records the request's metrics itself. */
  forward(c: Context<E>, req: ForwardRequest): Response | Promise<Response>;
}

export interface GatewayOptions<E extends Env> {
  live: LiveTable;
  metrics: Metrics;
  runtime: RuntimeBindings<E>;
  ports: ListenerPorts;
  /** Peer clusters' tables for failover; empty: this cluster only. */
  peers?: readonly PeerTable[];
  /** How this runtime asks auth services (auth-url). Absent: routes that need one answer 503 (fail closed). */
  auth?: { client: AuthClient; cache: AuthCache };
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
    if (d.kind === 'forward') {
      if (d.externalAuth !== undefined) return forwardAfterAuth(o, c, d, d.externalAuth, facts);
      return o.runtime.forward(c, { backend: d.backend, target: d.target, facts, label: d.label, cluster: d.cluster });
    }
    o.metrics.request(d.label, d.kind === 'redirect' ? 308 : d.status);
    return d.kind === 'redirect' ? redirectResponse(d.location) : plainResponse(d.status);
  });
  return app;
}

/** The auth service decides first (auth-url); only an allowed request is forwarded, carrying what the answer
 * says it should (auth-response-headers, Set-Cookie). */
async function forwardAfterAuth<E extends Env>(
  o: GatewayOptions<E>,
  c: Context<E>,
  d: Extract<Decision, { kind: 'forward' }>,
  policy: ExternalAuthPolicy,
  facts: RequestFacts,
): Promise<Response> {
  if (o.auth === undefined) {
    o.metrics.request(d.label, 503);
    return plainResponse(503);
  }
  const raw = c.req.raw;
  const headers: [string, string][] = [];
  raw.headers.forEach((value, name) => void headers.push([name, value]));
  const requestId = requestIdFor(raw.headers.get('x-request-id') ?? undefined, () => crypto.randomUUID());
  const verdict = await authorize(
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
    },
    o.auth.client,
    o.auth.cache,
  );
  if (verdict.kind === 'respond') {
    o.metrics.request(d.label, verdict.status);
    return plainResponse(verdict.status, verdict.headers);
  }
  return o.runtime.forward(c, {
    backend: d.backend,
    target: d.target,
    facts,
    label: d.label,
    upstreamHeaders: verdict.upstreamHeaders,
    responseCookies: { values: verdict.cookies, always: policy.alwaysSetCookie === true },
    requestId,
  });
}
