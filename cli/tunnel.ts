// `portico tunnel`: the node-local tunnel. Loads and verifies the cluster's table from Redis like a
// worker does (it needs the same public keys, no signing key) and relays the workers' upstream requests to
// the endpoints that table names, and to no other address.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoKey } from 'jose';
import { UsageError } from './usage-error.ts';
import { startPeerGateway } from '../gateway/tunnel/peer-gateway.ts';
import { Peers, type PeerConfig } from '../gateway/tunnel/peers.ts';
import { newStats } from '../gateway/tunnel/relay.ts';
import { DEFAULT_TIMEOUTS } from '../gateway/proxy/pools.ts';
import type { TunnelAddress } from '../gateway/table/tunnel-protocol.ts';
import { startTunnel } from '../gateway/tunnel/server.ts';
import { tunnelMetrics, tunnelReadiness } from '../gateway/tunnel/status.ts';
import { exposition } from '../gateway/shared/prometheus.ts';
import { clusterPair, duration, listenAddress, parseFlags, readText, tunnelAddress } from './args.ts';
import { loadJwk } from './keys.ts';
import { log } from './log.ts';
import { serveAdmin } from './serve.ts';
import { CONTROL_PLANE_FLAGS, parseControlPlaneFlags, REDIS_ENV_USAGE, type ControlPlaneFlags } from './control-plane-flags.ts';
import { followClusterTable } from './worker.ts';
import { parseEdgeLimitFlags } from './edge-limit-flags.ts';
import type { PoolLimits } from '../gateway/proxy/pool-queue.ts';
import type { ListenAddress } from '../gateway/runtime/node.ts';

export const TUNNEL_USAGE = `usage: portico tunnel --redis URL --cluster NAME --keys DIR [--listen unix:PATH|HOST:PORT] [--admin HOST:PORT|off]
                      [--connect-timeout 5s] [--read-timeout 60s] [--poll 2s] [--node-name NAME] [--cache-file PATH|off]
                      [--upstream-max-connections 256] [--upstream-queue-timeout 5s]
  to peer clusters:   [--peer CLUSTER=https://HOST:PORT]... --peer-signing-key JWKFILE [--peer-ca PEMFILE]
  from peer clusters: [--peer-listen HOST:PORT --peer-cert PEMFILE --peer-key PEMFILE --trust CLUSTER=JWKFILE...]
--listen defaults to unix:/tmp/portico-tunnel.sock; a HOST:PORT must be a loopback address (runtimes without Unix sockets)
--upstream-max-connections: per endpoint for this tunnel, which dials for every worker on its node (0: no cap); a request
  waits --upstream-queue-timeout (0: no limit) for one, then 503
${REDIS_ENV_USAGE}`;

export interface TunnelConfig extends ControlPlaneFlags {
  listen: TunnelAddress;
  /** The last verified table, so a restarted tunnel allows the same endpoints as its workers before Redis answers. */
  cacheFile: string | null;
  /** Sending to peers: their gateways, this cluster's tunnel key, the CA their certificates chain to. */
  peers: Map<string, PeerConfig>;
  peerSigningKey: string | null;
  peerCa: string | undefined;
  /** Receiving from peers. */
  gateway: { listen: ListenAddress; certPem: string; keyPem: string; trust: Map<string, string> } | null;
  admin: ListenAddress | null;
  timeouts: typeof DEFAULT_TIMEOUTS;
  upstreamPool: PoolLimits;
  pollMs: number;
  node: string | undefined;
}

