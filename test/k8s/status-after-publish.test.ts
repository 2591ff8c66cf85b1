// The order of a change's writes, through a real apiserver: the agent (in this process, so its publish can be held)
// writes an Ingress's status only once the publish attempt of the table holding it has ended, and never waits for a
// publish that hangs longer than its bound (sync/kube/agent.ts, afterPublish). Started beside the publish, the
// status round shared the agent's event loop with it and held a lone change's publish back at 1,000 Ingresses.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeAgent } from '../../sync/kube/agent.ts';
import { KubeRest } from '../../sync/kube/rest.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { waitFor } from '../support/process.ts';
import { installAgentRbac, kubeconfig, seedIngressNamespace } from './access.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const NS = 'order';
const ADDRESS = '203.0.113.7';
let cluster: TestCluster;
let admin: KubeRest;

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  admin = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  await installAgentRbac(admin);
  await seedIngressNamespace(admin, NS, { defaultClass: true });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const createIngress = (name: string) =>
  admin.request('POST', `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name },
    spec: {
      rules: [
        {
          host: `${name}.order.test`,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
        },
      ],
    },
  });

const statusIps = async (name: string): Promise<string[]> =>
  (
    (
      await admin.request<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
        'GET',
        `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/${name}`,
      )
    ).status?.loadBalancer?.ingress ?? []
  ).map((x) => x.ip ?? '');

const cases = [
  { name: 'a publish that ends after 1.5 s: no status before it ends, the status right after', endsAfterMs: 1_500 },
  { name: 'a publish that never ends: the status after the 2 s bound all the same', endsAfterMs: null },
] as const;

describe('Ingress status waits for the publish of its table', () => {
  for (const [i, c] of cases.entries())
    it(c.name, async () => {
      const ingress = `held-${i}`;
      await createIngress(ingress);
      let offeredAt: number | null = null;
      let published: (() => void) | null = null;
      const agent = new KubeAgent({
        kc: kubeconfig(cluster.adminKubeconfig),
        publish: (r: CompileResult) => {
          if (offeredAt !== null || !r.table.hosts.some((h) => h.host === `${ingress}.order.test`)) return;
          offeredAt = performance.now();
          return new Promise<void>((resolve) => {
            published = resolve;
            if (c.endsAfterMs !== null) setTimeout(resolve, c.endsAfterMs);
          });
        },
        withdraw: () => {},
        publishAddresses: [ADDRESS],
        identity: `order-${i}`,
        lease: { namespace: 'portico-system', name: `order-${i}` },
        log: () => {},
      });
      try {
        await agent.start();
        await waitFor(
          () => offeredAt !== null,
          30_000,
          () => 'the table with the Ingress offered',
        );
        // Well inside the hold (and the bound): before the change the status was written within milliseconds.
        await new Promise((r) => setTimeout(r, 1_000));
        expect(await statusIps(ingress)).toEqual([]);
        await waitFor(
          async () => (await statusIps(ingress)).includes(ADDRESS),
          10_000,
          () => `status on ${ingress}`,
        );
        const waited = performance.now() - offeredAt!;
        expect(waited).toBeGreaterThanOrEqual(c.endsAfterMs ?? 2_000);
      } finally {
        (published as (() => void) | null)?.();
        await agent.stop();
      }
    }, 60_000);
});
