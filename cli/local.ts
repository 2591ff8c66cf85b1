// `portico local`: the whole gateway on one machine from a directory of manifests, no Kubernetes and
// no Redis. With --workers N the primary process compiles and serves the admin port, and N worker
// processes share the traffic ports (node:cluster) and receive each table over IPC.
import cluster, { type Worker } from 'node:cluster';
import { accessSync, constants, statSync } from 'node:fs';
import type { Readiness } from '../gateway/shared/readiness.ts';
import { UsageError } from './usage-error.ts';
import { LiveTable } from '../gateway/live.ts';
import { mergeSnapshots, Metrics, renderMetrics, type MetricsSnapshot } from '../gateway/metrics.ts';
import { startNodeGateway } from '../gateway/runtime/node.ts';
import type { BasicAuthMaterial } from '../gateway/table/basic-auth.ts';
import type { CertificateMaterial, RoutingTable } from '../gateway/table/schema.ts';
import { headerNames, parseFlags, positiveInt } from './args.ts';
import { log } from './log.ts';
import { ManifestSource } from '../sync/manifest-source.ts';
import {
  GATEWAY_SETTINGS_FLAGS,
  GATEWAY_SETTINGS_USAGE,
  parseGatewaySettingsFlags,
  type GatewaySettingsFlags,
} from './gateway-settings-flags.ts';
import { accessLogging, parseServeFlags, SERVE_FLAGS, SERVE_USAGE, serveAdmin, serveLive, url, type ServeConfig } from './serve.ts';
import { shutdownBudgetMs } from './drain-log-flags.ts';

export interface LocalConfig extends ServeConfig {
  manifests: string;
  workers: number;
  /** --global-allowed-response-headers: what a custom-headers ConfigMap may set (as in `portico sync`). */
  allowedResponseHeaders: string[];
  /** --nginx-configmap, --default-backend-service, --default-ssl-certificate (as in `portico sync`). */
  settings: GatewaySettingsFlags;
}

export const LOCAL_USAGE = `usage: portico local --manifests DIR [--workers N] [--global-allowed-response-headers NAME,...]
                     ${GATEWAY_SETTINGS_USAGE}
                     ${SERVE_USAGE}
defaults: --http 127.0.0.1:8080 --https 127.0.0.1:8443 --admin 127.0.0.1:9180 --workers 1`;

export function parseLocalFlags(argv: string[]): LocalConfig {
  const v = parseFlags(argv, {
    manifests: { type: 'string' },
    workers: { type: 'string' },
    'global-allowed-response-headers': { type: 'string' },
    ...GATEWAY_SETTINGS_FLAGS,
    ...SERVE_FLAGS,
  });
  if (v.manifests === undefined) throw new UsageError('--manifests DIR is required');
  checkManifestDir(v.manifests);
  return {
    manifests: v.manifests,
    workers: positiveInt('workers', v.workers ?? '1', 64),
    allowedResponseHeaders: headerNames('global-allowed-response-headers', v['global-allowed-response-headers'] ?? ''),
    settings: parseGatewaySettingsFlags(v),
    ...parseServeFlags(v),
  };
}

