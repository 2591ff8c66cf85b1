// Propagation time of the control plane: a table of 1,000 Ingresses, 200 changes, three
// `portico worker` processes. For each change the time from the start of the publish call to the moment
// all three workers answer the new route is recorded; p50 / p99 / max printed. Not a test.
// With compile=full or compile=incremental the clock starts before the agent's compile of the changed objects
// (compile() of them all, or sync/compile/incremental.ts), so the numbers are "objects changed → every worker serving"
// minus only the watch and the debounce.
// Run: node --import tsx bench/propagation.ts [changes=200] [ingresses=1000] [compile=none|full|incremental]
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySet, loadSigningKeys } from '../cli/keys.ts';
import { compile } from '../sync/compile/index.ts';
import { IncrementalCompiler } from '../sync/compile/incremental.ts';
import { RedisPublisher } from '../sync/publish/redis.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { startServing, type Running } from '../test/support/process.ts';
import { startRedis } from '../test/support/redis.ts';

const CHANGES = Number(process.argv[2] ?? 200);
const INGRESSES = Number(process.argv[3] ?? 1000);
const COMPILE = process.argv[4] ?? 'none';
if (!['none', 'full', 'incremental'].includes(COMPILE)) throw new Error(`compile=${COMPILE}: none, full or incremental`);
const dir = mkdtempSync(join(tmpdir(), 'portico-prop-'));
const server = await startRedis();
const workers: Running[] = [];
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** Status of GET / for `host` on one worker, over a kept-alive connection. */
const status = (w: Running, host: string) =>
  new Promise<number>((resolve, reject) => {
    http
      .get(`${w.http}/`, { agent, headers: { host } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });

try {
  await generateKeySet(dir);
  // The backend has no ready endpoint, so a routed host answers 503 and an unknown host 404: the
  // answer tells whether a worker serves the new table, without any backend in the measurement.
  const base = [ourClass(), ...service('web', [{ address: '127.0.0.1', port: 9, ready: false }])];
  // The unchanged objects stay the same objects from change to change, as in the agent's store.
  const rest = Array.from({ length: INGRESSES - 1 }, (_, i) =>
    ingress(`ing-${i + 1}`, { host: `app-${i + 1}.test`, paths: [{ path: '/', service: 'web' }] }),
  );
  const objectsAt = (change: number) =>
    objects(...base, ingress('ing-0', { host: `change-${change}.test`, paths: [{ path: '/', service: 'web' }] }), ...rest);
  const incremental = new IncrementalCompiler();
  const compileNow = (o: ReturnType<typeof objectsAt>) => (COMPILE === 'incremental' ? incremental.compile(o) : compile(o));
  const world = (change: number) => compileNow(objectsAt(change));
  const redis = server.client();
  const publisher = new RedisPublisher(redis, { cluster: 'prop', keys: await loadSigningKeys(dir), history: 50, publisher: 'bench' });
  await publisher.publish(world(-1));
  for (let i = 0; i < 3; i++)
    workers.push(
      await startServing([
        'worker',
        '--redis',
        server.url,
        '--cluster',
        'prop',
        '--keys',
        dir,
        '--cache-file',
        'off',
        '--poll',
        '2s',
        '--node-name',
        `w${i}`,
      ]),
    );

  const samples: number[] = [];
  const publishMs: number[] = [];
  for (let c = 0; c < CHANGES; c++) {
    const changed = objectsAt(c);
    let t0 = performance.now();
    const result = compileNow(changed);
    if (COMPILE === 'none') t0 = performance.now(); // compiling is the agent's work before a publish, not counted
    const tp = performance.now();
    await publisher.publish(result);
    publishMs.push(performance.now() - tp);
    const pending = new Set(workers);
    while (pending.size > 0) {
      for (const w of [...pending]) if ((await status(w, `change-${c}.test`)) === 503) pending.delete(w);
    }
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  publishMs.sort((a, b) => a - b);
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  console.log(
    JSON.stringify({
      ingresses: INGRESSES,
      compile: COMPILE,
      changes: CHANGES,
      workers: workers.length,
      propagationMs: { p50: +q(samples, 0.5).toFixed(1), p99: +q(samples, 0.99).toFixed(1), max: +samples.at(-1)!.toFixed(1) },
      publishCallMs: { p50: +q(publishMs, 0.5).toFixed(1), p99: +q(publishMs, 0.99).toFixed(1) },
      node: process.version,
    }),
  );
  redis.disconnect();
} finally {
  agent.destroy();
  await Promise.all(workers.map((w) => w.stop()));
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
