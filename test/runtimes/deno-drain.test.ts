// Graceful drain of the Deno worker (cli/deno-worker.ts), a real Deno process reading a signed table from a real
// redis-server and forwarding to a real backend on loopback, as a rolling update stops it: SIGTERM with a request in
// flight. /readyz answers 503 at once, answers during --drain-delay carry `Connection: close`, after it new
// connections are refused, the request in flight finishes with 200 (or, past --drain-timeout, is given up), and the
// process exits 0.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys } from '../../cli/keys.ts';
import { compile } from '../../sync/compile/index.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import { type Backend, startBackend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';
import { waitFor } from '../support/process.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { send } from './http.ts';
import { startDeno } from './launch.ts';

const DELAY_MS = 1_000;

let redis: RedisServer;
let backend: Backend;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  backend = await startBackend('b0', '127.0.0.1');
  dir = mkdtempSync(join(tmpdir(), 'portico-deno-drain-'));
  await generateKeySet(join(dir, 'keys'));
  const publisher = new RedisPublisher(redis.client(), {
    cluster: 'drain',
    keys: await loadSigningKeys(join(dir, 'keys')),
    history: 2,
    publisher: 'deno-drain-test',
  });
  const r = compile(
    objects(
      ourClass(),
      service('a', [{ address: backend.address, port: backend.port }]),
      ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'a' }] }),
    ),
  );
  expect((await publisher.publish(r)).kind).toBe('published');
}, 60_000);

afterAll(async () => {
  await backend?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connects = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

describe('Deno worker: graceful drain on SIGTERM', () => {
  it.each([
    {
      name: 'a request in flight longer than the delay finishes with 200, then the process exits',
      inFlightMs: DELAY_MS + 1_500,
      timeout: '10s',
      finished: true,
    },
    {
      name: 'a request in flight past --drain-timeout is given up: the process exits all the same',
      inFlightMs: 30_000,
      timeout: '1s',
      finished: false,
    },
  ])(
    '$name',
    async ({ inFlightMs, timeout, finished }) => {
      const w = await startDeno(
        { redisUrl: redis.url, cluster: 'drain', keysDir: join(dir, 'keys') },
        { args: ['--drain-delay', `${DELAY_MS}ms`, '--drain-timeout', timeout, '--access-log', 'off'] },
      );
      try {
        const port = Number(new URL(w.http).port);
        await waitFor(
          async () => (await request(`${w.http}/`, { host: 'app.test' })).status === 200,
          30_000,
          () => w.logs(),
        );
        const exited = new Promise<{ code: number | null; at: number }>((r) => w.child.once('exit', (code) => r({ code, at: Date.now() })));
        // A body in chunks every 500 ms (each within the read timeout): `inFlightMs` in all.
        const inFlight = send(`${w.http}/stream?chunks=${inFlightMs / 500}&ms=500`, { host: 'app.test' }).then(
          (r) => ({ outcome: `${r.status} with ${r.text.trim().split('\n').length} chunks`, at: Date.now() }),
          () => ({ outcome: 'broken', at: Date.now() }),
        );
        await new Promise((r) => setTimeout(r, 200));
        const signalAt = Date.now();
        w.child.kill('SIGTERM');
        // Readiness fails at once, so the load balancer stops sending; the listener still answers meanwhile.
        await waitFor(
          async () => (await request(`${w.admin}/readyz`)).status === 503,
          500,
          () => 'readyz 503',
        );
        const agent = new http.Agent({ keepAlive: true });
        const during = await request(`${w.http}/`, { host: 'app.test', agent, fresh: false });
        agent.destroy();
        expect([during.status, during.headers.connection]).toEqual([200, 'close']);
        // Past the delay the listener is closed.
        await new Promise((r) => setTimeout(r, Math.max(0, signalAt + DELAY_MS + 500 - Date.now())));
        expect(await connects(port)).toBe('ECONNREFUSED');
        const done = await exited;
        expect(done.code).toBe(0);
        if (finished) {
          const r = await inFlight;
          expect(r.outcome).toBe(`200 with ${inFlightMs / 500} chunks`);
          expect(done.at).toBeGreaterThanOrEqual(r.at - 50); // it waited for the request
        } else {
          expect((await inFlight).outcome).toBe('broken'); // cut at the drain timeout, long before the upstream ended
          expect(done.at - signalAt).toBeLessThan(DELAY_MS + 1_000 + 5_000);
        }
        expect(w.logs()).toMatch(finished ? /"drained".*"forced":false/ : /"drained".*"forced":true/);
      } finally {
        await w.stop();
      }
    },
    60_000,
  );
});
