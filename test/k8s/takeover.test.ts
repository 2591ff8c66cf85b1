// Moving a cluster from ingress-nginx, through a real kube-apiserver as a migrating user would: the
// tutorial-style Ingresses (legacy annotation only, ingressClassName nginx, a default-backend-only Ingress, a
// TLS Ingress) with the IngressClass `nginx` that ingress-nginx's chart leaves behind (controller
// k8s.io/ingress-nginx) in place. The agent runs as its own process with the chart's RBAC (infra/rbac/agent.yaml)
// into a real redis-server, and is restarted with other flags between the steps, as an operator would.
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKeySet, loadVerifyingKeys } from '../../cli/keys.ts';
import type { VerifyingKeys } from '../../gateway/table/bundle.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { KubeRest } from '../../sync/kube/rest.ts';
import type { LoadBalancerIngress } from '../../sync/kube/status.ts';
import { request } from '../support/client.ts';
import { freePort, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { readPublished } from '../support/published.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { installAgentRbac, kubeconfig } from './access.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const NS = 'shop';
/** The address ingress-nginx published (its LoadBalancer Service's), written by the test as ingress-nginx would. */
const NGINX_ADDRESS = '198.51.100.7';
const LB_FIRST = '203.0.113.20';
const LB_MOVED = '203.0.113.21';
const LB_HOSTNAME = 'edge-lb.example.net';
const PUBLISH = 'portico-system/portico-edge';

let cluster: TestCluster;
let redis: RedisServer;
let r: Redis;
let keys: VerifyingKeys;
let admin: KubeRest;
let agent: { p: Spawned; admin: string } | null = null;
const tmp = mkdtempSync(join(tmpdir(), 'portico-takeover-'));

async function startAgent(flags: string[]): Promise<{ p: Spawned; admin: string }> {
  if (agent) expect(await agent.p.stop()).toBe(0); // a clean stop releases the Lease: the next one leads at once
  const port = await freePort();
  const p = spawnPortico([
    'sync',
    '--kubeconfig',
    cluster.agentKubeconfig,
    '--redis',
    redis.url,
    '--cluster',
    'k8s',
    '--keys',
    join(tmp, 'keys'),
    '--lease-duration',
    '4s',
    '--admin',
    `127.0.0.1:${port}`,
    ...flags,
  ]);
  agent = { p, admin: `http://127.0.0.1:${port}` };
  return agent;
}

const ingressPath = (name: string) => `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/${name}`;
const statusOf = async (name: string): Promise<LoadBalancerIngress[]> =>
  (await admin.request<{ status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } } }>('GET', ingressPath(name))).status?.loadBalancer
    ?.ingress ?? [];
const show = (lb: LoadBalancerIngress[]) => lb.map((x) => x.ip ?? x.hostname).join(',');
/** What ingress-nginx does: it writes the whole list (status.go, UpdateStatus). */
const writeStatusAs = (name: string, addresses: LoadBalancerIngress[]) =>
  admin.request(
    'PATCH',
    `${ingressPath(name)}/status`,
    { status: { loadBalancer: { ingress: addresses } } },
    'application/merge-patch+json',
  );
const waitStatus = (name: string, want: string, ms = 15_000) => {
  let have = '';
  return waitFor(
    async () => (have = show(await statusOf(name))) === want,
    ms,
    () => `status of ${name}: want ${want}, have ${have}\n${agent?.p.logs().slice(-2000)}`,
  );
};
const metric = async (name: string): Promise<number> => {
  const m = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec((await request(`${agent!.admin}/metrics`)).body);
  return m ? Number(m[1]) : NaN;
};
const published = async () => (await readPublished(r, 'k8s', keys))?.table;

const backend = { service: { name: 'web', port: { number: 80 } } };
const rule = (host: string) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } });
const ingress = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
  spec,
});
/** The ingress-nginx tutorials' Ingresses, untouched by the move. */
const TUTORIAL = ['legacy', 'named', 'fallback', 'secure'];

