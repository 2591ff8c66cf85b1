// Builds helm (build.sh) and generates the ServiceMonitor CRD (build-crd.sh) once: minutes on a new machine,
// instant afterwards. Hands both paths to the chart tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    helmBin: string;
    serviceMonitorCrd: string;
  }
}

function lastLine(script: string): string {
  const r = spawnSync(fileURLToPath(new URL(script, import.meta.url)), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`test/helm/${script} failed with status ${r.status}`);
  return r.stdout.trim().split('\n').at(-1)!;
}

export default function setup(project: TestProject): void {
  project.provide('helmBin', lastLine('./build.sh'));
  project.provide('serviceMonitorCrd', lastLine('./build-crd.sh'));
}
