// `portico sync`: the agent. From a directory of manifests (`--manifests DIR`, no cluster) or from the
// Kubernetes API (`--kubeconfig PATH` or `--in-cluster`): compiles, publishes each new table to Redis,
// and republishes when Redis comes back empty. In a cluster it also elects a leader with a Lease and
// writes Ingress status and Events.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { exposition, type MetricFamily } from '../gateway/shared/prometheus.ts';
import type { Readiness } from '../gateway/shared/readiness.ts';
import { UsageError } from './usage-error.ts';
import { classNames, publishService, trueOrFalse } from './class-flags.ts';
import type { ServiceRef } from '../sync/kube/publish-service.ts';
import type { ListenAddress } from '../gateway/runtime/node.ts';
import { DEFAULT_COMPILE_OPTIONS } from '../sync/compile/types.ts';
import { KubeAgent } from '../sync/kube/agent.ts';
import { DEFAULT_LEASE_SECONDS } from '../sync/kube/lease-timing.ts';
import { PublishLoop } from '../sync/publish/loop.ts';
import { agentMetrics, agentReadiness, publisherMetrics, publisherReadiness } from '../sync/status.ts';
import { duration, headerNames, listenAddress, parseFlags, positiveInt } from './args.ts';
import { loadSigningKeys } from './keys.ts';
import { checkManifestDir } from './local.ts';
import { log } from './log.ts';
import { ManifestSource } from '../sync/manifest-source.ts';
import { serveAdmin } from './serve.ts';
import {
  GATEWAY_SETTINGS_FLAGS,
  GATEWAY_SETTINGS_USAGE,
  parseGatewaySettingsFlags,
  type GatewaySettingsFlags,
} from './gateway-settings-flags.ts';
import { CONTROL_PLANE_FLAGS, parseControlPlaneFlags, REDIS_ENV_USAGE, type ControlPlaneFlags } from './control-plane-flags.ts';

export const SYNC_USAGE = `usage: portico sync (--manifests DIR | --kubeconfig PATH | --in-cluster) --redis URL --cluster NAME --keys DIR
                    [--history 50] [--publisher NAME] [--admin HOST:PORT|off] [--global-allowed-response-headers NAME,...]
  in a cluster: [--publish-address ADDR]... | [--publish-service NAMESPACE/NAME]  [--write-status true|false]
                [--lease-namespace NS] [--lease-name portico-sync] [--lease-duration 3s]
                [--ingress-class portico] [--controller portico.dev/ingress-controller] [--serve-class NAME]...
                [--watch-ingress-without-class true|false] [--secret-selector LABELS] [--rewatch 5m]
  ${GATEWAY_SETTINGS_USAGE}
--keys defaults to $PORTICO_KEYS; the agent reads signing-key.jwk.json and encryption-key.jwk.json
${REDIS_ENV_USAGE}`;

type Source = { kind: 'manifests'; dir: string } | { kind: 'kube'; kubeconfig: string | null };

export interface SyncConfig extends ControlPlaneFlags {
  source: Source;
  history: number;
  publisher: string;
  admin: ListenAddress | null;
  publishAddresses: string[];
  /** --publish-service: status takes this Service's addresses (excludes publishAddresses). */
  publishService: ServiceRef | undefined;
  /** --write-status (default true): false writes and clears no Ingress status at all. */
  writeStatus: boolean;
  /** --serve-class: IngressClass names served whatever controller they name (CompileOptions.serveClasses). */
  serveClasses: string[];
  /** --watch-ingress-without-class (default false): serve Ingresses without any class. */
  watchWithoutClass: boolean;
  lease: { namespace: string; name: string; durationSeconds: number };
  annotationClass: string;
  controller: string;
  secretSelector: string | undefined;
  rewatchMs: number;
  /** --global-allowed-response-headers: what a custom-headers ConfigMap may set (CompileOptions.allowedResponseHeaders). */
  allowedResponseHeaders: string[];
  /** --nginx-configmap, --default-backend-service, --default-ssl-certificate. */
  settings: GatewaySettingsFlags;
}

