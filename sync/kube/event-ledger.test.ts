// The Event ledger's stored form: read strictly (a malformed one is refused whole; the agent then starts from an
// empty one), written sorted (the same content stores the same text, so an unchanged ledger is not written again);
// and what it keeps: only the Events that could be due now, so it stays bounded by the current objects.
import { describe, expect, it } from 'vitest';
import type { CompileResult, Ingress } from '../compile/types.ts';
import { EventLedger, EventLedgerError, eventDigest, parseEventLedger, serialiseEventLedger } from './event-ledger.ts';
import { currentEventKeys, dueEvents } from './events.ts';
import { OwnConfigMap } from './own-configmap.ts';
import { KubeApiError, type KubeRest } from './rest.ts';

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

// What the ledger keeps across Event rounds, each run as the agent's eventRound runs it (agent.ts: retain the Events that
// could be due now, send the due ones, store), against a fake apiserver holding the one ConfigMap.
const NS = 'portico-system';
const CONTROLLER = 'portico.dev/ingress-controller';

function fakeApi() {
  let cm: { metadata: { resourceVersion: string } } | null = null;
  let rv = 0;
  const api = {
    writes: 0,
    rest: {
      request: async (method: string, path: string, body?: { metadata: object }) => {
        if (method === 'GET') {
          if (cm === null) throw new KubeApiError(404, method, path, '');
          return structuredClone(cm);
        }
        if ((method === 'POST' || method === 'PUT') && body !== undefined) {
          api.writes++;
          cm = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
          return structuredClone(cm);
        }
        throw new Error(`unexpected ${method} ${path}`);
      },
    } as unknown as KubeRest,
    /** The ledger as stored: uid → digests. */
    stored: async () => parseEventLedger((await new OwnConfigMap(api.rest, NS, 'sync-events', 'sent.json').load()) ?? '{}'),
  };
  return api;
}

const ledgerOn = (api: ReturnType<typeof fakeApi>, leading: () => boolean = () => true) =>
  new EventLedger(
    api.rest,
    NS,
    'sync-events',
    () => {},
    () => (leading() ? 1 : null),
  );

interface Ing {
  name: string;
  generation: number;
  /** Not of our class now (not in `accepted`). */
  other?: boolean;
  warnings?: string[];
}

/** One Event round over these Ingresses; the keys of the Events it sent. */
async function round(ledger: EventLedger, ings: Ing[]): Promise<string[]> {
  const ingresses = ings.map(
    (i) => ({ metadata: { namespace: 'ns', name: i.name, uid: `uid-${i.name}`, generation: i.generation } }) as Ingress,
  );
  const result = {
    accepted: ings.filter((i) => i.other !== true).map((i) => ({ namespace: 'ns', name: i.name })),
    diagnostics: ings.flatMap((i) =>
      (i.warnings ?? []).map((message) => ({
        code: 'InvalidPath',
        severity: 'Warning',
        object: { kind: 'Ingress', namespace: 'ns', name: i.name },
        message,
      })),
    ),
  } as unknown as CompileResult;
  if (!ledger.loaded) await ledger.load();
  ledger.retain(currentEventKeys(result, ingresses, CONTROLLER));
  const due = dueEvents(result, ingresses, ledger, CONTROLLER);
  for (const e of due) ledger.add(e.key);
  await ledger.store();
  return due.map((e) => e.key);
}

const digests = (...keys: string[]) => new Set(keys.map(eventDigest));

