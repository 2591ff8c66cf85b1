// The control plane in one process, against a real redis-server: the real publisher writes, the real
// worker source loads, verifies and swaps. Tampering is done the way an attacker with Redis access would.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LiveTable } from '../../gateway/live.ts';
import { RedisTableSource } from '../../gateway/source/redis.ts';
import { sealBundle, type Bundle, type SigningKeys, type VerifyingKeys } from '../../gateway/table/bundle.ts';
import { redisLayout, type CurrentPointer, type Heartbeat } from '../../gateway/table/redis-layout.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { loadVerifyingKeys } from '../../cli/keys.ts';
import { compile } from '../../sync/compile/index.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import { PublishLoop } from '../../sync/publish/loop.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { waitFor } from '../support/process.ts';
import type { RedisServer } from '../support/redis.ts';
import { startSignedRedis } from '../support/signed-redis.ts';
import { manifestRefs, plantBundle } from '../support/plant.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-cp-'));
let server: RedisServer;
let redis: Redis;
let signing: SigningKeys;
let verifying: VerifyingKeys;
let otherSigning: SigningKeys;
const cert = generateSelfSignedCertificate({ commonName: 'app-0.test', keyType: 'ec' });
let cluster = 'c0';
let n = 0;

/** A table with `hosts` hosts, a TLS certificate on the first; `tag` changes the content. */
const world = (hosts: number, tag = 0) =>
  compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port: 8000 + tag }]),
      tlsSecret('tls', cert.certPem, cert.keyPem),
      ...Array.from({ length: hosts }, (_, i) =>
        ingress(`ing-${i}`, {
          host: `app-${i}.test`,
          paths: [{ path: '/', service: 'web' }],
          ...(i === 0 ? { tls: [{ hosts: ['app-0.test'], secretName: 'tls' }] } : {}),
        }),
      ),
    ),
  );

const logs: string[] = [];
function source(live: LiveTable, o: { cacheFile?: string | null; pollMs?: number; keys?: VerifyingKeys } = {}) {
  return new RedisTableSource({
    redis: server.url,
    cluster,
    keys: o.keys ?? verifying,
    live,
    cacheFile: o.cacheFile ?? null,
    pollMs: o.pollMs ?? 200,
    heartbeatMs: 1000,
    node: 'test-node',
    log: (_level, msg) => void logs.push(msg),
  });
}

beforeAll(async () => {
  ({ server, redis, signing, otherSigning, verifying } = await startSignedRedis(dir));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  cluster = `c${++n}`; // every test gets its own cluster in the shared Redis
});

const publisherFor = (history = 50) => new RedisPublisher(redis, { cluster, keys: signing, history, publisher: 'test' });

/** Writes a bundle the way an attacker with Redis access could: any bytes, any pointer. */
async function plant(b: Bundle, version: string, pointer: Partial<CurrentPointer>, notify = true): Promise<void> {
  const l = redisLayout(cluster);
  await plantBundle(redis, cluster, version, b);
  await redis.set(
    l.current,
    JSON.stringify({ version, seq: Date.now() + 1000, publishedAt: new Date().toISOString(), publisher: 'attacker', ...pointer }),
  );
  if (notify) await redis.publish(l.channel, 'x');
}

/** Every value stored under this cluster's keys (strings and hashes), as text. */
async function everythingStored(): Promise<string> {
  const out: string[] = [];
  for (const key of await redis.keys(`${redisLayout(cluster).prefix}*`)) {
    const type = await redis.type(key);
    if (type === 'string') out.push((await redis.getBuffer(key))!.toString());
    if (type === 'hash') out.push(...Object.values(await redis.hgetallBuffer(key)).map((b) => b.toString()));
  }
  return out.join('\n');
}

