// The Helm chart as rendered by the real helm: lint, golden renderings of every documented value
// set (UPDATE_GOLDEN=1 rewrites them, so each chart change is reviewed as a diff; that run compares nothing,
// reports those tests as skipped and is refused under CI), the security properties
// every rendering must keep, the RBAC rules being exactly infra/rbac/agent.yaml's, clear errors for bad
// values, and the README's values reference matching values.yaml.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { README_FILE, valuesReference, VALUES_FILE, withReference } from '../../infra/helm/values-reference.ts';
import { CHART, find, helm, manifests, podSpec, render, VALUE_SETS, VALUES_DIR, worker, type Manifest, type PodSpec } from './chart.ts';

const bin = inject('helmBin');
const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
// A CI run that rewrote the goldens would compare every rendering with itself and pass whatever changed.
if (UPDATE && (process.env.CI ?? '') !== '') {
  throw new Error(
    `UPDATE_GOLDEN=1 is refused when CI is set (CI=${process.env.CI}): CI must compare against the committed goldens. Regenerate them locally and commit the reviewed diff.`,
  );
}

describe('helm lint', () => {
  it.each(VALUE_SETS)('%s', (set) => {
    const r = helm(bin, ['lint', '--strict', CHART, '-f', `${VALUES_DIR}${set}.yaml`]);
    expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });
});

describe('golden renderings (UPDATE_GOLDEN=1 to rewrite)', () => {
  it.for(VALUE_SETS)(`%s${UPDATE ? ' (UPDATE_GOLDEN=1: written, not compared)' : ''}`, (set, ctx) => {
    const out = render(bin, set);
    const file = `${GOLDEN}${set}.yaml`;
    if (UPDATE) {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(file, out);
      ctx.skip(`UPDATE_GOLDEN=1: wrote ${file}; review the diff, then run without UPDATE_GOLDEN to compare`);
    }
    expect(existsSync(file), `${file} is missing: run UPDATE_GOLDEN=1 npx vitest run test/helm`).toBe(true);
    expect(out).toBe(readFileSync(file, 'utf8'));
  });
});

const workloads = (all: Manifest[]) =>
  all.filter((m) => ['Deployment', 'DaemonSet', 'Job'].includes(m.kind) && m.metadata.name.startsWith('edge-portico'));

// The per-container checks below loop over what the chart rendered; a workload (or a whole rendering) that
// lost its containers would leave them nothing to check and let them pass. So the loops go through these,
// which first assert what must be there.
const valuesOf = (set: string) =>
  (parse(readFileSync(`${VALUES_DIR}${set}.yaml`, 'utf8')) ?? {}) as {
    tunnel?: { enabled?: boolean };
    worker?: { hostNetwork?: boolean; kind?: string; ports?: { http?: number; https?: number } };
  };

/** The workloads of a rendering; the worker (a DaemonSet, or a Deployment with worker.kind) and the sync
 * Deployment are always among them. */
function workloadsOf(all: Manifest[], set = 'defaults'): Manifest[] {
  const ws = workloads(all);
  expect(ws.map((w) => `${w.kind}/${w.metadata.name}`)).toEqual(
    expect.arrayContaining([`${valuesOf(set).worker?.kind ?? 'DaemonSet'}/edge-portico-worker`, 'Deployment/edge-portico-sync']),
  );
  return ws;
}

/** A workload's containers, after checking they are exactly the ones it must have in value set `set`. */
function containersOf(set: string, w: Manifest): PodSpec['containers'] {
  const want: Record<string, string[]> = {
    [`${valuesOf(set).worker?.kind ?? 'DaemonSet'}/edge-portico-worker`]:
      valuesOf(set).tunnel?.enabled === true ? ['worker', 'tunnel'] : ['worker'],
    'Deployment/edge-portico-sync': ['sync'],
    'Deployment/edge-portico-redis': ['redis'],
    'Job/edge-portico-keys': ['keys'],
  };
  const key = `${w.kind}/${w.metadata.name}`;
  const containers = podSpec(w).containers ?? [];
  expect(
    containers.map((c) => c.name),
    `${key} (${set}) containers`,
  ).toEqual(want[key] ?? [`(a workload this test does not know: ${key})`]);
  return containers;
}

