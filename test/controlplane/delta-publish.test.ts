// Content-addressed parts against a real redis-server: a one-Ingress change writes and reads only the parts that
// changed (counted by Redis itself, INFO commandstats), parts leave Redis with the trimmed history and not before,
// a rollback to the oldest kept version still loads, the upgrade paths between manifest formats 1 and 2, and the
// same over a real Redis Cluster (3 masters, 3 replicas).
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CompactSign } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadVersion } from '../../gateway/inspect/read.ts';
import { LiveTable } from '../../gateway/live.ts';
import { readManifest, readParts } from '../../gateway/source/read-bundle.ts';
import { RedisTableSource } from '../../gateway/source/redis.ts';
import { RespTransport } from '../../gateway/source/resp-transport.ts';
import { BundleError, openBundle, sealBundle, verifyManifest, type Manifest, type PartRef } from '../../gateway/table/bundle.ts';
import { redisLayout, type CurrentPointer, type HistoryEntry } from '../../gateway/table/redis-layout.ts';
import { compile } from '../../sync/compile/index.ts';
import { IncompleteVersionError, RedisPublisher, rollback } from '../../sync/publish/redis.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { manifestRefs, plantBundle } from '../support/plant.ts';
import { waitFor } from '../support/process.ts';
import { startClusterSetup } from '../support/redis-ha.ts';
import { useSignedRedis } from '../support/signed-redis.ts';
import { socketTo, startFollower, TRANSPORTS } from './follower-transports.ts';

const sr = useSignedRedis('d');

const HOSTS = 300;
/** `HOSTS` Ingresses, one host each; Ingress `changed` (if any) routes `/v2` instead of `/`. */
const world = (changed?: number) =>
  compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port: 8080 }]),
      ...Array.from({ length: HOSTS }, (_, i) =>
        ingress(`ing-${i}`, { host: `app-${i}.test`, paths: [{ path: i === changed ? '/v2' : '/', service: 'web' }] }),
      ),
    ),
  );

const cert = generateSelfSignedCertificate({ commonName: 'app-0.test', keyType: 'ec' });
/** One TLS host whose certificate never changes; `port` changes its backend (another table version). */
const tlsWorld = (port: number) =>
  compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port }]),
      tlsSecret('tls', cert.certPem, cert.keyPem),
      ingress('a', { host: 'app-0.test', paths: [{ path: '/', service: 'web' }], tls: [{ hosts: ['app-0.test'], secretName: 'tls' }] }),
    ),
  );

const publisher = (history = 50, c: Redis = sr.redis) =>
  new RedisPublisher(c, { cluster: sr.cluster, keys: sr.signing, history, publisher: 'test' });

async function manifestOf(version: string, c: Redis = sr.redis): Promise<Manifest> {
  const jws = await c.hget(redisLayout(sr.cluster).table(version), 'manifest');
  return verifyManifest(jws!, sr.verifying, { cluster: sr.cluster, version });
}

/** Calls of each command since the last CONFIG RESETSTAT (commands run by scripts included). */
async function commandCalls(): Promise<Map<string, number>> {
  const info = (await sr.redis.info('commandstats')) as string;
  return new Map([...info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])] as const));
}

const partKeys = async (): Promise<string[]> => (await sr.redis.keys(`${redisLayout(sr.cluster).prefix}part:*`)).sort();
const changedNames = (a: Manifest, b: Manifest): string[] => {
  const before = new Map(a.parts.map((p) => [p.name, p.sha256]));
  return b.parts.filter((p) => before.get(p.name) !== p.sha256).map((p) => p.name);
};

/** `HOSTS` Ingresses after an edit of their list. */
const edited = (edit: (names: number[]) => number[]) =>
  compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port: 8080 }]),
      ...edit(Array.from({ length: HOSTS }, (_, i) => i)).map((i) =>
        ingress(`ing-${i}`, { host: `app-${i}.test`, paths: [{ path: '/', service: 'web' }] }),
      ),
    ),
  );

