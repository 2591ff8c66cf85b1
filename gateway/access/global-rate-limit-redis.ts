// The cluster-wide store of global rate limits on Node workers: Redis, the one the worker follows its table
// in, over a connection of its own (a table read of several MiB on the follower's connection must not queue
// in front of a request's counter), with a short command timeout and no offline queue, so a request never
// waits long for a Redis that is gone or slow (the limiter then counts locally, global-rate-limit.ts).
//
// One round trip per request: a Lua script reads the current and previous window's counters, decides as
// sliding-window.ts does and counts an admitted request, atomically (lua-resty-global-throttle reads, then
// increments, and re-checks for the race in between; a script has no such race). Keys follow Portico's layout
// (redis-layout.ts `globalLimit`): `portico:{C}:grl:<counter id>:<window>`, the counter id a hash of the
// Ingress, window size and key value, so a key is bounded whatever a client sends; each expires two windows
// after its first count, as lua-resty-global-throttle's counters do (`expiry = window_size * 2`).
import { type RedisCredentials, redisLayout } from '../table/redis-layout.ts';
import type { SharedWindows } from './global-rate-limit.ts';
import type { WindowVerdict } from './sliding-window.ts';
import { createRedisClient, type RedisClient, type RedisTarget } from '../shared/redis-client.ts';
import { windowOf } from './sliding-window.ts';

/** KEYS[1]: this window's counter, KEYS[2]: the previous window's. ARGV: limit, window ms, now ms.
 * Returns {admitted (0/1), refuse for ms}: sliding-window.ts's slidingWindow(), line by line. */
const SCRIPT = `
local limit = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local remaining = w - (now % w)
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= limit then return {0, remaining} end
local rate = tonumber(redis.call('GET', KEYS[2]) or '0') / w
if rate * remaining + count >= limit then return {0, math.floor(remaining - (limit - count) / rate)} end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], 2 * w) end
return {1, 0}
`;

export interface RedisWindowsOptions {
  redis: RedisTarget;
  credentials?: RedisCredentials;
  cluster: string;
  /** How long a request waits for Redis at most (default 100 ms). */
  timeoutMs?: number;
}

type WithScript = RedisClient & {
  porticoGlobalLimit(k1: string, k2: string, limit: number, w: number, now: number): Promise<[number, number]>;
};

export class RedisWindows implements SharedWindows {
  private readonly redis: WithScript;
  private readonly prefix: string;

  constructor(o: RedisWindowsOptions) {
    const timeout = o.timeoutMs ?? 100;
    const redis = createRedisClient(o.redis, o.credentials, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      commandTimeout: timeout,
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
    });
    redis.on('error', () => {}); // the limiter logs the transition; the follower logs the connection's errors
    // EVALSHA, and EVAL once when the server does not know the script (after a restart), by ioredis.
    redis.defineCommand('porticoGlobalLimit', { numberOfKeys: 2, lua: SCRIPT });
    this.redis = redis as WithScript;
    this.prefix = redisLayout(o.cluster).globalLimit;
    this.redis.connect().catch(() => {}); // retried by ioredis
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  async hit(id: string, limit: number, windowMs: number, nowMs: number): Promise<WindowVerdict> {
    const w = windowOf(nowMs, windowMs);
    const [admitted, refuseForMs] = await this.redis.porticoGlobalLimit(
      `${this.prefix}${id}:${w}`,
      `${this.prefix}${id}:${w - 1}`,
      limit,
      windowMs,
      nowMs,
    );
    return { admitted: admitted === 1, refuseForMs };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
