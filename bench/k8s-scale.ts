// Agent scale through a real kube-apiserver: N Ingresses (with their Services and EndpointSlices)
// created through the API while the agent runs; reported: how long from the last write until the table in
// Redis holds all of them, and the agent's memory (RSS) afterwards. Not a test.
// Run: node --import tsx bench/k8s-scale.ts [ingresses=5000] [heap-snapshot-dir]   (builds the test apiserver on
// first use). With a directory, the agent runs with --heapsnapshot-signal=SIGUSR2 and, once converged, writes a heap
// snapshot there (V8 collects garbage before it writes one, so it holds what is retained); summarise it with
// bench/heap-summary.ts. AGENT_NODE_OPTIONS adds V8 flags to the agent alone. AGENT_ENTRY=dist runs the compiled agent
// (`node dist/cli/portico.js sync`, what the image runs; `npm run build` first) instead of the sources under tsx.
// AGENT_VARIANTS="name|node options|ENV=value,...;..." adds standby replicas (same Lease, restricted identity: they
// watch and compile everything, as the chart's second replica does) run with other V8 flags or environment, so
// memory settings are compared in ONE run on the same apiserver; each replica's RSS is read after two forced full
// GCs (bench/lib/gc-on-signal.mjs, on SIGUSR2) and its peak (VmHWM) reported beside it.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { generateKeySet } from '../cli/keys.ts';
import { redisLayout, type HistoryEntry } from '../gateway/table/redis-layout.ts';
import { buildBinaries, startTestCluster } from '../test/k8s/cluster.ts';
import { COMPILED_ENTRY, freePort, ROOT, spawnPortico, waitFor, type Spawned } from '../test/support/process.ts';
import { startRedis } from '../test/support/redis.ts';

const GC_PRELOAD = `--expose-gc --import ${join(ROOT, 'bench/lib/gc-on-signal.mjs')}`;

interface Variant {
  name: string;
  nodeOptions: string;
  env: Record<string, string>;
}

