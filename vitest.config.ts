import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'gateway/**/*.test.ts', 'sync/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['test/k8s/global-setup.ts', 'test/helm/global-setup.ts', 'test/build/global-setup.ts'],
  },
});
