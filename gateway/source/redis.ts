// The table source of the runtimes that keep connections and timers (Node: `portico worker`, the tunnel;
// Deno: cli/deno-worker.ts): the follower (follower.ts) over ioredis, fed by subscription (fast) and
// polling, heartbeating on a timer, with the cache file where one is configured. Redis down: the worker
// keeps serving, ioredis reconnects with backoff, and the next poll catches up.
import { hostname } from 'node:os';
import type { LiveTable } from '../live.ts';
import type { VerifyingKeys } from '../table/bundle.ts';
import type { RedisCredentials } from '../table/redis-layout.ts';
import type { RedisTarget } from '../shared/redis-client.ts';
import { fileCache } from './cache-file.ts';
import { TableFollower } from './follower.ts';
import { IoredisTransport } from './ioredis-transport.ts';
import type { Log } from './transport.ts';

export interface RedisSourceOptions {
  /** A URL, a Sentinel group or a Redis Cluster. */
  redis: RedisTarget;
  credentials?: RedisCredentials;
  cluster: string;
  keys: VerifyingKeys;
  live: LiveTable;
  cacheFile: string | null;
  pollMs: number;
  /** 0: no heartbeat (a peer cluster's table, read by a worker that does not serve that cluster). */
  heartbeatMs: number;
  node?: string;
  /** What heartbeats name as the runtime (default: this Node version). */
  runtime?: string;
  log: Log;
}

export class RedisTableSource extends TableFollower {
  constructor(o: RedisSourceOptions) {
    const node = o.node ?? hostname();
    super({
      transport: new IoredisTransport(o.redis, o.credentials, o.log),
      cluster: o.cluster,
      keys: o.keys,
      live: o.live,
      cache: o.cacheFile === null ? null : fileCache(o.cacheFile),
      pollMs: o.pollMs,
      heartbeatMs: o.heartbeatMs,
      identity: { id: `${node}:${process.pid}`, node, pid: process.pid, runtime: o.runtime ?? `node ${process.version}` },
      log: o.log,
    });
  }
}
