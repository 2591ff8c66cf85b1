// A failover drill, shared by test/controlplane/redis-failover.test.ts (asserts) and bench/redis-failover.ts
// (prints the time): the agent's real publish loop publishes a new table every `publishEveryMs`, two real
// workers (table follower + Node gateway on loopback) follow it over the same HA Redis, a client sends
// requests through both workers to a real loopback backend, and `kill` takes the Redis master down
// (SIGKILL) halfway. Every table each worker swaps in is recorded.
import { LiveTable } from '../../gateway/live.ts';
import { Metrics } from '../../gateway/metrics.ts';
import { startNodeGateway, type NodeGateway } from '../../gateway/runtime/node.ts';
import type { RedisTarget } from '../../gateway/shared/redis-client.ts';
import { RedisTableSource } from '../../gateway/source/redis.ts';
import type { SigningKeys, VerifyingKeys } from '../../gateway/table/bundle.ts';
import { compile } from '../../sync/compile/index.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { PublishLoop } from '../../sync/publish/loop.ts';
import { redisLayout } from '../../gateway/table/redis-layout.ts';
import { startBackend } from './backends.ts';
import { startClusterSetup, startSentinelSetup } from './redis-ha.ts';
import { request } from './client.ts';
import { ingress, objects, ourClass, service } from './manifests.ts';
import { waitFor } from './process.ts';

export interface Served {
  version: string;
  seq: number;
  at: number;
}

export interface DrillResult {
  requests: number;
  /** Requests that did not get the backend's 200 (any status or a connection error), with why. */
  failures: string[];
  /** Every table each worker swapped in from Redis, in order. */
  served: Served[][];
  /** The agent's newest table when the drill ended, and what each worker served then. */
  newest: string;
  /** The version the agent last saw published. */
  agentPublished: string | null;
  finalVersions: (string | null)[];
  /** Whether each worker's Redis connection was up at the end, its last error, and the log's tail. */
  diagnostics: string;
  /** From the SIGKILL to the first table published after it that a worker swapped in (either worker). */
  killToNextTableMs: number | null;
  /** From the SIGKILL to Redis naming a new master (the sentinels, or the cluster's slot map). */
  killToPromotionMs: number;
  /** Publishes the agent completed, and publish attempts that failed (each retried). */
  publishes: number;
  publishFailures: number;
}

export interface DrillOptions {
  redis: RedisTarget;
  cluster: string;
  signing: SigningKeys;
  verifying: VerifyingKeys;
  /** Takes the master down; `promoted` resolves when Redis has promoted a replica. */
  kill(): Promise<{ promoted: Promise<void> }>;
  publishEveryMs?: number;
  /** Traffic and publishing before the kill, and after it once the workers caught up. */
  beforeKillMs?: number;
  afterKillMs?: number;
  /** How long the workers get to reach the agent's newest table after publishing stops. */
  convergeMs?: number;
}

