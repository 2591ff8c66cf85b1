// Two clusters sharing one Redis, every part a real process: an agent per cluster, cluster A's
// worker and node-local tunnel, cluster B's tunnel with its TLS gateway for peers, and a backend per cluster
// on its own loopback address. A host served by both goes to A while A can serve it and to B when it cannot
// (every A backend killed under load, or no ready endpoint in A's table), and back; B's gateway takes only
// peer tokens signed by a cluster it trusts, unexpired, for itself and the backend asked for.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { Agent, Client, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signPeerToken } from '../../gateway/tunnel/peer-token.ts';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { ingress, ourClass, service, type EndpointSpec } from '../support/manifests.ts';
import { freePort, runPortico, spawnPortico, startServing, waitFor, type Running, type Spawned } from '../support/process.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-mc-'));
let redis: RedisServer;
let port: number;
let backendA: Backend;
let backendB: Backend;
let gatewayPort: number;
let worker: Running;
const procs: Spawned[] = [];

const at = (...p: string[]) => join(dir, ...p);
function openssl(...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}
function writeCluster(
  name: 'a' | 'b',
  endpoints: EndpointSpec[],
  extraHosts: string[] = [],
  annotations: Record<string, string> = {},
): void {
  writeFileSync(
    at(`manifests-${name}`, 'all.yaml'),
    [
      ourClass(),
      ...service('web', endpoints, 'shop'),
      ...['shop.test', ...extraHosts].map((host, i) =>
        ingress(`r${i}`, { host, namespace: 'shop', annotations, paths: [{ path: '/', service: 'web' }] }),
      ),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  );
}
const tableOf = async (cluster: string) => (await redis.client().get(`portico:{${cluster}}:current`)) ?? '';
let lastOnlyB = '';
const backendOf = async (host: string) => {
  const r = await request(`${worker.http}/who`, { host });
  const out = r.status === 200 ? json<EchoReply>(r).backend : `status ${r.status} ${r.body.slice(0, 200)}`;
  if (host === 'only-b.test') lastOnlyB = out;
  return r.status === 200 ? out : `status ${r.status}`;
};

beforeAll(async () => {
  redis = await startRedis();
  port = await freePort('127.0.0.101');
  backendA = await startBackend('a', '127.0.0.101', port);
  backendB = await startBackend('b', '127.0.0.102', port);
  for (const k of ['keys-a', 'keys-b', 'tunnel-a', 'tunnel-m']) expect(runPortico(['keys', 'generate', '--out', at(k)]).status).toBe(0);
  // B's gateway certificate, from a throw-away CA that A's tunnel is told to trust.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=peer-ca',
  );
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'gw.key',
    '-out',
    'gw.csr',
    '-subj',
    '/CN=gateway-b',
  );
  writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'gw.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'gw.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  mkdirSync(at('manifests-a'));
  mkdirSync(at('manifests-b'));
  writeCluster('a', [{ address: backendA.address, port }]);
  writeCluster('b', [{ address: backendB.address, port }], ['only-b.test']);
  for (const c of ['a', 'b'])
    procs.push(
      spawnPortico(['sync', '--manifests', at(`manifests-${c}`), '--redis', redis.url, '--cluster', c, '--keys', at(`keys-${c}`)]),
    );
  gatewayPort = await freePort();
  const [adminA, adminB] = [await freePort(), await freePort()];
  procs.push(
    spawnPortico([
      'tunnel',
      '--redis',
      redis.url,
      '--cluster',
      'b',
      '--keys',
      at('keys-b'),
      '--listen',
      `unix:${at('b.sock')}`,
      '--admin',
      `127.0.0.1:${adminB}`,
      '--peer-listen',
      `127.0.0.1:${gatewayPort}`,
      '--peer-cert',
      at('gw.crt'),
      '--peer-key',
      at('gw.key'),
      '--trust',
      `a=${at('tunnel-a', 'signing-pub.jwk.json')}`,
      '--poll',
      '300ms',
    ]),
  );
  procs.push(
    spawnPortico([
      'tunnel',
      '--redis',
      redis.url,
      '--cluster',
      'a',
      '--keys',
      at('keys-a'),
      '--listen',
      `unix:${at('a.sock')}`,
      '--admin',
      `127.0.0.1:${adminA}`,
      '--peer',
      `b=https://127.0.0.1:${gatewayPort}`,
      '--peer-signing-key',
      at('tunnel-a', 'signing-key.jwk.json'),
      '--peer-ca',
      at('ca.crt'),
      '--poll',
      '300ms',
    ]),
  );
  for (const admin of [adminA, adminB]) {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200,
      30_000,
      () => `tunnels ready:\n${procs.map((p) => p.logs().slice(-1500)).join('\n---\n')}`,
    );
  }
  worker = await startServing(
    [
      'worker',
      '--redis',
      redis.url,
      '--cluster',
      'a',
      '--keys',
      at('keys-a'),
      '--cache-file',
      'off',
      '--poll',
      '300ms',
      '--tunnel',
      `unix:${at('a.sock')}`,
      '--peer',
      `b=${at('keys-b')}`,
    ],
    30_000,
  );
  procs.push(worker);
  await waitFor(
    async () => (await backendOf('only-b.test')) === 'b',
    20_000,
    () => `the worker to load B's table (now: ${lastOnlyB}):\n${procs.map((p) => p.logs().slice(-1500)).join('\n---\n')}`,
  );
}, 90_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  await redis?.stop();
  await backendA?.close();
  await backendB?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local first, the peer cluster when the local one cannot serve', () => {
  it('a host both clusters serve goes to the local cluster', async () => {
    expect(await backendOf('shop.test')).toBe('a');
  });

  it("a host only the peer serves goes to it, through both tunnels, with the client's forwarding headers", async () => {
    const r = await request(`${worker.http}/hello?x=1`, { host: 'only-b.test' });
    expect(r.status).toBe(200);
    const e = json<EchoReply>(r);
    expect(e).toMatchObject({ backend: 'b', url: '/hello?x=1' });
    expect(e.headers).toMatchObject({ host: 'only-b.test', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': 'only-b.test' });
    expect(Object.keys(e.headers).filter((h) => h.startsWith('portico-'))).toEqual([]);
  });

  it('every local backend killed under load: traffic moves to B with no failed request beyond those in flight, and back when A recovers', async () => {
    const seen: string[] = [];
    let failures = 0;
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const b = await backendOf('shop.test').catch((e: Error) => `error ${e.message}`);
        seen.push(b);
        if (b !== 'a' && b !== 'b') failures++;
      }
    };
    const CONCURRENCY = 4;
    const loops = Array.from({ length: CONCURRENCY }, loop);
    await waitFor(() => seen.length >= 50, 10_000);
    await backendA.close(); // every A backend gone at once
    const killedAt = seen.length;
    await waitFor(
      () => seen.slice(killedAt).filter((b) => b === 'b').length >= 100,
      15_000,
      () => `traffic on B (seen ${seen.slice(-5).join(',')})`,
    );
    backendA = await startBackend('a', '127.0.0.101', port);
    const backAt = seen.length;
    await waitFor(
      () => seen.slice(backAt).filter((b) => b === 'a').length >= 50,
      15_000,
      () => 'traffic back on A',
    );
    stop = true;
    await Promise.all(loops);
    expect(failures, `failed responses: ${seen.filter((b) => b !== 'a' && b !== 'b').join(', ')}`).toBeLessThanOrEqual(CONCURRENCY);
    expect(seen.slice(killedAt + CONCURRENCY, backAt)).not.toContain('a');
    expect(seen.slice(0, killedAt)).not.toContain('b'); // while A served, nothing went to B
  }, 60_000);

  it('no ready endpoint in the local table: straight to B, and back once A is ready again', async () => {
    const v = await tableOf('a');
    writeCluster('a', [{ address: backendA.address, port, ready: false }]);
    await waitFor(
      async () => (await tableOf('a')) !== v,
      15_000,
      () => 'A republished',
    );
    await waitFor(
      async () => (await backendOf('shop.test')) === 'b',
      15_000,
      () => 'the worker to route to B',
    );
    const before = backendA.requests;
    for (let i = 0; i < 10; i++) expect(await backendOf('shop.test')).toBe('b');
    expect(backendA.requests).toBe(before); // not even tried: the local table says nothing is ready
    writeCluster('a', [{ address: backendA.address, port }]);
    await waitFor(
      async () => (await backendOf('shop.test')) === 'a',
      15_000,
      () => 'back on A',
    );
  }, 40_000);

  it('portico.dev/cluster-weight: "30" keeps about 30 % of the requests in A and sends the rest to B', async () => {
    const v = await tableOf('a');
    writeCluster('a', [{ address: backendA.address, port }], [], { 'portico.dev/cluster-weight': '30' });
    await waitFor(
      async () => (await tableOf('a')) !== v,
      15_000,
      () => 'A republished',
    );
    await waitFor(
      async () => (await backendOf('shop.test')) === 'b',
      15_000,
      () => 'the weighted table in the worker',
    );
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 300; i++) {
      const b = await backendOf('shop.test');
      if (b === 'a' || b === 'b') counts[b]++;
    }
    expect(counts.a + counts.b).toBe(300);
    // Binomial(300, 0.3): mean 90, sd 7.9; 60..120 is beyond 3.5 sd either way.
    expect(counts.a).toBeGreaterThan(60);
    expect(counts.a).toBeLessThan(120);
    const back = await tableOf('a');
    writeCluster('a', [{ address: backendA.address, port }]);
    await waitFor(
      async () => (await tableOf('a')) !== back,
      15_000,
      () => 'A republished without the weight',
    );
    await waitFor(
      async () => {
        for (let i = 0; i < 20; i++) if ((await backendOf('shop.test')) !== 'a') return false;
        return true;
      },
      15_000,
      () => 'all traffic back on A',
    );
  }, 40_000);

  it('when neither cluster can serve, the client gets a clean 502', async () => {
    const v = await tableOf('a');
    writeCluster('a', [{ address: backendA.address, port, ready: false }]);
    await waitFor(
      async () => (await tableOf('a')) !== v,
      15_000,
      () => 'A republished',
    );
    await backendB.close();
    try {
      await waitFor(
        async () => (await backendOf('shop.test')) === 'status 502',
        15_000,
        () => 'B gone too',
      );
    } finally {
      backendB = await startBackend('b', '127.0.0.102', port);
      writeCluster('a', [{ address: backendA.address, port }]);
    }
  }, 40_000);
});

