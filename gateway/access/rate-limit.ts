// limit-rps and limit-rpm: nginx's limit_req as ingress-nginx writes it (`limit_req zone=... burst=N nodelay;`),
// one leaky bucket per client address and zone, kept per worker process (nginx keeps its zones in memory
// shared by the workers of one instance).
//
// The arithmetic is nginx's (ngx_http_limit_req_module.c): `excess` counts requests above the rate in
// thousandths; each request adds 1000 after leaking `rate × elapsed ms / 1000`; a request that would take
// excess above `burst × 1000` is refused at once (nodelay: never delayed), and a refused request counts in no
// bucket. With both limit-rps and limit-rpm set both apply: one over its burst refuses the request, and only a
// request every bucket admits is counted in all of them (nginx's lookup-then-account over its limits).
//
// Memory is bounded as nginx bounds a zone: each new entry first expires up to two least recently used
// entries idle for 60 s whose excess has leaked away (ngx_http_limit_req_expire), and a full store drops its
// least recently used entry to make room (nginx's forced expiry when the zone's memory is exhausted).
import type { LimitPolicy, RateLimit } from '../table/schema.ts';

interface Bucket {
  key: string;
  /** Requests above the rate, in thousandths. */
  excess: number;
  /** When `excess` was last computed (ms). */
  last: number;
  /** The rate it leaks at, in thousandths of a request per second (for expiry). */
  rate: number;
  /** The recency list: `older` towards the least recently used, `newer` towards the most recently used. */
  older: Bucket | null;
  newer: Bucket | null;
}

export interface RateLimiterOptions {
  /** Milliseconds on a clock that does not go backwards much (default performance.now()). */
  now?: () => number;
  /** Entries kept at most, all zones together (default 65,536: about what nginx's 5 MB zones hold). */
  maxEntries?: number;
}

/** nginx forgets an idle entry only after 60 s, and only once its excess has leaked away. */
const IDLE_MS = 60_000;

export class RateLimiter {
  /** `zone unit client` → bucket. */
  private readonly buckets = new Map<string, Bucket>();
  /** Least and most recently used (nginx's queue, tail and head): a list of its own, as a Map re-insert per
   * request would leave its iteration order behind deleted slots that every eviction walks again. */
  private oldest: Bucket | null = null;
  private newest: Bucket | null = null;
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(o: RateLimiterOptions = {}) {
    this.now = o.now ?? (() => performance.now());
    this.maxEntries = o.maxEntries ?? 65_536;
  }

  /** Whether a request from `client` may pass the policy's request limits in `zone`; when it may, it is
   * counted in every bucket, when not, in none. */
  admit(zone: string, client: string, p: LimitPolicy): boolean {
    const now = Math.floor(this.now());
    const { rps, rpm } = p;
    // At most two limits, handled one by one: no array per request.
    const sKey = rps === undefined ? '' : `${zone} s ${client}`;
    const mKey = rpm === undefined ? '' : `${zone} m ${client}`;
    const sBucket = rps === undefined ? undefined : this.touch(sKey);
    const mBucket = rpm === undefined ? undefined : this.touch(mKey);
    const sExcess = rps === undefined ? 0 : excessAfter(sBucket, perSecond(rps, 1), now);
    const mExcess = rpm === undefined ? 0 : excessAfter(mBucket, perSecond(rpm, 60), now);
    if ((rps !== undefined && sExcess > rps.burst * 1000) || (rpm !== undefined && mExcess > rpm.burst * 1000)) return false;
    if (rps !== undefined) this.account(sKey, sBucket, sExcess, perSecond(rps, 1), now);
    if (rpm !== undefined) this.account(mKey, mBucket, mExcess, perSecond(rpm, 60), now);
    return true;
  }

  /** Entries held (for tests and bounds). */
  get size(): number {
    return this.buckets.size;
  }

  /** The bucket of `key`, now the most recently used (nginx moves an entry to the head of its queue on every
   * lookup), so expiry and eviction look at the least recently used first. */
  private touch(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (b !== undefined && b !== this.newest) {
      this.unlink(b);
      this.append(b);
    }
    return b;
  }

  private account(key: string, b: Bucket | undefined, excess: number, rate: number, now: number): void {
    if (b !== undefined) {
      // nginx moves `last` only when time has passed, as it does.
      if (elapsed(now, b.last) !== 0) b.last = now;
      b.excess = excess;
      b.rate = rate;
      return;
    }
    this.expire(now, 2);
    if (this.buckets.size >= this.maxEntries && this.oldest !== null) this.remove(this.oldest);
    const fresh: Bucket = { key, excess: 0, last: now, rate, older: null, newer: null };
    this.buckets.set(key, fresh);
    this.append(fresh);
  }

  /** Drops up to `n` least recently used entries idle for 60 s whose excess has leaked away; stops at the
   * first that is not (the rest were used more recently). */
  private expire(now: number, n: number): void {
    for (let i = 0; i < n; i++) {
      const b = this.oldest;
      if (b === null) return;
      const ms = Math.abs(now - b.last);
      if (ms < IDLE_MS || b.excess - Math.floor((b.rate * ms) / 1000) > 0) return;
      this.remove(b);
    }
  }

  private remove(b: Bucket): void {
    this.unlink(b);
    this.buckets.delete(b.key);
  }

  private unlink(b: Bucket): void {
    if (b.older === null) this.oldest = b.newer;
    else b.older.newer = b.newer;
    if (b.newer === null) this.newest = b.older;
    else b.newer.older = b.older;
    b.older = null;
    b.newer = null;
  }

  private append(b: Bucket): void {
    b.older = this.newest;
    if (this.newest === null) this.oldest = b;
    else this.newest.newer = b;
    this.newest = b;
  }
}

/** The excess a request brings to bucket `b` (none yet: 0, as a new nginx entry starts). */
function excessAfter(b: Bucket | undefined, rate: number, now: number): number {
  if (b === undefined) return 0;
  const excess = b.excess - Math.floor((rate * elapsed(now, b.last)) / 1000) + 1000;
  return Math.max(excess, 0);
}

/** nginx's rate in thousandths of a request per second (`rate * 1000 / scale`, an integer): 1r/m is 16. */
function perSecond(r: RateLimit, scale: 1 | 60): number {
  return Math.floor((r.rate * 1000) / scale);
}

/** Milliseconds since `last` as nginx counts them: a clock that went back a little is no time, a lot is 1 ms. */
function elapsed(now: number, last: number): number {
  const ms = now - last;
  return ms < -60_000 ? 1 : Math.max(ms, 0);
}
