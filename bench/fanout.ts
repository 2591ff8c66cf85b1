// Fan-out of one change to many table followers: 4 processes × 25 followers (each follower its own RedisTableSource:
// its own two ioredis connections, one of them subscribed to the cluster's channel, its own LiveTable), one real
// redis-server, the real publisher in this process. Each round changes one Ingress of a 1,000-Ingress table and
// publishes it; the time from the publish call until the last of the 100 followers has swapped the new version in
// (each process reports, once all its followers hold a version, the wall-clock time of its last swap over IPC: one
// message per process, not per follower, so that the harness costs the followers' CPU little) is one sample. Also
// reported: the followers' CPU time (user + system) per follower and change over the rounds. Not a test.
// Run: node --import tsx bench/fanout.ts [rounds=20] [ingresses=1000] [processes=4] [perProcess=25]
// FANOUT_PROF=DIR writes a CPU profile of each follower process over the rounds alone (not the first full load).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../cli/keys.ts';
import { LiveTable } from '../gateway/live.ts';
import { RedisTableSource } from '../gateway/source/redis.ts';
import { RedisPublisher } from '../sync/publish/redis.ts';
import { startRedis } from '../test/support/redis.ts';
import { oneChangeWorld } from './lib/one-change-world.ts';

interface Swap {
  version: string;
  at: number;
}

if (process.argv[2] === 'child') {
  const [, , , url, keysDir, perProcess] = process.argv;
  const keys = await loadVerifyingKeys(keysDir!);
  const sources: RedisTableSource[] = [];
  const swapped = new Map<string, number[]>(); // version → swap times of this process's followers
  for (let i = 0; i < Number(perProcess); i++) {
    const s = new RedisTableSource({
      redis: url!,
      cluster: 'fanout',
      keys,
      live: new LiveTable(),
      cacheFile: null,
      pollMs: 60_000, // the subscription is what is measured; a poll would only catch up a lost message
      heartbeatMs: 0,
      node: `fanout-${process.pid}-${i}`,
      log: (_level, msg, fields) => {
        if (msg !== 'table swapped in') return;
        const version = String(fields?.version);
        const times = swapped.get(version) ?? swapped.set(version, []).get(version)!;
        times.push(Date.now());
        if (times.length === Number(perProcess)) {
          swapped.delete(version);
          process.send?.({ version, at: Math.max(...times) } satisfies Swap);
        }
      },
    });
    sources.push(s);
    await s.start();
  }
  const profiler = process.env.FANOUT_PROF === undefined ? null : new Session();
  profiler?.connect();
  await profiler?.post('Profiler.enable');
  let cpuAtStart = process.cpuUsage();
  process.send?.('ready');
  process.on('message', async (m) => {
    if (m === 'rounds') {
      cpuAtStart = process.cpuUsage();
      if (profiler !== null) await profiler.post('Profiler.start');
    }
    if (m !== 'stop') return;
    if (profiler !== null) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(join(process.env.FANOUT_PROF!, `follower-${process.pid}.cpuprofile`), JSON.stringify(profile));
    }
    const used = process.cpuUsage(cpuAtStart);
    process.send?.({ cpuMs: (used.user + used.system) / 1000 });
    for (const s of sources) await s.close();
    process.exit(0);
  });
} else {
  const ROUNDS = Number(process.argv[2] ?? 20);
  const N = Number(process.argv[3] ?? 1000);
  const PROCS = Number(process.argv[4] ?? 4);
  const PER = Number(process.argv[5] ?? 25);
  const world = (changed: number) => oneChangeWorld(N, changed);
  const dir = mkdtempSync(join(tmpdir(), 'portico-fanout-'));
  const server = await startRedis();
  const redis = server.client();
  const swaps = new Map<string, number[]>();
  const children: ReturnType<typeof fork>[] = [];
  const childCpuMs: number[] = [];
  try {
    await generateKeySet(dir);
    const publisher = new RedisPublisher(redis, { cluster: 'fanout', keys: await loadSigningKeys(dir), history: 50, publisher: 'bench' });
    await publisher.publish(world(-1));
    const self = fileURLToPath(import.meta.url);
    for (let p = 0; p < PROCS; p++) {
      const child = fork(self, ['child', server.url, dir, String(PER)], { execArgv: ['--import', 'tsx'] });
      children.push(child);
      child.on('message', (m) => {
        if (typeof m === 'object' && m !== null && 'cpuMs' in m) childCpuMs.push((m as { cpuMs: number }).cpuMs);
        if (typeof m === 'object' && m !== null && 'version' in m) {
          const s = m as Swap;
          (swaps.get(s.version) ?? swaps.set(s.version, []).get(s.version)!).push(s.at);
        }
      });
      await new Promise<void>((resolve) => child.on('message', (m) => m === 'ready' && resolve()));
    }
    const wait = async (version: string) => {
      const end = Date.now() + 30_000;
      while ((swaps.get(version)?.length ?? 0) < PROCS) {
        if (Date.now() > end) throw new Error(`only ${swaps.get(version)?.length ?? 0} of ${PROCS} processes loaded ${version}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await wait(world(-1).table.version);
    console.log(
      `${PROCS * PER} followers (${PROCS} processes × ${PER}) ready; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    for (const c of children) c.send('rounds');
    const samples: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const w = world(r);
      const t0 = Date.now();
      await publisher.publish(w);
      await wait(w.table.version);
      samples.push(Math.max(...swaps.get(w.table.version)!) - t0);
      await new Promise((res) => setTimeout(res, 200));
    }
    samples.sort((a, b) => a - b);
    const q = (p: number) => samples[Math.min(samples.length - 1, Math.ceil(p * samples.length) - 1)]!;
    console.log(
      `publish → all ${PROCS * PER} loaded, ${ROUNDS} rounds at ${N} Ingresses: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${samples.at(-1)} ms; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    for (const c of children) c.send('stop');
    await new Promise((r) => setTimeout(r, 500));
    if (childCpuMs.length === PROCS) {
      const perChange = childCpuMs.reduce((a, b) => a + b, 0) / (ROUNDS * PROCS * PER);
      console.log(`follower CPU (user + system) per change: ${perChange.toFixed(2)} ms, from the rounds' start to the end`);
    }
    for (const c of children) c.kill();
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
