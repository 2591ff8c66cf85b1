// The follower's transport on Node and Deno (ioredis runs under both): one long-lived command connection
// and one subscriber, reconnected by ioredis with backoff, to one server, a Sentinel group's master or a
// Redis Cluster (gateway/shared/redis-client.ts).
import { Cluster } from 'ioredis';
import type { RedisCredentials } from '../table/redis-layout.ts';
import { createRedisClient, onReconnected, type RedisClient, type RedisTarget } from '../shared/redis-client.ts';
import { RedisReplyError, TransportError, type Log, type RedisCommands, type TableTransport } from './transport.ts';

// Commands fail fast while disconnected (no offline queue) and time out when a connection silently stops
// answering; a timeout forces a reconnect, so a half-dead TCP connection cannot stall the worker for minutes.
const redisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  commandTimeout: 3_000,
  retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
};

export class IoredisTransport implements TableTransport {
  private readonly redis: RedisClient;
  private readonly sub: RedisClient;
  lastError: string | null = null;

  constructor(
    target: RedisTarget,
    credentials: RedisCredentials | undefined,
    private readonly log: Log,
  ) {
    this.redis = createRedisClient(target, credentials, redisOptions);
    this.sub = createRedisClient(target, credentials, { ...redisOptions, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.redis.on('error', (err: Error) => {
      if (this.lastError !== err.message) log('warn', `redis: ${err.message}`);
      this.lastError = err.message;
    });
    this.sub.on('error', () => {}); // reported through the command connection
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  follow(channel: string, on: { ready(): void; notify(): void }): void {
    // Every reconnection (after a failover: to another server) reads `current` again: messages published while
    // either connection was down, or sent by a master that has since been replaced, are lost to this worker.
    this.redis.on('ready', () => this.log('info', 'redis connected'));
    onReconnected(this.redis, () => on.ready());
    onReconnected(this.sub, () => on.ready());
    this.sub.on('message', () => on.notify());
    this.redis.connect().catch(() => {}); // retried by ioredis; the poll reports progress
    this.sub.connect().catch(() => {});
    // Queued until the subscriber connects (it has an offline queue); ioredis resubscribes after reconnects.
    this.sub.subscribe(channel).catch(() => {});
  }

  async session<T>(work: (c: RedisCommands) => Promise<T>): Promise<T> {
    if (!this.connected) throw new TransportError(`redis is not connected${this.lastError === null ? '' : ` (${this.lastError})`}`);
    return work(this.commands);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    this.sub.disconnect();
  }

  /** Every failure is either Redis answering with an error, or the connection's fault. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      const message = (err as Error).message;
      if ((err as Error).name === 'ReplyError' && this.connected) throw new RedisReplyError(message);
      if (/timed out/i.test(message)) {
        if (this.redis instanceof Cluster) {
          // A Cluster reconnects node by node and re-reads the slot map itself; `disconnect(true)` on a Cluster
          // whose node pool is already empty (mid-failover) leaves it "disconnecting" for good (ioredis
          // Cluster.disconnect resets the pool and waits for a "drain" that never comes): seen in the drills.
          this.log('warn', 'redis stopped answering; refreshing the cluster slot map');
          this.redis.refreshSlotsCache();
        } else {
          this.log('warn', 'redis stopped answering; reconnecting');
          this.redis.disconnect(true);
        }
      }
      throw new TransportError(message);
    }
  }

  private readonly commands: RedisCommands = {
    get: (key) => this.run(() => this.redis.get(key)),
    fieldSizes: (key, fields) =>
      this.run(async () => {
        const replies = fields.length === 0 ? [] : ((await this.redis.pipeline(fields.map((f) => ['hstrlen', key, f])).exec()) ?? []);
        return fields.map((_, i) => {
          const [err, len] = replies[i] ?? [new Error('no reply'), 0];
          if (err) throw err;
          return len as number;
        });
      }),
    sizes: (keys) =>
      this.run(async () => {
        const replies = keys.length === 0 ? [] : ((await this.redis.pipeline(keys.map((k) => ['strlen', k])).exec()) ?? []);
        return keys.map((_, i) => {
          const [err, len] = replies[i] ?? [new Error('no reply'), 0];
          if (err) throw err;
          return len as number;
        });
      }),
    values: (keys) => this.run(async () => (keys.length === 0 ? [] : this.redis.mgetBuffer(...keys))),
    fieldText: (key, field) => this.run(() => this.redis.hget(key, field)),
    fieldBytes: (key, fields) => this.run(async () => (fields.length === 0 ? [] : this.redis.hmgetBuffer(key, ...fields))),
    heartbeat: (h) =>
      this.run(async () => {
        await this.redis
          .multi()
          .set(h.key, h.value, 'EX', h.ttlSeconds)
          .zadd(h.index, h.score, h.member)
          .zremrangebyscore(h.index, '-inf', h.expiredBefore)
          .exec();
      }),
    forget: (key, index, member) =>
      this.run(async () => {
        await this.redis.multi().del(key).zrem(index, member).exec();
      }),
  };
}