describe('part boundaries stay put', () => {
  const cases: { name: string; edit: (names: number[]) => number[] }[] = [
    { name: 'a host added', edit: (names) => [...names, 5000] },
    { name: 'a host added before every other (by name and by age)', edit: (names) => [-1, ...names] },
    { name: 'a host removed', edit: (names) => names.filter((i) => i !== 17) },
  ];
  it.each(cases)('$name changes one hosts part and the head', async ({ edit }) => {
    const meta = { cluster: sr.cluster, seq: 1, publishedAt: 'now', publisher: 'test' };
    const a = world();
    const b = edited(edit);
    const [sa, sb] = [await sealBundle(a.table, [], meta, sr.signing), await sealBundle(b.table, [], meta, sr.signing)];
    const before = new Map(sa.refs.map((r) => [r.name, r.sha256]));
    const changed = sb.refs.filter((r) => before.get(r.name) !== r.sha256).map((r) => r.name);
    expect(changed).toHaveLength(2);
    expect(changed).toContain('head');
    expect(changed.filter((name) => name.startsWith('hosts/'))).toHaveLength(1);
  });
});

describe('a one-Ingress change', () => {
  it('writes one hosts part (and the head, which names the version), nothing else', async () => {
    const p = publisher();
    const a = world();
    await p.publish(a);
    const keysBefore = await partKeys();
    const b = world(7);
    await sr.redis.config('RESETSTAT');
    await p.publish(b);
    const calls = await commandCalls();
    const changed = changedNames(await manifestOf(a.table.version), await manifestOf(b.table.version));
    expect(changed).toHaveLength(2);
    expect(changed).toContain('head');
    expect(changed.filter((name) => /^hosts\/\d+$/.test(name))).toHaveLength(1);
    expect((await partKeys()).length).toBe(keysBefore.length + 2);
    // the two changed parts and the pointer: no other SET (no part Redis already held is written again)
    expect(calls.get('set')).toBe(3);
    expect(calls.get('strlen')).toBeGreaterThan(0); // the one question: which parts are missing (or not of their signed size)
  });

  it('keeps the private-key JWE of an unchanged certificate, so its keys part does not change', async () => {
    const p = publisher();
    const a = tlsWorld(1);
    const b = tlsWorld(2);
    await p.publish(a);
    await p.publish(b);
    const changed = changedNames(await manifestOf(a.table.version), await manifestOf(b.table.version));
    expect(changed).not.toContain('keys/0');
    expect(changed).toContain('backends/0');
    // a new publisher (a restarted agent) encrypts again: same material, another IV, another part
    await publisher().publish(tlsWorld(3));
    const c = await manifestOf(tlsWorld(3).table.version);
    expect(changedNames(await manifestOf(b.table.version), c)).toContain('keys/0');
  });

  it('deletes the parts a version published again no longer lists (its keys sealed again by a restarted agent)', async () => {
    const keysOf = async (version: string) => (await manifestOf(version)).parts.find((p) => p.name === 'keys/0')!.sha256;
    const a = tlsWorld(1);
    const b = tlsWorld(2);
    // Three agent processes in turn (each seals the private key again: another IV, another digest): A, B, then A again.
    await publisher().publish(a);
    const first = await keysOf(a.table.version);
    await publisher().publish(b);
    await publisher().publish(a);
    const again = await keysOf(a.table.version);
    expect(again).not.toBe(first);
    const layout = redisLayout(sr.cluster);
    expect(await sr.redis.exists(layout.part(first))).toBe(0); // listed by no version any more
    // every part of both versions in history is still there
    for (const v of [a.table.version, b.table.version])
      for (const p of (await manifestOf(v)).parts) expect(await sr.redis.exists(layout.part(p.sha256)), `${v} ${p.name}`).toBe(1);
  });

  it.each(TRANSPORTS)('is read by a worker as only the changed parts (over %s)', async (transport) => {
    const p = publisher();
    const a = world();
    const b = world(11);
    // The publisher asks for part sizes (STRLEN) too: counted on a twin cluster in the same state, without a worker.
    const twin = new RedisPublisher(sr.redis, { cluster: `${sr.cluster}-twin`, keys: sr.signing, history: 50, publisher: 'test' });
    await twin.publish(a);
    await sr.redis.config('RESETSTAT');
    await twin.publish(b);
    const publisherStrlen = (await commandCalls()).get('strlen') ?? 0;
    await p.publish(a);
    const live = new LiveTable();
    const f = await startFollower(transport, {
      port: sr.server.port,
      cluster: sr.cluster,
      keys: sr.verifying,
      live,
      node: `delta-${transport}`,
    });
    try {
      await f.checkOnce();
      expect(live.table?.version).toBe(a.table.version);
      await sr.redis.config('RESETSTAT');
      await p.publish(b);
      await f.check(); // joined with a check the notification started (ioredis), never two loads at once
      await waitFor(
        () => live.table?.version === b.table.version,
        10_000,
        () => 'the changed version to load',
      );
      const calls = await commandCalls();
      expect((calls.get('strlen') ?? 0) - publisherStrlen).toBe(2); // the sizes of head and the one hosts part
      expect(calls.get('mget')).toBe(1); // their bytes, one round trip
      expect(calls.get('hmget')).toBeUndefined(); // no part read from the version's hash (format 1)
      // the table served is the one the agent sealed, in its canonical order
      expect(live.table?.hosts.map((h) => h.host)).toEqual(b.table.hosts.map((h) => h.host));
      expect(live.table).toEqual(b.table);
    } finally {
      await f.close();
    }
  });
});