describe('publishing', () => {
  it('publishes atomically: version, pointer, history; an unchanged table writes nothing', async () => {
    const p = publisherFor();
    const r1 = await p.publish(world(3));
    expect(r1.kind).toBe('published');
    const l = redisLayout(cluster);
    const cur = JSON.parse((await redis.get(l.current))!) as CurrentPointer;
    expect(cur.version).toBe(world(3).table.version);
    expect(await redis.llen(l.history)).toBe(1);
    expect(await redis.hexists(l.table(cur.version), 'manifest')).toBe(1);
    const again = await p.publish(world(3));
    expect(again.kind).toBe('unchanged');
    expect(JSON.parse((await redis.get(l.current))!)).toEqual(cur);
    expect(await redis.llen(l.history)).toBe(1);
  });

  it('keeps the last N versions in history and deletes the versions that fall out', async () => {
    const p = publisherFor(3);
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const w = world(2, i);
      versions.push(w.table.version);
      await p.publish(w);
    }
    const l = redisLayout(cluster);
    const hist = (await redis.lrange(l.history, 0, -1)).map((e) => (JSON.parse(e) as CurrentPointer).version);
    expect(hist).toEqual(versions.slice(2).reverse());
    for (const v of versions.slice(0, 2)) expect(await redis.exists(l.table(v))).toBe(0);
    for (const v of versions.slice(2)) expect(await redis.exists(l.table(v))).toBe(1);
  });

  it('publishes again when the current table was deleted or evicted, even if the pointer survived', async () => {
    const p = publisherFor();
    const w = world(2);
    await p.publish(w);
    await redis.del(redisLayout(cluster).table(w.table.version));
    expect((await p.publish(w)).kind).toBe('published');
    expect(await redis.hexists(redisLayout(cluster).table(w.table.version), 'manifest')).toBe(1);
  });

  it('keeps a version that comes back (A → B → A) while trimming', async () => {
    const p = publisherFor(2);
    const [a, b, c] = [world(1, 0), world(1, 1), world(1, 2)];
    for (const w of [a, b, a, c]) await p.publish(w);
    const l = redisLayout(cluster);
    expect(await redis.exists(l.table(a.table.version))).toBe(1); // still in the history
    expect(await redis.exists(l.table(c.table.version))).toBe(1); // current
    expect(await redis.exists(l.table(b.table.version))).toBe(0); // fell out
  });

  it('overwrites a malformed pointer instead of failing every publish', async () => {
    await redis.set(redisLayout(cluster).current, 'not json');
    expect((await publisherFor().publish(world(1))).kind).toBe('published');
  });

  it('puts every key of a cluster in one hash slot', async () => {
    await publisherFor().publish(world(1));
    const keys = await redis.keys(`portico:{${cluster}}:*`);
    const slots = new Set(await Promise.all(keys.map((k) => redis.call('CLUSTER', 'KEYSLOT', k).catch(() => null))));
    // CLUSTER KEYSLOT works on a standalone server too; all keys share the `{cluster}` tag.
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(slots.size).toBe(1);
  });

  it('never stores a private key in plaintext', async () => {
    await publisherFor().publish(world(2));
    const text = await everythingStored();
    expect(text).toContain('BEGIN CERTIFICATE');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(cert.keyPem.split('\n')[1]!);
  });

  it('never stores basic-auth users or password hashes in plaintext, and a worker gets them back (auth-secret)', async () => {
    const user = 'alice-the-admin';
    const hash = bcrypt.hashSync('bar', 4);
    const w = compile(
      objects(
        ourClass(),
        service('web', [{ address: '127.0.0.1', port: 8000 }]),
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { namespace: 'default', name: 'htpasswd' },
          type: 'Opaque',
          stringData: { auth: `${user}:${hash}` },
        },
        ingress('private', {
          host: 'app.test',
          paths: [{ path: '/', service: 'web' }],
          annotations: { 'nginx.ingress.kubernetes.io/auth-type': 'basic', 'nginx.ingress.kubernetes.io/auth-secret': 'htpasswd' },
        }),
      ),
    );
    expect(w.basicAuth).toEqual([{ secret: 'default/htpasswd', type: 'auth-file', users: [{ user, hash }] }]);
    await publisherFor().publish(w);
    const l = redisLayout(cluster);
    const text = await everythingStored();
    const auth = manifestRefs((await redis.hget(l.table(w.table.version), 'manifest'))!).find((r) => r.name === 'auth/0');
    expect(auth).toBeDefined();
    expect(await redis.exists(l.part(auth!.sha256))).toBe(1);
    for (const plain of [user, hash, hash.slice(7), 'bar']) expect(text).not.toContain(plain);
    const live = new LiveTable();
    const s = source(live);
    await s.start();
    try {
      await waitFor(
        () => live.table?.version === w.table.version,
        5_000,
        () => 'basic-auth version',
      );
      const revision = live.current!.matcher.table.hosts[0]!.routes[0]!.policies.access!.basicAuth!.revision;
      expect(live.current!.basicAuth!.get(revision)).toEqual(w.basicAuth[0]);
    } finally {
      await s.close();
    }
  });

  it('never stores the upstream client key (proxy-ssl-secret) in plaintext, and a worker gets it back', async () => {
    const client = generateSelfSignedCertificate({ commonName: 'portico-gateway', keyType: 'ec' });
    const w = compile(
      objects(
        ourClass(),
        service('web', [{ address: '127.0.0.1', port: 8000 }]),
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { namespace: 'default', name: 'upstream-tls' },
          type: 'Opaque',
          stringData: { 'ca.crt': cert.certPem, 'tls.crt': client.certPem, 'tls.key': client.keyPem },
        },
        ingress('secure', {
          host: 'app.test',
          paths: [{ path: '/', service: 'web' }],
          annotations: {
            'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
            'nginx.ingress.kubernetes.io/proxy-ssl-secret': 'default/upstream-tls',
          },
        }),
      ),
    );
    expect(w.table.schema).toBe(6);
    await publisherFor().publish(w);
    const text = await everythingStored();
    expect(text).toContain(client.certPem.split('\n')[1]!);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(client.keyPem.split('\n')[1]!);
    const live = new LiveTable();
    const s = source(live);
    await s.start();
    try {
      await waitFor(
        () => live.table?.version === w.table.version,
        5_000,
        () => 'proxy-ssl version',
      );
      expect(live.current!.certificates.get('default/upstream-tls#proxy-ssl')?.keyPem).toBe(client.keyPem);
    } finally {
      await s.close();
    }
  });
});

