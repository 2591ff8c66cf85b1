// The agent's latencies through a real kube-apiserver, end to end: two `portico sync` replicas (default lease
// settings) and two `portico worker` processes on a real redis-server; every change is written through the API
// and timed until both workers answer for it. Reported (ms):
//   - fewMs / bulkMs: one new Ingress at a time (200 ms apart, so each is a lone change), p50/p99/max, with a
//     handful of Ingresses and then with `ingresses` more;
//   - bulk: `ingresses` Ingresses created at once (16 writers): last write until both workers serve the last one,
//     and until every one of them has its status (status.loadBalancer.ingress);
//   - leaderKill / leaderTerm: the leader killed (SIGKILL, a crash) or stopped (SIGTERM, a rolling restart), then
//     a change written as soon as it is gone: time from the signal until both workers serve the change;
//   - syncEvents: Sync Events in the namespace before the two leader changes and at the end (a new leader that
//     sends every Event again adds one per Ingress per change);
//   - outage: the apiserver stopped for `outageSeconds`, started again; a change written as soon as it answers
//     /readyz: time from then until both workers serve it (with a handful of Ingresses, and after the bulk).
// Not a test. AGENT_DIR=DIR runs the agents and workers from another checkout (node_modules linked): "before".
// Run: [AGENT_DIR=/tmp/before] node --import tsx bench/k8s-latency.ts [changes=30] [ingresses=1000] [outageSeconds=10]
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySet } from '../cli/keys.ts';
import { KubeRest } from '../sync/kube/rest.ts';
import { installAgentRbac, kubeconfig, seedIngressNamespace } from '../test/k8s/access.ts';
import { buildBinaries, startTestCluster } from '../test/k8s/cluster.ts';
import { freePort, ROOT, spawnPortico, startServing, waitFor, type Running, type Spawned } from '../test/support/process.ts';
import { startRedis } from '../test/support/redis.ts';

const CHANGES = Number(process.argv[2] ?? 30);
const N = Number(process.argv[3] ?? 1000);
const OUTAGE_S = Number(process.argv[4] ?? 10);
const root = process.env.AGENT_DIR ?? ROOT;
const NS = 'lat';
const tmp = mkdtempSync(join(tmpdir(), 'portico-latency-'));
const cluster = await startTestCluster(buildBinaries());
const redis = await startRedis();
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
const agents: { p: Spawned; admin: string }[] = [];
const workers: Running[] = [];

