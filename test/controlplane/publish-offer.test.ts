// What PublishLoop.offer()'s promise says, on a real redis-server: it settles once the publish attempt that took the
// table (or a newer one) has ended, so the agent writes a table's Ingress status right after its publish
// (sync/kube/agent.ts, afterPublish). Under a steady stream of offers it settles attempt by attempt, not when the
// stream stops: the publish flight itself runs on while offers keep coming, and a status that waited for the whole
// flight would wait for the whole bulk.
import { describe, expect, it } from 'vitest';
import { type CurrentPointer, redisLayout } from '../../gateway/table/redis-layout.ts';
import { PublishLoop } from '../../sync/publish/loop.ts';
import { waitFor } from '../support/process.ts';
import { useSignedRedis } from '../support/signed-redis.ts';
import { oneHostWorld as world } from './one-host-world.ts';

const r = useSignedRedis('offer');

function loop(cluster: string, onPublished: () => void = () => {}): PublishLoop {
  const l = new PublishLoop({
    redis: r.server.url,
    cluster,
    keys: r.signing,
    history: 5,
    publisher: 't',
    log: (_level, msg) => {
      if (msg === 'table published') onPublished();
    },
  });
  l.start();
  return l;
}
const currentVersion = async (cluster: string) =>
  (JSON.parse((await r.redis.get(redisLayout(cluster).current)) ?? 'null') as CurrentPointer | null)?.version;

describe('PublishLoop.offer() settles when the attempt that took its table ends', () => {
  it('a lone offer: settled, its table is current in Redis', async () => {
    const l = loop('lone');
    try {
      await waitFor(
        () => l.connected,
        10_000,
        () => 'redis connected',
      );
      const t = world(1);
      await l.offer(t);
      expect(await currentVersion('lone')).toBe(t.table.version);
    } finally {
      l.close();
    }
  });

  it('a stream of offers, each made as the previous table is published: the first settles after the first publish, not after the stream', async () => {
    const STREAM = 6;
    let published = 0;
    let next = 2;
    let publishedWhenFirstSettled: number | null = null;
    // Each publish ends with the next offer already made, so the publish flight never idles until the stream ends.
    const l = loop('stream', () => {
      published++;
      if (next <= STREAM) void l.offer(world(next++));
    });
    try {
      await waitFor(
        () => l.connected,
        10_000,
        () => 'redis connected',
      );
      const first = l.offer(world(1)).then(() => {
        publishedWhenFirstSettled = published;
      });
      await first;
      await waitFor(
        () => published === STREAM,
        10_000,
        () => `${STREAM} tables published (${published} so far)`,
      );
      expect(publishedWhenFirstSettled).toBe(1);
    } finally {
      l.close();
    }
  });

  it('Redis not reachable: settled at once (statuses do not wait for a Redis that is down), nothing published', async () => {
    const l = new PublishLoop({
      redis: 'redis://127.0.0.1:1',
      cluster: 'gone',
      keys: r.signing,
      history: 5,
      publisher: 't',
      log: () => {},
    });
    try {
      await l.offer(world(1));
      expect(await currentVersion('gone')).toBeUndefined();
    } finally {
      l.close();
    }
  });
});
