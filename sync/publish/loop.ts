// Keeps Redis in step with the agent's latest table: publishes each new one (never two at once; the newest
// wins), retries with backoff while Redis is unreachable, and republishes when Redis comes back without it
// (restarted empty, evicted) or holds an older table as current (a failover lost the last publishes). Only the
// leader offers tables.
import { SingleFlight } from '../../gateway/shared/single-flight.ts';
import { createRedisClient, onReconnected, type RedisClient, type RedisTarget } from '../../gateway/shared/redis-client.ts';
import { BundleEntryTooLargeError, type SigningKeys } from '../../gateway/table/bundle.ts';
import type { RedisCredentials } from '../../gateway/table/redis-layout.ts';
import type { CompileResult } from '../compile/types.ts';
import { FenceGuard } from './fence-guard.ts';
import { PublishConflictError, RedisPublisher } from './redis.ts';

const RETRY_MS = [200, 500, 1000, 2000, 5000];

export interface PublishLoopOptions {
  /** A URL, a Sentinel group or a Redis Cluster. */
  redis: RedisTarget;
  credentials?: RedisCredentials;
  cluster: string;
  keys: SigningKeys;
  history: number;
  publisher: string;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** How often to check that Redis still holds the latest table (default 2 s). */
  watchdogMs?: number;
}

export class PublishLoop {
  private readonly redis: RedisClient;
  private readonly publisher: RedisPublisher;
  private latest: CompileResult | null = null;
  /** The lease term `latest` was offered under (undefined: no lease, manifests mode). */
  private latestTerm: number | undefined = undefined;
  /** Fencing: a term Redis refused is not published again (fence-guard.ts). */
  readonly fence = new FenceGuard();
  /** The version this agent last saw published. */
  published: string | null = null;
  publishes = 0;
  failures = 0;
  /** Offers made so far, and the promises offer() returned that have not settled yet (see ended()). */
  private offers = 0;
  private waiting: { n: number; resolve: () => void }[] = [];
  /** Publishes never overlap; an offer during one is published right after it. */
  private readonly flight = new SingleFlight(() => this.publishLatest());
  private timer: NodeJS.Timeout | null = null;
  private readonly watchdog: NodeJS.Timeout;
  private lastError = '';
  private heldVersion: string | null = null;

  constructor(private readonly o: PublishLoopOptions) {
    this.redis = createRedisClient(o.redis, o.credentials, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 10_000,
      retryStrategy: (n: number) => Math.min(100 * 2 ** Math.min(n, 6), 5_000),
    });
    this.redis.on('error', (err: Error) => {
      if (err.message !== this.lastError) o.log('warn', `redis: ${err.message}`);
      this.lastError = err.message;
    });
    // A (re)connection, for a Cluster also a newly known node: check that Redis still holds the newest table.
    onReconnected(this.redis, () => void this.push());
    this.publisher = new RedisPublisher(this.redis, { cluster: o.cluster, keys: o.keys, history: o.history, publisher: o.publisher });
    this.watchdog = setInterval(() => {
      if (this.redis.status !== 'ready' || this.latest === null) return;
      this.publisher.current().then(
        (cur) => {
          const newest = this.latest?.table.version;
          // Redis lost it (restarted empty, evicted) or no longer holds it as current: after a failover the
          // promoted replica may lack the last publishes the old master acknowledged but never replicated.
          // Republished under a new, higher sequence number, so workers that already served it take it again
          // and none is asked to go back (docs/ARCHITECTURE.md, "Redis high availability").
          const behind = cur === null || (cur.version !== newest && cur.rollback?.from !== newest);
          if (behind || this.published !== newest) void this.push();
        },
        () => {},
      );
    }, o.watchdogMs ?? 2_000);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  start(): void {
    this.redis.connect().catch(() => {}); // ioredis retries; 'ready' pushes
  }

  /** The table Redis should hold; published as soon as possible. `term`: the offering leader's lease term. Settles
   * once the publish attempt that takes this table (or a newer one offered meanwhile) has ended, whatever its outcome
   * (a failed one is retried later, on its own), or the loop is withdrawn; never rejects. */
  offer(result: CompileResult, term?: number): Promise<void> {
    if (!this.fence.allows(term)) return Promise.resolve();
    this.latest = result;
    this.latestTerm = term;
    const n = ++this.offers;
    const ended = new Promise<void>((resolve) => this.waiting.push({ n, resolve }));
    void this.push().catch(() => undefined);
    return ended;
  }

  /** Settles what waits on the offers up to `n` (an attempt that took offer `n` ended): not on the whole flight, which
   * runs again for every offer made meanwhile and, under a steady stream of changes, would not end until it stops. */
  private ended(n: number): void {
    const done = this.waiting.filter((w) => w.n <= n);
    if (done.length === 0) return;
    this.waiting = this.waiting.filter((w) => w.n > n);
    for (const w of done) w.resolve();
  }

  /** This replica stopped leading: publish nothing more (not even a retry) until offered a table again. */
  withdraw(): void {
    this.ended(this.offers);
    this.latest = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private push(): Promise<void> {
    return this.flight.request();
  }

  private async publishLatest(): Promise<void> {
    const taken = this.offers;
    try {
      await this.publishOnce();
    } finally {
      this.ended(taken);
    }
  }

  private async publishOnce(): Promise<void> {
    if (this.latest === null || this.redis.status !== 'ready') return; // the 'ready' event pushes again
    const offered = this.latest;
    const term = this.latestTerm;
    try {
      const r = await this.publisher.publish(offered, term);
      if (this.latest === null) return; // withdrawn while publishing
      this.failures = 0;
      this.published = offered.table.version;
      if (r.kind === 'published') {
        this.publishes++;
        this.o.log('info', 'table published', { version: r.pointer.version, seq: r.pointer.seq, cluster: this.o.cluster });
      } else if (r.kind === 'held-by-rollback' && this.heldVersion !== r.version) {
        this.o.log('info', 'a rollback is in force: not republishing until the objects change', {
          current: r.current,
          compiled: r.version,
        });
      }
      this.heldVersion = r.kind === 'held-by-rollback' ? r.version : null;
    } catch (err) {
      if (this.fence.refused(err)) {
        // Deposed: the successor's table stays; this replica publishes nothing until it leads a newer term.
        this.o.log('error', `publish fenced: ${err.message}`, { code: err.code, term: err.term, fence: err.fence });
        this.withdraw();
        return;
      }
      this.failures++;
      // An entry too large for a bundle part fails again until the objects change: an error naming it, not a hiccup.
      const serious = err instanceof PublishConflictError || err instanceof BundleEntryTooLargeError;
      const fields = err instanceof BundleEntryTooLargeError ? { code: err.code, entry: err.entry, bytes: err.bytes } : undefined;
      this.o.log(serious ? 'error' : 'warn', `publish failed, will retry: ${(err as Error).message}`, fields);
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.push(), RETRY_MS[Math.min(this.failures - 1, RETRY_MS.length - 1)]!);
    }
  }

  close(): void {
    this.ended(this.offers);
    clearInterval(this.watchdog);
    if (this.timer !== null) clearTimeout(this.timer);
    this.redis.disconnect();
  }
}
