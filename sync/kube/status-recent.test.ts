import { describe, expect, it } from 'vitest';
import { RecentStatusWrites } from './status-recent.ts';
import type { StatusChange } from './status.ts';

const change = (ip: string): StatusChange => ({ ref: { namespace: 'ns', name: 'a' }, to: [{ ip }] });

describe('RecentStatusWrites', () => {
  it.each([
    ['the same write from the same object version is done', '7', change('203.0.113.1'), true],
    ['a newer object version (our write seen, or someone else wrote) is planned again', '8', change('203.0.113.1'), false],
    ['other addresses from the same version are written', '7', change('203.0.113.2'), false],
    ['an object without a resourceVersion is never skipped', undefined, change('203.0.113.1'), false],
  ])('%s', (_n, version, next, skipped) => {
    const recent = new RecentStatusWrites();
    recent.record(change('203.0.113.1'), '7');
    expect(recent.done(next, version)).toBe(skipped);
  });

  it('forgets a write once the view has moved past it', () => {
    const recent = new RecentStatusWrites();
    recent.record(change('203.0.113.1'), '7');
    recent.prune(new Map([['ns/a', '9']]));
    recent.prune(new Map([['ns/a', '7']])); // even if an old snapshot came round again
    expect(recent.done(change('203.0.113.1'), '7')).toBe(false);
  });
});
