// The workerd table source (gateway/source/follower.ts over resp-transport.ts + resp.ts) against a real
// redis-server, run in Node over a node:net socket turned into Web streams (the shape cloudflare:sockets
// hands out). What the follower refuses is the shared case table's (test/controlplane/follower.test.ts);
// this file covers what is the RESP transport's own: a connection per check, AUTH, and Redis that is
// unreachable or stops answering, which must never be a refusal.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { LiveTable } from '../../gateway/live.ts';
import { TableFollower } from '../../gateway/source/follower.ts';
import { RespTransport } from '../../gateway/source/resp-transport.ts';
import { RedisPublisher } from '../../sync/publish/redis.ts';
import { certificateKey, world } from '../controlplane/follower-cases.ts';
import { socketTo, startFollower } from '../controlplane/follower-transports.ts';
import { freePort } from '../support/process.ts';
import { startRedis } from '../support/redis.ts';
import { useSignedRedis } from '../support/signed-redis.ts';

const r = useSignedRedis('w');

const publish = (tag: number, to = r.redis) =>
  new RedisPublisher(to, { cluster: r.cluster, keys: r.signing, history: 10, publisher: 'test' }).publish(world(tag));
const follower = (live: LiveTable, port: number, o: { password?: string; commandTimeoutMs?: number } = {}) =>
  new TableFollower({
    transport: new RespTransport({ connect: () => socketTo(port), ...o, log: () => {} }),
    cluster: r.cluster,
    keys: r.verifying,
    live,
    cache: null,
    pollMs: 60_000,
    heartbeatMs: 1_000,
    identity: { id: 'w:isolate-test', node: 'w', pid: 0, runtime: 'workerd' },
    log: () => {},
  });

describe('the workerd table source', () => {
  it('loads the current version with its decrypted certificate, and follows a new one on the next check', async () => {
    await publish(1);
    const live = new LiveTable();
    const s = await startFollower('resp', { port: r.server.port, cluster: r.cluster, keys: r.verifying, live, node: 'w' });
    await s.checkOnce();
    expect(live.table?.version).toBe(world(1).table.version);
    expect(live.current!.certificates.get('default/tls')!.keyPem).toBe(certificateKey);
    await publish(2);
    await s.checkOnce();
    expect(live.table?.version).toBe(world(2).table.version);
    expect(s.refusals).toBe(0);
  });

  it('authenticates with the password of the Redis URL', async () => {
    const locked = await startRedis({ password: 's3cret' });
    try {
      await publish(3, locked.client());
      const live = new LiveTable();
      const wrong = follower(live, locked.port, { password: 'nope' });
      await wrong.checkOnce();
      expect(wrong.connected).toBe(false);
      expect(wrong.refusals).toBe(0); // a wrong password is no table's fault
      const right = follower(live, locked.port, { password: 's3cret' });
      await right.checkOnce();
      expect(live.table?.version).toBe(world(3).table.version);
    } finally {
      await locked.stop();
    }
  });

  it('Redis unreachable: the check reports it, refuses nothing, and the table keeps serving', async () => {
    await publish(30);
    const live = new LiveTable();
    await follower(live, r.server.port).checkOnce();
    const closed = follower(live, await freePort()); // nothing listens there
    await closed.checkOnce();
    expect(closed.connected).toBe(false);
    expect(closed.lastRedisError).not.toBeNull();
    expect(closed.refusals).toBe(0);
    expect(live.table?.version).toBe(world(30).table.version);
  });

  it('Redis that accepts but never answers: the check gives up after the command timeout', async () => {
    await publish(31);
    const live = new LiveTable();
    await follower(live, r.server.port).checkOnce();
    const silent = net.createServer(() => {}); // accepts, reads nothing, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const stuck = follower(live, (silent.address() as net.AddressInfo).port, { commandTimeoutMs: 300 });
      const started = Date.now();
      await stuck.checkOnce();
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(stuck.lastRedisError).toMatch(/did not answer within 300 ms/);
      expect(stuck.refusals).toBe(0);
      expect(live.table?.version).toBe(world(31).table.version);
    } finally {
      silent.close();
    }
  });
});