export function parseSyncFlags(argv: string[]): SyncConfig {
  const v = parseFlags(argv, {
    ...CONTROL_PLANE_FLAGS,
    manifests: { type: 'string' },
    kubeconfig: { type: 'string' },
    'in-cluster': { type: 'boolean' },
    history: { type: 'string' },
    publisher: { type: 'string' },
    admin: { type: 'string' },
    'publish-address': { type: 'string', multiple: true },
    'publish-service': { type: 'string' },
    'write-status': { type: 'string' },
    'serve-class': { type: 'string', multiple: true },
    'watch-ingress-without-class': { type: 'string' },
    'lease-namespace': { type: 'string' },
    'lease-name': { type: 'string' },
    'lease-duration': { type: 'string' },
    'ingress-class': { type: 'string' },
    controller: { type: 'string' },
    'secret-selector': { type: 'string' },
    rewatch: { type: 'string' },
    'global-allowed-response-headers': { type: 'string' },
    ...GATEWAY_SETTINGS_FLAGS,
  });
  const chosen = [v.manifests !== undefined, v.kubeconfig !== undefined, v['in-cluster'] === true].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('give exactly one source: --manifests DIR, --kubeconfig PATH or --in-cluster');
  if (v.manifests !== undefined) checkManifestDir(v.manifests);
  const source: Source =
    v.manifests !== undefined ? { kind: 'manifests', dir: v.manifests } : { kind: 'kube', kubeconfig: v.kubeconfig ?? null };
  const publisher = v.publisher ?? process.env.POD_NAME ?? `${hostname()}:${process.pid}`;
  return {
    ...parseControlPlaneFlags(v),
    source,
    publisher,
    history: positiveInt('history', v.history ?? '50', 10_000),
    admin: listenAddress('admin', v.admin ?? 'off'),
    publishAddresses: v['publish-address'] ?? [],
    publishService: publishService(v['publish-service'], v['publish-address'] ?? []),
    writeStatus: trueOrFalse('write-status', v['write-status'], true),
    serveClasses: classNames('serve-class', v['serve-class'] ?? []),
    watchWithoutClass: trueOrFalse('watch-ingress-without-class', v['watch-ingress-without-class'], false),
    lease: {
      namespace: v['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'portico-system',
      name: v['lease-name'] ?? 'portico-sync',
      durationSeconds: Math.ceil(duration('lease-duration', v['lease-duration'] ?? `${DEFAULT_LEASE_SECONDS}s`) / 1000),
    },
    annotationClass: v['ingress-class'] ?? DEFAULT_COMPILE_OPTIONS.annotationClass,
    controller: v.controller ?? DEFAULT_COMPILE_OPTIONS.controller,
    secretSelector: v['secret-selector'],
    rewatchMs: duration('rewatch', v.rewatch ?? '5m'),
    allowedResponseHeaders: headerNames('global-allowed-response-headers', v['global-allowed-response-headers'] ?? ''),
    settings: parseGatewaySettingsFlags(v),
  };
}

export function loadKubeConfig(path: string | null): KubeConfig {
  const kc = new KubeConfig();
  // client-node's loadFromCluster does not fail outside a pod: it yields the server https://undefined:undefined.
  if (path === null && !process.env.KUBERNETES_SERVICE_HOST)
    throw new UsageError('--in-cluster: no in-cluster credentials (KUBERNETES_SERVICE_HOST is not set: not running in a pod)');
  try {
    if (path === null) kc.loadFromCluster();
    else kc.loadFromFile(path);
  } catch (err) {
    throw new UsageError(
      path === null
        ? `--in-cluster: no in-cluster credentials (${(err as Error).message})`
        : `--kubeconfig: cannot load ${path}: ${(err as Error).message}`,
    );
  }
  if (kc.getCurrentCluster() === null) throw new UsageError(`--kubeconfig: ${path} has no current cluster`);
  return kc;
}

export async function runSync(cfg: SyncConfig): Promise<{ close(): Promise<void> }> {
  const keys = await loadSigningKeys(cfg.keys);
  const loop = new PublishLoop({
    redis: cfg.redis,
    credentials: cfg.credentials,
    cluster: cfg.cluster,
    keys,
    history: cfg.history,
    publisher: cfg.publisher,
    log,
  });
  loop.start();
  // What the compiler is told beside the objects, the same from manifests and from a cluster.
  const compileOptions = {
    annotationClass: cfg.annotationClass,
    controller: cfg.controller,
    serveClasses: cfg.serveClasses,
    watchWithoutClass: cfg.watchWithoutClass,
    allowedResponseHeaders: cfg.allowedResponseHeaders,
    ...cfg.settings,
  };
  let readiness: () => Readiness;
  let extraMetrics: () => MetricFamily[];
  let stopSource: () => Promise<void>;
  if (cfg.source.kind === 'manifests') {
    const loader = new ManifestSource(cfg.source.dir, (r) => loop.offer(r), log, compileOptions);
    await loader.load();
    loader.watch();
    readiness = () => publisherReadiness(loop);
    extraMetrics = () => [];
    stopSource = async () => loader.close();
  } else {
    const agent = new KubeAgent({
      kc: loadKubeConfig(cfg.source.kubeconfig),
      publish: (r, term) => loop.offer(r, term),
      withdraw: () => loop.withdraw(),
      compile: compileOptions,
      // Unique per process even when replicas share --publisher: two holders of one identity would both lead.
      publishAddresses: cfg.publishAddresses,
      ...(cfg.publishService ? { publishService: cfg.publishService } : {}),
      writeStatus: cfg.writeStatus,
      identity: `${cfg.publisher}/${randomUUID().slice(0, 8)}`,
      lease: cfg.lease,
      log,
      ...(cfg.secretSelector ? { secretLabelSelector: cfg.secretSelector } : {}),
      rewatchMs: cfg.rewatchMs,
    });
    const started = agent.start().catch((err: Error) => log('error', `agent failed to start: ${err.message}`));
    readiness = () => agentReadiness(agent, loop);
    extraMetrics = () => agentMetrics(agent);
    stopSource = async () => {
      await started;
      await agent.stop();
    };
  }
  const admin =
    cfg.admin === null
      ? null
      : await serveAdmin(
          cfg.admin,
          () => readiness(),
          () => exposition([...publisherMetrics(loop), ...extraMetrics()]),
        );
  log('info', 'portico sync is running', { cluster: cfg.cluster, source: cfg.source.kind });
  return {
    async close() {
      admin?.close();
      await stopSource();
      loop.close();
    },
  };
}
