// Table swaps under load: every request in flight finishes and none fails while the routing table,
// the endpoints and the hosts change underneath (docs/ARCHITECTURE.md, "Invariants").
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

let a: Backend;
let b: Backend;
let gw: TestGateway;

const world = (i: number) =>
  objects(
    ourClass(),
    // The endpoints of `app` move between backend a and b, and sometimes both.
    service(
      'app',
      i % 3 === 0
        ? [{ address: a.address, port: a.port }]
        : i % 3 === 1
          ? [{ address: b.address, port: b.port }]
          : [
              { address: a.address, port: a.port },
              { address: b.address, port: b.port },
            ],
    ),
    ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'app' }] }),
    // Unrelated hosts come and go.
    ...Array.from({ length: i % 7 }, (_, k) => ingress(`extra-${k}`, { host: `extra-${k}.test`, paths: [{ path: '/', service: 'app' }] })),
  );

beforeAll(async () => {
  a = await startBackend('a', '127.0.0.60');
  b = await startBackend('b', '127.0.0.61', a.port);
  gw = await startTestGateway(world(0));
});
afterAll(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
});

it('swaps 60 tables during continuous load with zero failed requests', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let stop = false;
  const statuses = new Map<number, number>();
  const seen = new Set<string>();
  let errors = 0;
  let answered = 0;
  const loop = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await request(`${gw.httpUrl}/stream?chunks=2&ms=5`, { host: 'app.test', agent });
        answered++;
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        seen.add(r.headers['x-backend'] as string);
      } catch {
        errors++;
      }
    }
  };
  const loops = Array.from({ length: 16 }, loop);
  const versions = new Set<string>();
  for (let i = 1; i <= 60; i++) {
    gw.apply(world(i));
    versions.add(gw.live.table!.version);
    // Requests in flight across every swap, however slow the machine: at least 4 answered per table.
    const until = answered + 4;
    do await new Promise((r) => setTimeout(r, 25));
    while (answered < until && errors === 0);
  }
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  const total = [...statuses.values()].reduce((x, y) => x + y, 0);
  expect(versions.size).toBeGreaterThan(10);
  expect(errors).toBe(0);
  expect(statuses.get(200)).toBe(total);
  expect(total).toBeGreaterThan(200);
  expect(seen).toEqual(new Set(['a', 'b']));
  // the last table (60 % 3 === 0: only backend a) is the one being served
  expect(json<EchoReply>(await request(`${gw.httpUrl}/`, { host: 'app.test' })).backend).toBe('a');
});
