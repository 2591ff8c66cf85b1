// A worker's table source: the `current` pointer in Redis, followed by subscription (fast) and polling (a
// missed message never leaves a worker stale for more than one poll interval). Each new version is
// verified (signature, cluster, version, part digests, sequence), validated, decrypted and swapped in; a
// version that fails any check is refused and the last good table keeps serving. Redis down: the worker
// keeps serving, ioredis reconnects with backoff, and the next poll catches up. At start the local cache
// file (verified the same way) serves until Redis answers.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { BundleError, MAX_MANIFEST_BYTES, openBundle, verifyManifest, type Manifest, type VerifyingKeys } from '../table/bundle.ts';
import { redisLayout, type CurrentPointer, type Heartbeat, type RedisCredentials, type RedisLayout } from '../table/redis-layout.ts';
import type { LiveTable } from '../live.ts';
import { readCacheFile, writeCacheFile, type CachedBundle } from './cache-file.ts';

export interface RedisSourceOptions {
  url: string;
  credentials?: RedisCredentials;
  cluster: string;
  keys: VerifyingKeys;
  live: LiveTable;
  cacheFile: string | null;
  pollMs: number;
  /** 0: no heartbeat (a peer cluster's table, read by a worker that does not serve that cluster). */
  heartbeatMs: number;
  node?: string;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export interface Refusal { version: string; code: string; message: string; at: string }

export class RefusedError extends Error {
  constructor(readonly code: 'PORTICO_TABLE_OLDER' | 'PORTICO_TABLE_POINTER', message: string) {
    super(message);
  }
}

// Commands fail fast while disconnected (no offline queue) and time out when a connection silently stops
// answering; a timeout forces a reconnect, so a half-dead TCP connection cannot stall the worker for minutes.
const redisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 3_000,
  retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000) };

/** Bundle problems that retrying cannot fix: the pointer is refused until it changes. Anything else
 * (a missing part, a Redis error mid-load) is retried after TRANSIENT_RETRY_MS. */
const FINAL = new Set(['PORTICO_BUNDLE_SIGNATURE', 'PORTICO_BUNDLE_MANIFEST', 'PORTICO_BUNDLE_CLUSTER', 'PORTICO_BUNDLE_VERSION', 'PORTICO_BUNDLE_DIGEST',
  'PORTICO_BUNDLE_TOO_LARGE', 'PORTICO_BUNDLE_INVALID', 'PORTICO_BUNDLE_DECRYPT', 'PORTICO_TABLE_OLDER', 'PORTICO_TABLE_POINTER']);
const TRANSIENT_RETRY_MS = 10_000;

export class RedisTableSource {
  readonly layout: RedisLayout;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly id: string;
  private readonly startedAt = new Date().toISOString();
  private timers: NodeJS.Timeout[] = [];
  private checking: Promise<void> | null = null;
  private again = false;
  /** Pointer we refused last, and until when (Infinity: until it changes), so a bad version is reported
   * once, not on every poll. */
  private refused: { pointer: string; code: string; until: number } | null = null;
  served: { manifest: Manifest; source: 'redis' | 'cache' } | null = null;
  refusals = 0;
  lastRefusal: Refusal | null = null;
  connected = false;
  lastRedisError: string | null = null;

