// The chart in the real test kube-apiserver: every rendered object of every value set is accepted
// by server-side apply with strict field validation; the identities the chart creates are checked with
// their own TokenRequest tokens (the agent can do what it needs and nothing on the deny list, workers can
// do nothing, the key hook touches only its two Secrets); the key hook, the agent and a worker then run as
// real processes with the chart's own arguments and those tokens, and the worker serves the table the agent
// published into a real redis-server. Finally helm itself installs and upgrades a release.
// No kubelet runs here, so no pod starts: the processes stand in for the containers, with the chart's
// arguments and environment (downward API values and mounted Secrets filled in as the kubelet would).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeApiError, KubeRest } from '../../sync/kube/rest.ts';
import { request } from '../support/client.ts';
import { freePort, runPortico, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { canI, kubeconfig, serviceAccountToken, type Access } from '../k8s/access.ts';
import { startTestCluster, type TestCluster } from '../k8s/cluster.ts';
import { CHART, find, helm, manifests, podSpec, render, VALUE_SETS, worker, type Manifest, type PodSpec } from './chart.ts';

const bin = inject('helmBin');
// Every value set, the ServiceMonitor too: its CRD (generated from prometheus-operator's Go types by
// build-crd.sh) is installed first.
const INSTALLABLE = VALUE_SETS;
const REL = 'defaults';
const NS = 'ns-defaults';
const APPS = 'apps-helm';

let cluster: TestCluster;
let admin: KubeRest;
const redisServers: RedisServer[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'portico-helm-'));
const procs: Spawned[] = [];
const rendered = new Map<string, Manifest[]>();

const PLURAL: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Service: 'services',
  Secret: 'secrets',
  Namespace: 'namespaces',
  Deployment: 'deployments',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  PodDisruptionBudget: 'poddisruptionbudgets',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  IngressClass: 'ingressclasses',
  Ingress: 'ingresses',
  EndpointSlice: 'endpointslices',
  CustomResourceDefinition: 'customresourcedefinitions',
  ServiceMonitor: 'servicemonitors',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers',
};

function objectPath(m: Manifest): string {
  const plural = PLURAL[m.kind];
  if (plural === undefined) throw new Error(`no REST path known for kind ${m.kind}`);
  const base = m.apiVersion.includes('/') ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
  return `${base}${m.metadata.namespace ? `/namespaces/${m.metadata.namespace}` : ''}/${plural}/${m.metadata.name}`;
}

/** Server-side apply with strict field validation: an unknown or duplicate field is an error, not a warning. */
async function apply(m: Manifest): Promise<void> {
  await admin.request(
    'PATCH',
    `${objectPath(m)}?fieldManager=portico-tests&fieldValidation=Strict&force=true`,
    m,
    'application/apply-patch+yaml',
  );
}

const token = async (sa: string) => cluster.kubeconfigFor(sa, await serviceAccountToken(admin, NS, sa));

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  admin = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  const crd = manifests(readFileSync(inject('serviceMonitorCrd'), 'utf8'))[0]!;
  await apply(crd);
  await waitFor(
    async () =>
      (
        await admin.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', objectPath(crd))
      ).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true,
    30_000,
    () => 'the ServiceMonitor CRD to be established',
  );
  for (const set of INSTALLABLE) rendered.set(set, manifests(render(bin, set, { release: set, namespace: `ns-${set}` })));
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  for (const r of redisServers) await r.stop();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('every rendered object is accepted (server-side apply, strict field validation)', () => {
  it('strict validation is on: an unknown field is refused', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'strict-check' } });
    const bad = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'x', namespace: 'strict-check' },
      automountServiceAccountTokn: false,
    };
    // Server-side apply types every patch against the schema, so an undeclared field fails before strict
    // validation (which adds duplicate fields) is even asked.
    await expect(apply(bad)).rejects.toThrow(/\.automountServiceAccountTokn: field not declared in schema/);
  });

  it.each(INSTALLABLE)('%s', async (set) => {
    // The release namespace, and any other a value names (the controller ConfigMap's, which exists in a real cluster).
    for (const name of new Set([`ns-${set}`, ...rendered.get(set)!.flatMap((m) => m.metadata.namespace ?? [])]))
      await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const refused: string[] = [];
    for (const m of rendered.get(set)!) {
      await apply(m).catch((err: Error) =>
        refused.push(`${m.kind}/${m.metadata.name}: ${err instanceof KubeApiError ? err.body.slice(0, 400) : err.message}`),
      );
    }
    expect(refused).toEqual([]);
    // Read back: the apiserver stored what the chart says (defaulting aside), e.g. the worker's security settings.
    const ds = await admin.request<{ spec: { template: { spec: PodSpec } } }>('GET', objectPath(worker(rendered.get(set)!)));
    expect(ds.spec.template.spec.automountServiceAccountToken).toBe(false);
  });
});