describe('the publish loop', () => {
  /** A loop with a fast watchdog that has published world(1, 0). */
  async function publishedLoop(publisher: string): Promise<PublishLoop> {
    const loop = new PublishLoop({ redis: server.url, cluster, keys: signing, history: 5, publisher, log: () => {}, watchdogMs: 100 });
    loop.start();
    loop.offer(world(1, 0));
    await waitFor(async () => (await redis.get(redisLayout(cluster).current)) !== null);
    return loop;
  }

  it('publishes nothing more after withdraw (a replica that lost the lease), not even into an emptied Redis', async () => {
    const loop = await publishedLoop('ex-leader');
    try {
      loop.withdraw();
      await redis.del(redisLayout(cluster).current);
      await new Promise((r) => setTimeout(r, 600)); // several watchdog rounds
      expect(await redis.get(redisLayout(cluster).current)).toBeNull();
    } finally {
      loop.close();
    }
  });

  it('republishes its newest table, under a higher sequence, when a failover brought back an older one', async () => {
    // The promoted replica's state, made exactly: `current` and the history as they were before the last publish,
    // and the last table's key gone (the old master acknowledged that publish but never replicated it).
    const l = redisLayout(cluster);
    const loop = await publishedLoop('leader');
    const live = new LiveTable();
    const s = source(live, { pollMs: 100 });
    try {
      await s.start();
      await waitFor(() => s.served !== null);
      const before = { current: await redis.dumpBuffer(l.current), history: await redis.dumpBuffer(l.history) };
      const newest = world(1, 1);
      loop.offer(newest);
      await waitFor(() => s.served?.manifest.version === newest.table.version);
      const lost = s.served!.manifest.seq;
      await redis.restore(l.current, 0, before.current!, 'REPLACE');
      await redis.restore(l.history, 0, before.history!, 'REPLACE');
      await redis.del(l.table(newest.table.version));
      await waitFor(
        async () => JSON.parse((await redis.get(l.current)) ?? '{}').seq > lost,
        3_000,
        () => 'the republish of the newest table',
      );
      const cur = JSON.parse((await redis.get(l.current))!) as CurrentPointer;
      expect(cur.version).toBe(newest.table.version);
      // The worker never went back to the older table in between (it refuses the lower sequence), and the
      // republished one is the table it already serves.
      await new Promise((r) => setTimeout(r, 400)); // several polls
      expect(s.served!.manifest.version).toBe(newest.table.version);
      expect(s.served!.manifest.seq).toBeGreaterThanOrEqual(lost);
      expect(live.current!.matcher.table.version).toBe(newest.table.version);
    } finally {
      loop.close();
      await s.close();
    }
  });

  it('republishes into an emptied Redis while it leads', async () => {
    const loop = await publishedLoop('leader');
    try {
      await redis.del(redisLayout(cluster).current);
      await waitFor(
        async () => (await redis.get(redisLayout(cluster).current)) !== null,
        3_000,
        () => 'the republish',
      );
    } finally {
      loop.close();
    }
  });
});

