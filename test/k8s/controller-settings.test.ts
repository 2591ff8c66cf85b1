// The agent with --nginx-configmap, --default-backend-service and --default-ssl-certificate against a real
// kube-apiserver and etcd, with the restricted identity: the chart's RBAC (infra/rbac/agent.yaml) plus the Role the
// chart adds for the one ConfigMap (infra/helm/portico/templates/rbac.yaml, "-settings"). A change to the ConfigMap
// is published like a change to any other object: it is watched, not polled.
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateKeySet, loadVerifyingKeys } from '../../cli/keys.ts';
import type { OpenedBundle, VerifyingKeys } from '../../gateway/table/bundle.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { freePort, runPortico, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import type { MigrationReport } from '../../sync/migrate/report.ts';
import { readPublished } from '../support/published.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { kubeconfig } from './access.ts';
import { AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT, startTestCluster, type TestCluster } from './cluster.ts';

const CONTROLLER_NS = 'ingress-nginx';
const CM = 'ingress-nginx-controller';
let cluster: TestCluster;
let redis: RedisServer;
let r: Redis;
let keys: VerifyingKeys;
let api: KubernetesObjectApi;
let agent: Spawned;
const tmp = mkdtempSync(join(tmpdir(), 'portico-settings-'));

const published = (): Promise<OpenedBundle | null> => readPublished(r, 'settings', keys);
const create = async (o: object): Promise<void> => void (await api.create(o as KubernetesObject));
const settingsMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: CONTROLLER_NS, name: CM },
  data,
});

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  redis = await startRedis();
  r = redis.client();
  await generateKeySet(join(tmp, 'keys'));
  keys = await loadVerifyingKeys(join(tmp, 'keys'));
  api = KubernetesObjectApi.makeApiClient(kubeconfig(cluster.adminKubeconfig));
  for (const doc of parseAllDocuments(readFileSync(new URL('../../infra/rbac/agent.yaml', import.meta.url), 'utf8')))
    await create(doc.toJSON() as object);
  for (const ns of ['apps', CONTROLLER_NS]) await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // What the chart renders with sync.nginxConfigMap set: get/list/watch on that one ConfigMap.
  await create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { namespace: CONTROLLER_NS, name: 'portico-sync-settings' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [CM], verbs: ['get', 'list', 'watch'] }],
  });
  await create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { namespace: CONTROLLER_NS, name: 'portico-sync-settings' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'portico-sync-settings' },
    subjects: [{ kind: 'ServiceAccount', name: AGENT_SERVICE_ACCOUNT, namespace: AGENT_NAMESPACE }],
  });
  await create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'portico' },
    spec: { controller: 'portico.dev/ingress-controller' },
  });
  await create({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'apps', name: 'web' }, spec: { ports: [{ port: 80 }] } });
  await create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: CONTROLLER_NS, name: 'fallback' },
    spec: { ports: [{ port: 8080 }] },
  });
  const c = generateSelfSignedCertificate({ commonName: 'fallback.example', keyType: 'ec' });
  await create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { namespace: CONTROLLER_NS, name: 'default-cert' },
    stringData: { 'tls.crt': c.certPem, 'tls.key': c.keyPem },
  });
  await create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace: 'apps', name: 'shop' },
    spec: {
      ingressClassName: 'portico',
      rules: [
        {
          host: 'shop.test',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
        },
      ],
    },
  });
  await create(settingsMap({ 'hsts-max-age': '100', 'proxy-body-size': '2m' }));
  const admin = await freePort();
  agent = spawnPortico([
    'sync',
    '--kubeconfig',
    cluster.agentKubeconfig,
    '--redis',
    redis.url,
    '--cluster',
    'settings',
    '--keys',
    join(tmp, 'keys'),
    '--admin',
    `127.0.0.1:${admin}`,
    '--nginx-configmap',
    `${CONTROLLER_NS}/${CM}`,
    '--default-backend-service',
    `${CONTROLLER_NS}/fallback`,
    '--default-ssl-certificate',
    `${CONTROLLER_NS}/default-cert`,
  ]);
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  r?.disconnect();
  await redis?.stop();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the agent reads the controller ConfigMap with least privilege and follows it', () => {
  it("publishes the ConfigMap's settings, the default backend Service and the default certificate", async () => {
    await waitFor(
      async () => (await published())?.table.hsts !== undefined,
      30_000,
      () => `nothing published:\n${agent.logs()}`,
    );
    const b = (await published())!;
    expect(b.table.hsts).toBe('max-age=100; includeSubDomains');
    expect(b.table.hosts.find((h) => h.host === 'shop.test')!.routes[0]!.policies.bodyLimit).toBe(2 * 1024 * 1024);
    expect(b.table.defaultBackend).toBe(`${CONTROLLER_NS}/fallback:8080`);
    expect(b.table.defaultCertificate).toBe(`${CONTROLLER_NS}/default-cert`);
    expect(b.certificates.map((c) => c.id)).toEqual([`${CONTROLLER_NS}/default-cert`]);
  });

  it('an edit of the ConfigMap is published within seconds (a watch, not a re-read schedule)', async () => {
    const cur = (await api.read({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: CONTROLLER_NS, name: CM },
    })) as KubernetesObject;
    const started = Date.now();
    await api.replace({
      ...settingsMap({ 'hsts-max-age': '200', 'proxy-body-size': '2m' }),
      metadata: { ...cur.metadata },
    } as KubernetesObject);
    await waitFor(
      async () => (await published())?.table.hsts === 'max-age=200; includeSubDomains',
      10_000,
      () => agent.logs(),
    );
    // The agent re-reads Secrets and ConfigMaps it reads by name every 10 s; a watch is well under that.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('portico migrate --kubeconfig reads the same objects and reports what the agent serves', () => {
    const r = runPortico([
      'migrate',
      '--kubeconfig',
      cluster.adminKubeconfig,
      '--nginx-configmap',
      `${CONTROLLER_NS}/${CM}`,
      '--default-backend-service',
      `${CONTROLLER_NS}/fallback`,
      '-o',
      'json',
    ]);
    expect([0, 1]).toContain(r.status);
    const report = JSON.parse(r.stdout) as MigrationReport;
    expect(report.ingresses).toEqual([
      expect.objectContaining({ namespace: 'apps', name: 'shop', served: true, routes: 1, closedRoutes: 0 }),
    ]);
    expect(report.configMap).toMatchObject({ ref: `${CONTROLLER_NS}/${CM}`, found: true });
    expect(report.configMap!.keys.map((k) => [k.key, k.kind])).toEqual([
      ['hsts-max-age', 'setting'],
      ['proxy-body-size', 'annotation-default'],
    ]);
  });

  it('a deleted ConfigMap keeps its last settings (uninstalling ingress-nginx deletes it); a new one applies again', async () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: CONTROLLER_NS, name: CM } };
    await api.delete(ref as KubernetesObject);
    await waitFor(
      () => agent.logs().includes('was deleted; its last settings stay in force'),
      10_000,
      () => agent.logs(),
    );
    const b = (await published())!;
    expect(b.table.hsts).toBe('max-age=200; includeSubDomains');
    expect(b.table.hosts.find((h) => h.host === 'shop.test')!.routes[0]!.policies.bodyLimit).toBe(2 * 1024 * 1024);
    await create(settingsMap({ 'hsts-max-age': '300' }));
    await waitFor(
      async () => (await published())?.table.hsts === 'max-age=300; includeSubDomains',
      10_000,
      () => agent.logs(),
    );
    // proxy-body-size left out now: ingress-nginx's default, 1m.
    expect((await published())!.table.hosts.find((h) => h.host === 'shop.test')!.routes[0]!.policies.bodyLimit).toBe(1024 * 1024);
  });
});