describe('security properties of every rendering', () => {
  it.each(VALUE_SETS)(
    '%s: no privilege escalation, read-only root, capabilities dropped, non-root unless binding low node ports',
    (set) => {
      const all = manifests(render(bin, set));
      const values = valuesOf(set);
      const bindsLow =
        values.worker?.hostNetwork === true && ((values.worker.ports?.http ?? 80) < 1024 || (values.worker.ports?.https ?? 443) < 1024);
      for (const w of workloadsOf(all, set)) {
        const spec = podSpec(w);
        for (const c of containersOf(set, w)) {
          const sc = c.securityContext as {
            allowPrivilegeEscalation: boolean;
            readOnlyRootFilesystem: boolean;
            capabilities: { drop: string[]; add?: string[] };
          };
          expect(sc.allowPrivilegeEscalation, `${w.metadata.name}`).toBe(false);
          expect(sc.readOnlyRootFilesystem).toBe(true);
          expect(sc.capabilities.drop).toEqual(['ALL']);
          // Only the worker container itself binds the node's low ports; the tunnel beside it binds a socket.
          const lowPorts = w.metadata.name.endsWith('-worker') && bindsLow && c.name === 'worker';
          expect(sc.capabilities.add ?? [], `${w.metadata.name}/${c.name} capabilities`).toEqual(lowPorts ? ['NET_BIND_SERVICE'] : []);
          const nonRoot = (c.securityContext as { runAsNonRoot?: boolean }).runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
          expect(nonRoot, `${w.metadata.name}/${c.name} runAsNonRoot`).toBe(!lowPorts);
        }
      }
    },
  );

  it.each(VALUE_SETS)('%s: workers have no Kubernetes token and no RBAC binding', (set) => {
    const all = manifests(render(bin, set));
    const ds = worker(all);
    expect(podSpec(ds).automountServiceAccountToken).toBe(false);
    const workerSa = podSpec(ds).serviceAccountName as string;
    expect(find(all, 'ServiceAccount', '-worker').automountServiceAccountToken).toBe(false);
    const bound = all.filter((m) => m.kind.endsWith('Binding')).flatMap((b) => (b.subjects as { name: string }[]).map((s) => s.name));
    expect(bound).not.toContain(workerSa);
  });

  it.each(VALUE_SETS)('%s: workers mount only the public share of the keys', (set) => {
    const all = manifests(render(bin, set));
    const secretOf = (m: Manifest) =>
      (podSpec(m).volumes as { name: string; secret?: { secretName: string } }[]).find((v) => v.name === 'keys')!.secret!.secretName;
    expect(secretOf(worker(all))).not.toBe(secretOf(find(all, 'Deployment', '-sync')));
  });

  it.each(VALUE_SETS)('%s: every Portico container runs the compiled build (dist/), not the TypeScript sources', (set) => {
    for (const w of workloadsOf(manifests(render(bin, set)), set)) {
      for (const c of containersOf(set, w).filter((x) => String(x.image).includes('/portico:'))) {
        expect(c.command, `${w.metadata.name}/${c.name}`).toEqual(['/nodejs/bin/node', '/app/dist/cli/portico.js']);
      }
    }
  });

  it.each(VALUE_SETS)('%s: every Portico container has a writable /tmp (the table cache; the root filesystem is read-only)', (set) => {
    for (const w of workloadsOf(manifests(render(bin, set)), set)) {
      const ours = containersOf(set, w).filter((x) => String(x.image).includes('/portico:'));
      // Every container but the bundled Redis runs the Portico image (an image naming change must not empty this).
      expect(ours.length, `${w.metadata.name}: Portico containers`).toBe(
        w.metadata.name.endsWith('-redis') ? 0 : podSpec(w).containers.length,
      );
      for (const c of ours) {
        const mounts = (c.volumeMounts ?? []) as { name: string; mountPath: string; readOnly?: boolean }[];
        const tmp = mounts.find((m) => m.mountPath === '/tmp');
        expect(tmp, `${w.metadata.name}/${c.name} mounts /tmp`).toBeDefined();
        expect(tmp!.readOnly ?? false).toBe(false);
        expect((podSpec(w).volumes as { name: string; emptyDir?: unknown }[]).find((v) => v.name === tmp!.name)?.emptyDir).toBeDefined();
      }
    }
  });

  it('no Redis password or CA ever lands in arguments or plain env values', () => {
    const all = manifests(render(bin, 'external-redis-tls'));
    for (const w of workloadsOf(all)) {
      for (const c of containersOf('external-redis-tls', w)) {
        expect((c.args ?? []).join(' ')).not.toMatch(/redis|password/i);
        const pw = (c.env ?? []).find((e) => e.name === 'PORTICO_REDIS_PASSWORD');
        if (w.kind !== 'Job')
          expect(pw).toEqual({ name: 'PORTICO_REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'portico-redis', key: 'password' } } });
      }
    }
  });

  it.each(VALUE_SETS)("%s: probes use the admin endpoints on each container's admin port", (set) => {
    for (const w of workloadsOf(manifests(render(bin, set)), set).filter((m) => m.kind !== 'Job' && !m.metadata.name.endsWith('-redis'))) {
      for (const c of containersOf(set, w)) {
        const admin = (c.ports as { name: string }[]).find((p) => p.name.endsWith('admin'))!.name;
        expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: admin } });
        expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: admin } });
      }
    }
  });
});

