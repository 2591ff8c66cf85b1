// A real test cluster: etcd and kube-apiserver built from the Go module proxy (test/k8s/build.sh), started
// on loopback with throw-away certificates, an admin identity and the agent's restricted identity, and
// stopped again (only what this module started). No kubelet, no controllers: objects exist, nothing runs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { freePort, waitFor } from '../support/process.ts';

const BUILD = fileURLToPath(new URL('./build.sh', import.meta.url));

/** The agent's identity: the ServiceAccount the Helm chart creates, authenticated by a static token. */
export const AGENT_NAMESPACE = 'portico-system';
export const AGENT_SERVICE_ACCOUNT = 'portico-sync';

/** Builds the binaries if needed (minutes, once) and returns their directory. */
export function buildBinaries(): string {
  const r = spawnSync(BUILD, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`test/k8s/build.sh failed with status ${r.status}`);
  return r.stdout.trim().split('\n').at(-1)!;
}

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makeCertificates(dir: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=portico-test-ca',
  );
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver');
  writeFileSync(
    join(dir, 'san.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'apiserver.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'apiserver.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  openssl(dir, 'genrsa', '-out', 'sa.key', '2048');
  openssl(dir, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

export interface TestCluster {
  /** https://127.0.0.1:PORT */
  server: string;
  dir: string;
  adminKubeconfig: string;
  agentKubeconfig: string;
  /** Writes a kubeconfig that authenticates with `token` (e.g. from a TokenRequest) and returns its path. */
  kubeconfigFor(name: string, token: string): string;
  /** Stops only the apiserver (etcd keeps the data). */
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  stop(): Promise<void>;
}

function kubeconfig(server: string, caFile: string, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'test',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority': caFile } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    },
    null,
    2,
  );
}

const exited = (p: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 5_000).unref();
  });

export async function startTestCluster(binDir: string): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-k8s-'));
  makeCertificates(dir);
  const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
  const agentToken = `agent-${Math.random().toString(36).slice(2)}`;
  writeFileSync(
    join(dir, 'tokens.csv'),
    `${[
      `${adminToken},admin,admin-uid,"system:masters"`,
      `${agentToken},system:serviceaccount:${AGENT_NAMESPACE}:${AGENT_SERVICE_ACCOUNT},agent-uid,"system:serviceaccounts,system:serviceaccounts:${AGENT_NAMESPACE}"`,
    ].join('\n')}\n`,
  );
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const logs = { etcd: '', apiserver: '' };
  const etcd = spawn(
    join(binDir, 'etcd'),
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--name',
      'test',
      '--listen-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `test=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  etcd.stderr!.on('data', (c) => (logs.etcd = (logs.etcd + c).slice(-4000)));
  const server = `https://127.0.0.1:${apiPort}`;
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'ca.crt')) } });
  let apiserver: ChildProcess | null = null;
  const startApiserver = async (): Promise<void> => {
    apiserver = spawn(
      join(binDir, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
        `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--v=0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    apiserver.stderr!.on('data', (c) => (logs.apiserver = (logs.apiserver + c).slice(-8000)));
    await waitFor(
      async () => {
        const r = await request(`${server}/readyz`, { headers: { authorization: `Bearer ${adminToken}` }, dispatcher });
        await r.body.dump();
        return r.statusCode === 200;
      },
      90_000,
      () => `kube-apiserver /readyz:\n${logs.apiserver}\netcd:\n${logs.etcd}`,
    );
  };
  await startApiserver();
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  const agentKubeconfig = join(dir, 'agent.kubeconfig');
  writeFileSync(adminKubeconfig, kubeconfig(server, join(dir, 'ca.crt'), 'admin', adminToken));
  writeFileSync(agentKubeconfig, kubeconfig(server, join(dir, 'ca.crt'), AGENT_SERVICE_ACCOUNT, agentToken));
  return {
    server,
    dir,
    adminKubeconfig,
    agentKubeconfig,
    startApiserver,
    kubeconfigFor(name, token) {
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(path, kubeconfig(server, join(dir, 'ca.crt'), name, token));
      return path;
    },
    async stopApiserver() {
      if (apiserver) await exited(apiserver);
      apiserver = null;
    },
    async stop() {
      if (apiserver) await exited(apiserver);
      await exited(etcd);
      await dispatcher.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
