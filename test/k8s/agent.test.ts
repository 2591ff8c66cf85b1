// The sync agent against a real kube-apiserver and etcd (built by test/k8s/build.sh), running as its own
// process with the restricted identity and exactly the RBAC rules in infra/rbac/agent.yaml, publishing
// into a real redis-server.
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesObjectApi, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateKeySet, loadVerifyingKeys } from '../../cli/keys.ts';
import type { VerifyingKeys } from '../../gateway/table/bundle.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { KubeRest } from '../../sync/kube/rest.ts';
import { request } from '../support/client.ts';
import { expectWellFormedExposition } from '../support/exposition.ts';
import { netnsUnavailable, startNetnsBackend, type NetnsBackend } from '../support/netns.ts';
import { freePort, spawnPortico, startServing, waitFor, type Running, type Spawned } from '../support/process.ts';
import { readPublished } from '../support/published.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { canI, kubeconfig, type Access } from './access.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const NS = 'apps';
const ADDRESS = '203.0.113.10';
let cluster: TestCluster;
let redis: RedisServer;
let r: Redis;
let keys: VerifyingKeys;
let api: KubernetesObjectApi;
let admin: KubeRest;
const tmp = mkdtempSync(join(tmpdir(), 'portico-agent-'));
const agents: { p: Spawned; admin: string }[] = [];

const kc = kubeconfig;

async function startAgent(name: string, leaseDuration = '4s'): Promise<{ p: Spawned; admin: string }> {
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
    '--publish-address',
    ADDRESS,
    '--publisher',
    name,
    '--lease-duration',
    leaseDuration,
    '--rewatch',
    '2s',
    '--admin',
    `127.0.0.1:${port}`,
  ]);
  const a = { p, admin: `http://127.0.0.1:${port}` };
  agents.push(a);
  return a;
}

