// What `portico local` and `portico worker` share: the traffic listeners, the admin listener and the
// flags that configure them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createAdminApp } from '../gateway/admin.ts';
import type { Readiness } from '../gateway/shared/readiness.ts';
import type { LiveTable } from '../gateway/live.ts';
import { metricFamilies, Metrics } from '../gateway/metrics.ts';
import { exposition, type MetricFamily } from '../gateway/shared/prometheus.ts';
import { DEFAULT_TIMEOUTS, type UpstreamTimeouts } from '../gateway/proxy/pools.ts';
import { startNodeGateway, type ListenAddress } from '../gateway/runtime/node.ts';
import type { TunnelAddress } from '../gateway/table/tunnel-protocol.ts';
import type { PeerTable } from '../gateway/decide.ts';
import { duration, listenAddress } from './args.ts';
import { log } from './log.ts';

export interface ServeConfig {
  http: ListenAddress | null;
  https: ListenAddress | null;
  admin: ListenAddress | null;
  timeouts: UpstreamTimeouts;
  /** `portico worker --tunnel`: upstream requests go through the node-local tunnel. */
  tunnel?: TunnelAddress | null;
}

/** What serveLive needs beyond the flags: peer clusters' tables (`portico worker --peer`). */
export interface ServeExtras {
  peers?: readonly PeerTable[];
}

export const SERVE_FLAGS = {
  http: { type: 'string' },
  https: { type: 'string' },
  admin: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'read-timeout': { type: 'string' },
} as const;

export const SERVE_USAGE = `[--http HOST:PORT|off] [--https HOST:PORT|off] [--admin HOST:PORT|off] [--connect-timeout 5s] [--read-timeout 60s]`;

export function parseServeFlags(v: {
  http?: string;
  https?: string;
  admin?: string;
  'connect-timeout'?: string;
  'read-timeout'?: string;
}): ServeConfig {
  const read = duration('read-timeout', v['read-timeout'] ?? '60s');
  return {
    http: listenAddress('http', v.http ?? '127.0.0.1:8080'),
    https: listenAddress('https', v.https ?? '127.0.0.1:8443'),
    admin: listenAddress('admin', v.admin ?? '127.0.0.1:9180'),
    timeouts: {
      connectMs: duration('connect-timeout', v['connect-timeout'] ?? `${DEFAULT_TIMEOUTS.connectMs}ms`),
      headersMs: read,
      bodyMs: read,
    },
  };
}

export async function serveAdmin(
  a: ListenAddress,
  readiness: () => Readiness,
  metrics: () => string | Promise<string>,
): Promise<http.Server> {
  const server = http.createServer(getRequestListener(createAdminApp({ readiness, metrics }).fetch, { overrideGlobalObjects: false }));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(a.port, a.host, () => resolve()));
  return server;
}

export const url = (scheme: string, a: AddressInfo | ListenAddress | null): string =>
  a === null ? 'off' : `${scheme}://${'address' in a ? (a.address.includes(':') ? `[${a.address}]` : a.address) : a.host}:${a.port}`;

export interface LiveServing {
  close(): Promise<void>;
}

/** Serves `live` on the traffic ports and the admin port of one process. */
export async function serveLive(
  cfg: ServeConfig,
  live: LiveTable,
  o: {
    readiness(): Readiness;
    /** Refusals besides the LiveTable's own (unparsable manifests, unverifiable bundles). */
    refusals(): number;
    /** Extra Prometheus lines (source-specific gauges). */
    extraMetrics?(): MetricFamily[];
  } & ServeExtras,
): Promise<LiveServing> {
  const metrics = new Metrics();
  const gw = await startNodeGateway({
    live,
    metrics,
    http: cfg.http,
    https: cfg.https,
    timeouts: cfg.timeouts,
    tunnel: cfg.tunnel ?? null,
    peers: o.peers ?? [],
    onUpstreamError: (e) => log('warn', e.message, { code: e.code }),
  });
  const admin =
    cfg.admin === null
      ? null
      : await serveAdmin(cfg.admin, o.readiness, () =>
          exposition([...metricFamilies(metrics.snapshot(), live.gauges(o.refusals(), 1)), ...(o.extraMetrics?.() ?? [])]),
        );
  log('info', 'serving', { http: url('http', gw.http), https: url('https', gw.https), admin: url('http', cfg.admin) });
  return {
    async close() {
      admin?.close();
      await gw.close();
    },
  };
}
