// `portico sync --manifests DIR`: the agent without a cluster. Compiles the manifests, publishes each new
// table to Redis, republishes when the files change, and republishes when Redis comes back empty.
import { hostname } from 'node:os';
import { UsageError } from '../gateway/errors.ts';
import { PublishLoop } from '../sync/publish/loop.ts';
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

export async function runSync(cfg: SyncConfig): Promise<{ close(): Promise<void> }> {
  const keys = await loadSigningKeys(cfg.keys);
  const loop = new PublishLoop({ url: cfg.redis, cluster: cfg.cluster, keys, history: cfg.history, publisher: cfg.publisher, log });
  const loader = new ManifestLoader(cfg.manifests, (r) => loop.offer(r));
  await loader.load();
  loop.start();
  loader.watch();
  log('info', 'portico sync is running', { cluster: cfg.cluster, manifests: cfg.manifests });
  return {
    async close() {
      loader.close();
      loop.close();
    },
  };
}
