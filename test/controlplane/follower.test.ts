// One case table (follower-cases.ts), both transports, a real redis-server: the follower over ioredis
// (Node, Deno) and over the RESP client (workerd) must refuse the same things with the same codes, accept
// the same rollback, keep serving the last good table, report a refusal once, and put it in the heartbeat
// that `portico inspect status` reads. A follower that accepts what the other refuses fails here.
import { describe, expect, it } from 'vitest';
import { workers } from '../../gateway/inspect/read.ts';
import { LiveTable } from '../../gateway/live.ts';
import { redisLayout, type Heartbeat } from '../../gateway/table/redis-layout.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import { useSignedRedis } from '../support/signed-redis.ts';
import { CASES, certificateKey, world } from './follower-cases.ts';
import { startFollower, TRANSPORTS } from './follower-transports.ts';

const sr = useSignedRedis('f');

const publish = (tag: number) =>
  new RedisPublisher(sr.redis, { cluster: sr.cluster, keys: sr.signing, history: 10, publisher: 'test' }).publish(world(tag));
const heartbeat = async (id: string) => JSON.parse((await sr.redis.get(redisLayout(sr.cluster).worker(id))) ?? 'null') as Heartbeat | null;

describe.each(CASES)('$name', ({ act, expect: expected }) => {
  it.each(TRANSPORTS)('over %s', async (transport) => {
    const older = world(100);
    const good = world(0);
    await publish(100);
    await publish(0);
    const live = new LiveTable();
    const f = await startFollower(transport, {
      port: sr.server.port,
      cluster: sr.cluster,
      keys: sr.verifying,
      live,
      node: `case-${transport}`,
    });
    try {
      await f.checkOnce();
      expect(live.table?.version).toBe(good.table.version);
      await act({ redis: sr.redis, cluster: sr.cluster, signing: sr.signing, otherSigning: sr.otherSigning, older: older.table.version });
      await f.checkOnce();
      await f.checkOnce();
      const hb = await heartbeat(f.heartbeatValue().id);
      if ('serves' in expected) {
        expect(f.lastRefusal).toBeNull();
        expect(live.table?.version).toBe(older.table.version);
        expect(live.current!.certificates.get('default/tls')!.keyPem).toBe(certificateKey);
        expect(hb).toMatchObject({ version: older.table.version, refusals: 0 });
        return;
      }
      expect(f.lastRefusal?.code).toBe(expected.refused);
      if (expected.message) expect(f.lastRefusal?.message).toMatch(expected.message);
      expect(f.refusals).toBe(1); // reported once, not on every check
      expect(live.table?.version).toBe(good.table.version); // the last good table keeps serving
      expect(hb).toMatchObject({ version: good.table.version, refusals: 1, lastRefusal: { code: expected.refused } });
    } finally {
      await f.close();
    }
  });
});

describe('heartbeats from every transport', () => {
  it.each(TRANSPORTS)('a follower over %s is listed by inspect status, and leaves it on close', async (transport) => {
    await publish(1);
    const live = new LiveTable();
    const f = await startFollower(transport, {
      port: sr.server.port,
      cluster: sr.cluster,
      keys: sr.verifying,
      live,
      node: `edge-${transport}`,
    });
    const id = f.heartbeatValue().id;
    try {
      await f.checkOnce();
      const listed = await workers(sr.redis, sr.cluster);
      expect(listed.map((w) => w.id)).toEqual([id]);
      expect(listed[0]).toMatchObject({
        node: `edge-${transport}`,
        runtime: transport === 'resp' ? 'workerd' : `node ${process.version}`,
        version: world(1).table.version,
        source: 'redis',
        redisConnected: true,
        refusals: 0,
      });
      expect(await sr.redis.ttl(redisLayout(sr.cluster).worker(id))).toBeGreaterThan(0);
    } finally {
      await f.close();
    }
    expect(await workers(sr.redis, sr.cluster)).toEqual([]);
  });
});
