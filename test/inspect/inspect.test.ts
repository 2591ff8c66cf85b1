// `portico inspect` against a real redis-server holding tables published by the real publisher, with a
// real worker source sending heartbeats.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { runInspect } from '../../cli/inspect/command.ts';
import { LiveTable } from '../../gateway/live.ts';
import { RedisTableSource } from '../../gateway/source/redis.ts';
import { redisLayout, type CurrentPointer } from '../../gateway/table/redis-layout.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { compile } from '../../sync/compile/index.ts';
import { PublishLoop } from '../../sync/publish/loop.ts';
import { makeCert } from '../compile/certs.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { runPortico, waitFor } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-inspect-'));
let server: RedisServer;
let redis: Redis;
let loop: PublishLoop;
let source: RedisTableSource;
const live = new LiveTable();
const soon = generateSelfSignedCertificate({ commonName: 'soon.test', keyType: 'ec', days: 5 });
const fine = generateSelfSignedCertificate({ commonName: 'shop.test', keyType: 'ec', days: 365 });
const expired = makeCert({ cn: 'old.test', sans: ['old.test'], key: 'ec', expired: true });

/** v1: shop + old + soon; v2 adds blog and moves the api endpoints. */
const world = (v: 1 | 2) =>
  compile(
    objects(
      ourClass(),
      service('web', [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
      ]),
      service('api', [
        v === 1 ? { address: '10.0.1.1', port: 9000 } : { address: '10.0.1.2', port: 9000 },
        { address: '10.0.1.9', port: 9000, ready: false },
      ]),
      service('empty', []),
      tlsSecret('shop-tls', fine.certPem, fine.keyPem),
      tlsSecret('old-tls', expired.certPem, expired.keyPem),
      tlsSecret('soon-tls', soon.certPem, soon.keyPem),
      ingress('shop', {
        host: 'shop.test',
        paths: [
          { path: '/', service: 'web' },
          { path: '/api', service: 'api' },
          { path: '/down', service: 'empty' },
        ],
        tls: [{ hosts: ['shop.test'], secretName: 'shop-tls' }],
        defaultBackend: 'web',
      }),
      ingress('old', { host: 'old.test', paths: [{ path: '/', service: 'web' }], tls: [{ hosts: ['old.test'], secretName: 'old-tls' }] }),
      ingress('soon', {
        host: 'soon.test',
        paths: [{ path: '/', service: 'web' }],
        tls: [{ hosts: ['soon.test'], secretName: 'soon-tls' }],
      }),
      ingress('broken', { host: 'broken.test', paths: [{ path: '/', service: 'missing' }] }),
      ...(v === 2 ? [ingress('blog', { host: 'blog.test', paths: [{ path: '/', service: 'web' }] })] : []),
    ),
  );