describe('retention', () => {
  it('deletes the parts no version in history references any more; a rollback to the oldest kept one still loads', async () => {
    const p = publisher(3);
    const versions: string[] = [];
    for (const changed of [undefined, 1, 2, 3, 4]) {
      const w = world(changed);
      await p.publish(w);
      versions.push(w.table.version);
    }
    const l = redisLayout(sr.cluster);
    const kept = (await sr.redis.lrange(l.history, 0, -1)).map((e) => (JSON.parse(e) as HistoryEntry).version);
    expect(kept).toEqual(versions.slice(2).reverse());
    const referenced = new Set<string>();
    for (const v of kept) for (const ref of (await manifestOf(v)).parts) referenced.add(l.part(ref.sha256));
    expect(await partKeys()).toEqual([...referenced].sort());
    expect(await sr.redis.exists(l.table(versions[0]!), l.table(versions[1]!))).toBe(0);
    // the oldest kept version, rolled back to, loads in a fresh worker and in inspection
    const oldest = JSON.parse((await sr.redis.lindex(l.history, -1))!) as HistoryEntry;
    expect(oldest.version).toBe(versions[2]);
    expect(await rollback(sr.redis, sr.cluster, oldest, 'test')).toBe('rolled-back');
    const live = new LiveTable();
    const s = new RedisTableSource({
      redis: sr.server.url,
      cluster: sr.cluster,
      keys: sr.verifying,
      live,
      cacheFile: null,
      pollMs: 100,
      heartbeatMs: 0,
      node: 'retention',
      log: () => {},
    });
    await s.start();
    try {
      await waitFor(
        () => live.table?.version === versions[2],
        10_000,
        () => 'the rolled-back version to load',
      );
    } finally {
      await s.close();
    }
    expect((await loadVersion(sr.redis, sr.cluster, versions[2]!, sr.verifying)).table.hosts.length).toBe(HOSTS);
  });

  it('keeps a part shared by a dropped and a kept version', async () => {
    const p = publisher(1);
    await p.publish(world(1));
    await p.publish(world(2));
    const kept = await manifestOf(world(2).table.version);
    const l = redisLayout(sr.cluster);
    expect(await partKeys()).toEqual([...new Set(kept.parts.map((r) => l.part(r.sha256)))].sort());
  });
});

