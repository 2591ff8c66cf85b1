// Where Redis is, from flags (or their environment variables, as the Helm chart sets them): exactly one of
// --redis URL ($PORTICO_REDIS_URL), --redis-sentinels ($PORTICO_REDIS_SENTINELS) with --redis-sentinel-master
// ($PORTICO_REDIS_SENTINEL_MASTER), or --redis-cluster-nodes ($PORTICO_REDIS_CLUSTER_NODES). The password of the data nodes is $PORTICO_REDIS_PASSWORD
// (or the URL's); the sentinels' own password is $PORTICO_REDIS_SENTINEL_PASSWORD; passwords never come from
// a command line. Anything conflicting or malformed is one UsageError (exit 2).
import { UsageError } from './usage-error.ts';
import { type HostPort, type RedisTarget, withoutUserinfo } from '../gateway/shared/redis-client.ts';
import { readText } from './args.ts';

export const REDIS_TARGET_FLAGS = {
  redis: { type: 'string' },
  'redis-sentinels': { type: 'string' },
  'redis-sentinel-master': { type: 'string' },
  'redis-sentinel-ca': { type: 'string' },
  'redis-cluster-nodes': { type: 'string' },
} as const;

export interface RedisTargetFlagValues {
  redis?: string;
  'redis-sentinels'?: string;
  'redis-sentinel-master'?: string;
  'redis-sentinel-ca'?: string;
  'redis-cluster-nodes'?: string;
}

/** `host:port,host:port` (a host name, IPv4, or a bracketed IPv6 address), at least one. */
export function hostPortList(flag: string, value: string): HostPort[] {
  const shown = flag.startsWith('$') ? flag : `--${flag}`;
  const items = value.split(',').map((s) => s.trim());
  return items.map((item) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535)
      throw new UsageError(`${shown}: expected host:port[,host:port...], got ${JSON.stringify(item)} in ${JSON.stringify(value)}`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

// A Sentinel master group name: what `sentinel monitor` accepts in practice (no spaces or control characters).
const MASTER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** The same settings from the environment (what the Helm chart sets), each used where its flag is absent. */
const ENV: Record<keyof RedisTargetFlagValues, string> = {
  redis: 'PORTICO_REDIS_URL',
  'redis-sentinels': 'PORTICO_REDIS_SENTINELS',
  'redis-sentinel-master': 'PORTICO_REDIS_SENTINEL_MASTER',
  'redis-sentinel-ca': 'PORTICO_REDIS_SENTINEL_CA',
  'redis-cluster-nodes': 'PORTICO_REDIS_CLUSTER_NODES',
};

const MODES = ['redis', 'redis-sentinels', 'redis-cluster-nodes'] as const;

/** Explicit flags decide the mode; only when none is given does the environment (flag names shown as their
 * variables). Either way exactly one mode. */
export function parseRedisTarget(flags: RedisTargetFlagValues, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  const fromEnv = (f: keyof RedisTargetFlagValues) => (env[ENV[f]] === '' ? undefined : env[ENV[f]]);
  const byFlag = MODES.filter((f) => flags[f] !== undefined);
  const useEnv = byFlag.length === 0;
  const v: RedisTargetFlagValues = {};
  for (const f of Object.keys(ENV) as (keyof RedisTargetFlagValues)[]) {
    const value = flags[f] ?? (useEnv || !MODES.includes(f as (typeof MODES)[number]) ? fromEnv(f) : undefined);
    if (value !== undefined) v[f] = value;
  }
  const name = (f: keyof RedisTargetFlagValues) => (flags[f] !== undefined ? `--${f}` : `$${ENV[f]}`);
  const given = MODES.filter((f) => v[f] !== undefined);
  if (given.length > 1)
    throw new UsageError(`${given.map(name).join(' and ')}: give exactly one of --redis, --redis-sentinels, --redis-cluster-nodes`);
  const sentinelOnly = (['redis-sentinel-master', 'redis-sentinel-ca'] as const).find((f) => v[f] !== undefined);
  if (sentinelOnly !== undefined && v['redis-sentinels'] === undefined)
    throw new UsageError(`${name(sentinelOnly)}: only meaningful with --redis-sentinels`);
  if (v['redis-sentinels'] !== undefined) {
    const master = v['redis-sentinel-master'];
    if (master === undefined)
      throw new UsageError(`${name('redis-sentinels')}: --redis-sentinel-master NAME is required (the monitored master group)`);
    if (!MASTER_NAME.test(master))
      throw new UsageError(
        `${name('redis-sentinel-master')}: expected a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(master)}`,
      );
    const caFile = v['redis-sentinel-ca'];
    const sentinelPassword = env.PORTICO_REDIS_SENTINEL_PASSWORD;
    return {
      sentinels: hostPortList(name('redis-sentinels').replace(/^--/, ''), v['redis-sentinels']),
      master,
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...(caFile === undefined ? {} : { sentinelTls: { ca: readText('redis-sentinel-ca', caFile) } }),
    };
  }
  if (v['redis-cluster-nodes'] !== undefined)
    return { clusterNodes: hostPortList(name('redis-cluster-nodes').replace(/^--/, ''), v['redis-cluster-nodes']) };
  const url = v.redis;
  if (url === undefined)
    throw new UsageError(
      '--redis URL (or PORTICO_REDIS_URL), --redis-sentinels HOST:PORT,... with --redis-sentinel-master NAME, or --redis-cluster-nodes HOST:PORT,... is required',
    );
  if (!/^rediss?:\/\//.test(url))
    throw new UsageError(`--redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(withoutUserinfo(url))}`);
  return url;
}
