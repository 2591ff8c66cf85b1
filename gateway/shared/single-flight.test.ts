import { describe, expect, it } from 'vitest';
import { SingleFlight } from './single-flight.ts';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('SingleFlight', () => {
  it('never overlaps runs, and a burst during a run costs exactly one more run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const f = new SingleFlight(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await tick();
      active--;
    });
    const first = f.request();
    for (let i = 0; i < 10; i++) void f.request();
    await first;
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
    expect(f.busy).toBe(false);
  });

  it('a request after the runs ended starts a new run', async () => {
    let runs = 0;
    const f = new SingleFlight(async () => void runs++);
    await f.request();
    await f.request();
    expect(runs).toBe(2);
  });

  it('a run that throws rejects its promise, and a run asked for meanwhile still happens', async () => {
    let runs = 0;
    const f = new SingleFlight(async () => {
      runs++;
      await tick();
      if (runs === 1) throw new Error('boom');
    });
    const first = f.request();
    void f.request();
    await expect(first).rejects.toThrow('boom');
    await tick();
    await tick();
    expect(runs).toBe(2);
  });
});