/** An unreadable directory is a usage error (exit 2), not a table with nothing in it. */
export function checkManifestDir(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--manifests: ${dir} is not a directory`);
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--manifests: cannot read directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

type ToWorker =
  | { type: 'table'; table: RoutingTable; certificates: CertificateMaterial[]; basicAuth: BasicAuthMaterial[] }
  | { type: 'metrics'; id: number };
type FromWorker =
  | { type: 'loaded'; version: string }
  | { type: 'metrics'; id: number; snapshot: MetricsSnapshot }
  /** Ready for tables (it listens after the first). */
  | { type: 'listening' }
  | { type: 'draining' };

export interface LocalHandle {
  close(): Promise<void>;
  /** How long close() may take (the drain). */
  shutdownMs: number;
}

/** Single process: load, serve, watch. */
async function runSingle(cfg: LocalConfig): Promise<LocalHandle> {
  const live = new LiveTable();
  const loader = new ManifestSource(cfg.manifests, (r) => live.swap(r.table, r.certificates, { basicAuth: r.basicAuth }), log, {
    allowedResponseHeaders: cfg.allowedResponseHeaders,
    ...cfg.settings,
  });
  await loader.load();
  const serving = await serveLive(cfg, live, {
    readiness: () =>
      live.current === null
        ? { ready: false, detail: 'no routing table loaded yet' }
        : { ready: true, detail: `serving ${live.current.matcher.table.version}` },
    refusals: () => loader.failures,
  });
  loader.watch();
  log('info', 'portico local is serving', { manifests: cfg.manifests });
  return {
    shutdownMs: serving.shutdownMs,
    async close() {
      loader.close();
      await serving.close();
    },
  };
}

/** Primary of N worker processes. */
async function runPrimary(cfg: LocalConfig): Promise<LocalHandle> {
  const live = new LiveTable();
  const workerVersions = new Map<number, string>();
  const pending = new Map<number, (s: MetricsSnapshot) => void>();
  let nextId = 1;
  let stopping = false;
  let certificates: CertificateMaterial[] = [];
  let basicAuth: BasicAuthMaterial[] = [];
  const send = (w: Worker): void => {
    const t = live.table;
    if (t !== null && w.isConnected()) w.send({ type: 'table', table: t, certificates, basicAuth } satisfies ToWorker);
  };
  const loader = new ManifestSource(
    cfg.manifests,
    (r) => {
      live.swap(r.table, r.certificates, { basicAuth: r.basicAuth });
      certificates = r.certificates;
      basicAuth = r.basicAuth;
      for (const w of Object.values(cluster.workers ?? {})) if (w) send(w);
    },
    log,
    { allowedResponseHeaders: cfg.allowedResponseHeaders, ...cfg.settings },
  );
  await loader.load();
  const fork = (): void => {
    const w = cluster.fork({ PORTICO_WORKER_CONFIG: JSON.stringify(cfg) });
    // A worker signalled on its own (one process replaced at a time) drains: its successor starts at once, so the
    // ports keep their number of processes while it finishes its requests.
    let replaced = false;
    w.on('message', (m: FromWorker) => {
      if (m.type === 'listening') send(w);
      else if (m.type === 'loaded') workerVersions.set(w.id, m.version);
      else if (m.type === 'metrics') pending.get(m.id)?.(m.snapshot);
      else if (m.type === 'draining' && !stopping && !replaced) {
        replaced = true;
        workerVersions.delete(w.id);
        log('info', 'worker process draining; starting its successor', { worker: w.id });
        fork();
      }
    });
    w.on('exit', (code, signal) => {
      workerVersions.delete(w.id);
      if (!stopping && !replaced) {
        log('error', 'worker process exited; starting a new one', { worker: w.id, code, signal });
        setTimeout(fork, 200);
      }
    });
  };
  for (let i = 0; i < cfg.workers; i++) fork();
  loader.watch();

  const readiness = (): Readiness => {
    if (stopping) return { ready: false, detail: 'draining: shutting down' };
    const v = live.table?.version;
    if (v === undefined) return { ready: false, detail: 'no routing table loaded yet' };
    const serving = [...workerVersions.values()].filter((x) => x === v).length;
    return serving >= cfg.workers
      ? { ready: true, detail: `serving ${v} in ${serving} worker processes` }
      : { ready: false, detail: `${serving} of ${cfg.workers} worker processes serve ${v}` };
  };
  const metrics = async (): Promise<string> => {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
    const snaps = await Promise.all(
      workers.map(
        (w) =>
          new Promise<MetricsSnapshot | null>((resolve) => {
            const id = nextId++;
            const timer = setTimeout(() => {
              pending.delete(id);
              resolve(null);
            }, 1000);
            pending.set(id, (s) => {
              clearTimeout(timer);
              pending.delete(id);
              resolve(s);
            });
            w.send({ type: 'metrics', id } satisfies ToWorker);
          }),
      ),
    );
    return renderMetrics(
      mergeSnapshots(snaps.filter((s): s is MetricsSnapshot => s !== null)),
      live.gauges(loader.failures, workers.length),
    );
  };
  const admin = cfg.admin === null ? null : await serveAdmin(cfg.admin, readiness, metrics);
  log('info', 'portico local is serving', {
    http: url('http', cfg.http),
    https: url('https', cfg.https),
    admin: url('http', cfg.admin),
    workers: cfg.workers,
    manifests: cfg.manifests,
  });
  return {
    shutdownMs: shutdownBudgetMs(cfg.drain),
    async close() {
      // /readyz answers 503 from here on; each worker drains (runWorker below) and the admin port stays up meanwhile.
      stopping = true;
      loader.close();
      await Promise.all(
        Object.values(cluster.workers ?? {}).map(
          (w) =>
            w &&
            new Promise<void>((resolve) => {
              w.once('exit', () => resolve());
              w.kill('SIGTERM');
            }),
        ),
      );
      admin?.close();
    },
  };
}

/** A worker process: serves the ports, takes tables from the primary. */
export async function runWorker(): Promise<void> {
  const cfg = JSON.parse(process.env.PORTICO_WORKER_CONFIG ?? '{}') as LocalConfig;
  const live = new LiveTable();
  const metrics = new Metrics();
  let tableLoaded: () => void = () => {};
  let listening = false;
  const firstTable = new Promise<void>((resolve) => {
    tableLoaded = resolve;
  });
  process.on('message', (m: ToWorker) => {
    if (m.type === 'table') {
      try {
        // The worker checks the material again (LiveTable.swap), as it validates the table again.
        const loaded = live.swap(m.table, m.certificates, { basicAuth: m.basicAuth });
        // Counted as serving (the primary's /readyz) once it listens: the first table is reported below.
        if (listening) process.send?.({ type: 'loaded', version: loaded.matcher.table.version } satisfies FromWorker);
        tableLoaded();
      } catch (err) {
        log('error', `table refused, still serving the last good one: ${(err as Error).message}`);
      }
    } else if (m.type === 'metrics') {
      process.send?.({ type: 'metrics', id: m.id, snapshot: metrics.snapshot() } satisfies FromWorker);
    }
  });
  // The ports are shared (node:cluster hands each new connection to a listening worker): a worker listens only once
  // it has a table, or a successor started beside a draining worker would answer 503 meanwhile.
  process.send?.({ type: 'listening' } satisfies FromWorker);
  await firstTable;
  const gw = await startNodeGateway({
    live,
    metrics,
    http: cfg.http,
    https: cfg.https,
    timeouts: cfg.timeouts,
    trust: cfg.trust ?? null,
    proxyProtocol: cfg.proxyProtocol === true ? {} : null,
    ...(cfg.headLimits === undefined ? {} : { headLimits: cfg.headLimits }),
    exclusive: false,
    onUpstreamError: (e) => log('warn', e.message, { code: e.code }),
    drain: cfg.drain,
    accessLog: accessLogging(cfg),
  });
  listening = true;
  const version = live.current?.matcher.table.version;
  if (version !== undefined) process.send?.({ type: 'loaded', version } satisfies FromWorker);
  process.once('SIGTERM', () => {
    process.send?.({ type: 'draining' } satisfies FromWorker);
    void gw
      .drain()
      .then(({ forced }) => {
        log(forced === 0 ? 'info' : 'warn', 'worker process drained', { forcedConnections: forced });
        return gw.close();
      })
      .then(() => process.exit(0));
  });
}

export function runLocal(cfg: LocalConfig): Promise<LocalHandle> {
  return cfg.workers > 1 ? runPrimary(cfg) : runSingle(cfg);
}
