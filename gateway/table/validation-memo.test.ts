// A worker that follows a table one change at a time remembers the host and backend entries it found clean and the
// host indexes it built (validation-memo.ts, match.ts CompiledHosts). What it remembers must never change a verdict
// or a route: a remembered entry is checked again against whatever the rest of the new table says.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealTable, type TableContent } from './canonical.ts';
import { type CompiledHosts, compileMatcher } from './match.ts';
import type { Backend, HostRoutes, Route, RoutingTable } from './schema.ts';
import { validate } from './validate.ts';
import { deepFreeze, ValidationMemo } from './validation-memo.ts';

const backend = (id: string, port = 8080): Backend => ({
  id,
  service: { namespace: 'default', name: id, port: 80 },
  endpoints: [{ address: '127.0.0.1', port, zone: null }],
  notReady: 0,
});
const route = (path: string, b: string, extra: Partial<Route['policies']> = {}): Route => ({
  path,
  pathType: 'Prefix',
  backend: b,
  source: { namespace: 'default', name: 'ing' },
  policies: { sslRedirect: false, ...extra },
});
const host = (name: string, b: string, fallback: string | null = null, extra: Partial<Route['policies']> = {}): HostRoutes => ({
  host: name,
  tls: null,
  fallbackBackend: fallback,
  routes: [route('/app', b, extra)],
});

/** A table as a worker holds it after opening a bundle: sealed by the agent, every entry frozen. */
const held = (c: TableContent): RoutingTable => {
  const t = sealTable(c);
  for (const h of t.hosts) deepFreeze(h);
  for (const b of t.backends) deepFreeze(b);
  return t;
};

/** The next version: the same (frozen) host objects, the rest of the table as `change` makes it. */
const next = (t: RoutingTable, change: Partial<RoutingTable>): RoutingTable => ({ ...t, ...change });

const messages = (t: RoutingTable, memo?: ValidationMemo) => validate(t, { checkHash: false, memo }).map((p) => `${p.at}: ${p.message}`);

