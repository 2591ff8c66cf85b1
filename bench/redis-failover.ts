// Failover time of the control plane over highly available Redis: for each round a fresh topology (Sentinel:
// 1 master, 2 replicas, 3 sentinels, down-after-milliseconds 1000; Cluster: 3 masters, 3 replicas,
// cluster-node-timeout 1000), the agent's publish loop publishing a new table every 100 ms, two workers
// serving client traffic to a loopback backend, and the master SIGKILLed (test/support/failover-drill.ts).
// Prints, per round, the time from the kill to the first table a worker swapped in after it, the requests sent
// and failed, and whether both workers ended on the agent's newest table. Not a test.
// Run: node --import tsx bench/redis-failover.ts [rounds=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../cli/keys.ts';
import { DRILL_TOPOLOGIES, runFailoverDrill, sequenceRegressions } from '../test/support/failover-drill.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'portico-failover-bench-'));
await generateKeySet(join(dir, 'keys'));
const signing = await loadSigningKeys(join(dir, 'keys'));
const verifying = await loadVerifyingKeys(join(dir, 'keys'));
const cluster = 'bench';

const ms = (v: number) => `${v.toFixed(0)} ms`;
try {
  for (const { name, start } of DRILL_TOPOLOGIES.filter(
    (t) => process.env.TOPOLOGY === undefined || t.name.startsWith(process.env.TOPOLOGY),
  )) {
    const times: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const ha = await start(cluster);
      try {
        const r = await runFailoverDrill({ redis: ha.redis, cluster, signing, verifying, kill: ha.kill });
        const regressions = r.served.reduce((n, s) => n + sequenceRegressions(s).length, 0);
        const converged = r.finalVersions.every((v) => v === r.newest);
        if (r.killToNextTableMs !== null) times.push(r.killToNextTableMs);
        console.log(
          `${name} round ${round}: kill -> promotion ${ms(r.killToPromotionMs)}, -> next table served ${r.killToNextTableMs === null ? 'never' : ms(r.killToNextTableMs)}; ` +
            `${r.requests} requests, ${r.failures.length} failed; ${r.publishes} publishes, ${r.publishFailures} failed attempts; ` +
            `sequence regressions ${regressions}; both workers on the newest table: ${converged}`,
        );
        if (!converged)
          console.log(
            `  not converged: newest ${r.newest}, agent published ${r.agentPublished}, workers ${r.finalVersions.join(' ')}; last served ${JSON.stringify(r.served.map((s) => s.at(-1)))}\n${r.diagnostics}`,
          );
      } finally {
        await ha.stop();
      }
    }
    times.sort((a, b) => a - b);
    if (times.length > 0)
      console.log(
        `${name}: kill -> next table served, median ${ms(times[Math.floor(times.length / 2)]!)} (min ${ms(times[0]!)}, max ${ms(times.at(-1)!)})`,
      );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
