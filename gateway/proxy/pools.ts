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

  get(e: Endpoint): Pool {
    if (this.tunnel !== null) return this.tunnel;
    const key = endpointKey(e);
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(`http://${key}`, {
        connect: { timeout: this.timeouts.connectMs },
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
      if (!keep.has(key)) {
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