const metric = async (a: { admin: string }, name: string): Promise<number> => {
  const m = new RegExp(`^${name.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec((await request(`${a.admin}/metrics`)).body);
  return m ? Number(m[1]) : NaN;
};

const published = () => readPublished(r, 'k8s', keys);
const hostOf = async (host: string) => (await published())?.table.hosts.find((h) => h.host === host);

// The agents' Lease: their defaults (no --lease-namespace/--lease-name here, no POD_NAMESPACE).
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/portico-system/leases';
const LEASE_NAME = 'portico-sync';
interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface LeaseObject {
  metadata: { resourceVersion: string };
  spec: LeaseSpec;
}
/** What LeaderElector.stop() writes when it gives the lease up: no holder, a renewTime at the epoch. */
const RELEASED_RENEW_TIME = '1970-01-01T00:00:00.000000Z';
const holder = (s: LeaseSpec) => s.holderIdentity ?? '';
/** Agent identities are `<--publisher>/<random>`. */
const heldBy = (name: string) => (s: LeaseSpec) => holder(s).startsWith(`${name}/`);
const ms = (t: string | undefined) => Date.parse(t ?? '');

/** Every version of the Lease from now on, in order: a watch sees each write, even one that a successor
 * overwrites a few milliseconds later, which polling could miss. */
async function watchLease(): Promise<{ records: LeaseSpec[]; ended(): string | null; stop(): void }> {
  const now = await admin.request<LeaseObject>('GET', `${LEASES}/${LEASE_NAME}`);
  const records: LeaseSpec[] = [now.spec];
  let ended: string | null = null;
  let stopped = false;
  const ctrl = await new Watch(kc(cluster.adminKubeconfig)).watch(
    LEASES,
    { fieldSelector: `metadata.name=${LEASE_NAME}`, resourceVersion: now.metadata.resourceVersion },
    (phase: string, obj: unknown) => {
      if (phase === 'ADDED' || phase === 'MODIFIED') records.push((obj as LeaseObject).spec);
      else ended ??= `watch event ${phase}: ${JSON.stringify(obj).slice(0, 300)}`;
    },
    (err: unknown) => {
      if (!stopped) ended ??= `watch closed: ${err instanceof Error ? err.message : String(err)}`;
    },
  );
  return {
    records,
    ended: () => ended,
    stop: () => {
      stopped = true;
      ctrl.abort();
    },
  };
}
const describeLease = (records: LeaseSpec[]) =>
  records.map((x) => `${holder(x) || '(none)'} acquire=${x.acquireTime} renew=${x.renewTime} transitions=${x.leaseTransitions}`).join('\n');

async function create(obj: KubernetesObject): Promise<void> {
  await api.create(obj);
}
async function upsert(obj: KubernetesObject): Promise<void> {
  // The agent writes Ingress status meanwhile: a replace between our read and write is a conflict (409); read again.
  for (let attempt = 0; ; attempt++) {
    let cur: KubernetesObject;
    try {
      cur = await api.read(obj as KubernetesObject & { metadata: { name: string; namespace?: string } });
    } catch {
      await api.create(obj);
      return;
    }
    try {
      await api.replace({ ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata?.resourceVersion } });
      return;
    } catch (err) {
      if (attempt >= 4 || (err as { code?: number }).code !== 409) throw err;
    }
  }
}

const svc = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NS },
  spec: { ports: [{ name: 'http', port: 80 }] },
});
const slice = (svcName: string, addrs: string[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: `${svcName}-1`,
    namespace: NS,
    labels: { 'kubernetes.io/service-name': svcName, 'endpointslice.kubernetes.io/managed-by': 'portico-tests' },
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
});
const ing = (
  name: string,
  host: string,
  o: { service?: string; paths?: string[]; className?: string; tls?: string; annotations?: Record<string, string> } = {},
) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: NS, ...(o.annotations ? { annotations: o.annotations } : {}) },
  spec: {
    ingressClassName: o.className ?? 'portico',
    ...(o.tls ? { tls: [{ hosts: [host], secretName: o.tls }] } : {}),
    rules: [
      {
        host,
        http: {
          paths: (o.paths ?? ['/']).map((path) => ({
            path,
            pathType: 'Prefix',
            backend: { service: { name: o.service ?? 'web', port: { number: 80 } } },
          })),
        },
      },
    ],
  },
});
const tlsSecret = (name: string, host: string) => {
  const c = generateSelfSignedCertificate({ commonName: host, keyType: 'ec' });
  return {
    obj: {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name, namespace: NS },
      stringData: { 'tls.crt': c.certPem, 'tls.key': c.keyPem },
    },
    cert: c,
  };
};

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  redis = await startRedis();
  r = redis.client();
  await generateKeySet(join(tmp, 'keys'));
  keys = await loadVerifyingKeys(join(tmp, 'keys'));
  const adminKc = kc(cluster.adminKubeconfig);
  api = KubernetesObjectApi.makeApiClient(adminKc);
  admin = new KubeRest(adminKc);
  // Exactly what the chart ships: the agent's ServiceAccount, ClusterRole, Role and bindings.
  for (const doc of parseAllDocuments(readFileSync(new URL('../../infra/rbac/agent.yaml', import.meta.url), 'utf8')))
    await create(doc.toJSON() as KubernetesObject);
  await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } as KubernetesObject);
  await create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'portico' },
    spec: { controller: 'portico.dev/ingress-controller' },
  } as KubernetesObject);
  await create({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'nginx' },
    spec: { controller: 'k8s.io/ingress-nginx' },
  } as KubernetesObject);
  await create(svc('web') as KubernetesObject);
  await create(slice('web', ['10.1.0.1', '10.1.0.2']) as KubernetesObject);
  await create(ing('shop', 'shop.test') as KubernetesObject);
  // A 10 s lease: long against agent-b's polling of it (every 2.9 s), so the failover test can tell a
  // successor that waited for expiry from one that did not.
  await startAgent('agent-a', '10s');
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.p.stop();
  r?.disconnect();
  await redis?.stop();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('objects through the API → table in Redis', () => {
  it('publishes the Ingresses that existed before it started (first table after every informer listed)', async () => {
    await waitFor(
      async () => (await hostOf('shop.test')) !== undefined,
      30_000,
      () => `the first table:\n${agents[0]!.p.logs()}`,
    );
    // The first publish already held everything: no partial table went out before every informer listed.
    expect(await r.llen('portico:{k8s}:history')).toBe(1);
    const t = (await published())!.table;
    expect(t.backends.find((b) => b.id === `${NS}/web:80`)?.endpoints.map((e) => e.address)).toEqual(['10.1.0.1', '10.1.0.2']);
  });

  it('follows creates, updates and deletes of Ingresses', async () => {
    await create(ing('blog', 'blog.test') as KubernetesObject);
    await waitFor(
      async () => (await hostOf('blog.test')) !== undefined,
      10_000,
      () => 'blog.test',
    );
    await upsert(ing('blog', 'blog.test', { paths: ['/', '/admin'] }) as KubernetesObject);
    await waitFor(
      async () => (await hostOf('blog.test'))?.routes.some((x) => x.path === '/admin') === true,
      10_000,
      () => 'the new path',
    );
    await api.delete({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'blog', namespace: NS } });
    await waitFor(
      async () => (await hostOf('blog.test')) === undefined,
      10_000,
      () => 'the host to go',
    );
  });

  it('re-opens its watches on schedule (--rewatch 2s here) and misses nothing', async () => {
    const a = agents[0]!;
    await waitFor(
      async () => (await metric(a, 'portico_sync_rewatches_total')) >= 10,
      10_000,
      () => `two rounds of re-watches:\n${a.p.logs().slice(-1500)}`,
    );
    await create(ing('rewatched', 'rewatched.test') as KubernetesObject);
    await waitFor(
      async () => (await hostOf('rewatched.test')) !== undefined,
      10_000,
      () => 'the Ingress created across re-watches',
    );
  });

  it('compiles only the hosts an EndpointSlice change touches', async () => {
    const a = agents[0]!;
    const before = await metric(a, 'portico_sync_compiles_total{kind="incremental"}');
    await upsert(slice('web', ['10.1.0.1', '10.1.0.3']) as KubernetesObject);
    await waitFor(
      async () =>
        (await published())?.table.backends
          .find((b) => b.id === `${NS}/web:80`)
          ?.endpoints.map((e) => e.address)
          .join() === '10.1.0.1,10.1.0.3',
      10_000,
      () => 'new endpoints',
    );
    expect(await metric(a, 'portico_sync_compiles_total{kind="incremental"}')).toBeGreaterThan(before);
  });

  it('puts a TLS Secret into the table and follows its rotation', async () => {
    const first = tlsSecret('shop-tls', 'secure.test');
    await create(first.obj as KubernetesObject);
    await create(ing('secure', 'secure.test', { tls: 'shop-tls' }) as KubernetesObject);
    await waitFor(
      async () => (await hostOf('secure.test'))?.tls?.certificate === `${NS}/shop-tls`,
      10_000,
      () => 'the certificate',
    );
    const fp = async () => (await published())!.table.certificates.find((c) => c.id === `${NS}/shop-tls`)?.fingerprint;
    const before = await fp();
    const rotated = tlsSecret('shop-tls', 'secure.test');
    await upsert(rotated.obj as KubernetesObject);
    await waitFor(
      async () => (await fp()) !== before,
      10_000,
      () => 'the rotated certificate',
    );
    expect((await published())!.certificates.find((c) => c.id === `${NS}/shop-tls`)?.keyPem).toBe(rotated.cert.keyPem);
  });

  it('ignores an Ingress of another class', async () => {
    await create(ing('other', 'other.test', { className: 'nginx' }) as KubernetesObject);
    await create(ing('marker', 'marker.test') as KubernetesObject); // published after `other` was seen
    await waitFor(
      async () => (await hostOf('marker.test')) !== undefined,
      10_000,
      () => 'marker',
    );
    expect(await hostOf('other.test')).toBeUndefined();
  });
});

describe('Ingress status and Events', () => {
  const status = async (name: string) =>
    (
      (await api.read({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: NS } })) as {
        status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
      }
    ).status?.loadBalancer?.ingress ?? [];

  it('sets the published address on our Ingresses and never on another class', async () => {
    await waitFor(
      async () => (await status('shop')).some((x) => x.ip === ADDRESS),
      10_000,
      () => 'status on shop',
    );
    expect(await status('other')).toEqual([]);
  });

  it('clears the status when an Ingress leaves our class', async () => {
    await create(ing('leaving', 'leaving.test') as KubernetesObject);
    await waitFor(
      async () => (await status('leaving')).length === 1,
      10_000,
      () => 'status on leaving',
    );
    await upsert(ing('leaving', 'leaving.test', { className: 'nginx' }) as KubernetesObject);
    await waitFor(
      async () => (await status('leaving')).length === 0,
      10_000,
      () => 'status cleared',
    );
  });

  it('records a Normal Sync event on acceptance and a Warning for each diagnostic', async () => {
    await create(ing('broken', 'broken.test', { service: 'missing' }) as KubernetesObject);
    const events = async () =>
      (
        await admin.request<{ items: { reason: string; type: string; involvedObject: { name: string }; message: string }[] }>(
          'GET',
          `/api/v1/namespaces/${NS}/events`,
        )
      ).items;
    await waitFor(
      async () => (await events()).some((e) => e.involvedObject.name === 'broken' && e.reason === 'ServiceNotFound'),
      10_000,
      () => 'the warning event',
    );
    const mine = (await events()).filter((e) => e.involvedObject.name === 'broken');
    expect(mine.find((e) => e.reason === 'Sync')?.type).toBe('Normal');
    expect(mine.find((e) => e.reason === 'ServiceNotFound')).toMatchObject({ type: 'Warning' });
    expect(mine.find((e) => e.reason === 'ServiceNotFound')!.message).toMatch(/missing/);
  });

  it('fails closed on an access-control annotation it does not enforce: a Warning Event, and the route published as 503', async () => {
    await create(
      ing('private', 'private.test', {
        annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'digest' },
      }) as KubernetesObject,
    );
    const events = async () =>
      (
        await admin.request<{ items: { reason: string; type: string; involvedObject: { name: string }; message: string }[] }>(
          'GET',
          `/api/v1/namespaces/${NS}/events`,
        )
      ).items;
    await waitFor(
      async () => (await events()).some((e) => e.involvedObject.name === 'private' && e.reason === 'AccessControlNotEnforced'),
      10_000,
      () => 'the warning event',
    );
    const warning = (await events()).find((e) => e.involvedObject.name === 'private' && e.reason === 'AccessControlNotEnforced')!;
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(/auth-type.*503 \(fail closed\)/);
    await waitFor(
      async () => (await hostOf('private.test')) !== undefined,
      10_000,
      () => 'private.test',
    );
    expect((await hostOf('private.test'))!.routes.map((x) => x.policies.failClosed)).toEqual([['nginx.ingress.kubernetes.io/auth-type']]);
  });

  it('basic authentication (auth.go): an Opaque Secret read by name becomes the policy and encrypted material; a missing Secret is a Warning and 503', async () => {
    const hash = '$2b$04$MyRfZ6SUpIoo0REPdzVO9.Q0FronWrjShye8mizeprPDLOwYu.TFi'; // bcrypt of "bar", cost 4
    await create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: NS, name: 'htpasswd' },
      type: 'Opaque',
      stringData: { auth: `foo:${hash}` },
    } as KubernetesObject);
    const basic = (secret: string) => ({
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': secret,
      'nginx.ingress.kubernetes.io/auth-realm': 'test auth',
    });
    await create(ing('basic', 'basic.test', { annotations: basic('htpasswd') }) as KubernetesObject);
    await create(ing('basic-missing', 'basic-missing.test', { annotations: basic('something') }) as KubernetesObject);
    await waitFor(
      async () =>
        (await hostOf('basic.test'))?.routes[0]?.policies.access?.basicAuth !== undefined &&
        (await hostOf('basic-missing.test')) !== undefined,
      15_000,
      () => 'basic.test with its policy',
    );
    const b = (await published())!;
    const policy = b.table.hosts.find((h) => h.host === 'basic.test')!.routes[0]!.policies.access!.basicAuth!;
    expect(policy).toMatchObject({ realm: 'test auth', secret: `${NS}/htpasswd`, type: 'auth-file' });
    expect(b.basicAuth).toEqual([{ secret: `${NS}/htpasswd`, type: 'auth-file', users: [{ user: 'foo', hash }] }]);
    expect(b.table.hosts.find((h) => h.host === 'basic-missing.test')!.routes.map((x) => x.policies.failClosed)).toEqual([
      ['nginx.ingress.kubernetes.io/auth-secret'],
    ]);
    const events = async () =>
      (
        await admin.request<{ items: { reason: string; type: string; involvedObject: { name: string }; message: string }[] }>(
          'GET',
          `/api/v1/namespaces/${NS}/events`,
        )
      ).items;
    await waitFor(
      async () => (await events()).some((e) => e.involvedObject.name === 'basic-missing' && e.reason === 'SecretNotFound'),
      10_000,
      () => 'the warning event',
    );
    expect((await events()).find((e) => e.involvedObject.name === 'basic-missing' && e.reason === 'SecretNotFound')).toMatchObject({
      type: 'Warning',
    });
    // A changed password: the agent does not watch this Secret, its scheduled re-read (every 10 s) finds it.
    const changed = '$2b$04$jpj1d2ReHD05PSjWu/m2w.iw19NZoSDPFD1St22GY1/mtW12sn6vG'; // bcrypt of "baz", cost 4
    await upsert({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: NS, name: 'htpasswd' },
      type: 'Opaque',
      stringData: { auth: `foo:${changed}` },
    } as KubernetesObject);
    await waitFor(
      async () => (await published())?.basicAuth?.[0]?.users[0]?.hash === changed,
      25_000,
      () => 'the changed password in the published material',
    );
  });

  it('client certificates (authtls.go): the auth-tls-secret read by name puts its ca.crt in the table; a missing one closes the host', async () => {
    const ca = generateSelfSignedCertificate({ commonName: 'agent test client CA', keyType: 'ec' }).certPem;
    await create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: NS, name: 'client-ca' },
      type: 'Opaque',
      stringData: { 'ca.crt': ca },
    } as KubernetesObject);
    const tlsAuth = (secret: string) => ({ 'nginx.ingress.kubernetes.io/auth-tls-secret': `${NS}/${secret}` });
    await create(ing('mtls', 'mtls.test', { annotations: tlsAuth('client-ca') }) as KubernetesObject);
    await create(ing('mtls-missing', 'mtls-missing.test', { annotations: tlsAuth('no-such-ca') }) as KubernetesObject);
    await waitFor(
      async () => (await hostOf('mtls.test'))?.clientCertificate !== undefined && (await hostOf('mtls-missing.test')) !== undefined,
      15_000,
      () => 'mtls.test with its client-certificate policy',
    );
    const b = (await published())!;
    expect(b.table.hosts.find((h) => h.host === 'mtls.test')!.clientCertificate).toMatchObject({
      authority: `${NS}/client-ca`,
      verify: 'on',
      depth: 1,
    });
    expect(b.table.clientCertificateAuthorities).toEqual([{ id: `${NS}/client-ca`, caPem: `${ca.trim()}\n` }]);
    expect(b.table.hosts.find((h) => h.host === 'mtls-missing.test')!.routes.map((x) => x.policies.failClosed)).toEqual([
      ['nginx.ingress.kubernetes.io/auth-tls-secret'],
    ]);
  });
});

describe('JWT keys', () => {
  it('a ConfigMap named by portico.dev/auth-jwt-jwks-configmap is read by name (RBAC: get configmaps) into the table; a missing one is a Warning and 503', async () => {
    const key = { ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)), kid: 'k1' };
    await create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: NS, name: 'jwks' },
      data: { 'jwks.json': JSON.stringify({ keys: [key] }) },
    } as KubernetesObject);
    const jwt = (cm: string) => ({ 'portico.dev/auth-jwt-jwks-configmap': cm, 'portico.dev/auth-jwt-issuer': 'https://issuer.test/' });
    await create(ing('jwt', 'jwt.test', { annotations: jwt('jwks') }) as KubernetesObject);
    await create(ing('jwt-missing', 'jwt-missing.test', { annotations: jwt('nope') }) as KubernetesObject);
    await waitFor(
      async () =>
        (await hostOf('jwt.test'))?.routes[0]?.policies.access?.jwt !== undefined && (await hostOf('jwt-missing.test')) !== undefined,
      15_000,
      () => 'jwt.test with its policy',
    );
    const b = (await published())!;
    expect(b.table.schema).toBe(4);
    expect(b.table.hosts.find((h) => h.host === 'jwt.test')!.routes[0]!.policies.access!.jwt).toMatchObject({
      source: `configmap:${NS}/jwks`,
      keys: [key],
      issuer: 'https://issuer.test/',
    });
    expect(b.table.hosts.find((h) => h.host === 'jwt-missing.test')!.routes.map((x) => x.policies.failClosed)).toEqual([
      ['portico.dev/auth-jwt-jwks-configmap'],
    ]);
  });
});

describe('auth-proxy-set-headers', () => {
  it('the ConfigMap it names is read by name (RBAC: get configmaps) into the external auth policy; a missing one is a Warning and 503', async () => {
    await create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: NS, name: 'auth-headers' },
      data: { 'My-Custom-Header': '42', 'X-Forwarded-Host': '$http_host' },
    } as KubernetesObject);
    const authed = (cm: string) => ({
      'nginx.ingress.kubernetes.io/auth-url': 'http://auth.test/check',
      'nginx.ingress.kubernetes.io/auth-proxy-set-headers': cm,
    });
    await create(ing('aph', 'aph.test', { annotations: authed(`${NS}/auth-headers`) }) as KubernetesObject);
    await create(ing('aph-missing', 'aph-missing.test', { annotations: authed('no-such-headers') }) as KubernetesObject);
    await waitFor(
      async () =>
        (await hostOf('aph.test'))?.routes[0]?.policies.access?.externalAuth !== undefined &&
        (await hostOf('aph-missing.test')) !== undefined,
      15_000,
      () => 'aph.test with its external auth policy',
    );
    const b = (await published())!;
    expect(b.table.schema).toBe(4);
    expect(b.table.hosts.find((h) => h.host === 'aph.test')!.routes[0]!.policies.access!.externalAuth).toEqual({
      url: 'http://auth.test/check',
      proxySetHeaders: [
        ['my-custom-header', '42'],
        ['x-forwarded-host', '$http_host'],
      ],
    });
    expect(b.table.hosts.find((h) => h.host === 'aph-missing.test')!.routes.map((x) => x.policies.failClosed)).toEqual([
      ['nginx.ingress.kubernetes.io/auth-proxy-set-headers'],
    ]);
  });
});

const noNetns = netnsUnavailable();
describe.skipIf(noNetns !== null)(`traffic to an endpoint the apiserver accepts${noNetns ? ` (skipped: ${noNetns})` : ''}`, () => {
  let backend: NetnsBackend;
  let worker: Running;
  beforeAll(async () => {
    backend = await startNetnsBackend('portico-k8s-test', 1, 8080, 'in-netns');
    await create(svc('ns-web') as KubernetesObject);
    await create(slice('ns-web', [backend.address]) as KubernetesObject);
    await create(ing('traffic', 'traffic.test', { service: 'ns-web' }) as KubernetesObject);
    worker = await startServing([
      'worker',
      '--redis',
      redis.url,
      '--cluster',
      'k8s',
      '--keys',
      join(tmp, 'keys'),
      '--cache-file',
      'off',
      '--poll',
      '500ms',
    ]);
  });
  afterAll(async () => {
    await worker?.stop();
    await backend?.close();
  });
  it('a worker fed by the agent routes a request to the backend named in the EndpointSlice', async () => {
    await waitFor(
      async () => (await request(`${worker.http}/hello`, { host: 'traffic.test' })).status === 200,
      15_000,
      () => 'the route',
    );
    const reply = JSON.parse((await request(`${worker.http}/hello`, { host: 'traffic.test' })).body) as {
      backend: string;
      url: string;
      host: string;
    };
    expect(reply).toMatchObject({ backend: 'in-netns', url: '/hello', host: 'traffic.test' });
  });
});

describe('least privilege', () => {
  const can = (verb: string, resource: string, o: Access = {}) => canI(cluster.agentKubeconfig, verb, resource, o);
  it.each([
    ['watch ingresses', 'watch', 'ingresses', { group: 'networking.k8s.io' }],
    ['list endpointslices', 'list', 'endpointslices', { group: 'discovery.k8s.io' }],
    ['list secrets', 'list', 'secrets', {}],
    ['patch ingress status', 'patch', 'ingresses', { group: 'networking.k8s.io', namespace: NS, subresource: 'status' }],
    ['create events', 'create', 'events', { namespace: NS }],
    ['update its lease', 'update', 'leases', { group: 'coordination.k8s.io', namespace: 'portico-system', name: 'portico-sync' }],
    ['update its status ledger', 'update', 'configmaps', { namespace: 'portico-system', name: 'portico-sync-status' }],
    ['update its Event ledger', 'update', 'configmaps', { namespace: 'portico-system', name: 'portico-sync-events' }],
  ] as const)('allowed: %s', async (_n, verb, resource, o) => expect(await can(verb, resource, o)).toBe(true));
  it.each([
    ['write secrets', 'create', 'secrets', { namespace: NS }],
    ['update secrets', 'update', 'secrets', { namespace: NS, name: 'shop-tls' }],
    ['read pods', 'list', 'pods', {}],
    ['update ingresses (spec)', 'update', 'ingresses', { group: 'networking.k8s.io', namespace: NS }],
    ['delete ingresses', 'delete', 'ingresses', { group: 'networking.k8s.io', namespace: NS }],
    [
      "update another component's lease",
      'update',
      'leases',
      { group: 'coordination.k8s.io', namespace: 'portico-system', name: 'kube-scheduler' },
    ],
    ['take leases in other namespaces', 'create', 'leases', { group: 'coordination.k8s.io', namespace: 'kube-system' }],
    ['update another ConfigMap of its namespace', 'update', 'configmaps', { namespace: 'portico-system', name: 'kube-root-ca.crt' }],
    ['create ConfigMaps in other namespaces', 'create', 'configmaps', { namespace: NS }],
    ['anything cluster-admin', '*', '*', { group: '*' }],
  ] as const)('denied: %s', async (_n, verb, resource, o) => expect(await can(verb, resource, o)).toBe(false));
});

describe('resilience', () => {
  it('restarts its informers after the apiserver is stopped and started again', async () => {
    await cluster.stopApiserver();
    await new Promise((res) => setTimeout(res, 1500));
    await cluster.startApiserver();
    await create(ing('after-restart', 'after-restart.test') as KubernetesObject);
    await waitFor(
      async () => (await hostOf('after-restart.test')) !== undefined,
      45_000,
      () => `the agent to recover:\n${agents[0]!.p.logs().slice(-3000)}`,
    );
    expect(await metric(agents[0]!, 'portico_sync_informer_restarts_total')).toBeGreaterThan(0);
  });

  // What these two check is read from the Lease's history (a watch), not from how long the test waited: on a
  // busy machine every step takes longer, but the order of the writes and the times the agents wrote into
  // them stay meaningful. The waits below only bound how long a broken agent may keep the test running.
  it('a second replica stands by, then takes over once the lease of a leader that died has run out', async () => {
    // B's own lease is long (20 s) so that the next test can tell a release from an expiry.
    const b = await startAgent('agent-b', '20s');
    await waitFor(
      async () => (await request(`${b.admin}/readyz`)).body.includes('standby'),
      20_000,
      () => `agent-b standby:\n${b.p.logs()}`,
    );
    expect(await metric(agents[0]!, 'portico_sync_leader')).toBe(1);
    expectWellFormedExposition((await request(`${agents[0]!.admin}/metrics`)).body);
    const lease = await watchLease();
    try {
      expect(heldBy('agent-a')(lease.records[0]!), describeLease(lease.records)).toBe(true);
      agents[0]!.p.child.kill('SIGKILL'); // no graceful release: B must wait for the lease to expire
      await waitFor(
        () => lease.records.some(heldBy('agent-b')) || lease.ended() !== null,
        30_000,
        () => `agent-b to take the lease:\n${describeLease(lease.records)}\n${b.p.logs()}`,
      );
      expect(lease.ended(), describeLease(lease.records)).toBeNull();
      const taken = lease.records.findIndex(heldBy('agent-b'));
      const before = lease.records[taken - 1]!;
      const took = lease.records[taken]!;
      // A never released it (it was killed): B's write follows A's last renewal directly.
      expect(heldBy('agent-a')(before), describeLease(lease.records)).toBe(true);
      expect(took.leaseTransitions).toBe((before.leaseTransitions ?? 0) + 1);
      // B waited for A's 10 s lease to run out before taking it, on its own clock from when it saw that
      // renewal (read just before its GET, so allow up to 1 s of that request): never while A could lead.
      expect(before.leaseDurationSeconds).toBe(10);
      expect(ms(took.acquireTime) - ms(before.renewTime), describeLease(lease.records)).toBeGreaterThanOrEqual(10_000 - 1_000);
    } finally {
      lease.stop();
    }
    await waitFor(
      async () => (await metric(b, 'portico_sync_leader')) === 1,
      10_000,
      () => `agent-b to report leading:\n${b.p.logs()}`,
    );
    await create(ing('after-failover', 'after-failover.test') as KubernetesObject);
    await waitFor(
      async () => (await hostOf('after-failover.test')) !== undefined,
      10_000,
      () => 'agent-b to publish',
    );
  }, 90_000);

  it('a leader that shuts down cleanly releases the lease, exits 0, and the standby takes over before it could expire', async () => {
    const b = agents[1]!;
    const c = await startAgent('agent-c');
    await waitFor(
      async () => (await request(`${c.admin}/readyz`)).body.includes('standby'),
      20_000,
      () => `agent-c standby:\n${c.p.logs()}`,
    );
    const lease = await watchLease();
    try {
      expect(heldBy('agent-b')(lease.records[0]!), describeLease(lease.records)).toBe(true);
      expect(await b.p.stop()).toBe(0);
      // Long enough for C to take B's 20 s lease by expiry too, so a missing release fails on the checks below.
      await waitFor(
        () => lease.records.some(heldBy('agent-c')) || lease.ended() !== null,
        40_000,
        () => `agent-c to take the lease:\n${describeLease(lease.records)}\n${c.p.logs()}`,
      );
      expect(lease.ended(), describeLease(lease.records)).toBeNull();
      const taken = lease.records.findIndex(heldBy('agent-c'));
      const lastRenewal = lease.records.findLast((x, i) => i < taken && heldBy('agent-b')(x))!;
      const released = lease.records[taken - 1]!;
      // B's last write gave the lease up: no holder, renewTime at the epoch, the rest kept.
      expect(released, describeLease(lease.records)).toMatchObject({ renewTime: RELEASED_RENEW_TIME, leaseDurationSeconds: 20 });
      expect(holder(released), describeLease(lease.records)).toBe('');
      expect(lease.records.indexOf(released)).toBe(lease.records.indexOf(lastRenewal) + 1);
      // C took it well before B's 20 s lease could have run out: the release handed it over, not expiry.
      expect(ms(lease.records[taken]!.acquireTime) - ms(lastRenewal.renewTime), describeLease(lease.records)).toBeLessThan(20_000);
    } finally {
      lease.stop();
    }
    await waitFor(
      async () => (await metric(c, 'portico_sync_leader')) === 1,
      10_000,
      () => `agent-c to report leading:\n${c.p.logs()}`,
    );
    await create(ing('after-handover', 'after-handover.test') as KubernetesObject);
    await waitFor(
      async () => (await hostOf('after-handover.test')) !== undefined,
      10_000,
      () => 'agent-c to publish',
    );
  }, 90_000);

  it('an agent that starts while the apiserver is down is not ready until every informer has listed', async () => {
    await cluster.stopApiserver();
    const d = await startAgent('agent-d');
    try {
      await waitFor(
        async () => (await request(`${d.admin}/readyz`)).status === 503,
        15_000,
        () => `agent-d admin:\n${d.p.logs()}`,
      );
      await new Promise((res) => setTimeout(res, 1500)); // failed lists must not count as synced
      expect((await request(`${d.admin}/readyz`)).body).toMatch(/informers not synced/);
    } finally {
      await cluster.startApiserver();
    }
    await waitFor(
      async () => (await request(`${d.admin}/readyz`)).status === 200,
      30_000,
      () => `agent-d to sync:\n${d.p.logs().slice(-2000)}`,
    );
    expect((await request(`${d.admin}/readyz`)).body).toMatch(/standby/);
  });
});