function variants(spec: string | undefined): Variant[] {
  if (spec === undefined || spec.trim() === '') return [];
  return spec.split(';').map((v) => {
    const [name = '', nodeOptions = '', env = ''] = v.split('|');
    return {
      name,
      nodeOptions,
      env: Object.fromEntries(
        env
          .split(',')
          .filter((kv) => kv.includes('='))
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    };
  });
}

/** VmRSS and VmHWM (peak) of a process, MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)![1]);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

const N = Number(process.argv[2] ?? 5000);
const SNAPSHOT_DIR = process.argv[3];
const CONCURRENCY = 16;
const tmp = mkdtempSync(join(tmpdir(), 'portico-scale-'));
const cluster = await startTestCluster(buildBinaries());
const redis = await startRedis();
try {
  await generateKeySet(join(tmp, 'keys'));
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.adminKubeconfig);
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const doc of parseAllDocuments(readFileSync(new URL('../infra/rbac/agent.yaml', import.meta.url), 'utf8')))
    await api.create(doc.toJSON() as KubernetesObject);
  for (const o of [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scale' } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'portico', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'portico.dev/ingress-controller' },
    },
  ])
    await api.create(o as KubernetesObject);
  const admin = await freePort();
  const agentArgs = [
    'sync',
    '--kubeconfig',
    cluster.agentKubeconfig,
    '--redis',
    redis.url,
    '--cluster',
    'scale',
    '--keys',
    join(tmp, 'keys'),
    '--admin',
    `127.0.0.1:${admin}`,
    '--publish-address',
    '203.0.113.1',
  ];
  const agentEnv = {
    // AGENT_NODE_OPTIONS: V8 flags for the agent alone (heap sizing experiments).
    NODE_OPTIONS: [
      process.env.AGENT_NODE_OPTIONS ?? '',
      SNAPSHOT_DIR === undefined ? GC_PRELOAD : `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${SNAPSHOT_DIR}`,
    ].join(' '),
  };
  const start = (args: string[], env: Record<string, string>) =>
    spawnPortico(args, env, ROOT, process.env.AGENT_ENTRY === 'dist' ? COMPILED_ENTRY : undefined);
  const agent = start(agentArgs, agentEnv);
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200,
    60_000,
    () => `agent ready:\n${agent.logs()}`,
  );
  const standbys: { v: Variant; p: Spawned; admin: number }[] = [];
  for (const v of variants(process.env.AGENT_VARIANTS)) {
    const port = await freePort();
    const args = [...agentArgs];
    args[args.indexOf('--admin') + 1] = `127.0.0.1:${port}`;
    standbys.push({ v, p: start(args, { ...v.env, NODE_OPTIONS: `${v.nodeOptions} ${GC_PRELOAD}` }), admin: port });
  }
  for (const s of standbys)
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${s.admin}/readyz`)).status === 200,
      60_000,
      () => `standby ${s.v.name} ready:\n${s.p.logs()}`,
    );

  const objectsFor = (i: number): KubernetesObject[] => [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: 'scale' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    } as KubernetesObject,
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `svc-${i}-1`, namespace: 'scale', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: [`10.${(i >> 8) & 255}.${i & 255}.1`] }],
    } as KubernetesObject,
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: `ing-${i}`, namespace: 'scale' },
      spec: {
        rules: [
          {
            host: `app-${i}.scale.test`,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `svc-${i}`, port: { number: 80 } } } }] },
          },
        ],
      },
    } as KubernetesObject,
  ];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next++;
        for (const o of objectsFor(i)) await api.create(o);
      }
    }),
  );
  const lastWrite = performance.now();
  const r = redis.client();
  const l = redisLayout('scale');
  await waitFor(
    async () => {
      const h = await r.lindex(l.history, 0);
      return h !== null && (JSON.parse(h) as HistoryEntry).hosts === N;
    },
    600_000,
    () => `a table with ${N} hosts`,
  );
  const converged = performance.now();
  const rssNow = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent.child.pid}/status`, 'utf8'))![1]) / 1024;
  const rss = rssNow();
  let rssAfterSnapshot: number | undefined;
  if (SNAPSHOT_DIR !== undefined) {
    const before = new Set(readdirSync(SNAPSHOT_DIR));
    agent.child.kill('SIGUSR2');
    await waitFor(
      async () => readdirSync(SNAPSHOT_DIR).some((f) => !before.has(f) && f.endsWith('.heapsnapshot')),
      300_000,
      () => 'heap snapshot',
    );
    await new Promise((r) => setTimeout(r, 5_000)); // the file is written in pieces: let it finish
    rssAfterSnapshot = Math.round(rssNow());
  }
  // Standbys compile the same changes on their own; let them finish, then collect garbage and read.
  // A replica that died (a heap limit too small: V8 aborts with "JavaScript heap out of memory") says so.
  const standbyMemory: Record<string, { rssMiB: number; rssAfterGcMiB: number; peakMiB: number } | string> = {};
  if (standbys.length > 0) {
    await new Promise((r) => setTimeout(r, 15_000));
    const alive = standbys.filter((s) => s.p.child.exitCode === null && s.p.child.signalCode === null);
    for (const s of standbys)
      if (!alive.includes(s)) standbyMemory[s.v.name] = `exited (${s.p.child.exitCode ?? s.p.child.signalCode}): ${s.p.logs().slice(-300)}`;
    const before = alive.map((s) => memory(s.p.child.pid!));
    for (const s of alive) s.p.child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 3_000));
    alive.forEach((s, i) => {
      const m = memory(s.p.child.pid!);
      standbyMemory[s.v.name] = { rssMiB: before[i]!.rss, rssAfterGcMiB: m.rss, peakMiB: m.peak };
    });
  }
  let leaderAfterGc: number | undefined;
  if (SNAPSHOT_DIR === undefined) {
    agent.child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 3_000));
    leaderAfterGc = memory(agent.child.pid!).rss;
  }
  const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const compiles = /^portico_sync_compiles_total\{kind="full"\} (\d+)$/m.exec(metrics)?.[1];
  const lastCompile = /^portico_sync_last_compile_seconds (\S+)$/m.exec(metrics)?.[1];
  console.log(
    JSON.stringify({
      ingresses: N,
      apiObjects: N * 3,
      writeSeconds: +((lastWrite - t0) / 1000).toFixed(1),
      lastWriteToTableInRedisMs: Math.round(converged - lastWrite),
      agentRssMiB: Math.round(rss),
      ...(rssAfterSnapshot === undefined ? {} : { agentRssAfterSnapshotMiB: rssAfterSnapshot }),
      ...(leaderAfterGc === undefined ? {} : { agentRssAfterGcMiB: leaderAfterGc }),
      agentPeakRssMiB: memory(agent.child.pid!).peak,
      ...(standbys.length === 0 ? {} : { standbys: standbyMemory }),
      fullCompiles: Number(compiles),
      lastCompileMs: Math.round(Number(lastCompile) * 1000),
      publishes: await r.llen(l.history),
      agent: process.env.AGENT_ENTRY === 'dist' ? 'dist (compiled)' : 'sources under tsx',
      agentNodeOptions: process.env.AGENT_NODE_OPTIONS ?? '',
      node: process.version,
    }),
  );
  r.disconnect();
  await Promise.all([agent, ...standbys.map((s) => s.p)].map((p) => p.stop()));
} finally {
  await redis.stop();
  await cluster.stop();
  rmSync(tmp, { recursive: true, force: true });
}
