// Fencing of publishes by lease term, against a real redis-server: the publish script refuses a table from a
// term older than the newest it accepted (a deposed leader), the publish loop then stops publishing that term,
// and an operator's rollback keeps working beside it.
import { describe, expect, it } from 'vitest';
import { redisLayout, type CurrentPointer, type HistoryEntry } from '../../gateway/table/redis-layout.ts';
import { PublishLoop } from '../../sync/publish/loop.ts';
import { PublishFencedError, RedisPublisher, rollback } from '../../sync/publish/redis.ts';
import { waitFor } from '../support/process.ts';
import { useSignedRedis } from '../support/signed-redis.ts';
import { oneHostWorld as world } from './one-host-world.ts';

const r = useSignedRedis('f');

const publisher = (name: string) => new RedisPublisher(r.redis, { cluster: r.cluster, keys: r.signing, history: 50, publisher: name });
const current = async () => JSON.parse((await r.redis.get(redisLayout(r.cluster).current))!) as CurrentPointer;

interface Step {
  /** Lease term of the publisher; undefined: published from manifests, no lease. */
  term: number | undefined;
  tag: number;
  outcome: 'published' | 'fenced';
}

const cases: { name: string; steps: Step[]; fence: string | null }[] = [
  {
    name: 'a deposed leader (older term) is refused after its successor published',
    steps: [
      { term: 3, tag: 1, outcome: 'published' },
      { term: 4, tag: 2, outcome: 'published' },
      { term: 3, tag: 3, outcome: 'fenced' },
    ],
    fence: '4',
  },
  {
    name: 'the same term publishes again and again',
    steps: [
      { term: 5, tag: 1, outcome: 'published' },
      { term: 5, tag: 2, outcome: 'published' },
    ],
    fence: '5',
  },
  {
    name: 'a term that skips numbers is newer all the same',
    steps: [
      { term: 0, tag: 1, outcome: 'published' },
      { term: 7, tag: 2, outcome: 'published' },
      { term: 6, tag: 3, outcome: 'fenced' },
    ],
    fence: '7',
  },
  {
    name: 'the deposed leader is refused even for the version already current (nothing to write)',
    steps: [
      { term: 1, tag: 1, outcome: 'published' },
      { term: 2, tag: 2, outcome: 'published' },
      { term: 1, tag: 2, outcome: 'fenced' },
    ],
    fence: '2',
  },
  {
    name: 'without a lease (manifests mode) nothing is fenced and no fence is written',
    steps: [
      { term: undefined, tag: 1, outcome: 'published' },
      { term: undefined, tag: 2, outcome: 'published' },
    ],
    fence: null,
  },
];

describe('the publish script fences by lease term', () => {
  for (const c of cases)
    it(c.name, async () => {
      let last: CurrentPointer | null = null;
      for (const [i, s] of c.steps.entries()) {
        const p = publisher(`agent-${s.term ?? 'none'}`);
        if (s.outcome === 'fenced') {
          const err = await p.publish(world(s.tag), s.term).catch((e: unknown) => e);
          expect(err, `step ${i}`).toBeInstanceOf(PublishFencedError);
          expect((err as PublishFencedError).code).toBe('PORTICO_PUBLISH_FENCED');
          expect(await current(), `step ${i}: the successor's table stays current`).toEqual(last);
        } else {
          const r = await p.publish(world(s.tag), s.term);
          expect(r.kind, `step ${i}`).toBe('published');
          last = await current();
        }
      }
      expect(await r.redis.get(redisLayout(r.cluster).fence)).toBe(c.fence);
    });

  it('keeps rollback working: a rollback is not fenced, and the leader honours it until the objects change', async () => {
    const leader = publisher('leader');
    await leader.publish(world(1), 2);
    await leader.publish(world(2), 2);
    const [, older] = (await r.redis.lrange(redisLayout(r.cluster).history, 0, -1)).map((e) => JSON.parse(e) as HistoryEntry);
    expect(await rollback(r.redis, r.cluster, older!, 'operator')).toBe('rolled-back');
    expect((await current()).version).toBe(world(1).table.version);
    expect((await leader.publish(world(2), 2)).kind).toBe('held-by-rollback');
    await expect(publisher('deposed').publish(world(3), 1)).rejects.toBeInstanceOf(PublishFencedError);
    expect((await current()).version).toBe(world(1).table.version);
    expect((await leader.publish(world(3), 2)).kind).toBe('published');
  });
});

describe('the publish loop after a refusal', () => {
  it('withdraws, counts the refusal, and publishes that term no more; a newer term publishes again', async () => {
    const logs: string[] = [];
    await publisher('successor').publish(world(1), 9);
    const loop = new PublishLoop({
      redis: r.server.url,
      cluster: r.cluster,
      keys: r.signing,
      history: 5,
      publisher: 'deposed',
      log: (level, msg) => void logs.push(`${level} ${msg}`),
      watchdogMs: 100,
    });
    try {
      loop.start();
      loop.offer(world(2), 8);
      await waitFor(
        () => loop.fence.refusals === 1,
        5_000,
        () => `a refusal; logs: ${logs.join('\n')}`,
      );
      expect(logs.some((l) => /^error publish fenced: refused: lease term 8 is older than term 9/.test(l))).toBe(true);
      loop.offer(world(3), 8); // the elector has not noticed yet: still offers its old term
      await new Promise((r) => setTimeout(r, 500)); // several watchdog rounds
      expect(loop.fence.refusals).toBe(1);
      expect((await current()).publisher).toBe('successor');
      loop.offer(world(4), 10); // this replica won the Lease again
      await waitFor(
        async () => (await current()).publisher === 'deposed',
        5_000,
        () => 'the newer term published',
      );
    } finally {
      loop.close();
    }
  });
});

describe('a successor with nothing new to write', () => {
  it('raises the fence all the same, so the deposed leader is refused afterwards', async () => {
    await publisher('deposed').publish(world(1), 1);
    expect((await publisher('successor').publish(world(1), 2)).kind).toBe('unchanged');
    expect(await r.redis.get(redisLayout(r.cluster).fence)).toBe('2');
    await expect(publisher('deposed').publish(world(2), 1)).rejects.toBeInstanceOf(PublishFencedError);
    expect((await current()).publisher).toBe('deposed'); // its first table, published while it led
  });
});