describe('loading', () => {
  it('loads, verifies and serves the current version, with its certificate, and follows new versions', async () => {
    const p = publisherFor();
    await p.publish(world(3, 0));
    const live = new LiveTable();
    const s = source(live);
    await s.start();
    try {
      await waitFor(
        () => live.table?.version === world(3, 0).table.version,
        5_000,
        () => 'first version',
      );
      expect(live.current!.certificates.get('default/tls')!.keyPem).toBe(cert.keyPem);
      await p.publish(world(4, 1));
      await waitFor(
        () => live.table?.version === world(4, 1).table.version,
        5_000,
        () => 'second version',
      );
      const hb = JSON.parse((await redis.get(redisLayout(cluster).worker(`test-node:${process.pid}`)))!) as Heartbeat;
      expect(hb).toMatchObject({ node: 'test-node', pid: process.pid, version: world(4, 1).table.version, source: 'redis', refusals: 0 });
      expect(await redis.ttl(redisLayout(cluster).worker(`test-node:${process.pid}`))).toBeGreaterThan(0);
      expect(await redis.zscore(redisLayout(cluster).workers, `test-node:${process.pid}`)).not.toBeNull();
    } finally {
      await s.close();
    }
  });

  it('keeps every fail-closed guard through publish and load (routes, a host fallback, the default backend)', async () => {
    const guard = { 'nginx.ingress.kubernetes.io/auth-type': 'digest' };
    const w = compile(
      objects(
        ourClass(),
        service('web', [{ address: '127.0.0.1', port: 8000 }]),
        ingress('guarded', { host: 'app.test', paths: [{ path: '/', service: 'web' }], defaultBackend: 'web', annotations: guard }),
      ),
    );
    expect(w.table.defaultBackendFailClosed).toEqual(['nginx.ingress.kubernetes.io/auth-type']);
    await publisherFor().publish(w);
    const live = new LiveTable();
    const s = source(live);
    await s.start();
    try {
      await waitFor(
        () => live.table?.version === w.table.version,
        5_000,
        () => 'guarded version',
      );
      expect(live.table).toEqual(w.table);
      expect(live.current!.matcher.match('app.test', '/').failClosed).toEqual(['nginx.ingress.kubernetes.io/auth-type']);
      expect(live.current!.matcher.match('other.test', '/').failClosed).toEqual(['nginx.ingress.kubernetes.io/auth-type']);
    } finally {
      await s.close();
    }
  });

  it('loads a table split over several parts (1,200 hosts)', async () => {
    const big = world(1200, 4);
    await publisherFor().publish(big);
    const cur = JSON.parse((await redis.get(redisLayout(cluster).current))!) as CurrentPointer;
    const refs = manifestRefs((await redis.hget(redisLayout(cluster).table(cur.version), 'manifest'))!);
    expect(refs.filter((r) => r.name.startsWith('hosts/')).length).toBe(16); // 1,200 / 128 → the next power of two
    const live = new LiveTable();
    const s = source(live);
    await s.start();
    try {
      await waitFor(
        () => live.table?.version === big.table.version,
        10_000,
        () => 'the large table',
      );
      expect(live.current!.matcher.match('app-1199.test', '/x').backend?.id).toBe('default/web:80');
      expect(live.table!.hosts.length).toBe(1200);
    } finally {
      await s.close();
    }
  });

  it('follows notifications (not the poll) even when it started while Redis was down', async () => {
    await server.kill();
    const live = new LiveTable();
    const s = source(live, { pollMs: 60_000 });
    await s.start();
    try {
      await server.restart();
      await waitFor(
        () => s.connected,
        10_000,
        () => 'the worker to connect',
      );
      const w = world(1, 6);
      await waitFor(
        async () => {
          await publisherFor().publish(w); // until the subscription is up, the message may still be missed
          return live.table?.version === w.table.version;
        },
        8_000,
        () => 'the notification to be followed',
      );
    } finally {
      await s.close();
    }
  });

  it('catches up by polling when the notification is missed', async () => {
    const p = publisherFor();
    await p.publish(world(1, 0));
    const live = new LiveTable();
    const s = source(live, { pollMs: 300 });
    await s.start();
    try {
      await waitFor(() => live.table?.version === world(1, 0).table.version);
      // A correctly signed new version whose notification never comes: only the poll can find it.
      const w = world(1, 1);
      await plant(
        await sealBundle(w.table, w.certificates, { cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'agent' }, signing),
        w.table.version,
        {},
        false,
      );
      await waitFor(
        () => live.table?.version === w.table.version,
        3_000,
        () => 'the poll to find the new version',
      );
    } finally {
      await s.close();
    }
  });

  describe('refuses a tampered table and keeps serving the last good one', () => {
    const cases: { name: string; code: string; tamper: (good: string) => Promise<void> }[] = [
      {
        name: 'a part edited in Redis',
        code: 'PORTICO_BUNDLE_DIGEST',
        tamper: async () => {
          const w = world(2, 7);
          const b = await sealBundle(
            w.table,
            w.certificates,
            { cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'agent' },
            signing,
          );
          // backends/0: the part this version does not share with the one served (a shared part is never read again)
          const edited = JSON.parse(new TextDecoder().decode(b.parts.get('backends/0')!)) as { id: string }[];
          edited[0]!.id = 'evil/backend:80';
          b.parts.set('backends/0', new TextEncoder().encode(JSON.stringify(edited)));
          await plant(b, w.table.version, {});
        },
      },
      {
        name: 'a manifest signed with another key',
        code: 'PORTICO_BUNDLE_SIGNATURE',
        tamper: async () => {
          const w = world(2, 8);
          await plant(
            await sealBundle(
              w.table,
              w.certificates,
              { cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'attacker' },
              otherSigning,
            ),
            w.table.version,
            {},
          );
        },
      },
      {
        name: "another cluster's signed table",
        code: 'PORTICO_BUNDLE_CLUSTER',
        tamper: async () => {
          const w = world(2, 9);
          await plant(
            await sealBundle(
              w.table,
              w.certificates,
              { cluster: 'elsewhere', seq: Date.now() + 1000, publishedAt: 'now', publisher: 'agent' },
              signing,
            ),
            w.table.version,
            {},
          );
        },
      },
      {
        name: 'an older manifest replayed under the newest version',
        code: 'PORTICO_BUNDLE_VERSION',
        tamper: async (good) => {
          const old = world(2, 10);
          const b = await sealBundle(old.table, old.certificates, { cluster, seq: 1, publishedAt: 'then', publisher: 'agent' }, signing);
          await plant(b, `sha256:${'0'.repeat(64)}`, {});
          void good;
        },
      },
      {
        name: 'the pointer moved back to an older version without a rollback record',
        code: 'PORTICO_TABLE_OLDER',
        tamper: async () => {
          const old = world(2, 11);
          // The (unsigned) pointer claims a high seq; the signed manifest says 5: the signed one counts.
          await plant(
            await sealBundle(old.table, old.certificates, { cluster, seq: 5, publishedAt: 'then', publisher: 'agent' }, signing),
            old.table.version,
            {},
          );
        },
      },
    ];
    it.each(cases)('$name ($code)', async ({ tamper, code }) => {
      const good = world(2, 0);
      await publisherFor().publish(good);
      const live = new LiveTable();
      const s = source(live);
      await s.start();
      try {
        await waitFor(() => live.table?.version === good.table.version);
        await tamper(good.table.version);
        await waitFor(
          () => s.refusals > 0,
          5_000,
          () => 'a refusal',
        );
        expect(s.lastRefusal?.code).toBe(code);
        expect(live.table!.version).toBe(good.table.version);
        await waitFor(
          async () => {
            const hb = JSON.parse((await redis.get(redisLayout(cluster).worker(`test-node:${process.pid}`))) ?? '{}') as Heartbeat;
            return hb.refusals === 1 && hb.lastRefusal?.code === code;
          },
          5_000,
          () => 'the refusal in the heartbeat',
        );
        // Reported once, not on every poll.
        await new Promise((r) => setTimeout(r, 600));
        expect(s.refusals).toBe(1);
      } finally {
        await s.close();
      }
    });
  });

  it('refuses a table whose private keys do not decrypt with its shared key (PORTICO_BUNDLE_DECRYPT)', async () => {
    await publisherFor().publish(world(2, 5));
    const other = await loadVerifyingKeys(join(dir, 'other'));
    const live = new LiveTable();
    const s = source(live, { keys: { verify: verifying.verify, decrypt: other.decrypt } });
    await s.start();
    try {
      await waitFor(
        () => s.refusals > 0,
        5_000,
        () => 'a refusal',
      );
      expect(s.lastRefusal?.code).toBe('PORTICO_BUNDLE_DECRYPT');
      expect(live.table).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('serves from the cache file when Redis is unreachable at start, and says where the table came from', async () => {
    const cacheFile = join(dir, `${cluster}.bundle`);
    await publisherFor().publish(world(2, 3));
    const first = new LiveTable();
    const s1 = source(first, { cacheFile });
    await s1.start();
    await waitFor(() => first.table?.version === world(2, 3).table.version);
    await waitFor(() => existsSync(cacheFile));
    await s1.close();
    const down = new RedisTableSource({
      redis: 'redis://127.0.0.1:1',
      cluster,
      keys: verifying,
      live: new LiveTable(),
      cacheFile,
      pollMs: 200,
      heartbeatMs: 1000,
      log: () => {},
    });
    const live = (down as unknown as { o: { live: LiveTable } }).o.live;
    await down.start();
    try {
      expect(live.table?.version).toBe(world(2, 3).table.version);
      expect(down.served?.source).toBe('cache');
      expect(live.current!.certificates.get('default/tls')!.keyPem).toBe(cert.keyPem);
    } finally {
      await down.close();
    }
    // With Redis up and the same version signed there, the cached table is not read, opened or written again:
    // the worker only learns that it comes from Redis (the cache file is left as it was).
    const cachedAt = statSync(cacheFile).mtimeMs;
    const up = source(new LiveTable(), { cacheFile });
    await up.start();
    try {
      await waitFor(() => up.served?.source === 'redis');
      expect(up.served?.manifest.version).toBe(world(2, 3).table.version);
      expect(statSync(cacheFile).mtimeMs).toBe(cachedAt);
    } finally {
      await up.close();
    }
    // A cache file is verified like Redis: with the wrong public key it is refused.
    const wrongKeys = await loadVerifyingKeys(join(dir, 'other'));
    const wrong = new RedisTableSource({
      redis: 'redis://127.0.0.1:1',
      cluster,
      keys: wrongKeys,
      live: new LiveTable(),
      cacheFile,
      pollMs: 200,
      heartbeatMs: 1000,
      log: () => {},
    });
    await wrong.start();
    try {
      expect(wrong.served).toBeNull();
      expect(wrong.lastRefusal?.code).toBe('PORTICO_BUNDLE_SIGNATURE');
    } finally {
      await wrong.close();
    }
  });
});
