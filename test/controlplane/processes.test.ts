// The control plane as operators run it: `portico sync` and `portico worker` processes, a real
// redis-server that dies and comes back empty, a worker that restarts while Redis is down.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { proxyV2, startProxyLb } from '../support/proxy-protocol.ts';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { ingress, ourClass, service } from '../support/manifests.ts';
import { runPortico, spawnPortico, startServing, waitFor, type Running, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { expectWellFormedExposition } from '../support/exposition.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-procs-'));
const manifests = join(dir, 'manifests');
const keys = join(dir, 'keys');
const cacheFile = join(dir, 'worker.bundle');
let redis: RedisServer;
let backend: Backend;
let agent: Spawned;
let worker: Running;

const writeManifests = (paths: string[]): void => {
  writeFileSync(
    join(manifests, 'all.yaml'),
    [
      ourClass(),
      ...service('web', [{ address: backend.address, port: backend.port }]),
      ingress('app', { host: 'app.test', paths: paths.map((path) => ({ path, service: 'web' })) }),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  );
};
const workerArgs = () => [
  'worker',
  '--redis',
  redis.url,
  '--cluster',
  'prod',
  '--keys',
  keys,
  '--cache-file',
  cacheFile,
  '--poll',
  '500ms',
];
const readyz = async (w: Running) => (await request(`${w.admin}/readyz`)).body;

beforeAll(async () => {
  redis = await startRedis();
  backend = await startBackend('cp', '127.0.0.80');
  expect(runPortico(['keys', 'generate', '--out', keys]).status).toBe(0);
  mkdirSync(manifests);
  writeManifests(['/']);
  agent = spawnPortico(['sync', '--manifests', manifests, '--redis', redis.url, '--cluster', 'prod', '--keys', keys]);
  worker = await startServing(workerArgs());
});
afterAll(async () => {
  await worker?.stop();
  await agent?.stop();
  await redis?.stop();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bad flags: one line, exit code 2', () => {
  it.each([
    [
      'worker without --redis',
      ['worker', '--cluster', 'x', '--keys', '/tmp'],
      /--redis URL \(or PORTICO_REDIS_URL\), --redis-sentinels .* or --redis-cluster-nodes .* is required/,
    ],
    [
      'a malformed Redis URL',
      ['worker', '--redis', 'localhost:6379', '--cluster', 'x', '--keys', '/tmp'],
      /expected a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [
      'a cluster name that is not a DNS label',
      ['sync', '--manifests', '.', '--redis', 'redis://x', '--cluster', 'Prod_1', '--keys', '/tmp'],
      /--cluster: expected a DNS label/,
    ],
    [
      'a key directory without keys',
      [
        'worker',
        '--redis',
        'redis://127.0.0.1:1',
        '--cluster',
        'x',
        '--keys',
        '/nonexistent',
        '--http',
        'off',
        '--https',
        'off',
        '--admin',
        'off',
      ],
      /cannot read \/nonexistent\/signing-pub\.jwk\.json: ENOENT/,
    ],
    ['keys generate into an existing key set', ['keys', 'generate', '--out', 'KEYS'], /exists; refusing to overwrite a key/],
  ])('%s', (_n, args, message) => {
    const r = runPortico(args.map((a) => (a === 'KEYS' ? keys : a)));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('sync → Redis → worker', () => {
  it('serves what the agent published, and follows changes to the manifests', async () => {
    expect(json<EchoReply>(await request(`${worker.http}/`, { host: 'app.test' })).backend).toBe('cp');
    expect((await request(`${worker.http}/new`, { host: 'app.test' })).status).toBe(200);
    writeManifests(['/only-this']);
    await waitFor(
      async () => (await request(`${worker.http}/new`, { host: 'app.test' })).status === 404,
      10_000,
      () => 'the new table',
    );
    expect((await request(`${worker.http}/only-this`, { host: 'app.test' })).status).toBe(200);
    expect(await readyz(worker)).toMatch(/from redis/);
    const m = (await request(`${worker.admin}/metrics`)).body;
    expectWellFormedExposition(m);
    expect(m).toMatch(/^portico_redis_connected 1$/m);
    expect(m).toMatch(/^portico_table_source\{source="redis"\} 1$/m);
  });

  it('portico worker --proxy-protocol: the client a trusted load balancer names reaches the backend; no header, no answer', async () => {
    const args = workerArgs().map((a) => (a === cacheFile ? 'off' : a));
    const w = await startServing([...args, '--trusted-proxies', '127.0.0.1', '--proxy-protocol']);
    const lb = await startProxyLb({
      target: Number(new URL(w.http).port),
      localAddress: '127.0.0.1',
      header: proxyV2({ source: { address: '203.0.113.5', port: 40000 }, destination: { address: '192.0.2.10', port: 80 } }),
    });
    try {
      // The test before leaves the table with /only-this instead of / (this one may also run alone).
      let r = await request(`http://127.0.0.1:${lb.port}/only-this`, { host: 'app.test' });
      if (r.status === 404) r = await request(`http://127.0.0.1:${lb.port}/`, { host: 'app.test' });
      expect(r.status).toBe(200);
      expect(json<EchoReply>(r).headers['x-forwarded-for']).toBe('203.0.113.5');
      await expect(request(`${w.http}/`, { host: 'app.test' })).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect((await request(`${w.admin}/metrics`)).body).toMatch(/^portico_proxy_protocol_refusals_total\{reason="invalid-header"\} 1$/m);
    } finally {
      await lb.close();
      await w.stop();
    }
  });

  it('keeps serving with zero failed requests while Redis dies; converges again when it comes back empty', async () => {
    let ok = 0;
    let failed = 0;
    let sent = 0;
    const loop = async () => {
      while (sent < 2000) {
        sent++;
        try {
          const r = await request(`${worker.http}/only-this`, { host: 'app.test' });
          if (r.status === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
        if (sent === 500) await redis.kill();
      }
    };
    await Promise.all(Array.from({ length: 10 }, loop));
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThanOrEqual(2000);
    await waitFor(
      async () => /portico_redis_connected 0/.test((await request(`${worker.admin}/metrics`)).body),
      10_000,
      () => 'the worker to notice',
    );
    expect((await request(`${worker.admin}/readyz`)).status).toBe(200);

    await redis.restart(); // empty: no pointer, no table
    const c = redis.client();
    await waitFor(
      async () => (await c.get('portico:{prod}:current')) !== null,
      15_000,
      () => 'the agent to republish into the empty Redis',
    );
    await waitFor(
      async () => (await c.zcard('portico:{prod}:workers')) === 1,
      15_000,
      () => 'the worker heartbeat after reconnecting',
    );
    writeManifests(['/only-this', '/after-restart']);
    await waitFor(
      async () => (await request(`${worker.http}/after-restart`, { host: 'app.test' })).status === 200,
      15_000,
      () => 'the worker to follow new tables after the restart',
    );
  });

  it('a worker restarted while Redis is down serves from its cache file and says so', async () => {
    await worker.stop();
    await redis.kill();
    worker = await startServing(workerArgs());
    expect(await readyz(worker)).toMatch(/from the cache file \(redis unreachable/);
    expect(json<EchoReply>(await request(`${worker.http}/after-restart`, { host: 'app.test' })).backend).toBe('cp');
    expect((await request(`${worker.admin}/metrics`)).body).toMatch(/^portico_table_source\{source="cache"\} 1$/m);
    await redis.restart();
    await waitFor(
      async () => /from redis/.test(await readyz(worker)),
      15_000,
      () => 'the worker to switch to Redis once it is back',
    );
  });
});
