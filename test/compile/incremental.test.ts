// The incremental compiler (sync/compile/incremental.ts) on named cases: endpoint churn gives exactly what a full
// compile gives, a change recompiles only the Ingresses of the hosts it touches, and what spans hosts is compiled in
// full. test/properties/incremental-compile.test.ts checks the equality on random change sequences.
import { describe, expect, it } from 'vitest';
import { serializeTable } from '../../gateway/table/canonical.ts';
import { compile } from '../../sync/compile/index.ts';
import { IncrementalCompiler } from '../../sync/compile/incremental.ts';
import type { ClusterObjects } from '../../sync/compile/types.ts';
import { type AnyObject, backend, cls, ingress as ing, prefix, rule, slice, svc } from '../support/builders.ts';
import { ingress, objects, ourClass, service, type EndpointSpec } from '../support/manifests.ts';

const world = (a: EndpointSpec[], b: EndpointSpec[]) =>
  objects(
    ourClass(),
    service('a', a),
    service('b', b),
    ingress('x', {
      host: 'x.test',
      paths: [
        { path: '/', service: 'a' },
        { path: '/b', service: 'b' },
        { path: '/missing', service: 'nope' },
      ],
    }),
  );
const ep = (i: number, ready = true): EndpointSpec => ({ address: `10.0.0.${i}`, port: 8080, ready });

describe('incremental compile: endpoint churn', () => {
  it.each([
    ['an endpoint added', [ep(1)], [ep(1), ep(2)]],
    ['an endpoint removed', [ep(1), ep(2)], [ep(2)]],
    ['an endpoint turns not ready', [ep(1)], [ep(1, false)]],
    ['the last ready endpoint goes away (NoReadyEndpoints appears)', [ep(1)], []],
    ['endpoints come back (NoReadyEndpoints disappears)', [], [ep(3), ep(4)]],
  ])('%s: same table and diagnostics as a full compile', (_name, before, after) => {
    const inc = new IncrementalCompiler({}, 1);
    const prev = inc.compile(world(before, [ep(9)]));
    const next = world(after, [ep(9)]);
    const cheap = inc.compile(next);
    const full = compile(next);
    expect(inc.stats.partial).toBe(1);
    expect(serializeTable(cheap.table)).toBe(serializeTable(full.table));
    expect(cheap.diagnostics).toEqual(full.diagnostics);
    expect(cheap.table.version === prev.table.version).toBe(serializeTable(full.table) === serializeTable(prev.table));
  });
});

/** Ten Ingresses, each on its own host with its own Service, and two more sharing host shared.test. */
function cluster(): ClusterObjects {
  const list: AnyObject[] = [cls()];
  for (let i = 0; i < 10; i++)
    list.push(svc(`s${i}`), slice(`s${i}`, [`10.0.1.${i}`]), ing(`i${i}`, { rules: [rule(`h${i}.test`, prefix('/', `s${i}`))] }));
  list.push(ing('old', { created: 0, rules: [rule('shared.test', prefix('/', 's0'))] }));
  list.push(ing('new', { created: 5, rules: [rule('shared.test', prefix('/', 's1')), rule('h2.test', prefix('/n', 's2'))] }));
  return objects(...list);
}
const replace = (o: ClusterObjects, kind: 'ingresses' | 'services' | 'endpointSlices', name: string, next: unknown): ClusterObjects => ({
  ...o,
  [kind]: [...o[kind].filter((x) => (x as { metadata: { name: string } }).metadata.name !== name), ...(next === null ? [] : [next])],
});

describe('incremental compile: what is compiled again', () => {
  const cases: { name: string; change: (o: ClusterObjects) => ClusterObjects; full: boolean; ingresses?: number }[] = [
    {
      name: 'an Ingress alone on its host: that Ingress',
      change: (o) => replace(o, 'ingresses', 'i5', ing('i5', { rules: [rule('h5.test', prefix('/v2', 's5'))] })),
      full: false,
      ingresses: 1,
    },
    {
      name: 'an Ingress on a shared host: every Ingress of its hosts, and of their other hosts (new → h2.test → i2)',
      change: (o) => replace(o, 'ingresses', 'old', ing('old', { created: 0, rules: [rule('shared.test', prefix('/', 's3'))] })),
      full: false,
      ingresses: 3,
    },
    {
      name: 'a Service: the Ingresses naming it, and their hosts',
      change: (o) => replace(o, 'services', 's7', svc('s7', { ports: [{ name: 'http', port: 80, targetPort: 9090 }] })),
      full: false,
      ingresses: 1,
    },
    {
      name: 'an EndpointSlice: the Ingresses naming its Service',
      change: (o) => replace(o, 'endpointSlices', 's7-abcde', slice('s7', ['10.0.9.9'])),
      full: false,
      ingresses: 1,
    },
    {
      name: 'an Ingress deleted: the other Ingresses of its host',
      change: (o) => replace(o, 'ingresses', 'new', null),
      full: false,
      ingresses: 2,
    },
    {
      name: 'an Ingress with spec.defaultBackend (the default backend is chosen across hosts): full',
      change: (o) =>
        replace(o, 'ingresses', 'i5', ing('i5', { defaultBackend: backend('s5'), rules: [rule('h5.test', prefix('/', 's5'))] })),
      full: true,
    },
    {
      name: 'an IngressClass: full',
      change: (o) => ({ ...o, ingressClasses: [cls(), cls('second')] }),
      full: true,
    },
  ];
  it.each(cases)('$name', ({ change, full, ingresses }) => {
    const inc = new IncrementalCompiler({}, 1);
    const before = cluster();
    inc.compile(before);
    const after = change(before);
    expect(serializeTable(inc.compile(after).table)).toBe(serializeTable(compile(after).table));
    expect(inc.stats.full).toBe(full ? 2 : 1);
    if (ingresses !== undefined) expect(inc.stats.lastPartialIngresses).toBe(ingresses);
  });
});