describe("the chart's identities, with their own tokens", () => {
  const ask = (who: () => string, verb: string, resource: string, o: Access) => canI(who(), verb, resource, o);
  let agentKc = '';
  let workerKc = '';
  let keysKc = '';
  beforeAll(async () => {
    agentKc = await token(`${REL}-portico-sync`);
    workerKc = await token(`${REL}-portico-worker`);
    keysKc = await token(`${REL}-portico-keys`);
  });
  const net = 'networking.k8s.io';
  const lease = { group: 'coordination.k8s.io', namespace: NS };
  it.each([
    ['watch ingresses', 'watch', 'ingresses', { group: net }],
    ['list ingressclasses', 'list', 'ingressclasses', { group: net }],
    ['list services', 'list', 'services', {}],
    ['watch endpointslices', 'watch', 'endpointslices', { group: 'discovery.k8s.io' }],
    ['list secrets (TLS)', 'list', 'secrets', {}],
    ['patch ingress status', 'patch', 'ingresses', { group: net, namespace: APPS, subresource: 'status' }],
    ['create events', 'create', 'events', { namespace: APPS }],
    ['create its lease', 'create', 'leases', lease],
    ['update its lease', 'update', 'leases', { ...lease, name: `${REL}-portico-sync` }],
  ] as const)('agent may %s', async (_n, verb, resource, o) => expect(await ask(() => agentKc, verb, resource, o)).toBe(true));
  it.each([
    ['create secrets', 'create', 'secrets', { namespace: NS }],
    ['update secrets', 'update', 'secrets', { namespace: NS, name: `${REL}-portico-sync-keys` }],
    ['delete secrets', 'delete', 'secrets', { namespace: APPS }],
    ['list pods', 'list', 'pods', {}],
    ['exec into pods', 'create', 'pods', { namespace: NS, subresource: 'exec' }],
    ['update ingresses (spec)', 'update', 'ingresses', { group: net, namespace: APPS }],
    ['update another lease', 'update', 'leases', { ...lease, name: 'kube-scheduler' }],
    ['create leases elsewhere', 'create', 'leases', { group: 'coordination.k8s.io', namespace: 'kube-system' }],
    ['bind cluster roles', 'bind', 'clusterroles', { group: 'rbac.authorization.k8s.io' }],
    ['create role bindings', 'create', 'rolebindings', { group: 'rbac.authorization.k8s.io', namespace: NS }],
    ['impersonate users', 'impersonate', 'users', {}],
    ['anything cluster-admin', '*', '*', { group: '*' }],
  ] as const)('agent may not %s', async (_n, verb, resource, o) => expect(await ask(() => agentKc, verb, resource, o)).toBe(false));
  it.each([
    ['list ingresses', 'list', 'ingresses', { group: net }],
    ['get secrets', 'get', 'secrets', { namespace: NS, name: `${REL}-portico-worker-keys` }],
    ['list services', 'list', 'services', {}],
    ['create events', 'create', 'events', { namespace: NS }],
  ] as const)('worker may not %s', async (_n, verb, resource, o) => expect(await ask(() => workerKc, verb, resource, o)).toBe(false));
  it.each([
    ['may create secrets', true, 'create', 'secrets', { namespace: NS }],
    ['may get the agent key Secret', true, 'get', 'secrets', { namespace: NS, name: `${REL}-portico-sync-keys` }],
    ['may patch the worker key Secret', true, 'patch', 'secrets', { namespace: NS, name: `${REL}-portico-worker-keys` }],
    ['may get the bundled Redis password Secret', true, 'get', 'secrets', { namespace: NS, name: `${REL}-portico-redis-password` }],
    ['may not patch the agent key Secret', false, 'patch', 'secrets', { namespace: NS, name: `${REL}-portico-sync-keys` }],
    ['may not patch the Redis password Secret', false, 'patch', 'secrets', { namespace: NS, name: `${REL}-portico-redis-password` }],
    ['may not get another Secret', false, 'get', 'secrets', { namespace: NS, name: 'portico-redis' }],
    ['may not list secrets', false, 'list', 'secrets', { namespace: NS }],
    ['may not delete the key Secrets', false, 'delete', 'secrets', { namespace: NS, name: `${REL}-portico-sync-keys` }],
    ['may not create secrets in another namespace', false, 'create', 'secrets', { namespace: APPS }],
  ] as const)('key hook %s', async (_n, allowed, verb, resource, o) => expect(await ask(() => keysKc, verb, resource, o)).toBe(allowed));
});

