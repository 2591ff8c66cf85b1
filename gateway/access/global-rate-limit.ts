// global-rate-limit: ingress-nginx's global throttle (rootfs/etc/nginx/lua/global_throttle.lua over
// lua-resty-global-throttle), counted across every worker of the cluster in a shared store (Redis on Node
// workers: global-rate-limit-redis.ts) and in this worker alone where there is none (`portico local`) or while
// the store does not answer.
//
// As global_throttle.lua does: the counter is named by the Ingress (its zone) and the expanded key (the client
// address when the key expands to nothing); a refusal is remembered in this worker until the store said it
// ends (its DECISION_CACHE, so a flood against one key costs the store nothing until then); clients in
// ignored-cidrs are neither limited nor counted. Unlike it, a store that fails never lets a request through
// uncounted (global_throttle.lua "fail open"s): the worker counts in its own window with the same limit
// until the store answers again, says so once in its log and counts each such request in
// portico_global_rate_limit_fallback_total.
import { createHash } from 'node:crypto';
import type { Log } from '../shared/log.ts';
import type { GlobalRateLimitPolicy } from '../table/schema.ts';
import { LocalWindows } from './local-window.ts';
import type { WindowVerdict } from './sliding-window.ts';
import { type CompiledRanges, onlyIn, passes } from './source-ranges.ts';

/** The shared store: decides and counts one request of counter `id` atomically, in at most one round trip.
 * Rejects when it cannot answer in time (it never waits longer than its own short timeout). */
export interface SharedWindows {
  hit(id: string, limit: number, windowMs: number, nowMs: number): Promise<WindowVerdict>;
  /** False while it knows it cannot answer (no connection): the worker then counts locally at once. */
  readonly ready: boolean;
}

export interface GlobalLimiterOptions {
  /** The cluster-wide store; null: this worker's counters only (`portico local`). */
  shared: SharedWindows | null;
  /** Wall-clock milliseconds (windows are aligned on it across workers, as ngx.now() is in nginx). */
  now?: () => number;
  log?: Log;
  /** Called for each request counted locally because the shared store did not answer. */
  onFallback?: () => void;
  /** How long after a failure the shared store is asked again (default 1 s); meanwhile requests count locally. */
  retryMs?: number;
  /** Keys held at most, in the local windows and in the refusal cache each (default 65,536). */
  maxEntries?: number;
}

// Parsed once per policy object: a table's policies are immutable, and a new table brings new objects.
const ignoredRanges = new WeakMap<GlobalRateLimitPolicy, CompiledRanges>();

/** Whether the client is in global-rate-limit-ignored-cidrs (global_throttle.lua should_ignore_request matches
 * ngx.var.remote_addr, the client address). */
export function globalLimitIgnored(p: GlobalRateLimitPolicy, clientIp: string): boolean {
  if (p.ignored === undefined) return false;
  let r = ignoredRanges.get(p);
  if (r === undefined) {
    r = onlyIn(p.ignored);
    ignoredRanges.set(p, r);
  }
  return passes(r, clientIp);
}

/** The counter's name: bounded and opaque whatever a client puts in the key (a header can be 16 KiB), and
 * distinct per Ingress and window size (a changed window must not read the old window's counts). 128 bits of
 * SHA-256, base64url. */
export function counterId(zone: string, windowSeconds: number, keyValue: string): string {
  return createHash('sha256').update(`${zone}\u0000${windowSeconds}\u0000${keyValue}`).digest('base64url').slice(0, 22);
}

export class GlobalRateLimiter {
  private readonly local: LocalWindows;
  /** counter id → until when (ms) its requests are refused without asking anyone. */
  private readonly refused = new Map<string, number>();
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly maxEntries: number;
  /** Set while the shared store is not answering: when to ask it again. */
  private retryAt: number | null = null;

  constructor(private readonly o: GlobalLimiterOptions) {
    this.now = o.now ?? Date.now;
    this.retryMs = o.retryMs ?? 1_000;
    this.maxEntries = o.maxEntries ?? 65_536;
    this.local = new LocalWindows(this.maxEntries);
  }

  /** Whether the shared store is being bypassed (for tests and readiness details). */
  get degraded(): boolean {
    return this.retryAt !== null;
  }

  /** Whether a request whose key expanded to `keyValue` may pass the Ingress's (`zone`) global limit; an
   * admitted request is counted. */
  async admit(zone: string, keyValue: string, p: GlobalRateLimitPolicy): Promise<boolean> {
    const id = counterId(zone, p.windowSeconds, keyValue);
    const now = this.now();
    const until = this.refused.get(id);
    if (until !== undefined) {
      if (until > now) return false;
      this.refused.delete(id);
    }
    const windowMs = p.windowSeconds * 1000;
    const v = await this.decide(id, p.limit, windowMs, now);
    // global_throttle.lua caches a refusal only when it lasts more than 1 ms (CACHE_THRESHOLD).
    if (!v.admitted && v.refuseForMs > 1) this.remember(id, now + v.refuseForMs);
    return v.admitted;
  }

  private async decide(id: string, limit: number, windowMs: number, now: number): Promise<WindowVerdict> {
    const shared = this.o.shared;
    if (shared === null) return this.local.hit(id, limit, windowMs, now);
    if (this.retryAt !== null && (now < this.retryAt || !shared.ready)) return this.fallback(id, limit, windowMs, now);
    if (!shared.ready) return this.fail('no connection to Redis', id, limit, windowMs, now);
    // While degraded, this request is the one probe until retryAt moves on.
    if (this.retryAt !== null) this.retryAt = now + this.retryMs;
    try {
      const v = await shared.hit(id, limit, windowMs, now);
      if (this.retryAt !== null) {
        this.retryAt = null;
        this.o.log?.('info', 'global rate limit: Redis answers again; counting across every worker');
      }
      return v;
    } catch (err) {
      return this.fail((err as Error).message, id, limit, windowMs, now);
    }
  }

  private fail(why: string, id: string, limit: number, windowMs: number, now: number): WindowVerdict {
    if (this.retryAt === null)
      this.o.log?.('warn', 'global rate limit: Redis did not answer; counting in this worker alone until it does', { error: why });
    this.retryAt = now + this.retryMs;
    return this.fallback(id, limit, windowMs, now);
  }

  private fallback(id: string, limit: number, windowMs: number, now: number): WindowVerdict {
    this.o.onFallback?.();
    return this.local.hit(id, limit, windowMs, now);
  }

  private remember(id: string, until: number): void {
    if (this.refused.size >= this.maxEntries) {
      // Expired entries go first; if none, the oldest refusal (its key is simply asked again).
      const now = this.now();
      for (const [k, t] of this.refused) {
        if (t <= now) this.refused.delete(k);
        if (this.refused.size < this.maxEntries * 0.9) break;
      }
      if (this.refused.size >= this.maxEntries) this.refused.delete(this.refused.keys().next().value!);
    }
    this.refused.set(id, until);
  }
}
