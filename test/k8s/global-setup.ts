// Builds the test cluster's binaries once before any test file runs (minutes on a new machine, instant
// afterwards) and hands their directory to the tests.
import type { TestProject } from 'vitest/node';
import { buildBinaries } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    k8sBin: string;
  }
}

export default function setup(project: TestProject): void {
  project.provide('k8sBin', buildBinaries());
}
