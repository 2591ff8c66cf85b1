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
import { parseTrustedProxies, type TrustConfig } from '../gateway/access/client-address.ts';
import type { PeerTable } from '../gateway/decide.ts';
import type { SharedWindows } from '../gateway/access/global-rate-limit.ts';
import { duration, listenAddress } from './args.ts';
import { log } from './log.ts';
import { UsageError } from './usage-error.ts';
import { HEAD_LIMIT_FLAGS, HEAD_LIMIT_USAGE, parseHeadLimits } from './head-limit-flags.ts';
import type { RequestHeadLimits } from '../gateway/runtime/node-request-head.ts';

export interface ServeConfig {
  http: ListenAddress | null;
  https: ListenAddress | null;
  admin: ListenAddress | null;
  timeouts: UpstreamTimeouts;
  /** `portico worker --tunnel`: upstream requests go through the node-local tunnel. */
  tunnel?: TunnelAddress | null;
  /** `--trusted-proxies`: whose forwarding headers are believed (kept as text: it crosses to worker processes). */
  trust?: TrustConfig | null;
  /** `--proxy-protocol`: both listeners require a PROXY protocol header from one of the trusted proxies. */
  proxyProtocol?: boolean;
  /** --max-request-headers, --max-request-header-line, --max-request-head; absent: their defaults. */
  headLimits?: RequestHeadLimits;
}

/** What serveLive needs beyond the flags: peer clusters' tables (`portico worker --peer`). */
export interface ServeExtras {
  peers?: readonly PeerTable[];
  /** Where global rate limits are counted across workers (`portico worker`: Redis); absent: in this process. */
  globalLimits?: SharedWindows;
  /** The HMAC key of digest-auth nonces (`portico worker`: derived from the table decryption key). */
  digestNonceKey?: Uint8Array;
}

export const SERVE_FLAGS = {
  http: { type: 'string' },
  https: { type: 'string' },
  admin: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'read-timeout': { type: 'string' },
  'trusted-proxies': { type: 'string' },
  'forwarded-for-header': { type: 'string' },
  'compute-full-forwarded-for': { type: 'boolean' },
  'proxy-protocol': { type: 'boolean' },
  ...HEAD_LIMIT_FLAGS,
} as const;

export const SERVE_USAGE = `[--http HOST:PORT|off] [--https HOST:PORT|off] [--admin HOST:PORT|off] [--connect-timeout 5s] [--read-timeout 60s]
                      [--trusted-proxies CIDR,... [--forwarded-for-header X-Forwarded-For] [--compute-full-forwarded-for] [--proxy-protocol]]
                      ${HEAD_LIMIT_USAGE}
--proxy-protocol: every connection to --http and --https must start with a PROXY protocol v1 or v2 header from one of
                  --trusted-proxies (others are closed); the client is the address it names`;

/** --trusted-proxies and its companions, checked; null when no proxy is trusted. */
function parseTrust(v: {
  'trusted-proxies'?: string;
  'forwarded-for-header'?: string;
  'compute-full-forwarded-for'?: boolean;
}): TrustConfig | null {
  const header = v['forwarded-for-header'];
  const full = v['compute-full-forwarded-for'] === true;
  if (v['trusted-proxies'] === undefined) {
    if (header !== undefined || full)
      throw new UsageError(
        '--forwarded-for-header and --compute-full-forwarded-for need --trusted-proxies (no proxy is trusted without it)',
      );
    return null;
  }
  if (header !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(header))
    throw new UsageError(`--forwarded-for-header: ${JSON.stringify(header)} is not a header name`);
  const t = { proxies: v['trusted-proxies'], header: header ?? 'X-Forwarded-For', fullChain: full };
  const parsed = parseTrustedProxies(t.proxies, t.header, t.fullChain);
  if ('invalid' in parsed)
    throw new UsageError(`--trusted-proxies: ${parsed.invalid.map((i) => JSON.stringify(i)).join(', ')} is not a CIDR or an IP address`);
  return t;
}

export function parseServeFlags(v: {
  http?: string;
  https?: string;
  admin?: string;
  'connect-timeout'?: string;
  'read-timeout'?: string;
  'trusted-proxies'?: string;
  'forwarded-for-header'?: string;
  'compute-full-forwarded-for'?: boolean;
  'proxy-protocol'?: boolean;
  'max-request-headers'?: string;
  'max-request-header-line'?: string;
  'max-request-head'?: string;
}): ServeConfig {
  const read = duration('read-timeout', v['read-timeout'] ?? '60s');
  const trust = parseTrust(v);
  // Secure by default: ingress-nginx believes a PROXY header from anyone (proxy-real-ip-cidr 0.0.0.0/0); here
  // the load balancers must be named, or a client could choose the address the access rules judge.
  if (v['proxy-protocol'] === true && trust === null)
    throw new UsageError('--proxy-protocol needs --trusted-proxies: the load balancers allowed to send the PROXY header');
  return {
    http: listenAddress('http', v.http ?? '127.0.0.1:8080'),
    https: listenAddress('https', v.https ?? '127.0.0.1:8443'),
    admin: listenAddress('admin', v.admin ?? '127.0.0.1:9180'),
    timeouts: {
      connectMs: duration('connect-timeout', v['connect-timeout'] ?? `${DEFAULT_TIMEOUTS.connectMs}ms`),
      headersMs: read,
      bodyMs: read,
    },
    trust,
    proxyProtocol: v['proxy-protocol'] === true,
    headLimits: parseHeadLimits(v),
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
    trust: cfg.trust ?? null,
    proxyProtocol: cfg.proxyProtocol === true ? {} : null,
    ...(cfg.headLimits === undefined ? {} : { headLimits: cfg.headLimits }),
    peers: o.peers ?? [],
    globalLimits: o.globalLimits ?? null,
    digestNonceKey: o.digestNonceKey ?? null,
    log,
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
