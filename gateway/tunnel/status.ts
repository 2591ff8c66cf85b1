// The tunnel's own readiness and metrics, for its admin listener (/readyz, /metrics).
import type { LiveTable } from '../live.ts';
import { single, type MetricFamily } from '../shared/prometheus.ts';
import type { Readiness } from '../shared/readiness.ts';
import type { TunnelStats } from './relay.ts';

/** Ready once a verified table says which endpoints may be dialled. */
export function tunnelReadiness(live: LiveTable, redisConnected: boolean): Readiness {
  return live.current === null
    ? { ready: false, detail: `no verified table yet (redis ${redisConnected ? 'connected' : 'unreachable'})` }
    : { ready: true, detail: `relaying to the endpoints of ${live.current.matcher.table.version}` };
}

export function tunnelMetrics(stats: TunnelStats, redisConnected: boolean): MetricFamily[] {
  return [
    single('portico_tunnel_relayed_total', 'counter', 'Requests relayed to an endpoint.', stats.relayed),
    single('portico_tunnel_upgrades_total', 'counter', 'Upgraded connections (WebSocket) relayed.', stats.upgrades),
    single('portico_tunnel_streams_total', 'counter', 'Raw TCP streams relayed to an endpoint (CONNECT, ssl-passthrough).', stats.streams),
    single('portico_tunnel_refused_total', 'counter', 'Requests refused: no endpoint, or one outside the verified table.', stats.refused),
    single('portico_tunnel_upstream_errors_total', 'counter', 'Failed upstream exchanges.', stats.upstreamErrors),
    single(
      'portico_tunnel_queue_timeouts_total',
      'counter',
      'Requests answered 503: no connection to their endpoint became free within --upstream-queue-timeout.',
      stats.queueTimeouts,
    ),
    single('portico_redis_connected', 'gauge', 'Whether the tunnel is connected to Redis.', redisConnected ? 1 : 0),
  ];
}
