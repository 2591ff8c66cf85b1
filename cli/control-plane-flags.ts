// The control-plane flags every Redis-fed command shares (worker, sync, tunnel, the Deno worker; inspect and
// dashboard use the Redis part): where Redis is (redis-target-flags.ts: a URL, Sentinel or Cluster), a
// password from the environment and a CA bundle from a file, so that in a cluster both come from Secrets and
// never from a command line; --cluster and --keys.
import { UsageError } from './usage-error.ts';
import { isValidClusterName, type RedisCredentials } from '../gateway/table/redis-layout.ts';
import type { RedisTarget } from '../gateway/shared/redis-client.ts';
import { readText } from './args.ts';
import { parseRedisTarget, REDIS_TARGET_FLAGS, type RedisTargetFlagValues } from './redis-target-flags.ts';

export const REDIS_FLAGS = { ...REDIS_TARGET_FLAGS, 'redis-ca': { type: 'string' } } as const;

export const REDIS_ENV_USAGE = `--redis defaults to $PORTICO_REDIS_URL; $PORTICO_REDIS_PASSWORD is the password when the URL has none;
--redis-ca FILE (or $PORTICO_REDIS_CA) is the CA bundle (PEM) a rediss:// server certificate is checked against.
High availability, instead of --redis: --redis-sentinels HOST:PORT,... --redis-sentinel-master NAME (Sentinel;
$PORTICO_REDIS_SENTINEL_PASSWORD, --redis-sentinel-ca FILE for TLS to the sentinels) or --redis-cluster-nodes
HOST:PORT,... (Redis Cluster); with either, --redis-ca turns on TLS to the data nodes`;

/** Shared by `worker`, `sync`, `tunnel`, `inspect` and `dashboard`. */
export function parseRedisAccess(
  v: RedisTargetFlagValues & { 'redis-ca'?: string },
  env = process.env,
): { redis: RedisTarget; credentials: RedisCredentials } {
  const redis = parseRedisTarget(v, env);
  const credentials: RedisCredentials = {};
  if (env.PORTICO_REDIS_PASSWORD) credentials.password = env.PORTICO_REDIS_PASSWORD;
  const caFile = v['redis-ca'] ?? env.PORTICO_REDIS_CA;
  if (caFile !== undefined && caFile !== '') {
    if (typeof redis === 'string' && !redis.startsWith('rediss://'))
      throw new UsageError('--redis-ca: only meaningful with a rediss:// URL');
    credentials.tls = { ca: readText('redis-ca', caFile) };
  }
  return { redis, credentials };
}

export interface ControlPlaneFlags {
  redis: RedisTarget;
  credentials: RedisCredentials;
  cluster: string;
  keys: string;
}

/** --redis, --cluster and --keys. */
export function parseControlPlaneFlags(
  v: RedisTargetFlagValues & { 'redis-ca'?: string; cluster?: string; keys?: string },
): ControlPlaneFlags {
  const access = parseRedisAccess(v);
  if (v.cluster === undefined) throw new UsageError('--cluster NAME is required');
  if (!isValidClusterName(v.cluster))
    throw new UsageError(`--cluster: expected a DNS label (a-z, 0-9, -), got ${JSON.stringify(v.cluster)}`);
  const keys = v.keys ?? process.env.PORTICO_KEYS;
  if (keys === undefined)
    throw new UsageError('--keys DIR (or PORTICO_KEYS) is required; make a key set with: portico keys generate --out DIR');
  return { ...access, cluster: v.cluster, keys };
}

export const CONTROL_PLANE_FLAGS = { ...REDIS_FLAGS, cluster: { type: 'string' }, keys: { type: 'string' } } as const;
