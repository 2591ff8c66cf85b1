// A worker's readiness and metrics as far as its table source decides them, for its admin listener: whether
// it serves a verified table, which one, and where it came from (Redis, or the cache file while Redis is away).
import type { LiveTable } from '../live.ts';
import { single, type MetricFamily } from '../shared/prometheus.ts';
import type { Readiness } from '../shared/readiness.ts';
import type { TableFollower } from './follower.ts';

const redisState = (f: TableFollower, whenUp: string): string =>
  f.connected ? whenUp : `unreachable: ${f.lastRedisError ?? 'connecting'}`;

export function followerReadiness(f: TableFollower, live: LiveTable): Readiness {
  const s = f.served;
  if (live.current === null || s === null)
    return { ready: false, detail: `no routing table loaded yet (redis ${redisState(f, 'connected')})` };
  const from = s.source === 'cache' ? `the cache file (redis ${redisState(f, 'connected, loading')})` : 'redis';
  return { ready: true, detail: `serving ${s.manifest.version} (seq ${s.manifest.seq}) from ${from}` };
}

export function followerMetrics(f: TableFollower): MetricFamily[] {
  const s = f.served;
  return [
    single('portico_redis_connected', 'gauge', 'Whether the worker is connected to Redis.', f.connected ? 1 : 0),
    {
      name: 'portico_table_source',
      type: 'gauge',
      help: 'Where the served table came from.',
      samples: s ? [{ labels: { source: s.source }, value: 1 }] : [],
    },
    {
      name: 'portico_table_seq',
      type: 'gauge',
      help: 'Publish sequence number of the served table.',
      samples: s ? [{ value: s.manifest.seq }] : [],
    },
  ];
}
