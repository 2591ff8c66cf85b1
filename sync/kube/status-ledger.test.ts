// The status ledger's stored form is read strictly: a malformed one is refused whole (the agent then starts
// from an empty ledger and overwrites it), never half read.
import { describe, expect, it } from 'vitest';
import { parseLedger, StatusLedgerError } from './status-ledger.ts';

describe('parseLedger', () => {
  it('reads entries with their uid and addresses', () =>
    expect([...parseLedger('{"ns/a":{"uid":"u1","addresses":[{"ip":"203.0.113.1"},{"hostname":"lb.example.net"}]}}')]).toEqual([
      ['ns/a', { uid: 'u1', addresses: [{ ip: '203.0.113.1' }, { hostname: 'lb.example.net' }] }],
    ]));
  it.each([
    ['not an object', '[]'],
    ['an entry without uid', '{"ns/a":{"addresses":[]}}'],
    ['addresses not a list', '{"ns/a":{"uid":"u","addresses":"203.0.113.1"}}'],
    ['an address with another field', '{"ns/a":{"uid":"u","addresses":[{"ip":"203.0.113.1","ports":[]}]}}'],
    ['an address that is not text', '{"ns/a":{"uid":"u","addresses":[{"ip":7}]}}'],
  ])('refuses %s', (_n, text) => expect(() => parseLedger(text)).toThrow(StatusLedgerError));
});
