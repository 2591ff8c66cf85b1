// The control-plane flags every Redis-fed command shares (worker, sync, tunnel, the Deno worker; inspect and
// dashboard use the Redis part): --redis (or $PORTICO_REDIS_URL), a password from the environment and a CA
// bundle from a file, so that in a cluster both come from Secrets and never from a command line;
// --cluster and --keys.
import { UsageError } from './usage-error.ts';
import { isValidClusterName, type RedisCredentials } from '../gateway/table/redis-layout.ts';
import { readText } from './args.ts';

export const REDIS_FLAGS = { redis: { type: 'string' }, 'redis-ca': { type: 'string' } } as const;

export const REDIS_ENV_USAGE = `--redis defaults to $PORTICO_REDIS_URL; $PORTICO_REDIS_PASSWORD is the password when the URL has none;
--redis-ca FILE (or $PORTICO_REDIS_CA) is the CA bundle (PEM) a rediss:// server certificate is checked against`;

/** Shared by `worker`, `sync`, `inspect` and `dashboard`. */
export function parseRedisAccess(
  v: { redis?: string; 'redis-ca'?: string },
  env = process.env,
): { redis: string; credentials: RedisCredentials } {
  const redis = v.redis ?? env.PORTICO_REDIS_URL;
  if (redis === undefined || redis === '')
    throw new UsageError('--redis URL (or PORTICO_REDIS_URL) is required (redis://host:port or rediss://...)');
  if (!/^rediss?:\/\//.test(redis))
    throw new UsageError(`--redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(redis.replace(/\/\/[^@/]*@/, '//***@'))}`);
  const credentials: RedisCredentials = {};
  if (env.PORTICO_REDIS_PASSWORD) credentials.password = env.PORTICO_REDIS_PASSWORD;
  const caFile = v['redis-ca'] ?? env.PORTICO_REDIS_CA;
  if (caFile !== undefined && caFile !== '') {
    if (!redis.startsWith('rediss://')) throw new UsageError('--redis-ca: only meaningful with a rediss:// URL');
    credentials.tls = { ca: readText('redis-ca', caFile) };
  }
  return { redis, credentials };
}

export interface ControlPlaneFlags {
  redis: string;
  credentials: RedisCredentials;
  cluster: string;
  keys: string;
}

/** --redis, --cluster and --keys. */
export function parseControlPlaneFlags(v: { redis?: string; 'redis-ca'?: string; cluster?: string; keys?: string }): ControlPlaneFlags {
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