async function inspect(...args: string[]): Promise<string> {
  let out = '';
  await runInspect([...args, '--redis', server.url, '--cluster', 'inspect', '--keys', join(dir, 'keys')], (s) => void (out += s));
  return out;
}
const pointer = async () => JSON.parse((await redis.get(redisLayout('inspect').current))!) as CurrentPointer;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  await generateKeySet(join(dir, 'keys'));
  await generateKeySet(join(dir, 'other'));
  loop = new PublishLoop({
    redis: server.url,
    cluster: 'inspect',
    keys: await loadSigningKeys(join(dir, 'keys')),
    history: 10,
    publisher: 'test-agent',
    log: () => {},
    watchdogMs: 200,
  });
  loop.start();
  loop.offer(world(1));
  await waitFor(async () => (await redis.get(redisLayout('inspect').current)) !== null);
  loop.offer(world(2));
  await waitFor(async () => (await pointer()).version === world(2).table.version);
  source = new RedisTableSource({
    redis: server.url,
    cluster: 'inspect',
    keys: await loadVerifyingKeys(join(dir, 'keys')),
    live,
    cacheFile: null,
    pollMs: 200,
    heartbeatMs: 500,
    node: 'edge-1',
    log: () => {},
  });
  await source.start();
  await waitFor(() => live.table?.version === world(2).table.version);
});
afterAll(async () => {
  await source?.close();
  loop?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('status', () => {
  it('shows the current version, counts, the fleet and convergence', async () => {
    await waitFor(async () => (await inspect('status')).includes('edge-1'));
    const s = parse(await inspect('status', '-o', 'yaml')) as Record<string, unknown> & { workers: { node: string; version: string }[] };
    expect(s).toMatchObject({
      cluster: 'inspect',
      version: world(2).table.version,
      publisher: 'test-agent',
      signature: 'verified',
      hosts: 5,
      certificates: 3,
      converged: true,
      rollback: null,
    });
    expect(s.workers).toEqual([expect.objectContaining({ node: 'edge-1', version: world(2).table.version, refusals: 0 })]);
    expect(await inspect('status')).toMatch(/^converged:\s+yes$/m);
  });
});

describe('routes', () => {
  it('lists hosts, paths, backends, ready endpoints, TLS and redirects', async () => {
    const out = await inspect('routes');
    expect(out).toMatch(/^shop\.test\s+\/api\s+Prefix\s+default\/api:80\s+1\/2 ready\s+default\/shop-tls\s+https\s+default\/shop$/m);
    expect(out).toMatch(/^shop\.test\s+\/down\s+Prefix\s+default\/empty:80\s+0\/0 ready/m);
    expect(out).toMatch(/^shop\.test\s+\(unmatched\)\s+fallback\s+default\/web:http/m);
  });
  it('filters by host', async () => {
    const rows = JSON.parse(await inspect('routes', '--host', 'BLOG.test', '-o', 'json')) as { host: string }[];
    expect(rows.map((r) => r.host)).toEqual(['blog.test']);
  });
});

describe('explain', () => {
  it.each([
    [
      'the longest prefix',
      'https://shop.test/api/v1',
      {
        answer: 'forward to default/api:80',
        host: 'exact shop.test',
        route: { path: '/api', pathType: 'Prefix', ingress: 'default/shop' },
      },
    ],
    ['the redirect of a TLS host on plain HTTP', 'http://shop.test/x?y=1', { answer: '308 redirect to https://shop.test/x?y=1' }],
    ['no ready endpoint', 'https://shop.test/down', { answer: '503 (no ready endpoint)' }],
    ['a missing Service answers 503 as well', 'http://broken.test/', { answer: '503 (no ready endpoint)' }],
    [
      'no host matches: the default backend (spec.defaultBackend of shop)',
      'http://nobody.test/',
      { answer: 'forward to default/web:http', host: 'none', why: 'no host or path rule matches: the default backend' },
    ],
  ])('%s', async (_n, url, want) => {
    expect(JSON.parse(await inspect('explain', url, '-o', 'json'))).toMatchObject(want);
  });
  it('uses a Host header when given', async () => {
    expect(JSON.parse(await inspect('explain', 'https://10.0.0.9/', '-H', 'Host: blog.test', '-o', 'json'))).toMatchObject({
      host: 'exact blog.test',
      answer: 'forward to default/web:80',
    });
  });
});

describe('certs', () => {
  it('shows subject, SANs, issuer and expiry, warns on expired and soon-expiring, never prints keys', async () => {
    const out = await inspect('certs');
    expect(out).toMatch(/^old\.test\s+default\/old-tls\s.*EXPIRED$/m);
    expect(out).toMatch(/^soon\.test\s+default\/soon-tls\s.*expires in [45] days$/m);
    expect(out).toMatch(/^shop\.test\s+default\/shop-tls\s+CN=shop\.test\s+shop\.test\s.*\s(36[45])$/m);
    const all = (await inspect('certs', '-o', 'json')) + (await inspect('routes', '-o', 'yaml'));
    expect(all).not.toMatch(/PRIVATE KEY/);
  });
});

describe('history and diff', () => {
  it('lists versions newest first and marks the current one', async () => {
    const rows = JSON.parse(await inspect('history', '-o', 'json')) as { version: string; note: string }[];
    expect(rows.map((r) => r.version)).toEqual([world(2).table.version.slice(0, 19), world(1).table.version.slice(0, 19)]);
    expect(rows[0]!.note).toBe('current');
  });
  it('diffs the previous and the current version by default', async () => {
    const d = JSON.parse(await inspect('diff', '-o', 'json')) as { hosts: { added: string[] }; backends: { endpoints: string[] } };
    expect(d.hosts.added).toEqual(['blog.test']);
    expect(d.backends.endpoints).toEqual(['default/api:80: +10.0.1.2:9000 -10.0.1.1:9000']);
    expect(await inspect('diff')).toMatch(/^hosts\n {2}\+ blog\.test$/m);
  });
  it('diffs two given versions by hash prefix', async () => {
    const [a, b] = [world(2).table.version.slice(7, 19), world(1).table.version.slice(7, 19)];
    const d = JSON.parse(await inspect('diff', a, b, '-o', 'json')) as { hosts: { removed: string[] } };
    expect(d.hosts.removed).toEqual(['blog.test']);
  });
});

describe('diagnostics', () => {
  it("lists the compiler's diagnostics by object", async () => {
    expect(await inspect('diagnostics')).toMatch(/^Ingress default\/broken\s+Warning\s+ServiceNotFound\s/m);
  });
});

describe('rollback', () => {
  it('makes an earlier signed version current; workers follow; the agent holds off until the objects change', async () => {
    const v1 = world(1).table.version;
    const v2 = world(2).table.version;
    const out = await inspect('rollback', v1.slice(7, 19));
    expect(out).toMatch(/^rolled back inspect from sha256:\S+ to sha256:\S+ \(by \S+@\S+\)/);
    const p = await pointer();
    expect(p.version).toBe(v1);
    expect(p.rollback).toMatchObject({ from: v2 });
    await waitFor(
      () => live.table?.version === v1,
      5_000,
      () => 'the worker to follow the rollback',
    );
    expect(await inspect('status')).toMatch(/^rollback:\s+in force: from sha256:/m);
    // The agent still compiles world(2): neither its watchdog nor a new offer may undo the rollback.
    loop.offer(world(2));
    await new Promise((r) => setTimeout(r, 800));
    expect((await pointer()).version).toBe(v1);
  });

  it('a second rollback keeps holding the version the agent would publish', async () => {
    const v1 = world(1).table.version;
    const v2 = world(2).table.version;
    await inspect('rollback', v2.slice(7, 19)); // v1 → v2: v2 is what the agent compiles; still held
    await inspect('rollback', v1.slice(7, 19)); // and back to v1
    const p = await pointer();
    expect(p).toMatchObject({ version: v1, rollback: { from: v2 } });
    loop.offer(world(2));
    await new Promise((r) => setTimeout(r, 800));
    expect((await pointer()).version).toBe(v1);
  });

  it('ends when the objects change: the agent publishes the new table', async () => {
    const v3 = compile(
      objects(
        ourClass(),
        service('web', [{ address: '10.0.0.9', port: 8080 }]),
        ingress('shop', { host: 'shop.test', paths: [{ path: '/', service: 'web' }] }),
      ),
    );
    loop.offer(v3);
    await waitFor(
      async () => (await pointer()).version === v3.table.version,
      5_000,
      () => 'the new version',
    );
    expect((await pointer()).rollback).toBeUndefined();
    await waitFor(
      () => live.table?.version === v3.table.version,
      5_000,
      () => 'the worker to follow',
    );
  });
});

describe('errors: one line and a documented exit code', () => {
  it.each([
    ['Redis unreachable', ['status', '--redis', 'redis://127.0.0.1:1'], 3, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/],
    ['unknown cluster', ['status', '--cluster', 'nope'], 4, /no cluster "nope" in this Redis \(clusters: inspect\)/],
    ['unknown version', ['diff', 'deadbeef'], 5, /no stored version deadbeef in cluster inspect/],
    ['unknown command', ['frobnicate'], 2, /inspect: unknown command "frobnicate"/],
    ['bad output format', ['status', '-o', 'xml'], 2, /-o must be table, json or yaml/],
    [
      'a stored table that does not verify with the given key',
      ['status', '--keys', 'OTHER'],
      6,
      /refused: manifest signature does not verify/,
    ],
  ])('%s', (_n, args, code, message) => {
    const withRedis = args.includes('--redis') ? args : [...args, '--redis', server.url];
    const r = runPortico([
      'inspect',
      ...withRedis.map((a) => (a === 'OTHER' ? join(dir, 'other') : a)),
      ...(args.includes('--cluster') || args[0] === 'frobnicate' ? [] : ['--cluster', 'inspect']),
    ]);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