interface SecretData {
  data: Record<string, string>;
  metadata: { labels?: Record<string, string> };
}
const readSecret = (name: string) => admin.request<SecretData>('GET', `/api/v1/namespaces/${NS}/secrets/${name}`);
const decoded = (s: SecretData) => Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

/** A container's environment as the kubelet builds it: plain values, downward API fields from `fields`,
 * Secret keys read from the apiserver; and TMPDIR pointing at a writable directory only if the container
 * mounts one at /tmp (its root filesystem is read-only: without the mount, tsx cannot start). */
async function containerEnv(
  spec: PodSpec,
  fields: Record<string, string>,
  overrides: Record<string, string>,
  container = 0,
): Promise<Record<string, string>> {
  const c = spec.containers[container]!;
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const from = e.valueFrom as { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } | undefined;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (from?.fieldRef !== undefined && fields[from.fieldRef.fieldPath] !== undefined) env[e.name] = fields[from.fieldRef.fieldPath]!;
    else if (from?.secretKeyRef !== undefined) env[e.name] = decoded(await readSecret(from.secretKeyRef.name))[from.secretKeyRef.key]!;
  }
  const mountsTmp = ((c.volumeMounts ?? []) as { mountPath: string }[]).some((m) => m.mountPath === '/tmp');
  const tmpdir = mountsTmp ? mkdtempSync(join(tmp, 'tmp-')) : '/proc/no-writable-tmp';
  return { ...env, TMPDIR: tmpdir, ...overrides };
}
/** The container's args with $(VAR) expanded from its environment, as the kubelet does. */
const containerArgs = (spec: PodSpec, env: Record<string, string>): string[] =>
  (spec.containers[0]!.args ?? []).map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => env[v] ?? `$(${v})`));

function writeKeyDir(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text, { mode: 0o440 });
  return dir;
}