/** Status of GET / for `host` on one worker: 503 once it serves the host (its Service has no endpoints), else 404. */
const status = (w: Running, host: string) =>
  new Promise<number>((resolve, reject) => {
    http
      .get(`${w.http}/`, { agent: keepAlive, headers: { host } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });

async function servedBy(host: string, timeoutMs = 120_000): Promise<void> {
  const pending = new Set(workers);
  const end = performance.now() + timeoutMs;
  while (pending.size > 0) {
    for (const w of [...pending]) if ((await status(w, host).catch(() => 0)) === 503) pending.delete(w);
    if (performance.now() > end) throw new Error(`${host} not served within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const pct = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]!);
  return { p50: q(0.5), p99: q(0.99), max: Math.round(s.at(-1)!) };
};

async function startAgent(): Promise<{ p: Spawned; admin: string }> {
  const port = await freePort();
  const p = spawnPortico(
    [
      'sync',
      '--kubeconfig',
      cluster.agentKubeconfig,
      '--redis',
      redis.url,
      '--cluster',
      'lat',
      '--keys',
      join(tmp, 'keys'),
      '--admin',
      `127.0.0.1:${port}`,
      '--publish-address',
      '203.0.113.1',
    ],
    {},
    root,
  );
  const a = { p, admin: `http://127.0.0.1:${port}` };
  agents.push(a);
  return a;
}

const leading = async (a: { admin: string }) =>
  /^portico_sync_leader 1$/m.test(await (await fetch(`${a.admin}/metrics`)).text().catch(() => ''));

try {
  await generateKeySet(join(tmp, 'keys'));
  const api = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  await installAgentRbac(api);
  await seedIngressNamespace(api, NS, { defaultClass: true });
  const create = (name: string, host: string) =>
    api.request('POST', `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name },
      spec: {
        rules: [
          { host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
        ],
      },
    });
  await create('seed', 'seed.lat.test');
  await startAgent();
  await startAgent();
  await waitFor(
    async () => (await Promise.all(agents.map(leading))).some(Boolean),
    60_000,
    () => 'a leader',
  );
  for (let i = 0; i < 2; i++)
    workers.push(
      await startServing(
        ['worker', '--redis', redis.url, '--cluster', 'lat', '--keys', join(tmp, 'keys'), '--cache-file', 'off', '--node-name', `w${i}`],
        60_000,
        {},
        root,
      ),
    );
  await servedBy('seed.lat.test');

  const lone = async (label: string): Promise<number[]> => {
    const out: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      await create(`${label}-${c}`, `${label}-${c}.lat.test`);
      await servedBy(`${label}-${c}.lat.test`);
      out.push(performance.now() - t0);
    }
    return out;
  };
  const fewMs = pct(await lone('few'));

  // The apiserver goes away for OUTAGE_S; a change is written as soon as it answers /readyz again.
  const outage = async (label: string): Promise<number> => {
    await cluster.stopApiserver();
    await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
    await cluster.startApiserver();
    const back = performance.now();
    await waitFor(
      async () => {
        await create(label, `${label}.lat.test`);
        return true;
      },
      30_000,
      () => 'a write after the outage',
    );
    await servedBy(`${label}.lat.test`);
    const ms = performance.now() - back;
    if (process.env.BENCH_LOGS) {
      for (const a of agents) console.error(a.p.logs().slice(-6000));
      console.error(`apiserver ready at ${new Date(Date.now() - (performance.now() - back)).toISOString()}`);
    }
    return ms;
  };
  const outageFewMs = await outage('after-outage-few');

  // Bulk: N Ingresses at once.
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) {
        const i = next++;
        await create(`bulk-${i}`, `bulk-${i}.lat.test`);
      }
    }),
  );
  const lastWrite = performance.now();
  const total = 2 + CHANGES + N;
  const statusesDone = (async () => {
    await waitFor(
      async () => {
        const l = await api.request<{ items: { status?: { loadBalancer?: { ingress?: unknown[] } } }[] }>(
          'GET',
          `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`,
        );
        return l.items.filter((i) => (i.status?.loadBalancer?.ingress?.length ?? 0) > 0).length === total;
      },
      300_000,
      () => `${total} statuses`,
    );
    return performance.now() - lastWrite;
  })();
  await servedBy(`bulk-${N - 1}.lat.test`, 300_000);
  const bulkServed = performance.now() - lastWrite;
  const bulkStatuses = await statusesDone;
  const bulkMs = pct(await lone('big'));

  // The leader goes away; a change is written as soon as it has gone.
  const gap = async (signal: 'SIGKILL' | 'SIGTERM', label: string): Promise<number> => {
    const leader = (await Promise.all(agents.map(async (a) => ((await leading(a)) ? a : null)))).find((a) => a !== null);
    if (!leader) throw new Error('no leader');
    const exited = new Promise((r) => leader.p.child.once('exit', r));
    const t = performance.now();
    leader.p.child.kill(signal);
    await exited;
    agents.splice(agents.indexOf(leader), 1);
    await create(label, `${label}.lat.test`);
    await servedBy(`${label}.lat.test`);
    const ms = performance.now() - t;
    const fresh = await startAgent(); // back to two replicas
    await waitFor(
      // Synced and taking part (standby); readiness may lag on a loaded machine (a Lease request timing out).
      () => /"msg":"informers synced"/.test(fresh.p.logs()),
      180_000,
      () => `replacement agent\n${fresh.p.logs()}`,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    return ms;
  };
  const syncEvents = async (): Promise<number> =>
    (await api.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('reason=Sync')}`))
      .items.length;
  // Events follow the statuses: let them finish before counting.
  let eventsBefore = await syncEvents();
  for (let still = 0; still < 3; ) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = await syncEvents();
    still = now === eventsBefore ? still + 1 : 0;
    eventsBefore = now;
  }
  const leaderKillMs = await gap('SIGKILL', 'after-kill');
  const leaderTermMs = await gap('SIGTERM', 'after-term');

  const outageBulkMs = await outage('after-outage-bulk');
  await new Promise((r) => setTimeout(r, 5_000));
  const eventsAfter = await syncEvents();

  console.log(
    JSON.stringify({
      agents: root === ROOT ? 'this tree' : root,
      changes: CHANGES,
      ingresses: N,
      fewMs,
      bulkMs,
      bulk: {
        writeSeconds: +((lastWrite - t0) / 1000).toFixed(1),
        lastWriteToServedMs: Math.round(bulkServed),
        lastWriteToAllStatusesMs: Math.round(bulkStatuses),
      },
      // The three Ingresses created during the changes (after-kill, after-term, after-outage-bulk) add three.
      syncEvents: { beforeLeaderChanges: eventsBefore, atEnd: eventsAfter, ingressesCreatedMeanwhile: 3 },
      leaderKillMs: Math.round(leaderKillMs),
      leaderTermMs: Math.round(leaderTermMs),
      outage: { seconds: OUTAGE_S, readyToServedMs: { few: Math.round(outageFewMs), bulk: Math.round(outageBulkMs) } },
      node: process.version,
    }),
  );
} finally {
  keepAlive.destroy();
  await Promise.all([...workers, ...agents.map((a) => a.p)].map((p) => p.stop()));
  await redis.stop();
  await cluster.stop();
  rmSync(tmp, { recursive: true, force: true });
}
