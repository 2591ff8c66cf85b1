import { describe, expect, it } from 'vitest';
import {
  InformerBackoff,
  informerBackoffMs,
  isUnreachable,
  REFUSED_CAP_MS,
  shouldLogFailure,
  UNREACHABLE_CAP_MS,
} from './informer-backoff.ts';

const refused = Object.assign(new Error('HTTP-Code: 403 Message: Forbidden'), { code: 403 });
const connRefused = Object.assign(new Error('request to https://127.0.0.1:6443 failed, reason: connect ECONNREFUSED 127.0.0.1:6443'), {
  code: 'ECONNREFUSED',
});

describe('isUnreachable', () => {
  it.each([
    ['connection refused', connRefused, true],
    [
      'a reset wrapped as the cause',
      new Error('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }),
      true,
    ],
    ['a 503 while the apiserver starts', Object.assign(new Error('HTTP-Code: 503'), { code: 503 }), true],
    ['a premature close of the watch', new Error('Premature close'), true],
    ['a 403 refusal', refused, false],
    ['a 404', Object.assign(new Error('HTTP-Code: 404'), { code: 404 }), false],
    ['not an error at all', 'boom', false],
  ])('%s', (_n, err, want) => expect(isUnreachable(err)).toBe(want));
});

describe('informerBackoffMs', () => {
  it.each([
    ['first failure, unreachable', 1, connRefused, 100],
    ['third failure, unreachable', 3, connRefused, 400],
    ['a long outage stays at the unreachable cap', 40, connRefused, UNREACHABLE_CAP_MS],
    ['first refusal', 1, refused, 100],
    ['refusals keep doubling past the unreachable cap', 6, refused, 3_200],
    ['refusals stop at the refused cap', 40, refused, REFUSED_CAP_MS],
  ])('%s', (_n, failures, err, want) => expect(informerBackoffMs(failures, err)).toBe(want));
});

describe('shouldLogFailure', () => {
  it('logs the first two failures and then at powers of two', () =>
    expect(Array.from({ length: 20 }, (_, i) => i + 1).filter(shouldLogFailure)).toEqual([1, 2, 4, 8, 16]));
});

describe('InformerBackoff', () => {
  it('refusals right after an outage start from the first wait, not where the outage left off', () => {
    const b = new InformerBackoff();
    const outage = Array.from({ length: 20 }, () => b.next(connRefused));
    expect(outage.at(-1)).toBe(UNREACHABLE_CAP_MS);
    expect([b.next(refused), b.next(refused), b.next(refused)]).toEqual([100, 200, 400]);
  });
  it('starts afresh once the informer works again', () => {
    const b = new InformerBackoff();
    for (let i = 0; i < 10; i++) b.next(refused);
    b.reset();
    expect(b.next(refused)).toBe(100);
  });
});