export function parseTunnelFlags(argv: string[]): TunnelConfig {
  const v = parseFlags(argv, {
    ...CONTROL_PLANE_FLAGS,
    listen: { type: 'string' },
    admin: { type: 'string' },
    'connect-timeout': { type: 'string' },
    'read-timeout': { type: 'string' },
    poll: { type: 'string' },
    'node-name': { type: 'string' },
    'cache-file': { type: 'string' },
    peer: { type: 'string', multiple: true },
    'peer-signing-key': { type: 'string' },
    'peer-ca': { type: 'string' },
    'peer-listen': { type: 'string' },
    'peer-cert': { type: 'string' },
    'peer-key': { type: 'string' },
    trust: { type: 'string', multiple: true },
    'upstream-max-connections': { type: 'string' },
    'upstream-queue-timeout': { type: 'string' },
  });
  const read = duration('read-timeout', v['read-timeout'] ?? '60s');
  const peers = new Map<string, PeerConfig>();
  for (const p of v.peer ?? []) {
    const [name, url] = clusterPair('peer', p);
    if (!/^https:\/\/[A-Za-z0-9.:[\]-]+$/.test(url))
      throw new UsageError(`--peer: expected CLUSTER=https://HOST:PORT, got ${JSON.stringify(p)}`);
    peers.set(name, { url });
  }
  if (peers.size > 0 && v['peer-signing-key'] === undefined)
    throw new UsageError("--peer needs --peer-signing-key JWKFILE (this cluster's tunnel key)");
  let gateway: TunnelConfig['gateway'] = null;
  if (v['peer-listen'] !== undefined) {
    if (v['peer-cert'] === undefined || v['peer-key'] === undefined)
      throw new UsageError('--peer-listen needs --peer-cert PEMFILE and --peer-key PEMFILE');
    const trust = new Map((v.trust ?? []).map((t) => clusterPair('trust', t)));
    if (trust.size === 0) throw new UsageError('--peer-listen needs at least one --trust CLUSTER=JWKFILE');
    gateway = {
      listen: listenAddress('peer-listen', v['peer-listen'])!,
      certPem: readText('peer-cert', v['peer-cert']),
      keyPem: readText('peer-key', v['peer-key']),
      trust,
    };
  }
  const cp = parseControlPlaneFlags(v);
  const cache = v['cache-file'] ?? join(tmpdir(), `portico-${process.getuid?.() ?? 'user'}`, `${cp.cluster}.tunnel.bundle`);
  return {
    ...cp,
    cacheFile: cache === 'off' ? null : cache,
    peers,
    peerSigningKey: v['peer-signing-key'] ?? null,
    peerCa: v['peer-ca'] === undefined ? undefined : readText('peer-ca', v['peer-ca']),
    gateway,
    listen: tunnelAddress('listen', v.listen ?? 'unix:/tmp/portico-tunnel.sock'),
    admin: listenAddress('admin', v.admin ?? '127.0.0.1:9182'),
    timeouts: {
      connectMs: duration('connect-timeout', v['connect-timeout'] ?? `${DEFAULT_TIMEOUTS.connectMs}ms`),
      headersMs: read,
      bodyMs: read,
    },
    upstreamPool: parseEdgeLimitFlags({
      'upstream-max-connections': v['upstream-max-connections'],
      'upstream-queue-timeout': v['upstream-queue-timeout'],
    }).upstreamPool,
    pollMs: duration('poll', v.poll ?? '2s'),
    node: v['node-name'],
  };
}

export async function runTunnel(cfg: TunnelConfig): Promise<{ close(): Promise<void> }> {
  const { live, source } = await followClusterTable(cfg, cfg.node === undefined ? undefined : `${cfg.node}/tunnel`);
  const stats = newStats();
  const peers =
    cfg.peerSigningKey === null
      ? null
      : new Peers(cfg.cluster, await loadJwk(cfg.peerSigningKey, 'peer-signing-key'), cfg.peers, cfg.peerCa, cfg.timeouts);
  const trust = new Map<string, CryptoKey>();
  for (const [name, file] of cfg.gateway?.trust ?? []) trust.set(name, await loadJwk(file, 'trust'));
  const tunnel = await startTunnel({ live, listen: cfg.listen, timeouts: cfg.timeouts, upstreamPool: cfg.upstreamPool, log, peers, stats });
  const gateway =
    cfg.gateway === null
      ? null
      : await startPeerGateway({
          live,
          cluster: cfg.cluster,
          listen: cfg.gateway.listen,
          tls: { certPem: cfg.gateway.certPem, keyPem: cfg.gateway.keyPem },
          trust,
          timeouts: cfg.timeouts,
          upstreamPool: cfg.upstreamPool,
          stats,
          log,
        });
  const admin =
    cfg.admin === null
      ? null
      : await serveAdmin(
          cfg.admin,
          () => tunnelReadiness(live, source.connected),
          () => exposition(tunnelMetrics(tunnel.stats, source.connected)),
        );
  log('info', 'portico tunnel is running', { cluster: cfg.cluster, listen: tunnel.address });
  return {
    async close() {
      admin?.close();
      await gateway?.close();
      await tunnel.close();
      await source.close();
    },
  };
}
