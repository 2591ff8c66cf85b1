// Reads what the control plane wrote: clusters, pointer, history, a version's table and
// diagnostics, worker heartbeats. Read-only; the table is verified with the public key when given.
import { Cluster } from 'ioredis';
import type { RedisClient } from '../shared/redis-client.ts';
import { openBundle, readManifestUnverified, verifyManifest, type Manifest, type VerifyingKeys } from '../table/bundle.ts';
import { redisLayout, type CurrentPointer, type Heartbeat, type HistoryEntry } from '../table/redis-layout.ts';
import type { CertificateMaterial, RoutingTable } from '../table/schema.ts';
import type { Diagnostic } from '../table/diagnostics.ts';
import { PorticoError } from '../table/portico-error.ts';

export class InspectError extends PorticoError {
  constructor(
    readonly code: 'PORTICO_UNKNOWN_CLUSTER' | 'PORTICO_UNKNOWN_VERSION' | 'PORTICO_REDIS_UNREACHABLE',
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface LoadedVersion {
  manifest: Manifest;
  table: RoutingTable;
  /** Certificates as PEM; private keys are never decrypted or shown by inspection. */
  certificates: Pick<CertificateMaterial, 'id' | 'certPem'>[];
  diagnostics: Diagnostic[];
  verified: boolean;
}

/** Every cluster with a `current` pointer in this Redis. In a Redis Cluster each master holds its own slots'
 * keys, and SCAN walks one node only: every master is scanned. */
export async function listClusters(redis: RedisClient): Promise<string[]> {
  const out = new Set<string>();
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', 'portico:{*}:current', 'COUNT', 500);
      cursor = next;
      for (const k of keys) {
        const m = /^portico:\{(.+)\}:current$/.exec(k);
        if (m) out.add(m[1]!);
      }
    } while (cursor !== '0');
  }
  return [...out].sort();
}

export async function currentPointer(redis: RedisClient, cluster: string): Promise<CurrentPointer> {
  const raw = await redis.get(redisLayout(cluster).current);
  if (raw === null) {
    const known = await listClusters(redis);
    throw new InspectError(
      'PORTICO_UNKNOWN_CLUSTER',
      `no cluster ${JSON.stringify(cluster)} in this Redis (clusters: ${known.join(', ') || 'none'})`,
      4,
    );
  }
  return JSON.parse(raw) as CurrentPointer;
}

export async function history(redis: RedisClient, cluster: string): Promise<HistoryEntry[]> {
  return (await redis.lrange(redisLayout(cluster).history, 0, -1)).map((e) => JSON.parse(e) as HistoryEntry);
}

/** A version given in full, by a unique prefix of its hash (`sha256:ab12` or `ab12`), or the default. */
export async function resolveVersion(redis: RedisClient, cluster: string, given: string): Promise<HistoryEntry> {
  const entries = await history(redis, cluster);
  const hex = given.toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{4,64}$/.test(hex))
    throw new InspectError(
      'PORTICO_UNKNOWN_VERSION',
      `${JSON.stringify(given)} is not a version: give at least 4 hex digits of its hash`,
      5,
    );
  const want = `sha256:${hex}`;
  const hits = [...new Map(entries.filter((e) => e.version.startsWith(want)).map((e) => [e.version, e])).values()];
  if (hits.length === 1 && (await redis.exists(redisLayout(cluster).table(hits[0]!.version))) === 1) return hits[0]!;
  if (hits.length > 1)
    throw new InspectError(
      'PORTICO_UNKNOWN_VERSION',
      `version ${given} is ambiguous in cluster ${cluster}: ${hits.map((h) => h.version.slice(7, 19)).join(', ')}`,
      5,
    );
  throw new InspectError('PORTICO_UNKNOWN_VERSION', `no stored version ${given} in cluster ${cluster} (see: portico inspect history)`, 5);
}

export async function loadVersion(
  redis: RedisClient,
  cluster: string,
  version: string,
  keys: VerifyingKeys | null,
): Promise<LoadedVersion> {
  const key = redisLayout(cluster).table(version);
  const [jws, diags] = await redis.hmget(key, 'manifest', 'diagnostics');
  if (jws === null || jws === undefined)
    throw new InspectError('PORTICO_UNKNOWN_VERSION', `version ${version} is not stored in cluster ${cluster}`, 5);
  const manifest =
    keys !== null ? await verifyManifest(jws, keys, { cluster, version }) : readManifestUnverified(jws, { cluster, version });
  // Format 2: each part under its digest; format 1 (published by an agent of an earlier release): in the version's hash.
  const l = redisLayout(cluster);
  const opened = await openBundle(
    manifest,
    (ref) => (manifest.format === 2 ? redis.getBuffer(l.part(ref.sha256)) : redis.hgetBuffer(key, `part:${ref.name}`)),
    null,
  );
  return {
    manifest,
    table: opened.table,
    verified: keys !== null,
    certificates: opened.certificates.map((c) => ({ id: c.id, certPem: c.certPem })),
    diagnostics: diags ? (JSON.parse(diags) as Diagnostic[]) : [],
  };
}

export interface WorkerView extends Heartbeat {
  ageSeconds: number;
}

export async function workers(redis: RedisClient, cluster: string): Promise<WorkerView[]> {
  const l = redisLayout(cluster);
  const ids = await redis.zrange(l.workers, '0', '-1');
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => l.worker(id)));
  const now = Date.now();
  return values
    .flatMap((v) => {
      if (v === null) return []; // heartbeat expired: the worker is gone
      const hb = JSON.parse(v) as Heartbeat;
      return [{ ...hb, ageSeconds: Math.round((now - Date.parse(hb.at)) / 1000) }];
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}