  constructor(private readonly o: RedisSourceOptions) {
    this.layout = redisLayout(o.cluster);
    this.redis = new Redis(o.url, { ...o.credentials, ...redisOptions });
    this.sub = new Redis(o.url, { ...o.credentials, ...redisOptions, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.id = `${o.node ?? hostname()}:${process.pid}`;
    this.redis.on('ready', () => {
      this.connected = true;
      o.log('info', 'redis connected', { cluster: o.cluster });
      void this.check();
    });
    this.redis.on('end', () => (this.connected = false));
    this.redis.on('close', () => (this.connected = false));
    this.redis.on('error', (err: Error) => {
      if (this.lastRedisError !== err.message) o.log('warn', `redis: ${err.message}`);
      this.lastRedisError = err.message;
    });
    this.sub.on('error', () => {}); // reported through the command connection
    this.sub.on('message', () => void this.check());
  }

  async start(): Promise<void> {
    if (this.o.cacheFile !== null) await this.loadCache(this.o.cacheFile);
    this.redis.connect().catch(() => {}); // retried by ioredis; the poll reports progress
    this.sub.connect().catch(() => {});
    // Queued until the subscriber connects (it has an offline queue); ioredis resubscribes after reconnects.
    this.sub.subscribe(this.layout.channel).catch(() => {});
    this.timers.push(setInterval(() => void this.check(), this.o.pollMs));
    if (this.o.heartbeatMs > 0) this.timers.push(setInterval(() => void this.heartbeat(), this.o.heartbeatMs));
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.connected && this.o.heartbeatMs > 0) {
      await this.redis.multi().del(this.layout.worker(this.id)).zrem(this.layout.workers, this.id).exec().catch(() => {});
    }
    this.redis.disconnect();
    this.sub.disconnect();
  }

  private async loadCache(path: string): Promise<void> {
    try {
      const cached = await readCacheFile(path);
      if (cached === null) return;
      const m = await verifyManifest(cached.manifest, this.o.keys, { cluster: this.o.cluster });
      await this.install(m, cached, 'cache');
      this.o.log('info', 'serving the cached table until redis answers', { version: m.version, file: path });
    } catch (err) {
      this.refuse(null, null, err);
    }
  }

  /** Runs one check at a time; a request during a check runs one more after it. */
  check(): Promise<void> {
    if (this.checking !== null) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.checkOnce().finally(() => {
      this.checking = null;
      if (this.again) {
        this.again = false;
        void this.check();
      }
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    let raw: string | null;
    try {
      raw = await this.redis.get(this.layout.current);
    } catch (err) {
      this.onCommandError(err);
      return; // Redis went away: keep serving; the next poll tries again
    }
    if (raw === null) return; // empty Redis: the agent republishes
    if (this.refused !== null && this.refused.pointer === raw && Date.now() < this.refused.until) return;
    let ptr: CurrentPointer;
    try {
      ptr = JSON.parse(raw) as CurrentPointer;
      if (typeof ptr.version !== 'string') throw new Error('no version');
    } catch {
      return this.refuse(raw, null, new RefusedError('PORTICO_TABLE_POINTER', 'the current pointer in Redis is not valid JSON with a version'));
    }
    if (this.served?.manifest.version === ptr.version && this.served.source === 'redis') return;
    try {
      const key = this.layout.table(ptr.version);
      if ((await this.redis.hstrlen(key, 'manifest')) > MAX_MANIFEST_BYTES) throw new BundleError('PORTICO_BUNDLE_TOO_LARGE', `the manifest of ${ptr.version} is over ${MAX_MANIFEST_BYTES} bytes`);
      const jws = await this.redis.hget(key, 'manifest');
      if (jws === null) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', `version ${ptr.version} is current but its manifest is missing`);
      const m = await verifyManifest(jws, this.o.keys, { cluster: this.o.cluster, version: ptr.version });
      const servedSeq = this.served?.manifest.seq ?? -1;
      if (m.seq < servedSeq && ptr.rollback === undefined) {
        throw new RefusedError('PORTICO_TABLE_OLDER', `version ${m.version} (seq ${m.seq}) is older than the served ${this.served!.manifest.version} (seq ${servedSeq}) and no rollback is recorded: a replayed pointer`);
      }
      const parts = await this.fetchParts(key, m);
      await this.install(m, { manifest: jws, parts }, 'redis');
      this.refused = null;
      if (this.o.cacheFile !== null) {
        await writeCacheFile(this.o.cacheFile, { manifest: jws, parts }).catch((err: Error) => this.o.log('warn', `cannot write cache file: ${err.message}`));
      }
    } catch (err) {
      if (this.redis.status !== 'ready' || this.onCommandError(err)) return; // lost Redis mid-load: not the table's fault
      this.refuse(raw, ptr.version, err);
    }
  }

  /** All parts in two round trips: their sizes first (nothing larger than signed is ever fetched, so a
   * huge value planted in Redis cannot exhaust memory), then their bytes. */
  private async fetchParts(key: string, m: Manifest): Promise<Map<string, Uint8Array>> {
    const sizes = await this.redis.pipeline(m.parts.map((ref) => ['hstrlen', key, `part:${ref.name}`])).exec();
    m.parts.forEach((ref, i) => {
      const [err, len] = sizes?.[i] ?? [new Error('no reply'), 0];
      if (err) throw err;
      if ((len as number) > ref.bytes) throw new BundleError('PORTICO_BUNDLE_DIGEST', `part ${ref.name} of ${m.version} is larger than its signed size`);
    });
    const names = m.parts.map((ref) => `part:${ref.name}`);
    const values = names.length === 0 ? [] : await this.redis.hmgetBuffer(key, ...names);
    const parts = new Map<string, Uint8Array>();
    m.parts.forEach((ref, i) => {
      const b = values[i];
      if (b !== null && b !== undefined) parts.set(ref.name, b);
    });
    return parts;
  }

  /** A timed-out command means a connection that stopped answering: reconnect. True if it was one. */
  private onCommandError(err: unknown): boolean {
    if (err instanceof Error && /timed out/i.test(err.message)) {
      this.o.log('warn', 'redis stopped answering; reconnecting');
      this.redis.disconnect(true);
      return true;
    }
    return false;
  }

  private async install(m: Manifest, b: CachedBundle, source: 'redis' | 'cache'): Promise<void> {
    const opened = await openBundle(m, async (ref) => b.parts.get(ref.name) ?? null, this.o.keys);
    this.o.live.swap(opened.table, opened.certificates, { prevalidated: true });
    this.served = { manifest: m, source };
    this.o.log('info', 'table swapped in', { version: m.version, seq: m.seq, source, hosts: m.hosts, routes: m.routes });
    void this.heartbeat();
  }

  /** Records a refusal once per pointer and code; `pointer` null: the cache file. */
  private refuse(pointer: string | null, version: string | null, err: unknown): void {
    const raw = (err as { code?: unknown }).code;
    const code = typeof raw === 'string' ? raw : 'PORTICO_TABLE_REFUSED';
    if (pointer !== null) {
      const again = this.refused !== null && this.refused.pointer === pointer && this.refused.code === code;
      this.refused = { pointer, code, until: FINAL.has(code) ? Infinity : Date.now() + TRANSIENT_RETRY_MS };
      if (again) return;
    }
    this.refusals++;
    this.lastRefusal = { version: version ?? '(cache file)', code, message: (err as Error).message, at: new Date().toISOString() };
    this.o.log('error', `table refused, still serving the last good one: ${this.lastRefusal.message}`, { version, code: this.lastRefusal.code });
    void this.heartbeat();
  }

  heartbeatValue(): Heartbeat {
    const loaded = this.o.live.current;
    return {
      id: this.id, node: this.o.node ?? hostname(), pid: process.pid, runtime: `node ${process.version}`,
      version: loaded?.matcher.table.version ?? null, seq: this.served?.manifest.seq ?? null,
      loadedAt: loaded ? new Date(loaded.loadedAt).toISOString() : null, source: this.served?.source ?? null,
      redisConnected: this.connected, refusals: this.refusals, lastRefusal: this.lastRefusal, startedAt: this.startedAt, at: new Date().toISOString(),
    };
  }

  private async heartbeat(): Promise<void> {
    if (this.redis.status !== 'ready' || this.o.heartbeatMs <= 0) return;
    const ttl = Math.ceil((this.o.heartbeatMs * 3) / 1000);
    const now = Date.now();
    await this.redis.multi()
      .set(this.layout.worker(this.id), JSON.stringify(this.heartbeatValue()), 'EX', ttl)
      .zadd(this.layout.workers, now, this.id)
      .zremrangebyscore(this.layout.workers, '-inf', now - ttl * 1000)
      .exec().catch(() => {});
  }
}
