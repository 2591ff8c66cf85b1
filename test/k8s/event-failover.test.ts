// No Event storm on a leader change: two `portico sync` replicas on a real kube-apiserver (and a real redis-server).
// A leads and sends a Sync Event for each Ingress; A is stopped (a rolling restart), B takes the Lease. B reads the
// Event ledger A kept (the ConfigMap portico-sync-events) and sends only what is new: one more Sync Event for an
// Ingress created after the change, none again for the others. Without the ledger B sent every one again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKeySet } from '../../cli/keys.ts';
import { KubeRest } from '../../sync/kube/rest.ts';
import { request } from '../support/client.ts';
import { freePort, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { installAgentRbac, kubeconfig, seedIngressNamespace } from './access.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const NS = 'events';
let cluster: TestCluster;
let redis: RedisServer;
let admin: KubeRest;
const agents: Spawned[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'portico-events-k8s-'));

async function startAgent(name: string): Promise<{ p: Spawned; admin: string }> {
  const port = await freePort();
  const p = spawnPortico([
    'sync',
    '--kubeconfig',
    cluster.agentKubeconfig,
    '--redis',
    redis.url,
    '--cluster',
    'events',
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

const leads = async (a: { admin: string }): Promise<boolean> => /^portico_sync_leader 1$/m.test((await request(`${a.admin}/metrics`)).body);

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

/** Sync Events in the namespace: how many for each Ingress name. */
async function syncEvents(): Promise<Record<string, number>> {
  const l = await admin.request<{ items: { reason?: string; involvedObject?: { name?: string } }[] }>(
    'GET',
    `/api/v1/namespaces/${NS}/events?fieldSelector=reason%3DSync`,
  );
  const out: Record<string, number> = {};
  for (const e of l.items) if (e.reason === 'Sync') out[e.involvedObject?.name ?? ''] = (out[e.involvedObject?.name ?? ''] ?? 0) + 1;
  return out;
}

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  redis = await startRedis();
  await generateKeySet(join(tmp, 'keys'));
  admin = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  await installAgentRbac(admin);
  await seedIngressNamespace(admin, NS);
  for (const name of ['one', 'two', 'three']) await createIngress(name);
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await redis?.stop();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('Events across a leader change', () => {
  it('the new leader sends only the Events not sent yet', async () => {
    const a = await startAgent('agent-a');
    await waitFor(
      () => leads(a),
      30_000,
      () => `A leads\n${a.p.logs()}`,
    );
    await waitFor(
      async () => Object.keys(await syncEvents()).length === 3,
      30_000,
      () => `A's Sync Events\n${a.p.logs()}`,
    );
    // What A recorded is in its ledger before it goes (stored after each Event round).
    await waitFor(
      async () =>
        Object.keys(
          JSON.parse(
            (
              await admin.request<{ data?: Record<string, string> }>(
                'GET',
                '/api/v1/namespaces/portico-system/configmaps/portico-sync-events',
              )
            ).data?.['sent.json'] ?? '{}',
          ) as object,
        ).length === 3,
      10_000,
      () => `A's Event ledger\n${a.p.logs()}`,
    );
    const b = await startAgent('agent-b');
    await waitFor(
      async () => (await request(`${b.admin}/readyz`)).status === 200,
      30_000,
      () => `B standing by\n${b.p.logs()}`,
    );
    expect(await a.p.stop()).toBe(0); // a clean stop releases the Lease: B leads at once
    await waitFor(
      () => leads(b),
      30_000,
      () => `B leads\n${b.p.logs()}`,
    );
    await createIngress('four');
    await waitFor(
      async () => (await syncEvents()).four === 1,
      30_000,
      () => `B's Sync Event for the new Ingress\n${b.p.logs()}`,
    );
    // B's first round (the three old Ingresses) came before the one with `four`; give a straggler time to show.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await syncEvents()).toEqual({ one: 1, two: 1, three: 1, four: 1 });
  }, 120_000);
});
