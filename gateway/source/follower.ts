// The one policy by which every worker (Node, Deno, workerd) follows the control plane's `current`
// pointer: read it, refuse one that names no version, skip one already refused, read and verify the signed
// manifest (signature, cluster, the version the pointer names), refuse a lower sequence number without a
// rollback record, read the parts it does not hold from the table it serves (sizes first), verify their digests,
// validate, decrypt, and swap the table in. A version that fails any check is refused with a stable code and the
// last good table keeps serving; Redis being unreachable is never a refusal. Written once so that the security
// decision cannot differ between runtimes; the transport (transport.ts) only moves bytes.
import { SingleFlight } from '../shared/single-flight.ts';
import type { LiveTable } from '../live.ts';
import { openBundle, verifyManifest, type Bundle, type Manifest, type OpenMemory, type VerifyingKeys } from '../table/bundle.ts';
import { redisLayout, type CurrentPointer, type Heartbeat, type RedisLayout } from '../table/redis-layout.ts';
import { parsePointer, readManifest, readMissingParts, readParts } from './read-bundle.ts';
import { RefusalMemory, RefusedError, refusalCode } from './refusals.ts';
import { TransportError, type Log, type RedisCommands, type TableTransport } from './transport.ts';

/** The local copy of the last good bundle, where the runtime has files (cache-file.ts). It is verified
 * again when read: no more trusted than Redis. */
export interface BundleCache {
  readonly name: string;
  read(): Promise<Bundle | null>;
  write(b: Bundle): Promise<void>;
}

/** Who this worker is in its heartbeat (`portico inspect status`). */
export interface WorkerIdentity {
  id: string;
  node: string;
  pid: number;
  runtime: string;
}

export interface FollowerOptions {
  transport: TableTransport;
  cluster: string;
  keys: VerifyingKeys;
  live: LiveTable;
  cache: BundleCache | null;
  /** How often start() polls (runtimes with timers; workerd decides itself when to call checkOnce()). */
  pollMs: number;
  /** 0: no heartbeat (a peer cluster's table, read by a worker that does not serve that cluster). */
  heartbeatMs: number;
  identity: WorkerIdentity;
  log: Log;
}

export interface Refusal {
  version: string;
  code: string;
  message: string;
  at: string;
}

export class TableFollower {
  readonly layout: RedisLayout;
  served: { manifest: Manifest; source: 'redis' | 'cache' } | null = null;
  refusals = 0;
  lastRefusal: Refusal | null = null;
  private readonly refused = new RefusalMemory();
  /** The served table's parts (verified, parsed) and decrypted keys: the next version reads from Redis, parses and
   * decrypts only what it does not share with this one. */
  private memory: OpenMemory | undefined = undefined;
  private readonly startedAt = new Date().toISOString();
  private timers: ReturnType<typeof setInterval>[] = [];
  /** One check at a time; a request during a check runs one more after it. */
  private readonly checks = new SingleFlight(() => this.checkOnce());
  /** Something the fleet should see (a swap, a refusal): heartbeat at the end of this check. */
  private beatPending = true;
  private lastBeat = 0;

  constructor(protected readonly o: FollowerOptions) {
    this.layout = redisLayout(o.cluster);
  }

  get connected(): boolean {
    return this.o.transport.connected;
  }

  /** The last connection problem (readiness says why Redis is unreachable). */
  get lastRedisError(): string | null {
    return this.o.transport.lastError;
  }

