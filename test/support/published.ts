// Reads what the control plane published, the way a worker does (signature and digests verified).
import type { Redis } from 'ioredis';
import { openBundle, verifyManifest, type OpenedBundle, type VerifyingKeys } from '../../gateway/table/bundle.ts';
import { redisLayout, type CurrentPointer } from '../../gateway/table/redis-layout.ts';

export async function readPublished(redis: Redis, cluster: string, keys: VerifyingKeys): Promise<OpenedBundle | null> {
  const l = redisLayout(cluster);
  const raw = await redis.get(l.current);
  if (raw === null) return null;
  const ptr = JSON.parse(raw) as CurrentPointer;
  const jws = await redis.hget(l.table(ptr.version), 'manifest');
  if (jws === null) return null;
  const m = await verifyManifest(jws, keys, { cluster, version: ptr.version });
  return openBundle(
    m,
    (ref) => (m.format === 2 ? redis.getBuffer(l.part(ref.sha256)) : redis.hgetBuffer(l.table(ptr.version), `part:${ref.name}`)),
    keys,
  );
}
