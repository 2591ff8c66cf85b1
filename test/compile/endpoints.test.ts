// The endpoint-churn cheap path gives exactly what a full compile gives for the same objects.
import { describe, expect, it } from 'vitest';
import { serializeTable } from '../../gateway/table/canonical.ts';
import { compile } from '../../sync/compile/index.ts';
import { refreshEndpoints } from '../../sync/compile/endpoints.ts';
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

describe('refreshEndpoints', () => {
  it.each([
    ['an endpoint added', [ep(1)], [ep(1), ep(2)]],
    ['an endpoint removed', [ep(1), ep(2)], [ep(2)]],
    ['an endpoint turns not ready', [ep(1)], [ep(1, false)]],
    ['the last ready endpoint goes away (NoReadyEndpoints appears)', [ep(1)], []],
    ['endpoints come back (NoReadyEndpoints disappears)', [], [ep(3), ep(4)]],
  ])('%s: same table and diagnostics as a full compile', (_name, before, after) => {
    const prev = compile(world(before, [ep(9)]));
    const next = world(after, [ep(9)]);
    const cheap = refreshEndpoints(prev, next);
    const full = compile(next);
    expect(serializeTable(cheap.table)).toBe(serializeTable(full.table));
    expect(cheap.diagnostics).toEqual(full.diagnostics);
    expect(cheap.table.version === prev.table.version).toBe(serializeTable(full.table) === serializeTable(prev.table));
  });
});
