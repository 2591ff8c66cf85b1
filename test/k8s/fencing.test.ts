// Split brain, forced: two `portico sync` replicas on a real kube-apiserver and a real redis-server. Agent A leads;
// its publish of a new table is held on the wire (a TCP proxy in front of Redis stops forwarding), then A is cut
// off from the apiserver (a TCP proxy in front of it is closed). B takes the Lease and publishes; when A's held
// publish finally reaches Redis, the publish script refuses it by lease term (PORTICO_PUBLISH_FENCED), A counts it
// and publishes nothing more, and B's table stays current. Without the fence A's late publish would win: it reads
// `current` after B published, so its sequence number is the newer one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKeySet, loadVerifyingKeys } from '../../cli/keys.ts';
import type { VerifyingKeys } from '../../gateway/table/bundle.ts';
import { redisLayout, type CurrentPointer } from '../../gateway/table/redis-layout.ts';
import { leaseTerm } from '../../sync/kube/leader.ts';
import { KubeRest } from '../../sync/kube/rest.ts';
import { request } from '../support/client.ts';
import { freePort, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { readPublished } from '../support/published.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { installAgentRbac, kubeconfig, seedIngressNamespace } from './access.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const NS = 'fence';
let cluster: TestCluster;
let redis: RedisServer;
let r: Redis;
let keys: VerifyingKeys;
let admin: KubeRest;
const agents: Spawned[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'portico-fence-k8s-'));

async function startAgent(name: string, kubeconfigFile: string, redisUrl: string): Promise<{ p: Spawned; admin: string }> {
  const port = await freePort();
  const p = spawnPortico([
    'sync',
    '--kubeconfig',
    kubeconfigFile,
    '--redis',
    redisUrl,
    '--cluster',
    'fence',
    '--keys',
    join(tmp, 'keys'),
    '--publisher',
    name,
    '--write-status=false',
    '--admin',
    `127.0.0.1:${port}`,
  ]);
  agents.push(p);
  return { p, admin: `http://127.0.0.1:${port}` };
}

const metric = async (a: { admin: string }, name: string): Promise<number> => {
  const m = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec((await request(`${a.admin}/metrics`)).body);
  return m ? Number(m[1]) : Number.NaN;
};
const hosts = async () => ((await readPublished(r, 'fence', keys))?.table.hosts ?? []).map((h) => h.host).sort();
const pointer = async () => JSON.parse((await r.get(redisLayout('fence').current)) ?? '{}') as Partial<CurrentPointer>;
const createIngress = (name: string) =>
  admin.request('POST', `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name },
    spec: {
      ingressClassName: 'portico',
      rules: [
        {
          host: `${name}.test`,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
        },
      ],
    },
  });

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  redis = await startRedis();
  r = redis.client();
  await generateKeySet(join(tmp, 'keys'));
  keys = await loadVerifyingKeys(join(tmp, 'keys'));
  admin = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  await installAgentRbac(admin);
  await seedIngressNamespace(admin, NS);
  await createIngress('first');
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  r?.disconnect();
  await redis?.stop();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('fencing a deposed leader', () => {
  it("refuses A's late publish after B took over, and B's table stays current", async () => {
    // A reaches the apiserver and Redis through proxies the test controls; B directly.
    const apiProxy: TcpProxy = await startTcpProxy(Number(new URL(cluster.server).port));
    const redisProxy: TcpProxy = await startTcpProxy(Number(new URL(redis.url).port));
    const kc = JSON.parse(readFileSync(cluster.agentKubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    kc.clusters[0]!.cluster.server = `https://127.0.0.1:${apiProxy.port}`;
    writeFileSync(join(tmp, 'a.kubeconfig'), JSON.stringify(kc));
    const a = await startAgent('agent-a', join(tmp, 'a.kubeconfig'), `redis://127.0.0.1:${redisProxy.port}`);
    await waitFor(
      async () => (await metric(a, 'portico_sync_leader')) === 1,
      30_000,
      () => `A leads\n${a.p.logs()}`,
    );
    await waitFor(
      async () => (await pointer()).publisher === 'agent-a',
      30_000,
      () => `A published\n${a.p.logs()}`,
    );
    const b = await startAgent('agent-b', cluster.agentKubeconfig, redis.url);
    await waitFor(
      async () => (await request(`${b.admin}/readyz`)).status === 200,
      30_000,
      () => `B standing by\n${b.p.logs()}`,
    );
    expect(await metric(b, 'portico_sync_leader')).toBe(0);

    // A's next publish is held on the wire, then A loses the apiserver.
    // Full or incremental (compile/incremental.ts): a new Ingress on a new host is compiled on its own.
    const compiles = async (): Promise<number> =>
      ((await metric(a, 'portico_sync_compiles_total{kind="full"}')) || 0) +
      ((await metric(a, 'portico_sync_compiles_total{kind="incremental"}')) || 0);
    const compiled = await compiles();
    redisProxy.hold();
    const heldAt = Date.now();
    await createIngress('during');
    await waitFor(
      async () => (await compiles()) > compiled,
      10_000,
      () => `A compiled the change\n${a.p.logs()}`,
    );
    await new Promise((res) => setTimeout(res, 200)); // its publish is on the wire by now
    await apiProxy.cut();

    // B takes over (the Lease expires: 3 s by default) and publishes; then one more change, published by B.
    await waitFor(
      async () => (await metric(b, 'portico_sync_leader')) === 1,
      15_000,
      () => `B leads\n${b.p.logs()}`,
    );
    await createIngress('later');
    await waitFor(
      async () => (await hosts()).includes('later.test') && (await pointer()).publisher === 'agent-b',
      10_000,
      () => `B published later.test\n${b.p.logs()}`,
    );
    const held = Date.now() - heldAt;
    // ioredis gives up on a command after 10 s (loop.ts commandTimeout): A's publish must still be pending.
    expect(held, 'the hold outlived the Redis command timeout: the machine is too slow for this test').toBeLessThan(9_000);
    const bPointer = await pointer();

    redisProxy.release();
    await waitFor(
      async () => (await metric(a, 'portico_sync_publish_fenced_total')) === 1,
      10_000,
      () => `A's publish refused\n${a.p.logs()}`,
    );
    // The terms are the Lease's creation time × 10⁶ + its transitions (leader.ts leaseTerm): A's first, B's the next.
    const fenced = /"msg":"publish fenced: refused: lease term (\d+) is older than term (\d+) already accepted in cluster fence/.exec(
      a.p.logs(),
    );
    expect(fenced, a.p.logs()).not.toBeNull();
    expect(Number(fenced![2]) - Number(fenced![1])).toBe(1);
    expect(a.p.logs()).toMatch(/"code":"PORTICO_PUBLISH_FENCED"/);
    await new Promise((res) => setTimeout(res, 2_500)); // A's watchdog and retries would have fired by now
    expect(await pointer()).toEqual(bPointer);
    expect(await hosts()).toEqual(['during.test', 'first.test', 'later.test']);
    expect(await metric(a, 'portico_sync_publish_fenced_total')).toBe(1);
    expect(await metric(b, 'portico_sync_publish_fenced_total')).toBe(0);
    // The fence is B's term: the Lease's creation time and leaseTransitions.
    const lease = await admin.request<Parameters<typeof leaseTerm>[0] & { spec: { holderIdentity?: string } }>(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/portico-system/leases/portico-sync',
    );
    expect(lease.spec.holderIdentity).toMatch(/^agent-b\//);
    expect(await r.get(redisLayout('fence').fence)).toBe(String(leaseTerm(lease)));
    await redisProxy.cut();
  }, 90_000);
});
