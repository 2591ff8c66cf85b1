// `portico tunnel`: the node-local tunnel (issue 8). Loads and verifies the cluster's table from Redis like a
// worker does (it needs the same public keys, no signing key) and relays the workers' upstream requests to
// the endpoints that table names, and to no other address.
import { LiveTable } from '../gateway/live.ts';
import { DEFAULT_TIMEOUTS } from '../gateway/proxy/pools.ts';
import { RedisTableSource } from '../gateway/source/redis.ts';
import type { TunnelAddress } from '../gateway/tunnel/protocol.ts';
import { startTunnel } from '../gateway/tunnel/server.ts';
import { duration, listenAddress, parseFlags, tunnelAddress } from './args.ts';
import { loadVerifyingKeys } from './keys.ts';
import { log } from './log.ts';
import { REDIS_ENV_USAGE } from './redis-access.ts';
import { serveAdmin } from './serve.ts';
import { CONTROL_PLANE_FLAGS, parseControlPlaneFlags, type ControlPlaneFlags } from './worker.ts';
import type { ListenAddress } from '../gateway/runtime/node.ts';

export const TUNNEL_USAGE = `usage: portico tunnel --redis URL --cluster NAME --keys DIR [--listen unix:PATH|HOST:PORT] [--admin HOST:PORT|off]
                      [--connect-timeout 5s] [--read-timeout 60s] [--poll 2s] [--node-name NAME]
--listen defaults to unix:/tmp/portico-tunnel.sock; a HOST:PORT must be a loopback address (runtimes without Unix sockets)
${REDIS_ENV_USAGE}`;

export interface TunnelConfig extends ControlPlaneFlags {
  listen: TunnelAddress;
  admin: ListenAddress | null;
  timeouts: typeof DEFAULT_TIMEOUTS;
  pollMs: number;
  node: string | undefined;
}

export function parseTunnelFlags(argv: string[]): TunnelConfig {
  const v = parseFlags(argv, {
    ...CONTROL_PLANE_FLAGS, listen: { type: 'string' }, admin: { type: 'string' }, 'connect-timeout': { type: 'string' }, 'read-timeout': { type: 'string' },
    poll: { type: 'string' }, 'node-name': { type: 'string' },
  });
  const read = duration('read-timeout', v['read-timeout'] ?? '60s');
  return {
    ...parseControlPlaneFlags(v),
    listen: tunnelAddress('listen', v.listen ?? 'unix:/tmp/portico-tunnel.sock'),
    admin: listenAddress('admin', v.admin ?? '127.0.0.1:9182'),
    timeouts: { connectMs: duration('connect-timeout', v['connect-timeout'] ?? `${DEFAULT_TIMEOUTS.connectMs}ms`), headersMs: read, bodyMs: read },
    pollMs: duration('poll', v.poll ?? '2s'),
    node: v['node-name'],
  };
}

export async function runTunnel(cfg: TunnelConfig): Promise<{ close(): Promise<void> }> {
  const keys = await loadVerifyingKeys(cfg.keys);
  const live = new LiveTable();
  const source = new RedisTableSource({
    url: cfg.redis, credentials: cfg.credentials, cluster: cfg.cluster, keys, live, cacheFile: null, pollMs: cfg.pollMs, heartbeatMs: 5_000,
    node: cfg.node === undefined ? undefined : `${cfg.node}/tunnel`, log,
  });
  await source.start();
  const tunnel = await startTunnel({ live, listen: cfg.listen, timeouts: cfg.timeouts, log });
  const admin = cfg.admin === null ? null : await serveAdmin(cfg.admin, () => live.current === null
    ? { ready: false, detail: `no verified table yet (redis ${source.connected ? 'connected' : 'unreachable'})` }
    : { ready: true, detail: `relaying to the endpoints of ${live.current.matcher.table.version}` }, () => [
    '# HELP portico_tunnel_relayed_total Requests relayed to an endpoint.', '# TYPE portico_tunnel_relayed_total counter', `portico_tunnel_relayed_total ${tunnel.stats.relayed}`,
    '# HELP portico_tunnel_upgrades_total Upgraded connections (WebSocket) relayed.', '# TYPE portico_tunnel_upgrades_total counter', `portico_tunnel_upgrades_total ${tunnel.stats.upgrades}`,
    '# HELP portico_tunnel_refused_total Requests refused: no endpoint, or one outside the verified table.', '# TYPE portico_tunnel_refused_total counter', `portico_tunnel_refused_total ${tunnel.stats.refused}`,
    '# HELP portico_tunnel_upstream_errors_total Failed upstream exchanges.', '# TYPE portico_tunnel_upstream_errors_total counter', `portico_tunnel_upstream_errors_total ${tunnel.stats.upstreamErrors}`,
    `portico_redis_connected ${source.connected ? 1 : 0}`, '',
  ].join('\n'));
  log('info', 'portico tunnel is running', { cluster: cfg.cluster, listen: tunnel.address });
  return {
    async close() {
      admin?.close();
      await tunnel.close();
      await source.close();
    },
  };
}
