// Heartbeats from every runtime, as real processes: `portico worker` (Node), the Deno worker and
// `wrangler dev` (workerd) follow the same table from a real redis-server, and `portico inspect status`'s
// reader lists each of them with its runtime and the version it serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { workers } from '../../gateway/inspect/read.ts';
import { generateKeySet, loadSigningKeys } from '../../cli/keys.ts';
import { compile } from '../../sync/compile/index.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import { startBackend, type Backend } from '../support/backends.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';
import { waitFor } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startDeno, startNode, startWorkerd, type Target } from '../runtimes/launch.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-follower-rt-'));
let redis: RedisServer;
let backend: Backend;
let table: ReturnType<typeof compile>;
const targets: Target[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // workerd is ready when it answers a request with 200, so the table routes to a real backend.
  backend = await startBackend('hb', '127.0.0.85');
  table = compile(
    objects(
      ourClass(),
      service('web', [{ address: backend.address, port: backend.port }]),
      ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'web' }] }),
    ),
  );
  const keysDir = join(dir, 'keys');
  await generateKeySet(keysDir);
  await new RedisPublisher(redis.client(), { cluster: 'hb', keys: await loadSigningKeys(keysDir), history: 5, publisher: 'test' }).publish(
    table,
  );
  const cp = { redisUrl: redis.url, cluster: 'hb', keysDir };
  // One after another: three runtimes booting at once on two busy cores only slows each of them.
  targets.push(await startNode(cp), await startDeno(cp), await startWorkerd(cp, 'app.test'));
}, 400_000);
afterAll(async () => {
  for (const t of targets) await t.stop();
  await redis?.stop();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('inspect status lists a Node, a Deno and a workerd worker, each serving the published version from Redis', async () => {
  const c = redis.client();
  let seen = '';
  await waitFor(
    async () => {
      // workerd checks (and heartbeats) on requests only: keep one coming.
      await fetch(`${targets[2]!.http}/`, { headers: { host: 'app.test' } })
        .then((r) => r.arrayBuffer())
        .catch(() => {});
      seen = (await workers(c, 'hb'))
        .map((w) => w.runtime.split(' ')[0])
        .sort()
        .join();
      return seen === 'deno,node,workerd';
    },
    20_000,
    () => `the three heartbeats, got ${seen}`,
  );
  for (const w of await workers(c, 'hb')) {
    expect(w).toMatchObject({ version: table.table.version, source: 'redis', redisConnected: true, refusals: 0, lastRefusal: null });
  }
}, 60_000);