describe("the key hook, the agent and a worker, run with the chart's arguments", () => {
  const job = () => podSpec(find(rendered.get(REL)!, 'Job', '-keys'));
  let hookKc = '';
  let hookEnv: Record<string, string> = {};
  const runHook = () =>
    runPortico(
      containerArgs(job(), {}).map((a) => (a === '--in-cluster' ? `--kubeconfig=${hookKc}` : a)),
      hookEnv,
    );
  beforeAll(async () => {
    hookKc = await token(`${REL}-portico-keys`);
    hookEnv = await containerEnv(job(), {}, {});
  });

  it('the hook makes the key Secrets once; the workers get the public share only', async () => {
    const first = runHook();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/"defaults-portico-sync-keys":"created","defaults-portico-worker-keys":"created"/);
    const agentKeys = decoded(await readSecret(`${REL}-portico-sync-keys`));
    const workerKeys = decoded(await readSecret(`${REL}-portico-worker-keys`));
    expect(Object.keys(agentKeys).sort()).toEqual(['encryption-key.jwk.json', 'signing-key.jwk.json', 'signing-pub.jwk.json']);
    expect(workerKeys).toEqual({
      'encryption-key.jwk.json': agentKeys['encryption-key.jwk.json'],
      'signing-pub.jwk.json': agentKeys['signing-pub.jwk.json'],
    });
    expect((await readSecret(`${REL}-portico-sync-keys`)).metadata.labels?.['app.kubernetes.io/managed-by']).toBe('portico');
    // and the bundled Redis's password (the defaults run the trial Redis)
    expect(first.stderr).toMatch(/"defaults-portico-redis-password":"created"/);
    expect(decoded(await readSecret(`${REL}-portico-redis-password`)).password).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('an upgrade (the hook again) keeps the keys', async () => {
    const before = (await readSecret(`${REL}-portico-sync-keys`)).data;
    const password = (await readSecret(`${REL}-portico-redis-password`)).data;
    const again = runHook();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(
      /"defaults-portico-sync-keys":"kept","defaults-portico-worker-keys":"kept","defaults-portico-redis-password":"kept"/,
    );
    expect((await readSecret(`${REL}-portico-sync-keys`)).data).toEqual(before);
    expect((await readSecret(`${REL}-portico-redis-password`)).data).toEqual(password);
  });

  it('a worker Secret that drifted from the agent Secret is brought back in line', async () => {
    await admin.request(
      'PATCH',
      `/api/v1/namespaces/${NS}/secrets/${REL}-portico-worker-keys`,
      {
        data: {
          'encryption-key.jwk.json': Buffer.from('{"stale":true}').toString('base64'),
          'signing-key.jwk.json': Buffer.from('{}').toString('base64'),
        },
      },
      'application/merge-patch+json',
    );
    const r = runHook();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"defaults-portico-worker-keys":"updated"/);
    const agentKeys = decoded(await readSecret(`${REL}-portico-sync-keys`));
    expect(decoded(await readSecret(`${REL}-portico-worker-keys`))).toEqual({
      'encryption-key.jwk.json': agentKeys['encryption-key.jwk.json'],
      'signing-pub.jwk.json': agentKeys['signing-pub.jwk.json'],
    });
  });

  it.each([
    [
      'an agent Secret without the signing key',
      { 'signing-pub.jwk.json': '{}', 'encryption-key.jwk.json': '{}' },
      /Secret broken-keys has no signing-key\.jwk\.json; delete it to make a new key set/,
    ],
    [
      'an agent Secret whose key is not JSON',
      { 'signing-key.jwk.json': 'PEM?', 'signing-pub.jwk.json': '{}', 'encryption-key.jwk.json': '{}' },
      /Secret broken-keys: signing-key\.jwk\.json is not a JSON Web Key/,
    ],
  ])('%s: one line, exit code 1, nothing written', async (_n, files, message) => {
    await admin.request('DELETE', `/api/v1/namespaces/${NS}/secrets/broken-keys`).catch(() => {});
    await admin.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'broken-keys' },
      stringData: files,
    });
    const r = runPortico([
      'keys',
      'ensure-secrets',
      `--kubeconfig=${cluster.adminKubeconfig}`,
      `--namespace=${NS}`,
      '--agent-secret=broken-keys',
      '--worker-secret=broken-worker-keys',
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await expect(admin.request('GET', `/api/v1/namespaces/${NS}/secrets/broken-worker-keys`)).rejects.toThrow(/HTTP 404/);
  });

  it.each([
    [
      'no Secret names',
      ['keys', 'ensure-secrets', '--in-cluster', '--namespace=x'],
      /nothing to do: give --agent-secret NAME --worker-secret NAME and\/or --redis-secret NAME/,
    ],
    [
      'one key Secret without the other',
      ['keys', 'ensure-secrets', '--in-cluster', '--namespace=x', '--agent-secret=a'],
      /--agent-secret NAME and --worker-secret NAME go together/,
    ],
    [
      'both credentials sources',
      ['keys', 'ensure-secrets', '--in-cluster', '--kubeconfig=k', '--namespace=x', '--agent-secret=a', '--worker-secret=b'],
      /exactly one of --kubeconfig PATH or --in-cluster/,
    ],
    [
      'outside a pod with --in-cluster',
      ['keys', 'ensure-secrets', '--in-cluster', '--namespace=x', '--agent-secret=a', '--worker-secret=b'],
      /--in-cluster: no in-cluster credentials/,
    ],
  ])('bad flags (%s): one line, exit code 2', (_n, args, message) => {
    const r = runPortico(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it("the agent publishes with the chart's identity and arguments; a worker serves that table", async () => {
    // The objects an application team would create.
    for (const m of [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APPS } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: APPS }, spec: { ports: [{ name: 'http', port: 80 }] } },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-1', namespace: APPS, labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: false } }],
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'shop', namespace: APPS },
        spec: {
          ingressClassName: 'portico',
          rules: [
            {
              host: 'shop.helm.test',
              http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
            },
          ],
        },
      },
    ] as Manifest[])
      await apply(m);

    const agentKeys = writeKeyDir('agent-keys', decoded(await readSecret(`${REL}-portico-sync-keys`)));
    const workerKeys = writeKeyDir('worker-keys', decoded(await readSecret(`${REL}-portico-worker-keys`)));
    const syncSpec = podSpec(find(rendered.get(REL)!, 'Deployment', '-sync'));
    const agentKc = await token(`${REL}-portico-sync`);
    const agentAdmin = await freePort();
    // The bundled Redis's stand-in: a real redis-server with the password the hook generated.
    const bundledRedis = await startRedis({ password: decoded(await readSecret(`${REL}-portico-redis-password`)).password! });
    redisServers.push(bundledRedis);
    const agentEnv = await containerEnv(
      syncSpec,
      { 'metadata.namespace': NS, 'metadata.name': `${REL}-portico-sync-7c9d-abcde` },
      { PORTICO_KEYS: agentKeys, PORTICO_REDIS_URL: bundledRedis.url },
    );
    expect(agentEnv.PORTICO_REDIS_PASSWORD).toBeDefined();
    const agentArgs = containerArgs(syncSpec, agentEnv).map((a) =>
      a === '--in-cluster' ? `--kubeconfig=${agentKc}` : a.startsWith('--admin=') ? `--admin=127.0.0.1:${agentAdmin}` : a,
    );
    const agent = spawnPortico(agentArgs, agentEnv);
    procs.push(agent);

    const dsSpec = podSpec(find(rendered.get(REL)!, 'DaemonSet', '-worker'));
    const [http, https, wadmin] = [await freePort(), await freePort(), await freePort()];
    const workerEnv = await containerEnv(
      dsSpec,
      { 'spec.nodeName': 'node-a' },
      { PORTICO_KEYS: workerKeys, PORTICO_REDIS_URL: bundledRedis.url },
    );
    const listen: Record<string, string> = {
      '--http': `127.0.0.1:${http}`,
      '--https': `127.0.0.1:${https}`,
      '--admin': `127.0.0.1:${wadmin}`,
    };
    const workerArgs = containerArgs(dsSpec, workerEnv).map((a) => {
      const [flag] = a.split('=');
      return listen[flag!] !== undefined ? `${flag}=${listen[flag!]}` : a;
    });
    expect(workerArgs).toContain('--node-name=node-a');
    const worker = spawnPortico(workerArgs, workerEnv);
    procs.push(worker);

    await waitFor(
      async () => (await request(`http://127.0.0.1:${wadmin}/readyz`)).status === 200,
      45_000,
      () => `the worker to serve a table:\nagent:\n${agent.logs().slice(-2000)}\nworker:\n${worker.logs().slice(-2000)}`,
    );
    // The Ingress is served (its only endpoint is not ready: 503), an unknown host is not (404).
    await waitFor(
      async () => (await request(`http://127.0.0.1:${http}/`, { host: 'shop.helm.test' })).status === 503,
      15_000,
      () => 'shop.helm.test in the table',
    );
    expect((await request(`http://127.0.0.1:${http}/`, { host: 'unknown.helm.test' })).status).toBe(404);
    // It leads through its own Lease in the release namespace and writes Events with its RBAC.
    const lease = await admin.request<{ spec: { holderIdentity: string } }>(
      'GET',
      `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${REL}-portico-sync`,
    );
    expect(lease.spec.holderIdentity).toMatch(new RegExp(`^${REL}-portico-sync-7c9d-abcde/`));
    await waitFor(
      async () =>
        (
          await admin.request<{ items: { reason: string; involvedObject: { name: string } }[] }>('GET', `/api/v1/namespaces/${APPS}/events`)
        ).items.some((e) => e.reason === 'Sync' && e.involvedObject.name === 'shop'),
      15_000,
      () => 'a Sync event on the Ingress',
    );
    expect(agent.logs()).not.toMatch(/forbidden|HTTP 403/i);
  }, 90_000);
});