async function post(path: string, obj: unknown): Promise<void> {
  await admin.request('POST', path, obj);
}

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  redis = await startRedis();
  r = redis.client();
  await generateKeySet(join(tmp, 'keys'));
  keys = await loadVerifyingKeys(join(tmp, 'keys'));
  admin = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  await installAgentRbac(admin);
  await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  // What `helm uninstall ingress-nginx` can leave behind (or what runs on beside Portico): the class `nginx`.
  await post('/apis/networking.k8s.io/v1/ingressclasses', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } },
    spec: { controller: 'k8s.io/ingress-nginx' },
  });
  await post('/apis/networking.k8s.io/v1/ingressclasses', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'other' },
    spec: { controller: 'example.com/other-controller' },
  });
  await post(`/api/v1/namespaces/${NS}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { ports: [{ name: 'http', port: 80 }] },
  });
  await post(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'portico-tests' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true } }],
  });
  const c = generateSelfSignedCertificate({ commonName: 'secure.test', keyType: 'ec' });
  await post(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: 'secure-tls' },
    stringData: { 'tls.crt': c.certPem, 'tls.key': c.keyPem },
  });
  const ings = `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`;
  await post(ings, ingress('legacy', { rules: [rule('legacy.test')] }, { 'kubernetes.io/ingress.class': 'nginx' }));
  await post(ings, ingress('named', { ingressClassName: 'nginx', rules: [rule('named.test')] }));
  await post(ings, ingress('fallback', { ingressClassName: 'nginx', defaultBackend: backend }));
  await post(
    ings,
    ingress('secure', {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }],
      rules: [rule('secure.test')],
    }),
  );
  await post(ings, ingress('elsewhere', { ingressClassName: 'other', rules: [rule('elsewhere.test')] }));
  // ingress-nginx published its address on its Ingresses and on the other controller's one.
  for (const name of [...TUTORIAL, 'elsewhere']) await writeStatusAs(name, [{ ip: NGINX_ADDRESS }]);
  // The Service in front of Portico's workers (the chart's LoadBalancer mode); the test plays the cloud's part.
  await post('/api/v1/namespaces/portico-system/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'portico-edge' },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}, 120_000);

afterAll(async () => {
  await agent?.p.stop();
  r?.disconnect();
  await redis?.stop();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const setLoadBalancer = (addresses: LoadBalancerIngress[]) =>
  admin.request(
    'PATCH',
    `/api/v1/namespaces/portico-system/services/portico-edge/status`,
    { status: { loadBalancer: { ingress: addresses } } },
    'application/merge-patch+json',
  );

describe('moving from ingress-nginx', () => {
  it('with default flags it serves none of them and says why: a log line, the readiness detail and portico_ingresses_not_selected', async () => {
    const a = await startAgent(['--publish-address', '203.0.113.99']);
    const why =
      /serving no Ingress: 5 exist, none of a class this agent serves; classes seen: nginx \(4\), other \(1\); to serve them: --serve-class nginx --serve-class other/;
    await waitFor(
      async () => why.test((await request(`${a.admin}/readyz`)).body),
      30_000,
      () => `the readiness detail:\n${a.p.logs().slice(-2000)}`,
    );
    expect(a.p.logs()).toMatch(why);
    expect(await metric('portico_ingresses_not_selected{reason="ingress-class-name"}')).toBe(4);
    expect(await metric('portico_ingresses_not_selected{reason="legacy-annotation"}')).toBe(1);
    expect(await metric('portico_ingresses_not_selected{reason="no-class"}')).toBe(0);
    expect((await published())?.hosts ?? []).toEqual([]);
    for (const name of [...TUTORIAL, 'elsewhere']) expect(show(await statusOf(name))).toBe(NGINX_ADDRESS);
  });

  it('with --ingress-class nginx only the annotated Ingress is served, and it says why the named ones are not', async () => {
    const a = await startAgent(['--ingress-class', 'nginx', '--write-status=false']);
    const why =
      /3 Ingress\(es\) with ingressClassName nginx are not served: --ingress-class nginx matches only the legacy kubernetes.io\/ingress.class annotation.*to serve them: --serve-class nginx/;
    await waitFor(
      async () => why.test((await request(`${a.admin}/readyz`)).body),
      30_000,
      () => `the readiness detail:\n${a.p.logs().slice(-2000)}`,
    );
    expect(a.p.logs()).toMatch(why);
    await waitFor(
      async () => (await published())?.hosts.map((h) => h.host).join() === 'legacy.test',
      15_000,
      () => `only legacy.test published\n${a.p.logs().slice(-2000)}`,
    );
  });

  it('side by side on the same class (--serve-class nginx --write-status=false): every tutorial Ingress served, ingress-nginx keeps the status', async () => {
    await startAgent(['--serve-class', 'nginx', '--write-status=false', '--publish-service', PUBLISH]);
    await setLoadBalancer([{ ip: LB_FIRST }]);
    await waitFor(
      async () => ((await published())?.hosts.length ?? 0) === 3,
      30_000,
      () => `three hosts\n${agent?.p.logs().slice(-2000)}`,
    );
    const t = (await published())!;
    expect(t.hosts.map((h) => h.host).sort()).toEqual(['legacy.test', 'named.test', 'secure.test']);
    expect(t.hosts.find((h) => h.host === 'secure.test')?.tls?.certificate).toBe(`${NS}/secure-tls`);
    expect(t.defaultBackend).toBe(`${NS}/web:80`);
    expect(await metric('portico_ingresses_not_selected{reason="ingress-class-name"}')).toBe(1); // `elsewhere`
    expect(await metric('portico_sync_status_writes_total')).toBe(0);
    for (const name of [...TUTORIAL, 'elsewhere']) expect(show(await statusOf(name))).toBe(NGINX_ADDRESS);
  });

  it('as the replacement (--write-status=true): status takes the --publish-service address, with a Sync event on each Ingress', async () => {
    await startAgent(['--serve-class', 'nginx', '--publish-service', PUBLISH]);
    for (const name of TUTORIAL) await waitStatus(name, LB_FIRST, 30_000);
    expect(show(await statusOf('elsewhere'))).toBe(NGINX_ADDRESS);
    const events = await admin.request<{ items: { involvedObject: { name: string }; reason: string; type: string }[] }>(
      'GET',
      `/api/v1/namespaces/${NS}/events`,
    );
    for (const name of TUTORIAL)
      expect(
        events.items.some((e) => e.involvedObject.name === name && e.reason === 'Sync' && e.type === 'Normal'),
        name,
      ).toBe(true);
    expect(events.items.some((e) => e.involvedObject.name === 'elsewhere')).toBe(false);
    // Nothing skipped or degraded: no Warning on any of them, no diagnostic in the last compile.
    expect(events.items.filter((e) => e.type === 'Warning').map((e) => `${e.involvedObject.name}: ${e.reason}`)).toEqual([]);
    expect(await metric('portico_sync_diagnostics')).toBe(0);
  });

  it('follows the Service live: a moved load balancer address, and a host name beside it', async () => {
    await setLoadBalancer([{ ip: LB_MOVED }, { hostname: LB_HOSTNAME }]);
    for (const name of TUTORIAL) await waitStatus(name, `${LB_MOVED},${LB_HOSTNAME}`);
  });

  it('after a restart with other class flags it clears only the addresses it wrote', async () => {
    // Meanwhile ingress-nginx, still running, adds its own address beside Portico's on one Ingress.
    await writeStatusAs('named', [{ ip: LB_MOVED }, { hostname: LB_HOSTNAME }, { ip: NGINX_ADDRESS }]);
    await startAgent(['--publish-service', PUBLISH]); // a new process: what it wrote is known from its ledger only
    await waitStatus('legacy', '');
    await waitStatus('named', NGINX_ADDRESS);
    for (const name of ['fallback', 'secure']) await waitStatus(name, '');
    expect(show(await statusOf('elsewhere'))).toBe(NGINX_ADDRESS);
    // The ledger is empty again: nothing of ours is left anywhere.
    const cm = await admin.request<{ data: Record<string, string> }>(
      'GET',
      '/api/v1/namespaces/portico-system/configmaps/portico-sync-status',
    );
    expect(JSON.parse(cm.data['written.json']!)).toEqual({});
  });

  it('never takes away an address it did not write, even one equal to its own (the other controller publishing the same load balancer)', async () => {
    await startAgent(['--serve-class', 'nginx', '--publish-service', PUBLISH]);
    await waitStatus('legacy', `${LB_MOVED},${LB_HOSTNAME}`, 30_000);
    // The other controller now publishes the same load balancer on its Ingress: Portico never wrote it there.
    await writeStatusAs('elsewhere', [{ ip: LB_MOVED }]);
    await startAgent(['--publish-service', PUBLISH]);
    await waitStatus('legacy', '', 30_000);
    expect(show(await statusOf('elsewhere'))).toBe(LB_MOVED);
  });
});
