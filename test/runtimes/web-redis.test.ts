// The workerd table source (gateway/source/web-redis.ts + resp.ts) against a real redis-server, run in
// Node over a node:net socket turned into Web streams (the shape cloudflare:sockets hands out). Tampering
// is done as an attacker with Redis access would; every refusal must keep the last good table.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LiveTable } from '../../gateway/live.ts';
import type { ByteSocket } from '../../gateway/source/resp.ts';
import { WebRedisSource } from '../../gateway/source/web-redis.ts';
import { sealBundle, type Bundle, type SigningKeys, type VerifyingKeys } from '../../gateway/table/bundle.ts';
import { redisLayout, type HistoryEntry } from '../../gateway/table/redis-layout.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { compile } from '../../sync/compile/index.ts';
import { RedisPublisher, rollback } from '../../sync/publish/redis.ts';
import { freePort } from '../support/process.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import type { RedisServer } from '../support/redis.ts';
import { startSignedRedis } from '../support/signed-redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-webredis-'));
const cert = generateSelfSignedCertificate({ commonName: 'app.test', keyType: 'ec' });
let server: RedisServer;
let redis: Redis;
let signing: SigningKeys;
let otherSigning: SigningKeys;
let verifying: VerifyingKeys;
let cluster = 'w0';
let n = 0;

const world = (tag: number) => compile(objects(
  ourClass(), service('web', [{ address: '127.0.0.1', port: 8000 + tag }]), tlsSecret('tls', cert.certPem, cert.keyPem),
  ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'web' }], tls: [{ hosts: ['app.test'], secretName: 'tls' }] }),
));

function socketTo(port: number): ByteSocket {
  const sock = net.connect(port, '127.0.0.1');
  const web = Duplex.toWeb(sock) as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  return { readable: web.readable, writable: web.writable, close: () => void sock.destroy() };
}

function source(live: LiveTable, port = server.port): WebRedisSource {
  return new WebRedisSource({ connect: () => socketTo(port), cluster, keys: verifying, live, log: () => {} });
}

const publisher = () => new RedisPublisher(redis, { cluster, keys: signing, history: 10, publisher: 'test' });

async function plant(b: Bundle, version: string, seq = Date.now() + 1000): Promise<void> {
  const l = redisLayout(cluster);
  const fields: (string | Buffer)[] = ['manifest', b.manifest];
  for (const [name, bytes] of b.parts) fields.push(`part:${name}`, Buffer.from(bytes));
  await redis.hset(l.table(version), ...fields);
  await redis.set(l.current, JSON.stringify({ version, seq, publishedAt: new Date().toISOString(), publisher: 'attacker' }));
}

beforeAll(async () => {
  ({ server, redis, signing, otherSigning, verifying } = await startSignedRedis(dir));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  cluster = `w${++n}`;
});

describe('the workerd table source', () => {
  it('loads the current version with its decrypted certificate, and follows a new one on the next check', async () => {
    const first = world(1);
    await publisher().publish(first);
    const live = new LiveTable();
    const s = source(live);
    await s.check();
    expect(live.table?.version).toBe(first.table.version);
    expect([...live.current!.certificates.values()][0]!.keyPem).toBe(cert.keyPem);
    const second = world(2);
    await publisher().publish(second);
    await s.check();
    expect(live.table?.version).toBe(second.table.version);
    expect(s.refusals).toBe(0);
  });

  const tampered: { name: string; code: string; tamper: () => Promise<void> }[] = [
    {
      name: 'a part edited in Redis', code: 'PORTICO_BUNDLE_DIGEST', tamper: async () => {
        const w = world(7);
        const b = await sealBundle(w.table, w.certificates, { cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'agent' }, signing);
        const hosts = JSON.parse(new TextDecoder().decode(b.parts.get('hosts/0')!)) as { host: string }[];
        hosts[0]!.host = 'evil.test';
        b.parts.set('hosts/0', new TextEncoder().encode(JSON.stringify(hosts)));
        await plant(b, w.table.version);
      },
    },
    {
      name: 'a manifest signed with another key', code: 'PORTICO_BUNDLE_SIGNATURE', tamper: async () => {
        const w = world(8);
        await plant(await sealBundle(w.table, w.certificates, { cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'x' }, otherSigning), w.table.version);
      },
    },
    {
      name: "another cluster's signed table", code: 'PORTICO_BUNDLE_CLUSTER', tamper: async () => {
        const w = world(9);
        await plant(await sealBundle(w.table, w.certificates, { cluster: 'elsewhere', seq: Date.now() + 1000, publishedAt: 'now', publisher: 'agent' }, signing), w.table.version);
      },
    },
    {
      name: 'a manifest stored under another version', code: 'PORTICO_BUNDLE_VERSION', tamper: async () => {
        const w = world(10);
        await plant(await sealBundle(w.table, w.certificates, { cluster, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'agent' }, signing), `sha256:${'0'.repeat(64)}`);
      },
    },
    {
      name: 'the pointer moved to an older signed version without a rollback record', code: 'PORTICO_TABLE_OLDER', tamper: async () => {
        const w = world(11);
        await plant(await sealBundle(w.table, w.certificates, { cluster, seq: 5, publishedAt: 'then', publisher: 'agent' }, signing), w.table.version);
      },
    },
  ];
  it.each(tampered)('refuses $name ($code), once, and keeps serving the last good table', async ({ code, tamper }) => {
    const good = world(0);
    await publisher().publish(good);
    const live = new LiveTable();
    const s = source(live);
    await s.check();
    expect(live.table?.version).toBe(good.table.version);
    await tamper();
    await s.check();
    await s.check();
    expect(s.lastRefusal?.code).toBe(code);
    expect(s.refusals).toBe(1);
    expect(live.table?.version).toBe(good.table.version);
  });

  it('accepts an older version when the pointer carries a rollback record', async () => {
    const older = world(20);
    const newer = world(21);
    await publisher().publish(older);
    await publisher().publish(newer);
    const live = new LiveTable();
    const s = source(live);
    await s.check();
    expect(live.table?.version).toBe(newer.table.version);
    const history = (await redis.lrange(redisLayout(cluster).history, 0, -1)).map((e) => JSON.parse(e) as HistoryEntry);
    expect(await rollback(redis, cluster, history.find((e) => e.version === older.table.version)!, 'operator')).toBe('rolled-back');
    await s.check();
    expect(live.table?.version).toBe(older.table.version);
    expect(s.refusals).toBe(0);
  });

  it('Redis unreachable: the check reports it and the table keeps serving', async () => {
    const good = world(30);
    await publisher().publish(good);
    const live = new LiveTable();
    await source(live).check();
    const closed = source(live, await freePort()); // nothing listens there
    await closed.check();
    expect(closed.lastError).not.toBeNull();
    expect(live.table?.version).toBe(good.table.version);
  });
});