describe('damaged parts', () => {
  const l = () => redisLayout(sr.cluster);
  const refsOf = async (w: ReturnType<typeof world>): Promise<PartRef[]> =>
    (await sealBundle(w.table, [], { cluster: sr.cluster, seq: 1, publishedAt: 'now', publisher: 'test' }, sr.signing)).refs;
  /** A hosts part of `a` that `b` lists too (`shared`: one the change from a to b leaves alone), or does not. */
  const hostsPart = async (a: ReturnType<typeof world>, b: ReturnType<typeof world>, shared: boolean): Promise<PartRef> => {
    const inB = new Set((await refsOf(b)).map((r) => r.sha256));
    return (await refsOf(a)).find((r) => r.name.startsWith('hosts/') && inB.has(r.sha256) === shared)!;
  };
  const truncate = async (ref: PartRef): Promise<void> => {
    const bytes = (await sr.redis.getBuffer(l().part(ref.sha256)))!;
    await sr.redis.set(l().part(ref.sha256), bytes.subarray(0, bytes.length >> 1));
  };
  const intact = async (ref: PartRef): Promise<boolean> => {
    const bytes = await sr.redis.getBuffer(l().part(ref.sha256));
    return bytes !== null && bytes.length === ref.bytes && createHash('sha256').update(bytes).digest('hex') === ref.sha256;
  };

  it('a truncated part the next version shares is written again by its publish, and a worker loads that version', async () => {
    const p = publisher();
    const a = world();
    const b = world(7);
    await p.publish(a);
    const shared = await hostsPart(a, b, true);
    await truncate(shared);
    const live = new LiveTable();
    const f = await startFollower('ioredis', { port: sr.server.port, cluster: sr.cluster, keys: sr.verifying, live, node: 'damaged' });
    try {
      await f.checkOnce();
      expect(f.lastRefusal?.code).toBe('PORTICO_BUNDLE_DIGEST'); // what every worker said, for good, before the repair
      expect(live.table).toBeNull();
      expect((await p.publish(b)).kind).toBe('published');
      expect(await intact(shared)).toBe(true);
      await f.checkOnce();
      expect(live.table?.version).toBe(b.table.version);
    } finally {
      await f.close();
    }
  });

  it('the current version with a truncated part is not current to the agent: its republish (the watchdog) repairs it', async () => {
    const p = publisher();
    const a = world();
    await p.publish(a);
    const part = (await manifestOf(a.table.version)).parts.find((r) => r.name === 'head')!;
    await truncate(part);
    expect(await p.current()).toBeNull();
    expect((await p.publish(a)).kind).toBe('published');
    expect(await intact(part)).toBe(true);
    expect((await p.current())?.version).toBe(a.table.version);
  });

  it.each(['deleted', 'truncated'] as const)('a rollback to a version with a %s part is refused, and current stays', async (damage) => {
    const p = publisher();
    const a = world();
    const b = world(9);
    await p.publish(a);
    await p.publish(b);
    const part = await hostsPart(a, b, false);
    if (damage === 'deleted') await sr.redis.del(l().part(part.sha256));
    else await truncate(part);
    const before = await sr.redis.lrange(l().history, 0, -1);
    const entry = before.map((e) => JSON.parse(e) as HistoryEntry).find((e) => e.version === a.table.version)!;
    const refused = await rollback(sr.redis, sr.cluster, entry, 'operator').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IncompleteVersionError);
    expect((refused as IncompleteVersionError).code).toBe('PORTICO_VERSION_INCOMPLETE');
    expect((refused as Error).message).toMatch(
      /^refused to roll back to sha256:[0-9a-f]{64}: 1 of its parts are missing from Redis or damaged/,
    );
    expect((JSON.parse((await sr.redis.get(l().current))!) as CurrentPointer).version).toBe(b.table.version);
    expect(await sr.redis.lrange(l().history, 0, -1)).toEqual(before);
    // once a publish of a wrote the part again, the same rollback goes through
    await p.publish(a);
    await p.publish(b);
    expect(await rollback(sr.redis, sr.cluster, entry, 'operator')).toBe('rolled-back');
  });
});

/** A manifest of format 1, as an agent of the previous release signed it: no `format`, each part a field of the
 * version's hash. The parts are this release's (their bucketing does not matter to a format-1 reader). */
async function publishFormat1(version: ReturnType<typeof world>, seq: number): Promise<void> {
  const sealed = await sealBundle(version.table, [], { cluster: sr.cluster, seq, publishedAt: 'now', publisher: 'old-agent' }, sr.signing);
  const { format: _f, ...claims } = (await verifyManifest(sealed.manifest, sr.verifying, { cluster: sr.cluster })) as Manifest;
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'EdDSA', typ: 'portico.table' })
    .sign(sr.signing.sign);
  const l = redisLayout(sr.cluster);
  const fields: (string | Buffer)[] = ['manifest', jws];
  for (const [name, bytes] of sealed.parts) fields.push(`part:${name}`, Buffer.from(bytes));
  await sr.redis.hset(l.table(version.table.version), ...fields);
  const pointer: CurrentPointer = { version: version.table.version, seq, publishedAt: 'now', publisher: 'old-agent' };
  await sr.redis.set(l.current, JSON.stringify(pointer));
  await sr.redis.lpush(l.history, JSON.stringify({ ...pointer, hosts: HOSTS, routes: HOSTS, diagnostics: 0 }));
}

