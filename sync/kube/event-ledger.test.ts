// The Event ledger's stored form: read strictly (a malformed one is refused whole; the agent then starts from an
// empty one), written sorted (the same content stores the same text, so an unchanged ledger is not written again).
import { describe, expect, it } from 'vitest';
import { EventLedgerError, eventDigest, parseEventLedger, serialiseEventLedger } from './event-ledger.ts';

const d1 = eventDigest('u1/sync/1');
const d2 = eventDigest('u1/sync/2');

describe('the Event ledger', () => {
  it('a digest is 16 hex digits and differs per key', () => {
    expect(d1).toMatch(/^[0-9a-f]{16}$/);
    expect(d1).not.toBe(d2);
  });
  it('reads back what it wrote', () =>
    expect(parseEventLedger(serialiseEventLedger(new Map([['u1', new Set([d2, d1])]])))).toEqual(new Map([['u1', new Set([d1, d2])]])));
  it('writes the same text for the same content in any order', () =>
    expect(
      serialiseEventLedger(
        new Map([
          ['u2', new Set([d1])],
          ['u1', new Set([d2, d1])],
        ]),
      ),
    ).toBe(
      serialiseEventLedger(
        new Map([
          ['u1', new Set([d1, d2])],
          ['u2', new Set([d1])],
        ]),
      ),
    ));
  it('leaves out Ingresses with nothing sent', () => expect(serialiseEventLedger(new Map([['u1', new Set()]]))).toBe('{}'));
  it.each([
    ['not an object', '[]'],
    ['digests not a list', `{"u1":"${d1}"}`],
    ['a digest of another form', '{"u1":["u1/sync/1"]}'],
  ])('refuses %s', (_n, text) => expect(() => parseEventLedger(text)).toThrow(EventLedgerError));
});
