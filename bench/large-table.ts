// Large tables through the control plane: 10,000 Ingresses compiled, published to a real
// redis-server, and loaded by a worker source in this process, measuring the longest stretch the worker's
// event loop was blocked while loading (the target: no piece over 50 ms). Not a test.
// Run: node --import tsx bench/large-table.ts [ingresses=10000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../cli/keys.ts';
import { LiveTable } from '../gateway/live.ts';
import { RedisTableSource } from '../gateway/source/redis.ts';
import { compile } from '../sync/compile/index.ts';
import { RedisPublisher } from '../sync/publish/redis.ts';
import { objects } from '../test/support/manifests.ts';
import { startRedis } from '../test/support/redis.ts';
import { serviceWorldObjects } from './lib/one-change-world.ts';

const N = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'portico-large-'));
const server = await startRedis();
try {
  await generateKeySet(dir);
  const items = serviceWorldObjects(N, { endpoints: 2 });
  let t = performance.now();
  const result = compile(objects(...items));
  const compileMs = performance.now() - t;
  const redis = server.client();
  const publisher = new RedisPublisher(redis, { cluster: 'big', keys: await loadSigningKeys(dir), history: 50, publisher: 'bench' });
  t = performance.now();
  await publisher.publish(result);
  const publishMs = performance.now() - t;
  const tableKey = `portico:{big}:table:${result.table.version}`;
  // Parts live under their digests (manifest format 2): the version's hash plus every part key it lists.
  const digests = JSON.parse((await redis.hget(tableKey, 'parts')) ?? '[]') as string[];
  let bytes = Number(await redis.call('MEMORY', 'USAGE', tableKey));
  for (const d of digests) bytes += Number(await redis.call('MEMORY', 'USAGE', `portico:{big}:part:${d}`));

  // The worker side: measure the longest gap between 1 ms timer ticks while the source loads.
  const live = new LiveTable();
  const source = new RedisTableSource({
    redis: server.url,
    cluster: 'big',
    keys: await loadVerifyingKeys(dir),
    live,
    cacheFile: null,
    pollMs: 60_000,
    heartbeatMs: 60_000,
    log: () => {},
  });
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  t = performance.now();
  await source.start();
  while (live.table?.version !== result.table.version) await new Promise((r) => setTimeout(r, 1));
  const loadMs = performance.now() - t;
  clearInterval(ticker);
  await source.close();
  redis.disconnect();
  console.log(
    JSON.stringify({
      ingresses: N,
      hosts: result.table.hosts.length,
      routes: result.table.hosts.reduce((n, h) => n + h.routes.length, 0),
      parts: digests.length,
      redisBytes: bytes,
      compileMs: Math.round(compileMs),
      publishMs: Math.round(publishMs),
      workerLoadMs: Math.round(loadMs),
      workerMaxEventLoopBlockMs: Math.round(maxGap),
      node: process.version,
    }),
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
