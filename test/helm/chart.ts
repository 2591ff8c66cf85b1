// Rendering the chart with the real helm binary (built by build.sh) for the chart tests.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const CHART = fileURLToPath(new URL('../../infra/helm/portico', import.meta.url));
export const VALUES_DIR = fileURLToPath(new URL('./values/', import.meta.url));
/** The documented value sets: test/helm/values/<name>.yaml, each with a golden rendering. */
export const VALUE_SETS = readdirSync(VALUES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
  .sort();

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function helm(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/portico-helm-cache',
      HELM_CONFIG_HOME: '/tmp/portico-helm-config',
      HELM_DATA_HOME: '/tmp/portico-helm-data',
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  set?: string[];
}

/** `helm template` of one value set; throws with helm's message when it refuses. */
export function render(bin: string, valueSet: string, o: RenderOptions = {}): string {
  const r = helm(bin, [
    'template',
    o.release ?? 'edge',
    CHART,
    '--namespace',
    o.namespace ?? 'portico',
    '-f',
    `${VALUES_DIR}${valueSet}.yaml`,
    ...(o.set ?? []).flatMap((s) => ['--set', s]),
  ]);
  if (r.status !== 0) throw new Error(`helm template (${valueSet}) failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Parsed the way the apiserver's clients read it (YAML 1.1, as helm and kubectl do). */
export function manifests(text: string): Manifest[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

export const find = (all: Manifest[], kind: string, suffix = ''): Manifest => {
  const m = all.find((x) => x.kind === kind && x.metadata.name.endsWith(suffix));
  if (!m) throw new Error(`no ${kind} *${suffix} in the rendering`);
  return m;
};

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  [k: string]: unknown;
}
export interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  [k: string]: unknown;
}

/** The worker workload: a DaemonSet, or a Deployment (worker.kind) behind a Service. */
export const worker = (all: Manifest[]): Manifest => {
  const m = all.find((x) => (x.kind === 'DaemonSet' || x.kind === 'Deployment') && x.metadata.name.endsWith('-worker'));
  if (!m) throw new Error('no worker DaemonSet or Deployment in the rendering');
  return m;
};

export const podSpec = (m: Manifest): PodSpec => (m.spec as { template: { spec: PodSpec } }).template.spec;
