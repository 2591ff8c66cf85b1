// When the agent compiles after a change: a lone change at once (leading edge), a burst coalesced. A change that
// arrives within `windowMs` of the previous one is part of a burst: it waits until the burst has been quiet for
// `windowMs`, but never more than `maxWaitMs` after the first change it holds back, so a steady stream of changes
// still publishes a table every `maxWaitMs`. A fixed debounce made every lone change wait the whole quiet time;
// this keeps the coalescing of bulk writes (thousands of Ingresses at once compile a handful of times, not a
// thousand) without that cost. The same shape as lodash's debounce with { leading, trailing, maxWait }.

/** Time and timers, injectable so the behaviour is tested on a controlled clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BurstOptions {
  /** Changes closer together than this form a burst (and a burst ends after this much quiet). */
  windowMs: number;
  /** The longest a change is held back while a burst goes on. */
  maxWaitMs: number;
  /** false: a lone change waits `windowMs` too (trailing edge only, lodash's `leading: false`), for work nobody waits
   * on that should stay out of the way of work somebody does (a standby agent's compile). Default true. */
  leading?: boolean;
}

export class BurstCoalescer {
  /** When the last change arrived, or null before the first. */
  private lastChange: number | null = null;
  /** When the oldest change still held back arrived, or null when none is. */
  private heldSince: number | null = null;
  private quiet: unknown = null;
  private deadline: unknown = null;

  constructor(
    private readonly fire: () => void,
    private readonly o: BurstOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  /** One change. */
  trigger(): void {
    const now = this.clock.now();
    const inBurst = this.lastChange !== null && now - this.lastChange < this.o.windowMs;
    this.lastChange = now;
    if (this.heldSince === null && !inBurst && this.o.leading !== false) {
      this.fire();
      return;
    }
    this.heldSince ??= now;
    if (this.quiet !== null) this.clock.clearTimeout(this.quiet);
    this.quiet = this.clock.setTimeout(() => this.flush(), this.o.windowMs);
    this.deadline ??= this.clock.setTimeout(() => this.flush(), Math.max(0, this.heldSince + this.o.maxWaitMs - now));
  }

  /** Whether changes are held back. */
  get pending(): boolean {
    return this.heldSince !== null;
  }

  /** Drops what is held back without firing (the caller runs its pass anyway, or stops). */
  cancel(): void {
    if (this.quiet !== null) this.clock.clearTimeout(this.quiet);
    if (this.deadline !== null) this.clock.clearTimeout(this.deadline);
    this.quiet = this.deadline = null;
    this.heldSince = null;
  }

  private flush(): void {
    this.cancel();
    this.fire();
  }
}
