// A worker's share of one change, in one process: N Ingresses (one host each) sealed as the agent seals them, then
// one Ingress changed at a time (the previous one changed back), each version opened by the worker's path as a
// follower opens it (verifyManifest, openBundle with the previous version's memory, LiveTable.swap). No Redis: the
// parts are handed over from memory, so this is the CPU a follower spends per change besides its Redis commands.
// Reported: CPU time (user + system) and wall time per change, mean over the changes. "Before" is another source tree
// (a checkout of the commit to compare with, node_modules linked): run the same script from it, alternating. Not a test.
// Run: node --import tsx bench/follower-change.ts [ingresses=1000] [changes=200]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../cli/keys.ts';
import { LiveTable } from '../gateway/live.ts';
import { type OpenMemory, openBundle, sealBundle, verifyManifest } from '../gateway/table/bundle.ts';
import { oneChangeWorld } from './lib/one-change-world.ts';

const N = Number(process.argv[2] ?? 1000);
const CHANGES = Number(process.argv[3] ?? 200);
const world = (changed: number) => oneChangeWorld(N, changed);
const dir = mkdtempSync(join(tmpdir(), 'portico-follower-change-'));
try {
  await generateKeySet(dir);
  const signing = await loadSigningKeys(dir);
  const verifying = await loadVerifyingKeys(dir);
  const bundles = [];
  for (let i = -1; i < CHANGES; i++) {
    const w = world(i);
    const meta = { cluster: 'bench', seq: i + 2, publisher: 'bench', publishedAt: new Date().toISOString() };
    bundles.push(await sealBundle(w.table, w.certificates, meta, signing, w.basicAuth));
  }
  const live = new LiveTable();
  let memory: OpenMemory | undefined;
  let cpu = process.cpuUsage();
  let wall = performance.now();
  for (const [k, b] of bundles.entries()) {
    if (k === 1) {
      // the first version is the full load every follower does once; what is measured starts after it
      cpu = process.cpuUsage();
      wall = performance.now();
    }
    const m = await verifyManifest(b.manifest, verifying, { cluster: 'bench' });
    const opened = await openBundle(m, async (ref) => b.parts.get(ref.name) ?? null, verifying, memory);
    live.swap(opened.table, opened.certificates, { prevalidated: true, basicAuth: opened.basicAuth });
    memory = opened.memory;
  }
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      ingresses: N,
      changes: CHANGES,
      cpuMsPerChange: Number(((used.user + used.system) / 1000 / CHANGES).toFixed(2)),
      wallMsPerChange: Number(((performance.now() - wall) / CHANGES).toFixed(2)),
      loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
