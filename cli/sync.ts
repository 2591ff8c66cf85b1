// `portico sync --manifests DIR`: the agent without a cluster. Compiles the manifests, publishes each new
// table to Redis, republishes when the files change, and republishes when Redis comes back empty.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { UsageError } from '../gateway/errors.ts';
import { PublishConflictError, RedisPublisher } from '../sync/publish/redis.ts';
import type { CompileResult } from '../sync/compile/types.ts';
import { parseFlags, positiveInt } from './args.ts';
import { loadSigningKeys } from './keys.ts';
import { checkManifestDir } from './local.ts';
import { log } from './log.ts';
import { ManifestLoader } from './manifest-loader.ts';
import { CONTROL_PLANE_FLAGS, parseControlPlaneFlags, type ControlPlaneFlags } from './worker.ts';

export const SYNC_USAGE = `usage: portico sync --manifests DIR --redis URL --cluster NAME --keys DIR [--history 50] [--publisher NAME]
--keys defaults to $PORTICO_KEYS; the agent reads signing-key.jwk.json and encryption-key.jwk.json`;

export interface SyncConfig extends ControlPlaneFlags { manifests: string; history: number; publisher: string }

export function parseSyncFlags(argv: string[]): SyncConfig {
  const v = parseFlags(argv, { ...CONTROL_PLANE_FLAGS, manifests: { type: 'string' }, history: { type: 'string' }, publisher: { type: 'string' } });
  if (v.manifests === undefined) throw new UsageError('--manifests DIR is required (the Kubernetes source arrives with the in-cluster agent)');
  checkManifestDir(v.manifests);
  return { ...parseControlPlaneFlags(v), manifests: v.manifests, history: positiveInt('history', v.history ?? '50', 10_000), publisher: v.publisher ?? `${hostname()}:${process.pid}` };
}

const RETRY_MS = [200, 500, 1000, 2000, 5000];

export async function runSync(cfg: SyncConfig): Promise<{ close(): Promise<void> }> {
  const keys = await loadSigningKeys(cfg.keys);
  const redis = new Redis(cfg.redis, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000,
    retryStrategy: (n: number) => Math.min(100 * 2 ** Math.min(n, 6), 5_000) });
  let lastError = '';
  redis.on('error', (err: Error) => {
    if (err.message !== lastError) log('warn', `redis: ${err.message}`);
    lastError = err.message;
  });
  const publisher = new RedisPublisher(redis, { cluster: cfg.cluster, keys, history: cfg.history, publisher: cfg.publisher });
  let latest: CompileResult | null = null;
  let published: string | null = null; // version this agent last saw current
  let running = false;
  let again = false; // a newer table arrived while publishing
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;

  const push = async (): Promise<void> => {
    if (latest === null || redis.status !== 'ready') return; // the 'ready' event pushes again
    if (running) {
      again = true;
      return;
    }
    running = true;
    const offered = latest;
    try {
      const r = await publisher.publish(offered);
      failures = 0;
      published = offered.table.version;
      if (r.kind === 'published') log('info', 'table published', { version: r.pointer.version, seq: r.pointer.seq, cluster: cfg.cluster });
    } catch (err) {
      failures++;
      if (!(err instanceof PublishConflictError)) log('warn', `publish failed, will retry: ${(err as Error).message}`);
      else log('error', (err as Error).message);
      schedule(RETRY_MS[Math.min(failures - 1, RETRY_MS.length - 1)]!);
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      await push();
    }
  };
  const schedule = (ms: number): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void push(), ms);
  };
  // Redis that restarted empty (or lost the pointer) gets the latest table again.
  const watchdog = setInterval(() => {
    if (redis.status !== 'ready' || latest === null) return;
    publisher.current().then((cur) => {
      if (cur === null || published !== latest!.table.version) void push();
    }, () => {});
  }, 2_000);
  redis.on('ready', () => void push());

  const loader = new ManifestLoader(cfg.manifests, (r) => {
    latest = r;
    void push();
  });
  await loader.load();
  redis.connect().catch(() => {});
  loader.watch();
  log('info', 'portico sync is running', { cluster: cfg.cluster, manifests: cfg.manifests });
  return {
    async close() {
      clearInterval(watchdog);
      if (timer !== null) clearTimeout(timer);
      loader.close();
      redis.disconnect();
    },
  };
}
