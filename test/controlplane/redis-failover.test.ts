// Failover drills against real highly available Redis topologies (test/support/redis-ha.ts): Sentinel
// (1 master, 2 replicas, 3 sentinels) and Cluster (3 masters, 3 replicas). The master holding Portico's keys
// is SIGKILLed while the agent publishes continuously and a client sends requests through two workers to a
// real backend. What a user would notice is asserted: no failed request, no worker ever going back to an
// older table, and every worker on the agent's newest table afterwards. The time from the kill to the next
// table served is measured by bench/redis-failover.ts, not asserted here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import type { SigningKeys, VerifyingKeys } from '../../gateway/table/bundle.ts';
import { compile } from '../../sync/compile/index.ts';
import { PublishLoop } from '../../sync/publish/loop.ts';
import { request } from '../support/client.ts';
import { DRILL_TOPOLOGIES, runFailoverDrill, sequenceRegressions } from '../support/failover-drill.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';
import { waitFor } from '../support/process.ts';
import { startClusterSetup, startSentinelSetup } from '../support/redis-ha.ts';
import { redisLayout } from '../../gateway/table/redis-layout.ts';
import { runInspect } from '../../cli/inspect/command.ts';
import { startDeno } from '../runtimes/launch.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-failover-'));
let signing: SigningKeys;
let verifying: VerifyingKeys;

beforeAll(async () => {
  await generateKeySet(join(dir, 'keys'));
  signing = await loadSigningKeys(join(dir, 'keys'));
  verifying = await loadVerifyingKeys(join(dir, 'keys'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a SIGKILLed Redis master, while the agent publishes and clients send traffic through two workers', () => {
  it.each(DRILL_TOPOLOGIES)(
    '$name: no failed request, no older table, every worker on the newest table',
    async (t) => {
      const cluster = 'drill';
      const ha = await t.start(cluster);
      try {
        const r = await runFailoverDrill({ redis: ha.redis, cluster, signing, verifying, kill: ha.kill });
        expect(r.requests).toBeGreaterThan(20);
        expect(r.failures).toEqual([]);
        for (const s of r.served) expect(sequenceRegressions(s)).toEqual([]);
        const why = `${JSON.stringify({ agentPublished: r.agentPublished, lastServed: r.served.map((s) => s.at(-1)) })}\n${r.diagnostics}`;
        expect(r.finalVersions, why).toEqual([r.newest, r.newest]);
        // Publishing went on after the failover: tables were served after the kill (also what the bench times).
        expect(r.killToNextTableMs).not.toBeNull();
      } finally {
        await ha.stop();
      }
    },
    90_000,
  );
});

// The Deno worker follows its table over ioredis too (gateway/source/redis.ts), so Sentinel and Cluster work there
// the same way; this checks it under Deno's Node compatibility, through a failover.
describe('the Deno worker over Sentinel', () => {
  it('serves the table from the master the sentinels name, and the next table after that master is SIGKILLed', async () => {
    const s = await startSentinelSetup('portico');
    const cluster = 'deno-ha';
    const loop = new PublishLoop({
      redis: { sentinels: s.sentinels, master: s.master },
      cluster,
      keys: signing,
      history: 5,
      publisher: 't',
      log: () => {},
    });
    const site = (host: string) =>
      compile(
        objects(
          ourClass(),
          service('web', [{ address: '127.0.0.1', port: 9 }]),
          ingress('site', { host, paths: [{ path: '/', service: 'web' }] }),
        ),
      );
    // No endpoint listens on port 9: a routed host answers 502 (or 503), an unknown one 404.
    const routed = async (base: string, host: string) => (await request(`${base}/`, { host })).status !== 404;
    loop.start();
    loop.offer(site('before.test'));
    const flags = ['--redis-sentinels', s.sentinels.map((x) => `${x.host}:${x.port}`).join(','), '--redis-sentinel-master', s.master];
    const deno = await startDeno({ redisUrl: '', redisFlags: flags, cluster, keysDir: join(dir, 'keys') });
    try {
      await waitFor(
        () => routed(deno.http, 'before.test'),
        20_000,
        () => `the first table:\n${deno.logs()}`,
      );
      const m = await s.currentMaster();
      await m.kill();
      await s.promotedFrom(m.port);
      loop.offer(site('after.test'));
      await waitFor(
        () => routed(deno.http, 'after.test'),
        20_000,
        () => `the table published after the failover:\n${deno.logs()}`,
      );
      expect(await routed(deno.http, 'before.test')).toBe(false);
    } finally {
      await deno.stop();
      loop.close();
      await s.stop();
    }
  }, 90_000);
});

// In a Redis Cluster each master holds its own slots' keys, and SCAN walks one node: inspection lists the clusters
// of every master (gateway/inspect/read.ts).
describe('portico inspect over --redis-cluster-nodes', () => {
  it('lists the clusters published to every master', async () => {
    const c = await startClusterSetup();
    const names = ['alpha', 'beta', 'gamma', 'delta'];
    const loops = names.map(
      (cluster) => new PublishLoop({ redis: { clusterNodes: c.nodes }, cluster, keys: signing, history: 5, publisher: 't', log: () => {} }),
    );
    try {
      const table = compile(
        objects(
          ourClass(),
          service('web', [{ address: '127.0.0.1', port: 9 }]),
          ingress('a', { host: 'a.test', paths: [{ path: '/', service: 'web' }] }),
        ),
      );
      for (const loop of loops) {
        loop.start();
        loop.offer(table);
      }
      await waitFor(
        () => loops.every((l) => l.published !== null),
        15_000,
        () => 'every cluster published',
      );
      // The case only means something when the clusters' keys live on more than one master.
      const masters = new Set(await Promise.all(names.map(async (n) => (await c.masterOf(redisLayout(n).current)).port)));
      expect(masters.size).toBeGreaterThan(1);
      let printed = '';
      await runInspect(
        ['status', '--redis-cluster-nodes', `${c.nodes[0]!.host}:${c.nodes[0]!.port}`, '-o', 'json'],
        (s) => void (printed += s),
      );
      expect((JSON.parse(printed) as { cluster: string }[]).map((v) => v.cluster).sort()).toEqual([...names].sort());
    } finally {
      for (const loop of loops) loop.close();
      await c.stop();
    }
  }, 60_000);
});