  /** Runtimes with timers: the cache file first, then subscription (where the transport has one), polling
   * (a missed message costs at most one poll) and heartbeats. */
  async start(): Promise<void> {
    await this.loadCache();
    this.o.transport.follow?.(this.layout.channel, { ready: () => void this.check(), notify: () => void this.check() });
    this.timers.push(setInterval(() => void this.check(), this.o.pollMs));
    if (this.o.heartbeatMs > 0) this.timers.push(setInterval(() => void this.beat(), this.o.heartbeatMs));
    for (const t of this.timers) (t as { unref?: () => void }).unref?.();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.connected && this.o.heartbeatMs > 0) {
      await this.o.transport
        .session((c) => c.forget(this.layout.worker(this.o.identity.id), this.layout.workers, this.o.identity.id))
        .catch(() => {});
    }
    await this.o.transport.close();
  }

  /** Serves the cache file (verified) until Redis answers; a bad one is refused like a bad version. */
  async loadCache(): Promise<void> {
    const cache = this.o.cache;
    if (cache === null) return;
    try {
      const cached = await cache.read();
      if (cached === null) return;
      const m = await verifyManifest(cached.manifest, this.o.keys, { cluster: this.o.cluster });
      await this.install(m, cached, 'cache');
      this.o.log('info', 'serving the cached table until redis answers', { version: m.version, file: cache.name });
    } catch (err) {
      this.refuse(null, null, err);
    }
  }

  check(): Promise<void> {
    return this.checks.request();
  }

  /** One check now, not joined with a check in progress (workerd: a request cannot wait on another
   * request's I/O). Never throws: Redis unreachable means keep serving what is loaded. */
  async checkOnce(): Promise<void> {
    try {
      await this.o.transport.session(async (c) => {
        await this.follow(c);
        if (this.o.heartbeatMs > 0 && (this.beatPending || Date.now() - this.lastBeat >= this.o.heartbeatMs)) await this.writeHeartbeat(c);
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
    }
  }

  /** Writes the heartbeat now (runtimes with timers call this every heartbeatMs). */
  async beat(): Promise<void> {
    if (this.o.heartbeatMs <= 0) return;
    await this.o.transport.session((c) => this.writeHeartbeat(c)).catch(() => {});
  }

  private async follow(c: RedisCommands): Promise<void> {
    const raw = await c.get(this.layout.current);
    if (raw === null) return; // empty Redis: the agent republishes
    if (this.refused.skips(raw)) return;
    let ptr: CurrentPointer;
    try {
      ptr = parsePointer(raw);
    } catch (err) {
      return this.refuse(raw, null, err);
    }
    // A table served from Redis is not read again; one served from the cache file is checked against Redis below.
    if (this.served?.manifest.version === ptr.version && this.served.source === 'redis') return;
    try {
      const key = this.layout.table(ptr.version);
      const jws = await readManifest(c, key, ptr.version);
      const m = await verifyManifest(jws, this.o.keys, { cluster: this.o.cluster, version: ptr.version });
      const served = this.served?.manifest;
      if (served !== undefined && m.seq < served.seq && ptr.rollback === undefined) {
        // The pointer is unsigned; the sequence number that counts is the signed one in the manifest.
        throw new RefusedError(
          'PORTICO_TABLE_OLDER',
          `version ${m.version} (seq ${m.seq}) is older than the served ${served.version} (seq ${served.seq}) and no rollback is recorded: a replayed pointer`,
        );
      }
      if (this.served !== null && JSON.stringify(m) === JSON.stringify(this.served.manifest)) {
        // The table served from the cache file, signed the same in Redis (its parts' digests included): nothing to
        // read, open or write again, only where it is now known to come from.
        this.served = { manifest: this.served.manifest, source: 'redis' };
        this.refused.forget();
        return;
      }
      const bundle: Bundle = { manifest: jws, parts: await this.readParts(c, key, m) };
      await this.install(m, bundle, 'redis');
      this.refused.forget();
      await this.o.cache?.write(bundle).catch((err: Error) => this.o.log('warn', `cannot write cache file: ${err.message}`));
    } catch (err) {
      if (err instanceof TransportError) throw err; // lost Redis mid-load: not the table's fault
      this.refuse(raw, ptr.version, err);
    }
  }

  /** Format 2: only the parts the served table does not hold, by digest; format 1 (an agent of an earlier
   * release): every part from the version's hash. By part name, as the cache file keeps them. */
  private async readParts(c: RedisCommands, key: string, m: Manifest): Promise<Map<string, Uint8Array>> {
    if (m.format !== 2) return readParts(c, key, m);
    const held = this.memory?.parts;
    const fetched = await readMissingParts(c, this.layout.part, m, (d) => held?.has(d) === true);
    const parts = new Map<string, Uint8Array>();
    for (const ref of m.parts) {
      const bytes = fetched.get(ref.sha256) ?? held?.get(ref.sha256)?.bytes;
      if (bytes !== undefined) parts.set(ref.name, bytes);
    }
    return parts;
  }

  private async install(m: Manifest, b: Bundle, source: 'redis' | 'cache'): Promise<void> {
    const opened = await openBundle(m, async (ref) => b.parts.get(ref.name) ?? null, this.o.keys, this.memory);
    this.o.live.swap(opened.table, opened.certificates, { prevalidated: true, basicAuth: opened.basicAuth });
    this.memory = opened.memory;
    this.served = { manifest: m, source };
    this.beatPending = true;
    this.o.log('info', 'table swapped in', { version: m.version, seq: m.seq, source, hosts: m.hosts, routes: m.routes });
  }

  /** Reported once per pointer and code; `pointer` null: the cache file. */
  private refuse(pointer: string | null, version: string | null, err: unknown): void {
    const code = refusalCode(err);
    if (pointer !== null && this.refused.remember(pointer, code)) return;
    this.refusals++;
    this.lastRefusal = {
      version: version ?? (pointer === null ? '(cache file)' : '(pointer)'),
      code,
      message: (err as Error).message,
      at: new Date().toISOString(),
    };
    this.beatPending = true;
    this.o.log('error', `table refused, still serving the last good one: ${this.lastRefusal.message}`, { version, code });
  }

  heartbeatValue(): Heartbeat {
    const loaded = this.o.live.current;
    const { id, node, pid, runtime } = this.o.identity;
    return {
      id,
      node,
      pid,
      runtime,
      version: loaded?.matcher.table.version ?? null,
      seq: this.served?.manifest.seq ?? null,
      loadedAt: loaded ? new Date(loaded.loadedAt).toISOString() : null,
      source: this.served?.source ?? null,
      redisConnected: this.connected,
      refusals: this.refusals,
      lastRefusal: this.lastRefusal,
      startedAt: this.startedAt,
      at: new Date().toISOString(),
    };
  }

  /** The heartbeat key expires after three missed beats, and the index drops members that old. */
  private async writeHeartbeat(c: RedisCommands): Promise<void> {
    const ttlSeconds = Math.ceil((this.o.heartbeatMs * 3) / 1000);
    const now = Date.now();
    const { id } = this.o.identity;
    // Pending and the time are taken before the write, so a swap during it is beaten again.
    this.beatPending = false;
    this.lastBeat = now;
    try {
      await c.heartbeat({
        key: this.layout.worker(id),
        value: JSON.stringify(this.heartbeatValue()),
        ttlSeconds,
        index: this.layout.workers,
        member: id,
        score: now,
        expiredBefore: now - ttlSeconds * 1000,
      });
    } catch {
      this.beatPending = true; // a lost heartbeat is written again at the next chance
    }
  }
}
