// The table source of runtimes without long-lived connections (workerd): each check opens a socket,
// reads the `current` pointer and, for a new version, the signed manifest and its parts, verified exactly
// as the Node worker does (bundle.ts: signature, cluster, version, part sizes and digests, validation,
// decryption; a lower sequence number only with a rollback record), then closes it. No subscription:
// the caller decides when to check (workerd: on requests, at most once per poll interval).
import type { LiveTable } from '../live.ts';
import { BundleError, MAX_MANIFEST_BYTES, openBundle, verifyManifest, type Manifest, type VerifyingKeys } from '../table/bundle.ts';
import { redisLayout, type CurrentPointer, type RedisLayout } from '../table/redis-layout.ts';
import { asText, RespClient, type ByteSocket } from './resp.ts';

export interface WebRedisSourceOptions {
  /** Opens a new connection to Redis (already authenticated is not assumed: see `password`). */
  connect(): ByteSocket;
  password?: string;
  cluster: string;
  keys: VerifyingKeys;
  live: LiveTable;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class StalePointerError extends Error {
  readonly code = 'PORTICO_TABLE_OLDER';
}

/** How long a refused pointer is left alone before it is tried again (a part may have been missing). */
const REFUSAL_RETRY_MS = 10_000;

export class WebRedisSource {
  readonly layout: RedisLayout;
  served: Manifest | null = null;
  refusals = 0;
  lastRefusal: { code: string; message: string } | null = null;
  /** The last connection or protocol problem (Redis unreachable), null after a good check. */
  lastError: string | null = null;
  private refused: { pointer: string; until: number } | null = null;

  constructor(private readonly o: WebRedisSourceOptions) {
    this.layout = redisLayout(o.cluster);
  }

  /** One check; never throws (Redis unreachable: keep serving what is loaded). */
  async check(): Promise<void> {
    let client: RespClient | null = null;
    try {
      client = new RespClient(this.o.connect());
      if (this.o.password !== undefined) await client.command('AUTH', this.o.password);
      await this.checkWith(client);
      this.lastError = null;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.o.log('warn', `redis: ${this.lastError}`);
    } finally {
      await client?.close().catch(() => {});
    }
  }

  private async checkWith(redis: RespClient): Promise<void> {
    const raw = asText(await redis.command('GET', this.layout.current));
    if (raw === null) return; // empty Redis: the agent republishes
    if (this.refused !== null && this.refused.pointer === raw && Date.now() < this.refused.until) return;
    let ptr: CurrentPointer;
    try {
      ptr = JSON.parse(raw) as CurrentPointer;
    } catch {
      return this.refuse(raw, new BundleError('PORTICO_BUNDLE_MANIFEST', 'the current pointer is not JSON'));
    }
    if (typeof ptr.version !== 'string' || this.served?.version === ptr.version) return;
    try {
      const key = this.layout.table(ptr.version);
      if (Number(await redis.command('HSTRLEN', key, 'manifest')) > MAX_MANIFEST_BYTES) throw new BundleError('PORTICO_BUNDLE_TOO_LARGE', `the manifest of ${ptr.version} is too large`);
      const jws = asText(await redis.command('HGET', key, 'manifest'));
      if (jws === null) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', `version ${ptr.version} is current but its manifest is missing`);
      const m = await verifyManifest(jws, this.o.keys, { cluster: this.o.cluster, version: ptr.version });
      if (this.served !== null && m.seq < this.served.seq && ptr.rollback === undefined) {
        throw new StalePointerError(`version ${m.version} (seq ${m.seq}) is older than the served ${this.served.version} and no rollback is recorded`);
      }
      // Sizes first, so nothing larger than signed is ever read; then all parts in one round trip.
      const names = m.parts.map((p) => `part:${p.name}`);
      const sizes = await redis.pipeline(names.map((n) => ['HSTRLEN', key, n]));
      m.parts.forEach((p, i) => {
        if (Number(sizes[i]) > p.bytes) throw new BundleError('PORTICO_BUNDLE_DIGEST', `part ${p.name} of ${m.version} is larger than its signed size`);
      });
      const values = names.length === 0 ? [] : ((await redis.command('HMGET', key, ...names)) as (Uint8Array | null)[]);
      const opened = await openBundle(m, async (ref) => values[m.parts.indexOf(ref)] ?? null, this.o.keys);
      this.o.live.swap(opened.table, opened.certificates, { prevalidated: true });
      this.served = m;
      this.refused = null;
      this.o.log('info', 'table swapped in', { version: m.version, seq: m.seq, hosts: m.hosts, routes: m.routes });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'PORTICO_REDIS_PROTOCOL') throw err; // the connection's fault, not the table's
      this.refuse(raw, err);
    }
  }

  /** Counted and logged once per pointer and code; the pointer is tried again after REFUSAL_RETRY_MS. */
  private refuse(pointer: string, err: unknown): void {
    const raw = (err as { code?: unknown }).code;
    const code = typeof raw === 'string' ? raw : 'PORTICO_TABLE_REFUSED';
    const again = this.refused?.pointer === pointer && this.lastRefusal?.code === code;
    this.refused = { pointer, until: Date.now() + REFUSAL_RETRY_MS };
    if (again) return;
    this.refusals++;
    this.lastRefusal = { code, message: (err as Error).message };
    this.o.log('error', `table refused, still serving the last good one: ${this.lastRefusal.message}`, { code: this.lastRefusal.code });
  }
}