describe('validation memo: a remembered host is checked again against the new table', () => {
  const first = held({
    hosts: [host('a.example', 'web'), host('b.example', 'api', 'fallback')],
    defaultBackend: null,
    backends: [backend('web'), backend('api'), backend('fallback')],
    certificates: [],
  });
  const cases: { name: string; change: (t: RoutingTable) => RoutingTable; expected: string[] }[] = [
    { name: 'nothing changed: still clean', change: (t) => t, expected: [] },
    {
      name: 'the backend a route names is gone',
      change: (t) => next(t, { backends: t.backends.filter((b) => b.id !== 'web') }),
      expected: ['hosts[0].routes[0].backend: unknown backend "web"'],
    },
    {
      name: 'the fallback backend is gone',
      change: (t) => next(t, { backends: t.backends.filter((b) => b.id !== 'fallback') }),
      expected: ['hosts[1].fallbackBackend: unknown backend "fallback"'],
    },
    {
      name: 'the same host entry listed twice',
      change: (t) => next(t, { hosts: [...t.hosts, t.hosts[0]!] }),
      expected: ['hosts[2].host: duplicate host "a.example"'],
    },
    {
      name: 'a schema lower than the remembered hosts need',
      change: (t) => next(t, { hosts: [...t.hosts, deepFreeze(host('c.example', 'web', null, { failClosed: ['auth-url'] }))], schema: 1 }),
      expected: ['schema: table says schema 1, its content needs schema 2'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const memo = new ValidationMemo();
      expect(messages(first, memo)).toEqual([]);
      const second = c.change(first);
      expect(messages(second, memo)).toEqual(c.expected);
      expect(messages(second)).toEqual(c.expected); // what a worker without the memo says
    });
  }

  it('an entry that is not frozen is not remembered: a change to it is found', () => {
    const t = sealTable({ hosts: [host('a.example', 'web')], defaultBackend: null, backends: [backend('web')], certificates: [] });
    const memo = new ValidationMemo();
    expect(messages(t, memo)).toEqual([]);
    (t.hosts[0]!.routes[0] as { backend: string }).backend = 'missing';
    expect(messages(t, memo)).toEqual(['hosts[0].routes[0].backend: unknown backend "missing"']);
  });

  it('an entry frozen only at the top is not remembered: a change below is found', () => {
    const t = sealTable({ hosts: [host('a.example', 'web')], defaultBackend: null, backends: [backend('web')], certificates: [] });
    Object.freeze(t.hosts[0]);
    const memo = new ValidationMemo();
    expect(messages(t, memo)).toEqual([]);
    (t.hosts[0]!.routes[0] as { backend: string }).backend = 'missing';
    expect(messages(t, memo)).toEqual(['hosts[0].routes[0].backend: unknown backend "missing"']);
  });

  it('one object listed as a backend and as a host is checked as a host', () => {
    // A clean backend that is also a host entry with a rule this worker does not know: clean as a backend says
    // nothing of it as a host (a signed manifest may list the same bytes as a backends and a hosts part).
    const both = deepFreeze({
      ...backend('web'),
      ...host('victim.example', 'web', null, { access: { someFutureRule: true } } as Partial<Route['policies']>),
    });
    const t: RoutingTable = {
      schema: 3,
      version: `sha256:${'0'.repeat(64)}`,
      defaultBackend: null,
      certificates: [],
      hosts: [both as unknown as HostRoutes],
      backends: [both as unknown as Backend],
    };
    const expected = messages(t);
    expect(expected.some((m) => m.startsWith('hosts[0].routes[0].policies.access'))).toBe(true);
    expect(messages(t, new ValidationMemo())).toEqual(expected);
  });

  it('a frozen entry cannot be changed under its memo', () => {
    const t = held({ hosts: [host('a.example', 'web')], defaultBackend: null, backends: [backend('web')], certificates: [] });
    expect(() => {
      (t.hosts[0]!.routes[0] as { backend: string }).backend = 'missing';
    }).toThrow(TypeError);
  });

  it('on any sequence of tables drawn from the same frozen entries, says what a worker without memo says', () => {
    const ids = ['web', 'api', 'fallback', 'gone'];
    const pool = deepFreeze([
      ...ids.map((b, i) => host(`h${i}.example`, b)),
      ...ids.map((b, i) => host(`f${i}.example`, 'web', b)),
      host('bad host', 'web'),
      host('h0.example', 'api'), // the same name as another entry
    ]);
    const backends = deepFreeze([
      ...ids.map((id) => backend(id)),
      { ...backend('web'), notReady: -1 },
      { ...backend('api'), endpoints: [] },
    ]);
    // Entries also turn up in the other list: an object is remembered per list it was checked as.
    const table = fc.record({
      hosts: fc.subarray([...pool, ...(backends as unknown as HostRoutes[])], { minLength: 0 }),
      backends: fc.subarray([...backends, ...(pool as unknown as Backend[])]),
    });
    fc.assert(
      fc.property(fc.array(table, { minLength: 1, maxLength: 6 }), (versions) => {
        const memo = new ValidationMemo();
        for (const v of versions) {
          const t: RoutingTable = { schema: 1, version: `sha256:${'0'.repeat(64)}`, defaultBackend: null, certificates: [], ...v };
          expect(messages(t, memo)).toEqual(messages(t));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('matcher: host indexes reused from the previous table', () => {
  it('a reused host answers with the new table backends (fallback and route)', () => {
    const first = held({
      hosts: [host('a.example', 'web', 'fallback')],
      defaultBackend: null,
      backends: [backend('web', 8080), backend('fallback', 8081)],
      certificates: [],
    });
    const compiled: CompiledHosts = new WeakMap();
    const m1 = compileMatcher(first, compiled);
    expect(compiled.has(first.hosts[0]!)).toBe(true);
    const second = next(first, { backends: deepFreeze([backend('web', 9090), backend('fallback', 9091)]) });
    const m2 = compileMatcher(second, compiled);
    expect(m1.match('a.example', '/other').backend?.endpoints[0]?.port).toBe(8081);
    expect(m2.match('a.example', '/other')).toMatchObject({ reason: 'host-fallback' });
    expect(m2.match('a.example', '/other').backend?.endpoints[0]?.port).toBe(9091);
    expect(m2.match('a.example', '/app/x').backend?.endpoints[0]?.port).toBe(9090);
  });

  it('a host that is not frozen is compiled again every time', () => {
    const t = sealTable({ hosts: [host('a.example', 'web')], defaultBackend: null, backends: [backend('web')], certificates: [] });
    const compiled: CompiledHosts = new WeakMap();
    compileMatcher(t, compiled);
    expect(compiled.has(t.hosts[0]!)).toBe(false);
  });
});
