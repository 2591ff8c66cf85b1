// How the CLI reaches Redis: --redis (or $PORTICO_REDIS_URL), a password from the environment and a CA
// bundle from a file, so that in a cluster both come from Secrets (issue 5) and never from a command line.
import { readFileSync } from 'node:fs';
import { UsageError } from '../gateway/errors.ts';
import type { RedisCredentials } from '../gateway/table/redis-layout.ts';

export const REDIS_FLAGS = { redis: { type: 'string' }, 'redis-ca': { type: 'string' } } as const;

export const REDIS_ENV_USAGE = `--redis defaults to $PORTICO_REDIS_URL; $PORTICO_REDIS_PASSWORD is the password when the URL has none;
--redis-ca FILE (or $PORTICO_REDIS_CA) is the CA bundle (PEM) a rediss:// server certificate is checked against`;

/** Shared by `worker`, `sync`, `inspect` and `dashboard`. */
export function parseRedisAccess(v: { redis?: string; 'redis-ca'?: string }, env = process.env): { redis: string; credentials: RedisCredentials } {
  const redis = v.redis ?? env.PORTICO_REDIS_URL;
  if (redis === undefined || redis === '') throw new UsageError('--redis URL (or PORTICO_REDIS_URL) is required (redis://host:port or rediss://...)');
  if (!/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(redis.replace(/\/\/[^@/]*@/, '//***@'))}`);
  const credentials: RedisCredentials = {};
  if (env.PORTICO_REDIS_PASSWORD) credentials.password = env.PORTICO_REDIS_PASSWORD;
  const caFile = v['redis-ca'] ?? env.PORTICO_REDIS_CA;
  if (caFile !== undefined && caFile !== '') {
    if (!redis.startsWith('rediss://')) throw new UsageError('--redis-ca: only meaningful with a rediss:// URL');
    try {
      credentials.tls = { ca: readFileSync(caFile, 'utf8') };
    } catch (err) {
      throw new UsageError(`--redis-ca: cannot read ${caFile}: ${(err as Error).message}`);
    }
  }
  return { redis, credentials };
}