describe('what operators choose', () => {
  const ports = (set: string) => {
    const c = podSpec(worker(manifests(render(bin, set))));
    return {
      hostNetwork: c.hostNetwork ?? false,
      ports: (c.containers[0]!.ports as { name: string; containerPort: number; hostPort?: number }[]).map((p) => [
        p.name,
        p.containerPort,
        p.hostPort ?? null,
      ]),
    };
  };
  it.each([
    [
      'defaults',
      {
        hostNetwork: false,
        ports: [
          ['http', 8080, 80],
          ['https', 8443, 443],
          ['admin', 9181, null],
        ],
      },
    ],
    [
      'host-network',
      {
        hostNetwork: true,
        ports: [
          ['http', 80, null],
          ['https', 443, null],
          ['admin', 9181, null],
        ],
      },
    ],
    [
      'host-network-high-ports',
      {
        hostNetwork: true,
        ports: [
          ['http', 8080, null],
          ['https', 8443, null],
          ['admin', 10254, null],
        ],
      },
    ],
  ])('%s: node ports', (set, want) => {
    expect(ports(set)).toEqual(want);
  });

  it.each([
    ['defaults', { hook: true, redis: true, pdb: true, monitor: false, defaultClass: false }],
    ['external-redis-tls', { hook: true, redis: false, pdb: true, monitor: false, defaultClass: true }],
    ['existing-keys', { hook: false, redis: false, pdb: true, monitor: false, defaultClass: false }],
    ['monitoring', { hook: true, redis: false, pdb: false, monitor: true, defaultClass: null }],
    ['redis-sentinel', { hook: true, redis: false, pdb: true, monitor: false, defaultClass: false }],
    ['redis-cluster', { hook: true, redis: false, pdb: true, monitor: false, defaultClass: false }],
  ])('%s: which optional parts render', (set, want) => {
    const all = manifests(render(bin, set));
    const has = (kind: string, suffix = '') => all.some((m) => m.kind === kind && m.metadata.name.endsWith(suffix));
    const cls = all.find((m) => m.kind === 'IngressClass');
    expect({
      hook: has('Job', '-keys'),
      redis: has('Deployment', '-redis'),
      pdb: has('PodDisruptionBudget'),
      monitor: has('ServiceMonitor'),
      defaultClass: cls === undefined ? null : cls.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true',
    }).toEqual(want);
  });

  const exposure = (set: string) => {
    const all = manifests(render(bin, set));
    const w = worker(all);
    const svc = all.find((m) => m.kind === 'Service' && m.metadata.name === 'edge-portico-worker');
    const hpa = all.find((m) => m.kind === 'HorizontalPodAutoscaler');
    const spec = (svc?.spec ?? {}) as {
      type?: string;
      externalTrafficPolicy?: string;
      ports?: { port: number; targetPort: string; nodePort?: number }[];
    };
    const syncArgs = podSpec(find(all, 'Deployment', '-sync')).containers[0]!.args ?? [];
    return {
      worker: `${w.kind}${(w.spec as { replicas?: number }).replicas === undefined ? '' : ` x${(w.spec as { replicas: number }).replicas}`}`,
      hostPorts: (podSpec(w).containers[0]!.ports as { hostPort?: number }[]).some((p) => p.hostPort !== undefined),
      service:
        svc === undefined
          ? null
          : `${spec.type} ${spec.externalTrafficPolicy} ${spec.ports!.map((p) => `${p.port}->${p.targetPort}${p.nodePort ? `@${p.nodePort}` : ''}`).join(' ')}`,
      hpa:
        hpa === undefined
          ? null
          : `${(hpa.spec as { minReplicas: number }).minReplicas}-${(hpa.spec as { maxReplicas: number }).maxReplicas}`,
      agent: syncArgs.filter((a) => /^--(publish|serve-class|write-status|watch-ingress)/.test(a)),
    };
  };
  it.each([
    ['defaults', { worker: 'DaemonSet', hostPorts: true, service: null, hpa: null, agent: [] }],
    [
      'loadbalancer-deployment',
      {
        worker: 'Deployment',
        hostPorts: false,
        service: 'LoadBalancer Local 80->http 443->https',
        hpa: '3-12',
        agent: ['--serve-class=nginx', '--publish-service=portico/edge-portico-worker'],
      },
    ],
    [
      'nodeport-daemonset',
      {
        worker: 'DaemonSet',
        hostPorts: false,
        service: 'NodePort Local 80->http@30080 443->https@30443',
        hpa: null,
        agent: [
          '--serve-class=nginx',
          '--watch-ingress-without-class=true',
          '--write-status=false',
          '--publish-service=portico/edge-portico-worker',
        ],
      },
    ],
  ])('%s: exposure, and what the agent publishes and serves', (set, want) => {
    expect(exposure(set)).toEqual(want);
  });

  it.each([
    [
      'a Deployment without autoscaling has worker.replicas',
      ['worker.exposure=LoadBalancer', 'worker.kind=Deployment', 'worker.replicas=4'],
      'Deployment x4',
    ],
    [
      'fixed publish addresses win over the worker Service',
      ['worker.exposure=LoadBalancer', 'sync.publishAddresses={203.0.113.5}'],
      '--publish-address=203.0.113.5',
    ],
    [
      'sync.publishService names another Service',
      ['worker.exposure=NodePort', 'sync.publishService=edge/front-lb'],
      '--publish-service=edge/front-lb',
    ],
  ])('%s', (_n, set, want) => {
    const all = manifests(helm(bin, ['template', 'edge', CHART, '--namespace', 'portico', ...set.flatMap((x) => ['--set', x])]).stdout);
    const w = worker(all);
    const args = podSpec(find(all, 'Deployment', '-sync')).containers[0]!.args ?? [];
    expect([`${w.kind} x${(w.spec as { replicas?: number }).replicas}`, ...args]).toContain(want);
  });

  it('the key hook runs before install and upgrade, and its identity is deleted after it succeeds', () => {
    const all = manifests(render(bin, 'defaults'));
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding', 'Job']) {
      expect(find(all, kind, '-keys').metadata.annotations).toMatchObject({
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      });
    }
    expect(podSpec(find(all, 'Job', '-keys')).containers[0]!.args).toEqual([
      'keys',
      'ensure-secrets',
      '--in-cluster',
      '--namespace=portico',
      '--agent-secret=edge-portico-sync-keys',
      '--worker-secret=edge-portico-worker-keys',
      '--redis-secret=edge-portico-redis-password',
    ]);
    // With keys given and an external Redis there is nothing to make: no hook at all.
    expect(manifests(render(bin, 'existing-keys')).some((m) => m.metadata.annotations?.['helm.sh/hook'] !== undefined)).toBe(false);
  });
});

