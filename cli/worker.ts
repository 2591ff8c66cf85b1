// `portico worker`: an edge worker fed by the Redis control plane.
import { tmpdir } from 'node:os';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from './usage-error.ts';
import { LiveTable } from '../gateway/live.ts';
import { checkWritable } from '../gateway/source/cache-file.ts';
import { RedisTableSource } from '../gateway/source/redis.ts';
import { nonceKeyFrom } from '../gateway/access/digest-auth.ts';
import { RedisWindows } from '../gateway/access/global-rate-limit-redis.ts';
import { followerMetrics, followerReadiness } from '../gateway/source/status.ts';
import { clusterPair, duration, parseFlags, tunnelAddress } from './args.ts';
import { loadVerifyingKeys } from './keys.ts';
import { log } from './log.ts';
import { CONTROL_PLANE_FLAGS, parseControlPlaneFlags, REDIS_ENV_USAGE, type ControlPlaneFlags } from './control-plane-flags.ts';
import { parseServeFlags, SERVE_FLAGS, SERVE_USAGE, serveLive, type ServeConfig } from './serve.ts';

export const WORKER_USAGE = `usage: portico worker --redis URL --cluster NAME --keys DIR [--cache-file PATH|off] [--poll 2s] [--node-name NAME]
                      [--tunnel unix:PATH|HOST:PORT [--peer CLUSTER=KEYDIR]...]
                      ${SERVE_USAGE}
--keys defaults to $PORTICO_KEYS; the worker reads only signing-pub.jwk.json and encryption-key.jwk.json
${REDIS_ENV_USAGE}`;

export interface WorkerConfig extends ServeConfig, ControlPlaneFlags {
  /** Peer clusters: name → directory with that cluster's signing-pub and encryption keys. */
  peers: Map<string, string>;
  cacheFile: string | null;
  pollMs: number;
  node: string | undefined;
}

export function parseWorkerFlags(argv: string[]): WorkerConfig {
  const v = parseFlags(argv, {
    ...CONTROL_PLANE_FLAGS,
    'cache-file': { type: 'string' },
    poll: { type: 'string' },
    'node-name': { type: 'string' },
    tunnel: { type: 'string' },
    peer: { type: 'string', multiple: true },
    ...SERVE_FLAGS,
  });
  const cp = parseControlPlaneFlags(v);
  const peers = new Map<string, string>();
  for (const p of v.peer ?? []) {
    const [name, dir] = clusterPair('peer', p);
    if (name === cp.cluster) throw new UsageError(`--peer: ${name} is this worker's own cluster`);
    peers.set(name, dir);
  }
  if (peers.size > 0 && v.tunnel === undefined)
    throw new UsageError('--peer needs --tunnel: a peer cluster is reached through the node-local tunnel');
  const cache = v['cache-file'] ?? join(tmpdir(), `portico-${process.getuid?.() ?? 'user'}`, `${cp.cluster}.bundle`);
  return {
    ...cp,
    ...parseServeFlags(v),
    peers,
    cacheFile: cache === 'off' ? null : cache,
    pollMs: duration('poll', v.poll ?? '2s'),
    node: v['node-name'],
    tunnel: v.tunnel === undefined ? null : tunnelAddress('tunnel', v.tunnel),
  };
}

/** The cache file's directory must be ours alone: a file someone else can plant would be served at start. */
export async function prepareCacheDir(file: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && (st.uid !== uid || (st.mode & 0o022) !== 0)) {
    throw new UsageError(`--cache-file: ${dir} must be owned by this user and not writable by others`);
  }
  await checkWritable(file).catch((err: Error) => {
    throw new UsageError(`--cache-file: cannot write in ${dir}: ${err.message}`);
  });
}

/** This cluster's table, followed from Redis with heartbeats under `node` (the worker and the tunnel alike). */
export async function followClusterTable(
  cfg: Pick<WorkerConfig, 'keys' | 'cacheFile' | 'redis' | 'credentials' | 'cluster' | 'pollMs'>,
  node: string | undefined,
): Promise<{ live: LiveTable; source: RedisTableSource; digestNonceKey: Uint8Array | null }> {
  const keys = await loadVerifyingKeys(cfg.keys);
  if (cfg.cacheFile !== null) await prepareCacheDir(cfg.cacheFile);
  const live = new LiveTable();
  const source = new RedisTableSource({
    redis: cfg.redis,
    credentials: cfg.credentials,
    cluster: cfg.cluster,
    keys,
    live,
    cacheFile: cfg.cacheFile,
    pollMs: cfg.pollMs,
    heartbeatMs: 5_000,
    node,
    log,
  });
  await source.start();
  // Digest-auth nonces: every worker of the cluster holds the decryption key, so each accepts the others' nonces.
  return { live, source, digestNonceKey: keys.decrypt instanceof Uint8Array ? nonceKeyFrom(keys.decrypt) : null };
}

export async function runWorker(cfg: WorkerConfig): Promise<{ close(): Promise<void>; shutdownMs: number }> {
  const { live, source, digestNonceKey } = await followClusterTable(cfg, cfg.node);
  // Peer clusters' tables: verified with each cluster's own keys, no cache file, no heartbeat (this worker
  // does not serve those clusters; it only fails over to them).
  const peers: { cluster: string; live: LiveTable; source: RedisTableSource }[] = [];
  for (const [cluster, dir] of cfg.peers) {
    const peerLive = new LiveTable();
    const peerSource = new RedisTableSource({
      redis: cfg.redis,
      credentials: cfg.credentials,
      cluster,
      keys: await loadVerifyingKeys(dir),
      live: peerLive,
      cacheFile: null,
      pollMs: cfg.pollMs,
      heartbeatMs: 0,
      node: cfg.node,
      log,
    });
    await peerSource.start();
    peers.push({ cluster, live: peerLive, source: peerSource });
  }
  // Global rate limits count in this cluster's Redis, on a connection of their own.
  const globalLimits = new RedisWindows({ redis: cfg.redis, credentials: cfg.credentials, cluster: cfg.cluster });
  const serving = await serveLive(cfg, live, {
    peers,
    globalLimits,
    ...(digestNonceKey === null ? {} : { digestNonceKey }),
    readiness: () => followerReadiness(source, live),
    refusals: () => source.refusals,
    extraMetrics: () => followerMetrics(source),
  });
  log('info', 'portico worker is running', { cluster: cfg.cluster, cacheFile: cfg.cacheFile });
  return {
    shutdownMs: serving.shutdownMs,
    async close() {
      // Drain first: requests in flight still need the table source's last table and the global limits' Redis.
      await serving.close();
      for (const p of peers) await p.source.close();
      await source.close();
      await globalLimits.close();
    },
  };
}
