// Writes a bundle into Redis the way an attacker (or a test) with Redis access could: the manifest in the version's
// hash, and every part both where a worker of manifest format 2 reads it (`part:<sha256>`, the digest the manifest
// lists for that name, whatever the bytes) and where format 1 reads it (`part:<name>` in the hash).
import type { Redis } from 'ioredis';
import { base64url } from 'jose';
import type { Bundle, PartRef } from '../../gateway/table/bundle.ts';
import { redisLayout } from '../../gateway/table/redis-layout.ts';

/** The part list of a compact JWS manifest, unverified; [] when it is none. */
export function manifestRefs(jws: string): PartRef[] {
  try {
    const m = JSON.parse(new TextDecoder().decode(base64url.decode(jws.split('.')[1] ?? ''))) as { parts?: PartRef[] };
    return Array.isArray(m.parts) ? m.parts : [];
  } catch {
    return [];
  }
}

export async function plantBundle(redis: Redis, cluster: string, version: string, b: Bundle): Promise<void> {
  const l = redisLayout(cluster);
  const fields: (string | Buffer)[] = ['manifest', b.manifest];
  for (const [name, bytes] of b.parts) fields.push(`part:${name}`, Buffer.from(bytes));
  await redis.hset(l.table(version), ...fields);
  for (const ref of manifestRefs(b.manifest)) {
    const bytes = b.parts.get(ref.name);
    if (bytes !== undefined) await redis.set(l.part(ref.sha256), Buffer.from(bytes));
  }
}
