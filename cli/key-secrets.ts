// `portico keys ensure-secrets`: the Helm chart's install/upgrade hook. Makes the control plane's
// key set (and the bundled trial Redis's password) once and keeps it: the agent's Secret (all three keys) is created only when it does not exist, and
// the workers' Secret (public signing key + shared key, never the signing key) is derived from it. Running
// it again changes nothing, so `helm upgrade` keeps the keys, and so does a GitOps tool that re-applies the
// rendered chart (keys made in a template would be new on every render). Neither Secret is owned by Helm, so
// `helm uninstall` keeps them too: deleting them is a deliberate act.
import { PorticoError } from '../gateway/table/portico-error.ts';
import { UsageError } from './usage-error.ts';
import { KubeApiError, KubeRest } from '../sync/kube/rest.ts';
import { parseFlags } from './args.ts';
import { KEY_FILES, makeKeySet, workerShare, type KeyFile } from './keys.ts';
import { log } from './log.ts';
import { loadKubeConfig } from './sync.ts';

export class KeySecretError extends PorticoError {
  readonly code = 'PORTICO_KEY_SECRET';
}

export interface KeySecretNames {
  namespace: string;
  agent: string;
  worker: string;
}
export type KeySecretOutcome = { agent: 'created' | 'kept'; worker: 'created' | 'kept' | 'updated' };

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

async function read(rest: KubeRest, ns: string, name: string): Promise<SecretObject | null> {
  try {
    return await rest.request<SecretObject>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return null;
    throw err;
  }
}

/** Creates the Secret; false when another run created it first (two hooks racing). */
async function create(
  rest: KubeRest,
  n: Pick<KeySecretNames, 'namespace'>,
  name: string,
  files: Record<string, string>,
  role: string,
): Promise<boolean> {
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    // Not labelled as Helm's: Helm must never delete or adopt them.
    metadata: {
      name,
      namespace: n.namespace,
      labels: { 'app.kubernetes.io/part-of': 'portico', 'app.kubernetes.io/managed-by': 'portico', 'portico.dev/keys': role },
    },
    data: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, b64(v)])),
  };
  try {
    await rest.request('POST', `/api/v1/namespaces/${encodeURIComponent(n.namespace)}/secrets`, body);
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 409) return false;
    throw err;
  }
}

function keySetOf(name: string, s: SecretObject): Record<KeyFile, string> {
  const out = {} as Record<KeyFile, string>;
  for (const file of Object.values(KEY_FILES)) {
    const v = s.data?.[file];
    if (v === undefined) throw new KeySecretError(`Secret ${name} has no ${file}; delete it to make a new key set, or restore the file`);
    const text = unb64(v);
    try {
      JSON.parse(text);
    } catch {
      throw new KeySecretError(`Secret ${name}: ${file} is not a JSON Web Key`);
    }
    out[file] = text;
  }
  return out;
}

export async function ensureKeySecrets(rest: KubeRest, n: KeySecretNames): Promise<KeySecretOutcome> {
  if (n.agent === n.worker) throw new KeySecretError('the agent and worker Secrets must have different names');
  let agentOutcome: KeySecretOutcome['agent'] = 'kept';
  let agent = await read(rest, n.namespace, n.agent);
  if (agent === null) {
    if (await create(rest, n, n.agent, await makeKeySet(), 'sync')) agentOutcome = 'created';
    agent = await read(rest, n.namespace, n.agent);
    if (agent === null) throw new KeySecretError(`Secret ${n.agent} vanished right after it was created`);
  }
  const want = workerShare(keySetOf(n.agent, agent));
  const worker = await read(rest, n.namespace, n.worker);
  if (worker === null) {
    // Losing a race here is harmless: the other run derived the same share from the same agent Secret.
    await create(rest, n, n.worker, want, 'worker');
    return { agent: agentOutcome, worker: 'created' };
  }
  const have = Object.fromEntries(Object.entries(worker.data ?? {}).map(([k, v]) => [k, unb64(v)]));
  if (Object.keys(want).every((k) => have[k] === want[k]) && Object.keys(have).every((k) => k in want))
    return { agent: agentOutcome, worker: 'kept' };
  // The agent Secret is the source of truth (an operator replaced it to rotate keys): bring the share in line.
  // A JSON merge patch with the resourceVersion read above, so a concurrent change is a conflict, not lost.
  const data: Record<string, string | null> = Object.fromEntries(Object.keys(have).map((k) => [k, null]));
  for (const [k, v] of Object.entries(want)) data[k] = b64(v);
  await rest.request(
    'PATCH',
    `/api/v1/namespaces/${encodeURIComponent(n.namespace)}/secrets/${encodeURIComponent(n.worker)}`,
    { metadata: { resourceVersion: worker.metadata?.resourceVersion }, data },
    'application/merge-patch+json',
  );
  return { agent: agentOutcome, worker: 'updated' };
}

/** The bundled trial Redis's password (an open Redis lets any pod deny service or roll back):
 * made once, never changed, in key `password`. */
export async function ensurePasswordSecret(rest: KubeRest, namespace: string, name: string): Promise<'created' | 'kept'> {
  const existing = await read(rest, namespace, name);
  if (existing !== null) {
    if (existing.data?.password === undefined) throw new KeySecretError(`Secret ${name} has no password key; delete it to make a new one`);
    return 'kept';
  }
  const password = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  return (await create(rest, { namespace }, name, { password }, 'redis')) ? 'created' : 'kept';
}

export const ENSURE_SECRETS_FLAGS = {
  'agent-secret': { type: 'string' },
  'worker-secret': { type: 'string' },
  'redis-secret': { type: 'string' },
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  'in-cluster': { type: 'boolean' },
} as const;

export async function runEnsureKeySecrets(argv: string[]): Promise<void> {
  const v = parseFlags(argv, ENSURE_SECRETS_FLAGS);
  const namespace = v.namespace ?? process.env.POD_NAMESPACE;
  const keys = v['agent-secret'] !== undefined || v['worker-secret'] !== undefined;
  if (keys && (v['agent-secret'] === undefined || v['worker-secret'] === undefined))
    throw new UsageError('keys ensure-secrets: --agent-secret NAME and --worker-secret NAME go together');
  if (!keys && v['redis-secret'] === undefined)
    throw new UsageError('keys ensure-secrets: nothing to do: give --agent-secret NAME --worker-secret NAME and/or --redis-secret NAME');
  if (namespace === undefined) throw new UsageError('keys ensure-secrets: --namespace NS (or POD_NAMESPACE) is required');
  if ((v.kubeconfig !== undefined) === (v['in-cluster'] === true))
    throw new UsageError('keys ensure-secrets: give exactly one of --kubeconfig PATH or --in-cluster');
  const rest = new KubeRest(loadKubeConfig(v.kubeconfig ?? null));
  const outcome: Record<string, string> = {};
  if (keys) {
    const k = await ensureKeySecrets(rest, { namespace, agent: v['agent-secret']!, worker: v['worker-secret']! });
    outcome[v['agent-secret']!] = k.agent;
    outcome[v['worker-secret']!] = k.worker;
  }
  if (v['redis-secret'] !== undefined) outcome[v['redis-secret']] = await ensurePasswordSecret(rest, namespace, v['redis-secret']);
  log('info', 'secrets ensured', { namespace, ...outcome });
}
