// Where Redis is, from flags: exactly one of --redis URL (or $PORTICO_REDIS_URL), --redis-sentinels with
// --redis-sentinel-master, or --redis-cluster-nodes. The password of the data nodes is $PORTICO_REDIS_PASSWORD
// (or the URL's); the sentinels' own password is $PORTICO_REDIS_SENTINEL_PASSWORD; passwords never come from
// a command line. Anything conflicting or malformed is one UsageError (exit 2).
import { UsageError } from './usage-error.ts';
import type { HostPort, RedisTarget } from '../gateway/shared/redis-client.ts';
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
  const items = value.split(',').map((s) => s.trim());
  return items.map((item) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535)
      throw new UsageError(`--${flag}: expected host:port[,host:port...], got ${JSON.stringify(item)} in ${JSON.stringify(value)}`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

// A Sentinel master group name: what `sentinel monitor` accepts in practice (no spaces or control characters).
const MASTER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function parseRedisTarget(v: RedisTargetFlagValues, env = process.env): RedisTarget {
  const given = (['redis', 'redis-sentinels', 'redis-cluster-nodes'] as const).filter((f) => v[f] !== undefined);
  if (given.length > 1)
    throw new UsageError(
      `${given.map((f) => `--${f}`).join(' and ')}: give exactly one of --redis, --redis-sentinels, --redis-cluster-nodes`,
    );
  const sentinelOnly = (['redis-sentinel-master', 'redis-sentinel-ca'] as const).find((f) => v[f] !== undefined);
  if (sentinelOnly !== undefined && v['redis-sentinels'] === undefined)
    throw new UsageError(`--${sentinelOnly}: only meaningful with --redis-sentinels`);
  if (v['redis-sentinels'] !== undefined) {
    const master = v['redis-sentinel-master'];
    if (master === undefined)
      throw new UsageError('--redis-sentinels: --redis-sentinel-master NAME is required (the monitored master group)');
    if (!MASTER_NAME.test(master))
      throw new UsageError(`--redis-sentinel-master: expected a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(master)}`);
    const caFile = v['redis-sentinel-ca'];
    const sentinelPassword = env.PORTICO_REDIS_SENTINEL_PASSWORD;
    return {
      sentinels: hostPortList('redis-sentinels', v['redis-sentinels']),
      master,
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...(caFile === undefined || caFile === '' ? {} : { sentinelTls: { ca: readText('redis-sentinel-ca', caFile) } }),
    };
  }
  if (v['redis-cluster-nodes'] !== undefined) return { clusterNodes: hostPortList('redis-cluster-nodes', v['redis-cluster-nodes']) };
  const url = v.redis ?? env.PORTICO_REDIS_URL;
  if (url === undefined || url === '')
    throw new UsageError(
      '--redis URL (or PORTICO_REDIS_URL), --redis-sentinels HOST:PORT,... with --redis-sentinel-master NAME, or --redis-cluster-nodes HOST:PORT,... is required',
    );
  if (!/^rediss?:\/\//.test(url))
    throw new UsageError(`--redis: expected a redis:// or rediss:// URL, got ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))}`);
  return url;
}
