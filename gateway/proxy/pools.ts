// One keep-alive connection pool per upstream endpoint (address:port). Pools of endpoints that left the
// table are closed gracefully: requests in flight on them finish first.
import type { Dispatcher } from 'undici';
import { buildConnector, type Connector, Pool } from './undici-parts.ts';
import { H2Upstream } from './h2-upstream.ts';
import type { UpstreamTlsDial } from './upstream-tls.ts';
import type { BackendProtocol, Endpoint } from '../table/schema.ts';
import { endpointKey, type TunnelAddress } from '../table/tunnel-protocol.ts';
import { type PoolLimits, UNBOUNDED_POOL } from './pool-queue.ts';

export interface UpstreamTimeouts {
  /** TCP connect. */
  connectMs: number;
  /** From sending the request to the upstream's response headers (nginx proxy_read_timeout). */
  headersMs: number;
  /** Longest silence between two response body chunks. */
  bodyMs: number;
}

/** What the forwarder sends a request through: an undici Pool, or for HTTP/2 upstreams an H2Upstream. */
export interface Upstream {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** How a pool dials for each backend protocol (schema.ts BackendProtocol). TLS is not verified, as nginx's
 * proxy_ssl_verify off (ingress-nginx's default): endpoints are pod addresses, which no certificate names, and
 * no server name is sent (proxy_ssl_server_name off). HTTPS offers only http/1.1, as nginx's proxy_pass does
 * (an undici Pool). GRPC and H2C speak HTTP/2 with prior knowledge (RFC 9113 3.3); GRPCS offers h2 by ALPN
 * (nginx's grpc_pass grpcs:// requires it): node:http2 sessions (h2-upstream.ts says why not undici's). */
const PROTOCOL_OPTIONS: Record<BackendProtocol, { scheme: string; tls: boolean; h2: boolean }> = {
  HTTPS: { scheme: 'https', tls: true, h2: false },
  GRPCS: { scheme: 'https', tls: true, h2: true },
  GRPC: { scheme: 'http', tls: false, h2: true },
  H2C: { scheme: 'http', tls: false, h2: true },
};

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, headersMs: 60_000, bodyMs: 60_000 };

export class UpstreamPools {
  private readonly pools = new Map<string, Upstream>();
  /** Set when every upstream request goes through the node-local tunnel, which then holds the real pools. */
  private readonly tunnel: Pool | null;
  constructor(
    private readonly timeouts: UpstreamTimeouts,
    via: TunnelAddress | null = null,
    // No cap unless asked: the node-local tunnel and the peer gateway keep their unbounded pools (the worker's
    // Node runtime passes --upstream-max-connections).
    private readonly limits: PoolLimits = UNBOUNDED_POOL,
  ) {
    this.tunnel =
      via === null
        ? null
        : new Pool('path' in via ? 'http://portico-tunnel' : `http://${via.host.includes(':') ? `[${via.host}]` : via.host}:${via.port}`, {
            ...('path' in via ? { socketPath: via.path } : {}),
            connect: { timeout: timeouts.connectMs },
            headersTimeout: timeouts.headersMs,
            bodyTimeout: timeouts.bodyMs,
            keepAliveTimeout: 4_000,
            pipelining: 1,
          });
  }

  /** --upstream-queue-timeout in ms (0: none): how long a request may wait for a connection of a full pool. */
  get queueTimeoutMs(): number {
    return this.limits.queueTimeoutMs;
  }

  /** Whether requests go through the tunnel (they then name their endpoint in a header, gateway/table/tunnel-protocol.ts). */
  get viaTunnel(): boolean {
    return this.tunnel !== null;
  }

  /** `connectMs`: a route's own connect timeout (proxy-connect-timeout), which gets a pool of its own per endpoint
   * (undici sets the connect timeout per pool). Through the tunnel it does not apply: the tunnel dials. `tls`: the
   * route's proxy-ssl-* settings (upstream-tls.ts), a pool of their own per endpoint, keyed by every setting. */
  get(e: Endpoint, connectMs?: number): Pool;
  get(e: Endpoint, connectMs: number | undefined, protocol: BackendProtocol | undefined, tls?: UpstreamTlsDial): Upstream;
  get(e: Endpoint, connectMs?: number, protocol?: BackendProtocol, tls?: UpstreamTlsDial): Upstream {
    if (this.tunnel !== null) return this.tunnel;
    const ownConnect = connectMs !== undefined && connectMs !== this.timeouts.connectMs;
    // `address:port#ms#PROTOCOL#tls`: retain() keeps every pool of an endpoint by what precedes the first `#`.
    const key =
      protocol === undefined
        ? ownConnect
          ? `${endpointKey(e)}#${connectMs}`
          : endpointKey(e)
        : `${endpointKey(e)}#${ownConnect ? connectMs : ''}#${protocol}${tls === undefined ? '' : `#${tls.key}`}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      const p = protocol === undefined ? null : PROTOCOL_OPTIONS[protocol];
      const origin = `${p?.scheme ?? 'http'}://${endpointKey(e)}`;
      const connect = connectMs ?? this.timeouts.connectMs;
      const verified = tls !== undefined && p?.tls === true ? tls : undefined;
      pool =
        p?.h2 === true
          ? new H2Upstream({
              origin,
              connectMs: connect,
              headersMs: this.timeouts.headersMs,
              bodyMs: this.timeouts.bodyMs,
              ...(verified === undefined ? {} : { tls: verified }),
            })
          : new Pool(origin, {
              connect:
                verified !== undefined
                  ? verifiedConnector(verified, connect)
                  : { timeout: connect, ...(p?.tls === true ? { rejectUnauthorized: false } : {}) },
              headersTimeout: this.timeouts.headersMs,
              bodyTimeout: this.timeouts.bodyMs,
              keepAliveTimeout: 4_000,
              pipelining: 1,
              // --upstream-max-connections (pool-queue.ts): requests past it wait in the pool's queue.
              ...(this.limits.maxConnections > 0 ? { connections: this.limits.maxConnections } : {}),
            });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Closes the pools of endpoints not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, pool] of this.pools) {
      const hash = key.indexOf('#'); // a route's own connect timeout or protocol: `address:port#ms#PROTOCOL`
      if (!keep.has(hash === -1 ? key : key.slice(0, hash))) {
        this.pools.delete(key);
        pool.close().catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.pools.values(), ...(this.tunnel === null ? [] : [this.tunnel])];
    this.pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(() => {})));
  }
}

/** A connector for proxy-ssl-*: undici would otherwise send the request's Host as SNI (and check it); here the SNI is
 * proxy-ssl-server-name's choice alone and the identity check is upstream-tls.ts's. */
function verifiedConnector(tls: UpstreamTlsDial, timeout: number): Connector.connector {
  const base = buildConnector({ ...(tls.options as Connector.BuildOptions), timeout });
  return (opts, callback) => base({ ...opts, servername: tls.servername ?? undefined }, callback);
}
