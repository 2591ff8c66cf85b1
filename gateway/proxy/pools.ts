// One keep-alive connection pool per upstream endpoint (address:port). Pools of endpoints that left the
// table are closed gracefully: requests in flight on them finish first.
import { Pool } from 'undici';
import type { Endpoint } from '../table/schema.ts';
import { endpointKey, type TunnelAddress } from '../table/tunnel-protocol.ts';

export interface UpstreamTimeouts {
  /** TCP connect. */
  connectMs: number;
  /** From sending the request to the upstream's response headers (nginx proxy_read_timeout). */
  headersMs: number;
  /** Longest silence between two response body chunks. */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, headersMs: 60_000, bodyMs: 60_000 };

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  /** Set when every upstream request goes through the node-local tunnel, which then holds the real pools. */
  private readonly tunnel: Pool | null;
  constructor(
    private readonly timeouts: UpstreamTimeouts,
    via: TunnelAddress | null = null,
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

  /** Whether requests go through the tunnel (they then name their endpoint in a header, gateway/table/tunnel-protocol.ts). */
  get viaTunnel(): boolean {
    return this.tunnel !== null;
  }

  /** `connectMs`: a route's own connect timeout (proxy-connect-timeout), which gets a pool of its own per endpoint
   * (undici sets the connect timeout per pool). Through the tunnel it does not apply: the tunnel dials. */
  get(e: Endpoint, connectMs?: number): Pool {
    if (this.tunnel !== null) return this.tunnel;
    const key = connectMs === undefined || connectMs === this.timeouts.connectMs ? endpointKey(e) : `${endpointKey(e)}#${connectMs}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(`http://${endpointKey(e)}`, {
        connect: { timeout: connectMs ?? this.timeouts.connectMs },
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
        keepAliveTimeout: 4_000,
        pipelining: 1,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Closes the pools of endpoints not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, pool] of this.pools) {
      const hash = key.indexOf('#'); // a route's own connect timeout: `address:port#ms`
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
