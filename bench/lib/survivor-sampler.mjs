// Preload (`node --import bench/lib/survivor-sampler.mjs ...`): on SIGUSR2, V8's sampling heap profiler runs for 3 s
// counting only objects that survive a scavenge (those collected by a minor GC are left out), and writes the profile
// to $SURVIVOR_PROFILE (default /tmp/survivors.heapprofile). Summarise it with bench/lib/heap-profile-summary.mjs.
// Used to find which allocations a request path promotes into the old space (bench/RESULTS.md, "Tail latency").
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();
process.on('SIGUSR2', async () => {
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  setTimeout(async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(process.env.SURVIVOR_PROFILE ?? '/tmp/survivors.heapprofile', JSON.stringify(profile));
  }, 3000).unref();
});
