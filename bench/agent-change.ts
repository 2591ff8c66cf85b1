// The agent's share of one change, in one process: N Ingresses (one host, one Service each) compiled by the
// incremental compiler as the agent runs it, published to a real redis-server; then one new Ingress (a new host) at a
// time, as bench/k8s-latency.ts writes them, compiled and published. Reported per change (ms): the incremental
// compile, the publish (validate, seal, the Redis round trips) and their sum, median and p99. "Before" is another
// source tree (a checkout of the commit to compare with, node_modules linked), "after" this one; each change is made
// in both, the order alternating, against one redis-server (each with its own cluster name), so both see the same
// machine load. Not a test.
// Run: git worktree add /tmp/agentlat-before <commit> && ln -s "$PWD/node_modules" /tmp/agentlat-before/node_modules &&
//      node --import tsx bench/agent-change.ts /tmp/agentlat-before [ingresses=1000] [changes=40]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKeySet, loadSigningKeys } from '../cli/keys.ts';
import type { ClusterObjects, CompileResult } from '../sync/compile/types.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { startRedis } from '../test/support/redis.ts';

const [beforeDir, nArg, changesArg] = process.argv.slice(2);
if (beforeDir === undefined) {
  console.error('usage: node --import tsx bench/agent-change.ts BEFORE_TREE [ingresses=1000] [changes=40]');
  process.exit(2);
}
const N = Number(nArg ?? 1000);
const CHANGES = Number(changesArg ?? 40);

interface Release {
  name: 'before' | 'after';
  compiler: { compile(o: ClusterObjects): CompileResult };
  publisher: { publish(r: CompileResult, term?: number): Promise<{ kind: string }> };
  compileMs: number[];
  publishMs: number[];
  totalMs: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'portico-agent-change-'));
const server = await startRedis();
const redis = server.client();
try {
  await generateKeySet(dir);
  const signing = await loadSigningKeys(dir);
  const items: Parameters<typeof objects> = [ourClass()];
  for (let i = 0; i < N; i++) {
    const ns = `ns-${i % 50}`;
    items.push(...service(`svc-${i}`, [{ address: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 8080 }], ns));
    items.push(ingress(`ing-${i}`, { namespace: ns, host: `app-${i}.example.com`, paths: [{ path: '/', service: `svc-${i}` }] }));
  }
  const releases: Release[] = [];
  for (const [name, root] of [
    ['before', resolve(beforeDir)],
    ['after', resolve('.')],
  ] as const) {
    const { IncrementalCompiler } = await import(join(root, 'sync/compile/incremental.ts'));
    const { RedisPublisher } = await import(join(root, 'sync/publish/redis.ts'));
    const rel: Release = {
      name,
      compiler: new IncrementalCompiler(),
      publisher: new RedisPublisher(redis, { cluster: `agent-change-${name}`, keys: signing, history: 50, publisher: 'bench' }),
      compileMs: [],
      publishMs: [],
      totalMs: [],
    };
    await rel.publisher.publish(rel.compiler.compile(objects(...items)), 1);
    releases.push(rel);
  }
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at the start; ${N} Ingresses, ${CHANGES} changes`,
  );
  for (let c = 0; c < CHANGES; c++) {
    items.push(ingress(`new-${c}`, { namespace: 'ns-0', host: `new-${c}.example.com`, paths: [{ path: '/', service: 'svc-0' }] }));
    const snapshot = objects(...items);
    for (const rel of c % 2 === 0 ? releases : [...releases].reverse()) {
      const t0 = performance.now();
      const result = rel.compiler.compile(snapshot);
      const t1 = performance.now();
      const outcome = await rel.publisher.publish(result, 1);
      const t2 = performance.now();
      if (outcome.kind !== 'published') throw new Error(`${rel.name}: ${outcome.kind}`);
      rel.compileMs.push(t1 - t0);
      rel.publishMs.push(t2 - t1);
      rel.totalMs.push(t2 - t0);
    }
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1);
  for (const r of releases)
    console.log(
      `${r.name.padEnd(6)} compile p50 ${q(r.compileMs, 0.5)} p99 ${q(r.compileMs, 0.99)} | publish p50 ${q(r.publishMs, 0.5)} p99 ${q(r.publishMs, 0.99)} | both p50 ${q(r.totalMs, 0.5)} p99 ${q(r.totalMs, 0.99)} ms`,
    );
} finally {
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