describe('what the Event ledger keeps: the Events that could be due now', () => {
  it('an edited Ingress keeps one Sync digest, its current generation', async () => {
    const api = fakeApi();
    const ledger = ledgerOn(api);
    for (let gen = 1; gen <= 8; gen++) expect(await round(ledger, [{ name: 'a', generation: gen }])).toEqual([`uid-a/sync/${gen}`]);
    expect(await api.stored()).toEqual(new Map([['uid-a', digests('uid-a/sync/8')]]));
  });

  it('a changed Warning replaces the old one', async () => {
    const api = fakeApi();
    const ledger = ledgerOn(api);
    await round(ledger, [{ name: 'a', generation: 1, warnings: ['path /x is invalid'] }]);
    expect(await round(ledger, [{ name: 'a', generation: 1, warnings: ['path /y is invalid'] }])).toEqual([
      'uid-a/InvalidPath/path /y is invalid',
    ]);
    expect(await api.stored()).toEqual(new Map([['uid-a', digests('uid-a/sync/1', 'uid-a/InvalidPath/path /y is invalid')]]));
  });

  it('a Warning that went away is forgotten, and sent again if it comes back', async () => {
    const api = fakeApi();
    const ledger = ledgerOn(api);
    await round(ledger, [{ name: 'a', generation: 1, warnings: ['path /x is invalid'] }]);
    expect(await round(ledger, [{ name: 'a', generation: 1 }])).toEqual([]);
    expect(await api.stored()).toEqual(new Map([['uid-a', digests('uid-a/sync/1')]]));
    expect(await round(ledger, [{ name: 'a', generation: 1, warnings: ['path /x is invalid'] }])).toEqual([
      'uid-a/InvalidPath/path /x is invalid',
    ]);
  });

  it('a deleted Ingress leaves none', async () => {
    const api = fakeApi();
    const ledger = ledgerOn(api);
    await round(ledger, [
      { name: 'a', generation: 1, warnings: ['path /x is invalid'] },
      { name: 'b', generation: 3 },
    ]);
    await round(ledger, [{ name: 'b', generation: 3 }]);
    expect(await api.stored()).toEqual(new Map([['uid-b', digests('uid-b/sync/3')]]));
    await round(ledger, []);
    expect(await api.stored()).toEqual(new Map());
  });

  it('an Ingress out of our class for a while keeps its Sync: back at the same generation, it is not announced again', async () => {
    const api = fakeApi();
    const ledger = ledgerOn(api);
    await round(ledger, [{ name: 'a', generation: 2 }]);
    expect(await round(ledger, [{ name: 'a', generation: 2, other: true }])).toEqual([]);
    expect(await round(ledger, [{ name: 'a', generation: 2 }])).toEqual([]);
  });

  it('a new leader sends nothing already sent, only what is new', async () => {
    const api = fakeApi();
    const first = ledgerOn(api);
    await round(first, [{ name: 'a', generation: 1 }]);
    await round(first, [
      { name: 'a', generation: 2 },
      { name: 'b', generation: 1, warnings: ['path /x is invalid'] },
    ]);
    const next = ledgerOn(api);
    expect(
      await round(next, [
        { name: 'a', generation: 2 },
        { name: 'b', generation: 1, warnings: ['path /x is invalid'] },
        { name: 'c', generation: 1 },
      ]),
    ).toEqual(['uid-c/sync/1']);
  });

  it('10,000 Ingresses edited 8 times store what 10,000 edited once do', async () => {
    const api = fakeApi();
    const ledger = ledgerOn(api);
    const ings = (gen: number) => Array.from({ length: 10_000 }, (_, i) => ({ name: `app-${i}`, generation: gen }));
    await round(ledger, ings(1));
    const once = await api.stored();
    for (let gen = 2; gen <= 8; gen++) await round(ledger, ings(gen));
    const stored = await api.stored();
    expect(stored.size).toBe(10_000);
    expect([...stored.values()].every((d) => d.size === 1)).toBe(true);
    expect(serialiseEventLedger(stored).length).toBe(serialiseEventLedger(once).length);
  });

  it('a deposed leader stores nothing: the ledger is the new leader’s now', async () => {
    const api = fakeApi();
    let leading = true;
    const ledger = ledgerOn(api, () => leading);
    await round(ledger, [{ name: 'a', generation: 1 }]);
    const writes = api.writes;
    leading = false;
    await round(ledger, [{ name: 'a', generation: 2 }]);
    expect(api.writes).toBe(writes);
    expect(await api.stored()).toEqual(new Map([['uid-a', digests('uid-a/sync/1')]]));
  });
});
