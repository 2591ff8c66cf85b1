// The global rate limit as operators run it: `portico sync` publishing from a directory and TWO `portico
// worker` processes following one real redis-server, a real backend on loopback, clients on their own loopback
// addresses. The count is shared by the workers (global-rate-limit "5" per 3 s: five requests spread over both
// pass, the next get 429 from either, and the backend never sees them), it resets after the window, and with
// the redis-server stopped each worker still limits with the same limit in its own window, says so in its log
// and counts the requests in portico_global_rate_limit_fallback_total. Observable behaviour from ingress-nginx's
// global_throttle.lua (429, the ConfigMap's default global-rate-limit-status-code) and
// test/e2e/annotations/globalratelimit.go (the annotations).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startBackend, type Backend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { runPortico, spawnPortico, startServing, waitFor, type Running, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const N = 'nginx.ingress.kubernetes.io/';
const WINDOW_MS = 3_000;
const dir = mkdtempSync(join(tmpdir(), 'portico-grl-'));
let redis: RedisServer;
let backend: Backend;
let agent: Spawned;
let workers: Running[] = [];

const workerArgs = (i: number) => [
  'worker',
  '--redis',
  redis.url,
  '--cluster',
  'prod',
  '--keys',
  join(dir, 'keys'),
  '--cache-file',
  join(dir, `worker-${i}.bundle`),
  '--poll',
  '500ms',
];

beforeAll(async () => {
  redis = await startRedis();
  backend = await startBackend('grl', '127.0.0.90');
  expect(runPortico(['keys', 'generate', '--out', join(dir, 'keys')]).status).toBe(0);
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(
    join(dir, 'manifests', 'all.yaml'),
    [
      ourClass(),
      ...service('web', [{ address: backend.address, port: backend.port }]),
      ingress('limited', {
        host: 'grl.test',
        paths: [
          { path: '/a', service: 'web' },
          { path: '/b', service: 'web' },
        ],
        annotations: { [`${N}global-rate-limit`]: '5', [`${N}global-rate-limit-window`]: '3s' },
      }),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  );
  agent = spawnPortico([
    'sync',
    '--manifests',
    join(dir, 'manifests'),
    '--redis',
    redis.url,
    '--cluster',
    'prod',
    '--keys',
    join(dir, 'keys'),
  ]);
  workers = [await startServing(workerArgs(0)), await startServing(workerArgs(1))];
}, 60_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await agent?.stop();
  await redis?.stop();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits for the start of a window (the workers align windows on the wall clock), so a sequence of requests
 * lies in one window with no previous count weighing. */
async function windowStart(): Promise<void> {
  while (Date.now() % WINDOW_MS > 150) await new Promise((r) => setTimeout(r, 20));
}

/** `n` requests from `from`, to worker i % 2 (or always `only`), alternating paths of the Ingress. */
async function send(n: number, from: string, only?: number): Promise<{ statuses: number[]; reached: number }> {
  const before = backend.requests;
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = workers[only ?? i % 2]!;
    statuses.push((await request(`${w.http}${i % 2 === 0 ? '/a' : '/b'}`, { host: 'grl.test', localAddress: from })).status);
  }
  return { statuses, reached: backend.requests - before };
}

const fallbacks = async (w: Running): Promise<number> => {
  const m = /^portico_global_rate_limit_fallback_total (\d+)$/m.exec((await request(`${w.admin}/metrics`)).body);
  return Number(m?.[1] ?? Number.NaN);
};

describe('global-rate-limit across two workers sharing one redis-server', () => {
  it('the count is shared: 5 pass over both workers, then 429 from either; refused requests never reach the backend', async () => {
    await windowStart();
    const { statuses, reached } = await send(8, '127.0.0.91');
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(reached).toBe(5);
    // Alternating workers, each admitted at most three: neither could have refused on its own count. The
    // refusal is nginx's page for 429.
    const body = (await request(`${workers[0]!.http}/a`, { host: 'grl.test', localAddress: '127.0.0.91' })).body;
    expect(body).toBe('429 Too Many Requests\n');
    expect(await fallbacks(workers[0]!)).toBe(0);
    expect(await fallbacks(workers[1]!)).toBe(0);
  });

  it('another client address has its own count', async () => {
    await windowStart();
    await send(6, '127.0.0.92');
    expect((await send(2, '127.0.0.93')).statuses).toEqual([200, 200]);
  });

  it('resets after the window: two windows later the full limit passes again', async () => {
    await windowStart();
    expect((await send(6, '127.0.0.94')).statuses.filter((s) => s === 429)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2 * WINDOW_MS));
    await windowStart();
    expect((await send(6, '127.0.0.94')).statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('redis-server stopped: each worker still limits in its own window (same limit), logs it and counts it', async () => {
    await redis.kill();
    await windowStart();
    const a = await send(7, '127.0.0.95', 0);
    expect(a.statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(a.reached).toBe(5);
    // Worker 1 counts apart while degraded: its own 5, then 429.
    const b = await send(6, '127.0.0.95', 1);
    expect(b.statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await fallbacks(workers[0]!)).toBeGreaterThanOrEqual(6);
    expect(await fallbacks(workers[1]!)).toBeGreaterThanOrEqual(6);
    await waitFor(() => workers.every((w) => w.logs().includes('global rate limit: Redis did not answer')), 5_000);
    await redis.restart();
  });
});
