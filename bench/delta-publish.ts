// One changed Ingress through the control plane, before and after content-addressed parts: bytes the agent writes
// to Redis for the publish and bytes one worker reads to load it, at N Ingresses, measured by Redis itself (INFO
// stats total_net_input_bytes / total_net_output_bytes deltas: every byte on the wire, commands and the EVAL text
// included), plus the publish and load times. "Before" is the previous release's publisher and worker follower run
// from its own source tree (git archive of that commit); "after" is this tree. Rounds alternate before/after against
// one real redis-server (each with its own cluster name), so both see the same machine load. Not a test.
// Run: git archive a82fe29 | (mkdir -p /tmp/portico-before && tar -x -C /tmp/portico-before) &&
//      ln -sfn "$PWD/node_modules" /tmp/portico-before/node_modules &&
//      node --import tsx bench/delta-publish.ts /tmp/portico-before 1000 10000
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../cli/keys.ts';
import { LiveTable } from '../gateway/live.ts';
import type { TableTransport } from '../gateway/source/transport.ts';
import type { CompileResult } from '../sync/compile/types.ts';
import { compile } from '../sync/compile/index.ts';
import { socketTo } from '../test/controlplane/follower-transports.ts';
import { objects } from '../test/support/manifests.ts';
import { startRedis } from '../test/support/redis.ts';
import { serviceWorldObjects } from './lib/one-change-world.ts';

const [beforeDir, ...sizes] = process.argv.slice(2);
if (beforeDir === undefined) {
  console.error('usage: node --import tsx bench/delta-publish.ts BEFORE_TREE [ingresses...]');
  process.exit(2);
}
const counts = sizes.length > 0 ? sizes.map(Number) : [1000, 10_000];
const ROUNDS = 3;

interface Release {
  name: 'before' | 'after';
  RedisPublisher: new (
    r: unknown,
    o: { cluster: string; keys: unknown; history: number; publisher: string },
  ) => { publish(r: CompileResult): Promise<unknown> };
  TableFollower: new (o: unknown) => { checkOnce(): Promise<void>; lastRefusal: unknown };
  RespTransport: new (o: unknown) => TableTransport;
}

async function release(name: 'before' | 'after', root: string): Promise<Release> {
  return {
    name,
    RedisPublisher: (await import(join(root, 'sync/publish/redis.ts'))).RedisPublisher,
    TableFollower: (await import(join(root, 'gateway/source/follower.ts'))).TableFollower,
    RespTransport: (await import(join(root, 'gateway/source/resp-transport.ts'))).RespTransport,
  };
}

/** `n` Ingresses, one host and service each; Ingress `changed` routes `/v2` instead of `/api`. */
const world = (n: number, changed = -1): CompileResult => compile(objects(...serviceWorldObjects(n, { changed })));

const dir = mkdtempSync(join(tmpdir(), 'portico-delta-bench-'));
const server = await startRedis();
const redis = server.client();
const net = async (): Promise<{ in: number; out: number }> => {
  const info = (await redis.info('stats')) as string;
  const get = (k: string) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { in: get('total_net_input_bytes'), out: get('total_net_output_bytes') };
};
try {
  await generateKeySet(dir);
  const signing = await loadSigningKeys(dir);
  const verifying = await loadVerifyingKeys(dir);
  const releases = [await release('before', resolve(beforeDir)), await release('after', resolve('.'))];
  const quiet = () => {};
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const n of counts) {
    const base = world(n);
    const changes = Array.from({ length: ROUNDS }, (_, r) => world(n, 7 + r * 101));
    const rows: Record<string, { written: number[]; read: number[]; publishMs: number[]; loadMs: number[] }> = {};
    for (const rel of releases) {
      const cluster = `${rel.name}-${n}`;
      const publisher = new rel.RedisPublisher(redis, { cluster, keys: signing, history: 50, publisher: 'bench' });
      const follower = new rel.TableFollower({
        transport: new rel.RespTransport({ connect: () => socketTo(server.port), commandTimeoutMs: 60_000, log: quiet }),
        cluster,
        keys: verifying,
        live: new LiveTable(),
        cache: null,
        pollMs: 60_000,
        heartbeatMs: 0,
        identity: { id: 'bench', node: 'bench', pid: 0, runtime: 'bench' },
        log: quiet,
      });
      await publisher.publish(base);
      await follower.checkOnce();
      rows[rel.name] = { written: [], read: [], publishMs: [], loadMs: [], ...{ publisher, follower } } as never;
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const rel of r % 2 === 0 ? releases : [...releases].reverse()) {
        const row = rows[rel.name] as unknown as {
          written: number[];
          read: number[];
          publishMs: number[];
          loadMs: number[];
          publisher: InstanceType<Release['RedisPublisher']>;
          follower: InstanceType<Release['TableFollower']>;
        };
        const a = await net();
        let t = performance.now();
        await row.publisher.publish(changes[r]!);
        row.publishMs.push(performance.now() - t);
        const b = await net();
        t = performance.now();
        await row.follower.checkOnce();
        row.loadMs.push(performance.now() - t);
        const c = await net();
        if (row.follower.lastRefusal !== null) throw new Error(`${rel.name} refused: ${JSON.stringify(row.follower.lastRefusal)}`);
        // INFO itself is on the wire too: measured between two INFO calls, its reply lands in `out` once per delta.
        row.written.push(b.in - a.in);
        row.read.push(c.out - b.out);
      }
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    for (const rel of releases) {
      const row = rows[rel.name]!;
      console.log(
        `${n} ingresses ${rel.name.padEnd(6)}: written ${(med(row.written) / 1024).toFixed(1)} KiB, read per worker ${(med(row.read) / 1024).toFixed(1)} KiB, publish ${med(row.publishMs).toFixed(0)} ms, worker load ${med(row.loadMs).toFixed(0)} ms (medians of ${ROUNDS})`,
      );
    }
  }
} finally {
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