describe('helm itself', () => {
  it('installs and upgrades a release into the apiserver (hooks off: no kubelet runs the Job here)', () => {
    const kc = ['--kubeconfig', cluster.adminKubeconfig];
    const install = helm(bin, [
      'install',
      'real',
      CHART,
      '-n',
      'helm-real',
      '--create-namespace',
      '--no-hooks',
      ...kc,
      '--set',
      'ingressClass.name=portico-real',
      '--set',
      'redis.url=redis://redis.platform.svc:6379',
    ]);
    expect(install.status, install.stderr).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');
    const upgrade = helm(bin, [
      'upgrade',
      'real',
      CHART,
      '-n',
      'helm-real',
      '--no-hooks',
      '--reuse-values',
      ...kc,
      '--set',
      'sync.replicas=3',
    ]);
    expect(upgrade.status, upgrade.stderr).toBe(0);
    const status = helm(bin, ['status', 'real', '-n', 'helm-real', ...kc, '-o', 'json']);
    expect(JSON.parse(status.stdout) as { version: number; info: { status: string } }).toMatchObject({
      version: 2,
      info: { status: 'deployed' },
    });
  });

  it('the upgraded Deployment has the new replica count', async () => {
    const d = await admin.request<{ spec: { replicas: number } }>(
      'GET',
      '/apis/apps/v1/namespaces/helm-real/deployments/real-portico-sync',
    );
    expect(d.spec.replicas).toBe(3);
  });

  it('helm uninstall removes the release and keeps the key Secrets the hook made', async () => {
    // What the hook would have made (it cannot run here: no kubelet).
    const hook = runPortico([
      'keys',
      'ensure-secrets',
      `--kubeconfig=${cluster.adminKubeconfig}`,
      '--namespace=helm-real',
      '--agent-secret=real-portico-sync-keys',
      '--worker-secret=real-portico-worker-keys',
    ]);
    expect(hook.status, hook.stderr).toBe(0);
    const r = helm(bin, ['uninstall', 'real', '-n', 'helm-real', '--no-hooks', '--kubeconfig', cluster.adminKubeconfig]);
    expect(r.status, r.stderr).toBe(0);
    await expect(admin.request('GET', '/apis/apps/v1/namespaces/helm-real/deployments/real-portico-sync')).rejects.toThrow(/HTTP 404/);
    for (const name of ['real-portico-sync-keys', 'real-portico-worker-keys'])
      await admin.request('GET', `/api/v1/namespaces/helm-real/secrets/${name}`);
  });
});