describe('upgrades between manifest formats', () => {
  it.each(TRANSPORTS)('a worker of this release loads a version of the previous layout, then the new one (over %s)', async (transport) => {
    const old = world(1);
    await publishFormat1(old, Date.now());
    const live = new LiveTable();
    const f = await startFollower(transport, {
      port: sr.server.port,
      cluster: sr.cluster,
      keys: sr.verifying,
      live,
      node: `upgrade-${transport}`,
    });
    try {
      await f.checkOnce();
      expect(live.table?.version).toBe(old.table.version);
      expect(f.lastRefusal).toBeNull();
      const next = world(2);
      await publisher().publish(next);
      await f.checkOnce();
      expect(live.table?.version).toBe(next.table.version);
      expect((await loadVersion(sr.redis, sr.cluster, old.table.version, sr.verifying)).table.hosts.length).toBe(HOSTS);
    } finally {
      await f.close();
    }
  });

  it("a worker of the previous release (its read path, named here: parts from the version's hash) refuses the new layout as a missing part", async () => {
    const w = world(3);
    await publisher().publish(w);
    const l = redisLayout(sr.cluster);
    // readManifest and readParts (format 1) are the previous release's read path, unchanged
    const { m, parts } = await new RespTransport({ connect: () => socketTo(sr.server.port), log: () => {} }).session(async (c) => {
      const jws = await readManifest(c, l.table(w.table.version), w.table.version);
      const manifest = await verifyManifest(jws, sr.verifying, { cluster: sr.cluster, version: w.table.version });
      return { m: manifest, parts: await readParts(c, l.table(w.table.version), manifest) };
    });
    const refused = await openBundle(m, async (ref: PartRef) => parts.get(ref.name) ?? null, sr.verifying).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BundleError);
    expect((refused as BundleError).code).toBe('PORTICO_BUNDLE_PART_MISSING');
  });

  it('a manifest of a newer format is refused (PORTICO_BUNDLE_FORMAT) and the last good table keeps serving', async () => {
    const good = world(4);
    await publisher().publish(good);
    const live = new LiveTable();
    const f = await startFollower('ioredis', { port: sr.server.port, cluster: sr.cluster, keys: sr.verifying, live, node: 'newer-format' });
    try {
      await f.checkOnce();
      expect(live.table?.version).toBe(good.table.version);
      const w = world(5);
      const sealed = await sealBundle(
        w.table,
        [],
        { cluster: sr.cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'new' },
        sr.signing,
      );
      const claims = { ...(await verifyManifest(sealed.manifest, sr.verifying, { cluster: sr.cluster })), format: 3 };
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: 'EdDSA', typ: 'portico.table' })
        .sign(sr.signing.sign);
      await plantBundle(sr.redis, sr.cluster, w.table.version, { manifest: jws, parts: sealed.parts });
      await sr.redis.set(
        redisLayout(sr.cluster).current,
        JSON.stringify({ version: w.table.version, seq: claims.seq, publishedAt: 'now', publisher: 'new' }),
      );
      await f.checkOnce();
      expect(f.lastRefusal?.code).toBe('PORTICO_BUNDLE_FORMAT');
      expect(live.table?.version).toBe(good.table.version);
    } finally {
      await f.close();
    }
  });
});

describe('over a Redis Cluster', () => {
  it('publishes, trims and follows one-part changes through the cluster client', async () => {
    const c = await startClusterSetup();
    const { Cluster } = await import('ioredis');
    const client = new Cluster(c.nodes);
    const live = new LiveTable();
    const s = new RedisTableSource({
      redis: { clusterNodes: c.nodes },
      cluster: sr.cluster,
      keys: sr.verifying,
      live,
      cacheFile: null,
      pollMs: 100,
      heartbeatMs: 0,
      node: 'cluster',
      log: () => {},
    });
    try {
      const p = new RedisPublisher(client, { cluster: sr.cluster, keys: sr.signing, history: 2, publisher: 'test' });
      await s.start();
      for (const changed of [undefined, 1, 2, 3]) {
        const w = world(changed);
        expect((await p.publish(w)).kind).toBe('published');
        await waitFor(
          () => live.table?.version === w.table.version,
          10_000,
          () => `version ${changed} to load from the cluster`,
        );
      }
      const master = await c.masterOf(redisLayout(sr.cluster).current);
      const onMaster = c.client(master.port);
      const parts = await onMaster.keys(`${redisLayout(sr.cluster).prefix}part:*`);
      const referenced = new Set<string>();
      for (const v of [world(3), world(2)])
        for (const r of manifestRefs((await client.hget(redisLayout(sr.cluster).table(v.table.version), 'manifest'))!))
          referenced.add(r.sha256);
      expect(parts.length).toBe(referenced.size);
    } finally {
      await s.close();
      client.disconnect();
      await c.stop();
    }
  }, 60_000);
});
