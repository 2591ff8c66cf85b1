// Builds helm once (test/helm/build.sh: minutes on a new machine, instant afterwards) and hands its path to
// the chart tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    helmBin: string;
  }
}

export default function setup(project: TestProject): void {
  const r = spawnSync(fileURLToPath(new URL('./build.sh', import.meta.url)), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`test/helm/build.sh failed with status ${r.status}`);
  project.provide('helmBin', r.stdout.trim().split('\n').at(-1)!);
}
