// What a production worker loads: the compiled build (dist/), run as the image runs it, with a probe preloaded
// (module-trace.mjs) that records every ES and CommonJS module. A worker needs neither the agent's code (sync/,
// the compiler, the Kubernetes client) nor a transpiler nor a pretty-printer: each would cost memory in every
// worker process of every node (README "Footprint").
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startBackend, type Backend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { freePort, ROOT, runPortico, spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-modules-'));
const trace = join(dir, 'modules.txt');
let redis: RedisServer;
let backend: Backend;
let agent: Spawned;
let worker: ChildProcess;
let loaded: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  backend = await startBackend('modules', '127.0.0.1');
  expect(runPortico(['keys', 'generate', '--out', join(dir, 'keys')]).status).toBe(0);
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(
    join(dir, 'manifests', 'all.yaml'),
    [
      ourClass(),
      ...service('web', [{ address: backend.address, port: backend.port }]),
      ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'web' }] }),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  );
  agent = spawnPortico([
    'sync',
    '--manifests',
    join(dir, 'manifests'),
    '--redis',
    redis.url,
    '--cluster',
    'mods',
    '--keys',
    join(dir, 'keys'),
  ]);
  const [http, admin] = [await freePort(), await freePort()];
  worker = spawn(
    process.execPath,
    [
      '--import',
      './test/build/module-trace.mjs',
      'dist/cli/portico.js',
      'worker',
      '--redis',
      redis.url,
      '--cluster',
      'mods',
      '--keys',
      join(dir, 'keys'),
      '--cache-file',
      join(dir, 'cache.bundle'),
      '--http',
      `127.0.0.1:${http}`,
      '--https',
      `127.0.0.1:${await freePort()}`,
      '--admin',
      `127.0.0.1:${admin}`,
      '--drain-delay',
      '0ms',
    ],
    { cwd: ROOT, stdio: 'ignore', env: { ...process.env, MODULE_TRACE_FILE: trace } },
  );
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200,
    20_000,
    () => 'the compiled worker to be ready',
  );
  // One proxied request and a metrics scrape, so what the request path loads on first use is loaded too.
  expect((await request(`http://127.0.0.1:${http}/`, { host: 'app.test' })).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${admin}/metrics`)).status).toBe(200);
  loaded = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
});
afterAll(async () => {
  worker?.kill('SIGTERM');
  await agent?.stop();
  await redis?.stop();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

const nodeModule = (name: string) => new RegExp(`/node_modules/${name.replace('/', '\\/')}/`);

describe('a compiled worker loads only what it uses', () => {
  it.each([
    ['the Kubernetes client', nodeModule('@kubernetes/client-node')],
    ['the agent and the compiler (sync/)', /\/dist\/sync\//],
    ['the TypeScript sources (tsx)', /\.ts$|\/node_modules\/tsx\//],
    ['esbuild', nodeModule('esbuild')],
    ['the TypeScript compiler', nodeModule('typescript')],
    ['pino-pretty', nodeModule('pino-pretty')],
    ['the YAML parser (manifests are the agent’s)', nodeModule('yaml')],
  ])('does not load %s', (_what, pattern) => {
    expect(loaded.filter((m) => pattern.test(m))).toEqual([]);
  });

  it.each([
    ['the worker command', /\/dist\/cli\/worker\.js$/],
    ['the Redis client (ioredis, CommonJS)', nodeModule('ioredis')],
    ['the upstream client (undici)', nodeModule('undici')],
  ])('loads %s (the probe sees what a worker does load)', (_what, pattern) => {
    expect(loaded.some((m) => pattern.test(m))).toBe(true);
  });
});
