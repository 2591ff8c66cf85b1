// The fencing token of a Lease holder (leader.ts leaseTerm): it must grow with every new holder, and across a Lease
// deleted and created again, or the fence Redis keeps would refuse every agent after a reinstall.
import { describe, expect, it } from 'vitest';
import { leaseTerm } from './leader.ts';

const lease = (created: string | undefined, transitions: number | undefined) => ({
  metadata: { name: 'portico', namespace: 'portico', ...(created === undefined ? {} : { creationTimestamp: created }) },
  spec: transitions === undefined ? {} : { leaseTransitions: transitions },
});

describe('leaseTerm', () => {
  it.each([
    { name: 'a new holder of the same Lease', older: lease('2026-12-01T10:00:00Z', 7), newer: lease('2026-12-01T10:00:00Z', 8) },
    {
      name: 'the Lease deleted and created again (transitions back to 0)',
      older: lease('2026-12-01T10:00:00Z', 7),
      newer: lease('2026-12-07T10:00:00Z', 0),
    },
    {
      name: 'a million transitions later on the same Lease',
      older: lease('2026-12-01T10:00:00Z', 0),
      newer: lease('2026-12-01T10:00:00Z', 999_999),
    },
  ])('$name: a higher term', ({ older, newer }) => {
    expect(leaseTerm(newer)).toBeGreaterThan(leaseTerm(older));
  });

  it('fits a Lua double exactly (below 2^53) and survives the string round trip of the publish script', () => {
    const t = leaseTerm(lease('2026-12-07T10:00:00Z', 12));
    expect(Number.isSafeInteger(t)).toBe(true);
    expect(Number(String(t))).toBe(t);
    expect(String(t)).toMatch(/^\d+$/);
  });

  it('without a creation time (never sent by an apiserver): the transitions alone', () => {
    expect(leaseTerm(lease(undefined, 3))).toBe(3);
    expect(leaseTerm(lease(undefined, undefined))).toBe(0);
  });
});