describe("B's gateway takes only valid peer tokens", () => {
  const dispatcher = () => new Agent({ connect: { ca: readFileSync(at('ca.crt'), 'utf8') } });
  const key = async (file: string) => importJWK(JSON.parse(readFileSync(at(file), 'utf8')) as JWK, 'EdDSA');
  const send = async (token: string | null, backend = 'shop/web:80') => {
    const d = dispatcher();
    try {
      const r = await undiciRequest(`https://127.0.0.1:${gatewayPort}/direct`, {
        // (no Host header: undici would name the TLS server after it)
        dispatcher: d,
        headers: { 'portico-backend': backend, ...(token === null ? {} : { 'portico-peer-token': token }) },
      });
      return { status: r.statusCode, code: r.headers['portico-tunnel-error'], body: await r.body.text() };
    } finally {
      await d.close();
    }
  };
  const now = () => Math.floor(Date.now() / 1000);

  it('a valid token from A reaches the backend', async () => {
    const r = await send(
      await signPeerToken((await key('tunnel-a/signing-key.jwk.json')) as CryptoKey, { iss: 'a', aud: 'b', bk: ['shop/web:80'] }),
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ backend: 'b', url: '/direct' });
  });

  it.each<[string, () => Promise<string | null>, number, string, string?]>([
    ['no token', async () => null, 401, 'PORTICO_PEER_TOKEN_MISSING'],
    [
      'forged: claims to be A, signed by another key',
      async () => signPeerToken((await key('tunnel-m/signing-key.jwk.json')) as CryptoKey, { iss: 'a', aud: 'b', bk: ['shop/web:80'] }),
      401,
      'PORTICO_PEER_TOKEN_INVALID',
    ],
    [
      'expired',
      async () =>
        new SignJWT({ bk: ['shop/web:80'] })
          .setProtectedHeader({ alg: 'EdDSA', typ: 'portico-peer+jwt' })
          .setIssuer('a')
          .setAudience('b')
          .setIssuedAt(now() - 120)
          .setExpirationTime(now() - 60)
          .setJti('old')
          .sign(await key('tunnel-a/signing-key.jwk.json')),
      401,
      'PORTICO_PEER_TOKEN_EXPIRED',
    ],
    [
      'for another cluster',
      async () => signPeerToken((await key('tunnel-a/signing-key.jwk.json')) as CryptoKey, { iss: 'a', aud: 'c', bk: ['shop/web:80'] }),
      401,
      'PORTICO_PEER_TOKEN_AUDIENCE',
    ],
    [
      'scoped to another backend',
      async () => signPeerToken((await key('tunnel-a/signing-key.jwk.json')) as CryptoKey, { iss: 'a', aud: 'b', bk: ['shop/admin:80'] }),
      403,
      'PORTICO_PEER_TOKEN_SCOPE',
    ],
  ])('%s: refused (%s), and the backend never sees it', async (_n, token, status, code) => {
    const before = backendB.requests;
    const r = await send(await token());
    expect(r.status).toBe(status);
    expect(r.code).toBe(code);
    expect(backendB.requests).toBe(before);
  });

  it('a token for a backend B does not have: 404, nothing dialled', async () => {
    const r = await send(
      await signPeerToken((await key('tunnel-a/signing-key.jwk.json')) as CryptoKey, { iss: 'a', aud: 'b', bk: ['shop/nope:80'] }),
      'shop/nope:80',
    );
    expect(r.status).toBe(404);
    expect(r.code).toBe('PORTICO_PEER_NO_BACKEND');
  });

  it('a plain-text connection to the gateway gets no HTTP answer (TLS only)', async () => {
    await expect(fetch(`http://127.0.0.1:${gatewayPort}/`, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
  });
});

describe('the link to a peer is TLS checked against the configured CA', () => {
  it("a tunnel given another CA refuses the peer's certificate: 502 with the TLS error, nothing reaches B", async () => {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'other-ca.key',
      '-out',
      'other-ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=other-ca',
    );
    const admin = await freePort();
    const t = spawnPortico([
      'tunnel',
      '--redis',
      redis.url,
      '--cluster',
      'a',
      '--keys',
      at('keys-a'),
      '--listen',
      `unix:${at('a2.sock')}`,
      '--admin',
      `127.0.0.1:${admin}`,
      '--cache-file',
      'off',
      '--peer',
      `b=https://127.0.0.1:${gatewayPort}`,
      '--peer-signing-key',
      at('tunnel-a', 'signing-key.jwk.json'),
      '--peer-ca',
      at('other-ca.crt'),
    ]);
    procs.push(t);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200,
      20_000,
      () => t.logs(),
    );
    const client = new Client('http://tunnel', { socketPath: at('a2.sock') });
    try {
      const before = backendB.requests;
      const r = await client.request({
        path: '/',
        method: 'GET',
        headers: { host: 'shop.test', 'portico-peer': 'b', 'portico-backend': 'shop/web:80' },
      });
      await r.body.dump();
      expect(r.statusCode).toBe(502);
      expect(String(r.headers['portico-tunnel-error'])).toMatch(/CERT|SIGNATURE|ISSUER/);
      expect(backendB.requests).toBe(before);
    } finally {
      await client.close();
    }
  }, 30_000);
});

describe('inspection', () => {
  it('portico inspect status shows every cluster sharing the Redis', () => {
    const r = runPortico(['inspect', 'status', '--redis', redis.url, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const views = JSON.parse(r.stdout) as { cluster: string; hosts: number; workers: { node: string }[] }[];
    expect(views.map((v) => v.cluster)).toEqual(['a', 'b']);
    expect(views.map((v) => v.hosts)).toEqual([1, 2]);
    // The worker serves cluster a only: it reads b's table for failover without joining b's fleet.
    expect(views[0]!.workers.length).toBeGreaterThanOrEqual(1);
    const table = runPortico(['inspect', 'status', '--redis', redis.url]);
    expect(table.stdout).toMatch(/^CLUSTERS/);
    expect(table.stdout).toMatch(/\ba\b.*\n.*\bb\b/s);
  });
});