export async function runFailoverDrill(o: DrillOptions): Promise<DrillResult> {
  const backend = await startBackend('drill');
  const world = (n: number): CompileResult =>
    compile(
      objects(
        ourClass(),
        service('web', [{ address: '127.0.0.1', port: backend.port }]),
        ingress('site', { host: 'drill.test', paths: [{ path: '/', service: 'web' }] }),
        // Only this changes: a new table (version) per publish, the route the client uses stays.
        ingress('marker', { host: 'marker.test', paths: [{ path: `/v${n}`, service: 'web' }] }),
      ),
    );
  const served: Served[][] = [[], []];
  // What the agent and the workers logged, for the message of a drill that timed out.
  const t0 = Date.now();
  const trace: string[] = [];
  const traced = (what: string) => () => `${what}; kill at ${killedAt - t0} ms; log (ms since start):\n${trace.slice(-60).join('\n')}`;
  let killedAt = 0;
  let publishFailures = 0;
  const workers: { source: RedisTableSource; gw: NodeGateway; port: number }[] = [];
  const loop = new PublishLoop({
    redis: o.redis,
    cluster: o.cluster,
    keys: o.signing,
    history: 10,
    publisher: 'drill-agent',
    log: (_level, msg, fields) => {
      trace.push(`${Date.now() - t0} agent ${msg} ${fields === undefined ? '' : JSON.stringify(fields)}`);
      if (msg.startsWith('publish failed')) publishFailures++;
    },
    watchdogMs: 250,
  });
  let n = 0;
  let publishing: ReturnType<typeof setInterval> | null = null;
  let requests = 0;
  const failures: string[] = [];
  let traffic = true;
  const trafficDone: Promise<void>[] = [];
  try {
    for (const i of [0, 1]) {
      const live = new LiveTable();
      const source = new RedisTableSource({
        redis: o.redis,
        cluster: o.cluster,
        keys: o.verifying,
        live,
        cacheFile: null,
        pollMs: 500,
        heartbeatMs: 1_000,
        node: `drill-worker-${i}`,
        log: (_level, msg, fields) => {
          trace.push(`${Date.now() - t0} worker ${i} ${msg} ${fields === undefined ? '' : JSON.stringify(fields)}`);
          if (msg === 'table swapped in' && fields?.source === 'redis')
            served[i]!.push({ version: String(fields.version), seq: Number(fields.seq), at: Date.now() });
        },
      });
      const gw = await startNodeGateway({
        live,
        metrics: new Metrics(),
        http: { host: '127.0.0.1', port: 0 },
        https: { host: '127.0.0.1', port: 0 },
        timeouts: { connectMs: 2_000, headersMs: 10_000, bodyMs: 10_000 },
      });
      workers.push({ source, gw, port: gw.http!.port });
    }
    loop.start();
    loop.offer(world(n));
    for (const w of workers) await w.source.start();
    await waitFor(
      () => served.every((s) => s.length > 0),
      15_000,
      () => 'both workers to serve a first table',
    );
    publishing = setInterval(() => loop.offer(world(++n)), o.publishEveryMs ?? 100);
    for (const w of workers)
      trafficDone.push(
        (async () => {
          while (traffic) {
            requests++;
            try {
              const r = await request(`http://127.0.0.1:${w.port}/`, { host: 'drill.test', fresh: false });
              if (r.status !== 200) failures.push(`worker :${w.port}: status ${r.status} ${r.body.slice(0, 120)}`);
            } catch (err) {
              failures.push(`worker :${w.port}: ${(err as Error).message}`);
            }
          }
        })(),
      );
    await new Promise((r) => setTimeout(r, o.beforeKillMs ?? 1_500));
    killedAt = Date.now();
    const promoted = (await o.kill()).promoted.then(() => Date.now() - killedAt);
    // The next table served that was published after the kill, i.e. through the new master: the agent's
    // sequence numbers are at least its clock in ms (sync/publish/redis.ts), so a seq above the kill's time was
    // sealed after it. (A table the old master published just before dying may still be swapped in after it.)
    const afterKill = (e: Served) => e.at > killedAt && e.seq > killedAt;
    await waitFor(() => served.some((s) => s.some(afterKill)), 30_000, traced('a table published after the kill to be served'));
    const next = Math.min(...served.flatMap((s) => s.filter(afterKill).map((e) => e.at)));
    const promotedMs = await promoted;
    await new Promise((r) => setTimeout(r, o.afterKillMs ?? 1_000));
    if (publishing !== null) clearInterval(publishing);
    publishing = null;
    const newest = world(n).table.version;
    await waitFor(
      () => workers.every((w) => w.source.served?.manifest.version === newest),
      o.convergeMs ?? 15_000,
      () => `both workers to serve the newest table ${newest}`,
    ).catch(() => {}); // reported through finalVersions
    traffic = false;
    await Promise.all(trafficDone);
    return {
      requests,
      failures,
      served,
      newest,
      agentPublished: loop.published,
      finalVersions: workers.map((w) => w.source.served?.manifest.version ?? null),
      diagnostics: [
        ...workers.map((w, i) => `worker ${i}: connected ${w.source.connected}, last error ${w.source.lastRedisError}`),
        traced('the end')(),
      ].join('\n'),
      killToNextTableMs: next - killedAt,
      killToPromotionMs: promotedMs,
      publishes: loop.publishes,
      publishFailures,
    };
  } finally {
    traffic = false;
    if (publishing !== null) clearInterval(publishing);
    await Promise.all(trafficDone);
    loop.close();
    for (const w of workers) {
      await w.source.close();
      await w.gw.close();
    }
    await backend.close();
  }
}

/** Where a worker's recorded sequence numbers ever went down: each `[before, after]` pair. */
export function sequenceRegressions(served: Served[]): [Served, Served][] {
  const out: [Served, Served][] = [];
  for (let i = 1; i < served.length; i++) if (served[i]!.seq < served[i - 1]!.seq) out.push([served[i - 1]!, served[i]!]);
  return out;
}

export interface DrillTopology {
  name: string;
  /** Starts the topology; `kill` SIGKILLs the master that holds `cluster`'s keys. */
  start(cluster: string): Promise<{ redis: RedisTarget; kill(): Promise<{ promoted: Promise<void> }>; stop(): Promise<void> }>;
}

export const DRILL_TOPOLOGIES: DrillTopology[] = [
  {
    name: 'Sentinel: 1 master, 2 replicas, 3 sentinels',
    async start() {
      const s = await startSentinelSetup('portico');
      return {
        redis: { sentinels: s.sentinels, master: s.master },
        async kill() {
          const m = await s.currentMaster();
          await m.kill();
          return { promoted: s.promotedFrom(m.port) };
        },
        stop: () => s.stop(),
      };
    },
  },
  {
    name: 'Cluster: 3 masters, 3 replicas',
    async start(cluster) {
      const c = await startClusterSetup();
      const key = redisLayout(cluster).current;
      return {
        redis: { clusterNodes: c.nodes },
        async kill() {
          const m = await c.masterOf(key);
          await m.kill();
          return { promoted: c.promotedFrom(m.port, key) };
        },
        stop: () => c.stop(),
      };
    },
  },
];
