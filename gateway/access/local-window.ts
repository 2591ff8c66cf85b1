// Sliding-window counters (sliding-window.ts) kept in this worker process (or isolate): what `portico local`
// counts global rate limits in, and what a worker falls back to while Redis does not answer. Bounded: at most
// `maxEntries` keys, the least recently counted dropped first (a dropped key starts again at 0, towards
// admitting, as nginx's forced expiry of a full zone does).
import { slidingWindow, type WindowVerdict, windowOf } from './sliding-window.ts';

interface Counter {
  window: number;
  count: number;
  prev: number;
}

export class LocalWindows {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly maxEntries = 65_536) {}

  /** Decides a request of `id` at `nowMs`, counting it when admitted. */
  hit(id: string, limit: number, windowMs: number, nowMs: number): WindowVerdict {
    const w = windowOf(nowMs, windowMs);
    let c = this.counters.get(id);
    if (c === undefined || c.window !== w) {
      // A new window: the last one's count becomes `prev` only when it was the window just before.
      const prev = c !== undefined && c.window === w - 1 ? c.count : 0;
      if (c !== undefined)
        this.counters.delete(id); // re-inserted last: the Map's order is recency of windows
      else if (this.counters.size >= this.maxEntries) this.counters.delete(this.counters.keys().next().value!);
      c = { window: w, count: 0, prev };
      this.counters.set(id, c);
    }
    const v = slidingWindow(c.count, c.prev, limit, windowMs, nowMs);
    if (v.admitted) c.count++;
    return v;
  }

  get size(): number {
    return this.counters.size;
  }
}
