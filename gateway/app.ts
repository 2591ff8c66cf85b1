// The request path, runtime-agnostic: Hono answers every request with decide()'s verdict; the runtime
// adapter supplies the facts about the connection and the forwarder that moves the bytes (the Node one
// writes straight into the socket, see proxy/node-forwarder.ts).
import { Hono, type Context, type Env } from 'hono';
import { decide, type PeerTable, type RequestFacts } from './decide.ts';
import type { LiveTable } from './live.ts';
import type { Metrics } from './metrics.ts';
import { plainResponse, redirectResponse } from './responses.ts';
import type { Backend } from './table/schema.ts';

export interface ForwardRequest {
  backend: Backend;
  /** A peer cluster's backend, reached through the node-local tunnel. */
  cluster?: string;
  /** Path (normalised for matching) plus query, as sent upstream. */
  target: string;
  facts: RequestFacts;
  /** Metrics label of the route. */
  label: string;
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
    if (d.kind === 'forward')
      return o.runtime.forward(c, { backend: d.backend, target: d.target, facts, label: d.label, cluster: d.cluster });
    o.metrics.request(d.label, d.kind === 'redirect' ? 308 : d.status);
    return d.kind === 'redirect' ? redirectResponse(d.location) : plainResponse(d.status);
  });
  return app;
}
