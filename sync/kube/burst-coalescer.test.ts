import { describe, expect, it } from 'vitest';
import { BurstCoalescer, type Clock } from './burst-coalescer.ts';

/** A clock that moves only when the test says so, running due timers in order. */
class TestClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advanceTo(t: number): void {
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= t).sort(([ia, a], [ib, b]) => a.at - b.at || ia - ib)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = t;
  }
}

interface Case {
  name: string;
  /** The coalescer's `leading` option (default true). */
  leading?: boolean;
  /** Times (ms) at which a change arrives. */
  changes: number[];
  /** Times (ms) at which a compile runs. */
  fires: number[];
}

const WINDOW = 50;
const MAX_WAIT = 200;

const cases: Case[] = [
  { name: 'a lone change compiles at once', changes: [1000], fires: [1000] },
  { name: 'two changes far apart each compile at once', changes: [1000, 1200], fires: [1000, 1200] },
  { name: 'a change right after one waits for the burst to be quiet', changes: [1000, 1010], fires: [1000, 1060] },
  { name: 'a burst costs the leading compile and one after it', changes: [1000, 1010, 1020, 1030, 1040], fires: [1000, 1090] },
  {
    name: 'a steady stream still compiles every max wait',
    changes: Array.from({ length: 30 }, (_, i) => 1000 + i * 20),
    fires: [1000, 1220, 1420, 1620],
  },
  { name: 'after a burst has been quiet a window, the next change is lone again', changes: [1000, 1010, 1100], fires: [1000, 1060, 1100] },
  { name: 'trailing only: a lone change waits one window', leading: false, changes: [1000], fires: [1050] },
  {
    name: 'trailing only: a burst compiles once, a window after its last change',
    leading: false,
    changes: [1000, 1010, 1020],
    fires: [1070],
  },
  {
    name: 'trailing only: a steady stream still compiles every max wait',
    leading: false,
    changes: Array.from({ length: 30 }, (_, i) => 1000 + i * 20),
    fires: [1200, 1400, 1600],
  },
];

describe('BurstCoalescer', () => {
  for (const c of cases)
    it(c.name, () => {
      const clock = new TestClock();
      const fires: number[] = [];
      const co = new BurstCoalescer(
        () => fires.push(clock.now()),
        { windowMs: WINDOW, maxWaitMs: MAX_WAIT, ...(c.leading === undefined ? {} : { leading: c.leading }) },
        clock,
      );
      for (const t of c.changes) {
        clock.advanceTo(t);
        co.trigger();
      }
      clock.advanceTo(10_000);
      expect(fires).toEqual(c.fires);
      expect(co.pending).toBe(false);
    });

  it('cancel drops what is held back', () => {
    const clock = new TestClock();
    let fired = 0;
    const co = new BurstCoalescer(() => fired++, { windowMs: WINDOW, maxWaitMs: MAX_WAIT }, clock);
    co.trigger();
    co.trigger();
    expect(co.pending).toBe(true);
    co.cancel();
    clock.advanceTo(10_000);
    expect(fired).toBe(1);
  });
});