describe('RBAC is exactly infra/rbac/agent.yaml', () => {
  const reference = parseAllDocuments(readFileSync(fileURLToPath(new URL('../../infra/rbac/agent.yaml', import.meta.url)), 'utf8')).map(
    (d) => d.toJSON() as Manifest,
  );
  const rules = (all: Manifest[], kind: string) =>
    all.filter((m) => m.kind === kind && !m.metadata.name.endsWith('-keys')).map((m) => m.rules);
  it.each(['ClusterRole', 'Role'])('%s rules', (kind) => {
    const chart = manifests(render(bin, 'defaults'));
    const want = rules(reference, kind).map((r) =>
      JSON.stringify(r).replaceAll(/"portico-sync(-status|-events)?"/g, '"edge-portico-sync$1"'),
    );
    expect(rules(chart, kind).map((r) => JSON.stringify(r))).toEqual(want);
  });
});

describe('bad values: one clear error, nothing rendered', () => {
  it.each([
    ['a misspelt value', ['worker.hostNetwrk=true'], /additional properties 'hostNetwrk' not allowed/],
    ['a duration as a number', ['worker.readTimeout=10'], /\/worker\/readTimeout': got number, want string/],
    ['a cluster name that is not a DNS label', ['cluster=Prod_1'], /\/cluster'.*does not match pattern/],
    ['a Redis URL that is not redis://', ['redis.url=http://redis:6379'], /\/redis\/url'.*does not match pattern/],
    [
      'a CA for a plain redis:// URL',
      ['redis.url=redis://r:6379', 'redis.caSecret=ca'],
      /redis.caSecret: only meaningful with a rediss:\/\/ redis.url/,
    ],
    [
      'a password Secret for the bundled Redis',
      ['redis.passwordSecret=pw'],
      /redis.passwordSecret is for an external redis.url; the bundled trial Redis gets a generated password/,
    ],
    [
      'a Redis URL and sentinels',
      ['redis.url=redis://r:6379', 'redis.sentinel.hosts={s:26379}', 'redis.sentinel.masterName=m'],
      /redis: give exactly one of redis.url, redis.sentinel.hosts, redis.clusterNodes/,
    ],
    [
      'sentinels and cluster nodes',
      ['redis.sentinel.hosts={s:26379}', 'redis.sentinel.masterName=m', 'redis.clusterNodes={n:6379}'],
      /redis: give exactly one of redis.url, redis.sentinel.hosts, redis.clusterNodes/,
    ],
    ['sentinels without a master name', ['redis.sentinel.hosts={s:26379}'], /redis.sentinel: give both hosts and masterName/],
    [
      'a sentinel without a port',
      ['redis.sentinel.hosts={s}', 'redis.sentinel.masterName=m'],
      /\/redis\/sentinel\/hosts\/0'.*does not match pattern/,
    ],
    ['a cluster node without a port', ['redis.clusterNodes={n}'], /\/redis\/clusterNodes\/0'.*does not match pattern/],
    [
      'a sentinel password Secret without sentinels',
      ['redis.url=redis://r:6379', 'redis.sentinel.passwordSecret=sp'],
      /redis.sentinel.passwordSecret \/ caSecret: only meaningful with redis.sentinel.hosts/,
    ],
    [
      'credentials in the Redis URL',
      ['redis.url=redis://:hunter2@r:6379'],
      /redis.url: no credentials in the URL \(it is visible in the pod spec\)/,
    ],
    [
      'a PodDisruptionBudget that blocks every drain',
      ['sync.podDisruptionBudget.minAvailable=2'],
      /minAvailable must be below sync.replicas/,
    ],
    ['a worker surge onto held node ports', ['worker.updateStrategy.rollingUpdate.maxSurge=1'], /maxSurge must be 0/],
    [
      'only one of the two key Secrets',
      ['keys.existingSecret=a'],
      /give both keys.existingSecret and keys.existingWorkerSecret, or neither/,
    ],
    ['the agent Secret handed to workers', ['keys.existingSecret=a', 'keys.existingWorkerSecret=a'], /workers never get the signing key/],
    ['a node port out of range', ['worker.ports.http=70000'], /\/worker\/ports\/http'.*maximum/],
    [
      'a worker Deployment on host ports',
      ['worker.kind=Deployment'],
      /worker.kind Deployment needs worker.exposure LoadBalancer or NodePort/,
    ],
    [
      'hostNetwork behind a Service',
      ['worker.exposure=LoadBalancer', 'worker.hostNetwork=true'],
      /worker.hostNetwork is for worker.exposure hostPort/,
    ],
    [
      'autoscaling a DaemonSet',
      ['worker.exposure=LoadBalancer', 'worker.autoscaling.enabled=true'],
      /worker.autoscaling needs worker.kind Deployment/,
    ],
    [
      'the peer gateway in a worker Deployment',
      [
        'worker.exposure=LoadBalancer',
        'worker.kind=Deployment',
        'tunnel.enabled=true',
        'multicluster.gateway.enabled=true',
        'multicluster.gateway.tlsSecret=tls',
        'multicluster.gateway.trust[0].cluster=b',
        'multicluster.gateway.trust[0].publicKeySecret=k',
      ],
      /multicluster.gateway needs worker.kind DaemonSet/,
    ],
    ['an exposure that does not exist', ['worker.exposure=Ingress'], /\/worker\/exposure'.*value must be one of/],
    [
      'both a publish Service and fixed addresses',
      ['sync.publishService=a/b', 'sync.publishAddresses={203.0.113.5}'],
      /sync.publishService and sync.publishAddresses exclude each other/,
    ],
    [
      'a served class that is not a class name',
      ['ingressClass.serveClasses={Nginx}'],
      /\/ingressClass\/serveClasses\/0'.*does not match pattern/,
    ],
    ['the PROXY protocol without trusted proxies', ['worker.proxyProtocol=true'], /worker.proxyProtocol needs worker.trustedProxies/],
    [
      'peers without the tunnel',
      ['multicluster.peers[0].cluster=b', 'multicluster.peers[0].gateway=https://gw:9443', 'multicluster.peers[0].keysSecret=k'],
      /peers and the gateway run in the node-local tunnel; set tunnel.enabled=true/,
    ],
    [
      'peers without a tunnel key',
      [
        'tunnel.enabled=true',
        'multicluster.peers[0].cluster=b',
        'multicluster.peers[0].gateway=https://gw:9443',
        'multicluster.peers[0].keysSecret=k',
      ],
      /multicluster.peers needs multicluster.tunnelKeySecret/,
    ],
    [
      'this cluster as its own peer',
      [
        'tunnel.enabled=true',
        'multicluster.tunnelKeySecret=t',
        'multicluster.peers[0].cluster=default',
        'multicluster.peers[0].gateway=https://gw:9443',
        'multicluster.peers[0].keysSecret=k',
      ],
      /default is this cluster's own name/,
    ],
    [
      'a gateway trusting nobody',
      ['tunnel.enabled=true', 'multicluster.gateway.enabled=true', 'multicluster.gateway.tlsSecret=tls'],
      /gateway needs gateway.tlsSecret and at least one gateway.trust entry/,
    ],
    [
      'a peer gateway that is not https',
      [
        'tunnel.enabled=true',
        'multicluster.tunnelKeySecret=t',
        'multicluster.peers[0].cluster=b',
        'multicluster.peers[0].gateway=http://gw:9443',
        'multicluster.peers[0].keysSecret=k',
      ],
      /\/multicluster\/peers\/0\/gateway'.*does not match pattern/,
    ],
    ['an agent heap limit too small to hold its code', ['sync.heapLimitMiB=64'], /\/sync\/heapLimitMiB.*minimum: got 64, want 128/s],
  ])('%s', (_n, set, message) => {
    const r = helm(bin, ['template', 'edge', CHART, ...set.flatMap((s) => ['--set', s])]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});

describe('README values reference', () => {
  it('matches values.yaml (npm run chart-docs regenerates it)', () => {
    const readme = readFileSync(README_FILE, 'utf8');
    expect(readme).toBe(withReference(readme, valuesReference(readFileSync(VALUES_FILE, 'utf8'))));
  });

  it('a value without a comment is refused', () => {
    expect(() => valuesReference('a:\n  # documented\n  b: 1\n  c: 2\n')).toThrow(/a\.c has no comment above it/);
  });
});
