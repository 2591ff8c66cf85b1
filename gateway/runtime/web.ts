// What the Web runtimes (Deno, workerd) share: request facts read from a Web Request, and the gateway app
// wired to the fetch() forwarder. Each runtime's file only says how it learns the client address,
// scheme and port, and how it serves.
import { type Context, type Env, Hono } from 'hono';
import { AuthCache } from '../access/auth-cache.ts';
import { webAuthClient } from '../access/auth-client-web.ts';
import { digestState } from '../access/digest-auth.ts';
import { createGatewayApp, type ListenerPorts } from '../app.ts';
import { RoundRobin } from '../balance.ts';
import type { RequestFacts } from '../decide.ts';
import type { UpstreamError } from '../errors.ts';
import type { LiveTable } from '../live.ts';
import type { Metrics } from '../metrics.ts';
import type { RoutingTable } from '../table/schema.ts';
import { webForward, type FetchLike, type WebForwarderDeps } from '../proxy/web-forwarder.ts';
import { observeForLog, type WebAccessLog, webAccessLog } from './web-access-log.ts';

/** Path and query as sent, read from the URL string without parsing it (a URL object would cost more
 * than the rest of the decision; the matcher normalises the path itself). */
export function webFacts(request: Request, scheme: 'http' | 'https', clientIp: string, localPort: number): RequestFacts {
  const url = request.url;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const pathAndQuery = start === -1 ? '/' : url.slice(start);
  const q = pathAndQuery.indexOf('?');
  return {
    // HTTP/2 requests carry :authority, which the runtime puts into the URL, not into a Host header.
    host: request.headers.get('host') ?? url.slice(url.indexOf('//') + 2, start === -1 ? undefined : start),
    path: q === -1 ? pathAndQuery : pathAndQuery.slice(0, q),
    search: q === -1 ? '' : pathAndQuery.slice(q),
    scheme,
    clientIp,
    localPort,
    header: (name) => request.headers.get(name) ?? undefined,
  };
}

/** ssl-passthrough needs the ClientHello before TLS is terminated; Deno.serve terminates every TLS connection
 * itself and workerd sees requests only after the platform did. So there the annotation works as in ingress-nginx
 * without --enable-ssl-passthrough: the host's TLS is terminated and its routes are served. Said on every table
 * that has such a host (and at once for the table already loaded), so it cannot go unnoticed. */
export function logUnrelayedPassthrough(live: LiveTable, runtime: string, log: (level: 'warn', msg: string) => void): void {
  const check = (table: RoutingTable | null): void => {
    const hosts = table?.hosts.filter((h) => h.passthrough !== undefined).map((h) => h.host) ?? [];
    if (hosts.length > 0)
      log(
        'warn',
        `ssl-passthrough hosts ${hosts.join(', ')}: ${runtime} cannot read a ClientHello before TLS is terminated, so their TLS is terminated and their routes are served at layer 7 (as ingress-nginx without --enable-ssl-passthrough); relay them with a Node worker`,
      );
  };
  live.onSwap((next) => check(next.matcher.table));
  check(live.table);
}

export interface WebGatewayOptions<E extends Env> {
  live: LiveTable;
  metrics: Metrics;
  ports: ListenerPorts;
  fetch: FetchLike;
  decodesBodies: boolean;
  headersMs: number;
  /** Longest silence between response body chunks (null: none). */
  bodyMs: number | null;
  /** Longest wait for the client to take a streamed chunk when the route sets no proxy-send-timeout (web-forwarder.ts). */
  sendMs?: number;
  /** workerd: how a timed body keeps its declared length (web-forwarder.ts). */
  keepLength?: WebForwarderDeps['keepLength'];
  /** The node-local tunnel's loopback URL, when upstream requests go through it. */
  tunnel?: string;
  facts(c: Context<E>): RequestFacts;
  onUpstreamError?: (err: UpstreamError) => void;
  /** The HMAC key of digest-auth nonces shared by the cluster (from the table decryption key); absent: a random
   * key of this process or isolate. */
  digestNonceKey?: Uint8Array;
  /** One console line per sampled request (web-access-log.ts); absent: none. */
  accessLog?: WebAccessLog;
}

export function createWebGatewayApp<E extends Env>(o: WebGatewayOptions<E>): Hono<E> {
  const balancer = new RoundRobin();
  o.live.onSwap((next) => balancer.retain(new Set(next.matcher.table.backends.map((b) => b.id))));
  const deps: WebForwarderDeps = {
    fetch: o.fetch,
    balancer,
    metrics: o.metrics,
    headersMs: o.headersMs,
    bodyMs: o.bodyMs,
    decodesBodies: o.decodesBodies,
    ...(o.onUpstreamError === undefined ? {} : { onUpstreamError: o.onUpstreamError }),
    ...(o.sendMs === undefined ? {} : { sendMs: o.sendMs }),
    ...(o.keepLength === undefined ? {} : { keepLength: o.keepLength }),
    ...(o.tunnel === undefined ? {} : { tunnel: o.tunnel }),
  };
  const gateway = createGatewayApp<E>({
    live: o.live,
    metrics: o.metrics,
    ports: o.ports,
    runtime: {
      facts: o.facts,
      forward: (c, req) => webForward(deps, c.req.raw, req),
      ...(o.accessLog === undefined
        ? {}
        : { observe: (c: Context<E>, f: RequestFacts, route: string) => observeForLog(c.req.raw, f, route) }),
    },
    gate: { auth: { client: webAuthClient(o.fetch, o.headersMs), cache: new AuthCache() }, digest: digestState(o.digestNonceKey) },
  });
  if (o.accessLog === undefined) return gateway;
  const app = new Hono<E>();
  app.use('*', webAccessLog(o.accessLog));
  app.route('/', gateway);
  return app;
}
