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
import { byteSize } from './byte-size.ts';
import { type ClientLimits, DEFAULT_CLIENT_LIMITS } from '../gateway/runtime/node-client-limits.ts';
import { log } from './log.ts';
import { UsageError } from './usage-error.ts';
import { EDGE_LIMIT_FLAGS, EDGE_LIMIT_USAGE, parseEdgeLimitFlags } from './edge-limit-flags.ts';
import type { H2Limits } from '../gateway/runtime/node-h2-limits.ts';
import type { PoolLimits } from '../gateway/proxy/pool-queue.ts';
import { DRAIN_LOG_FLAGS, DRAIN_LOG_USAGE, type DrainLogConfig, parseDrainLogFlags, shutdownBudgetMs } from './drain-log-flags.ts';
import { pinoAccessSink } from '../gateway/runtime/node-access-sink.ts';
import { sampler } from '../gateway/access-log.ts';
import type { AccessLogging } from '../gateway/runtime/node-request-hooks.ts';
import { HEAD_LIMIT_FLAGS, HEAD_LIMIT_USAGE, parseHeadLimits } from './head-limit-flags.ts';
import type { RequestHeadLimits } from '../gateway/runtime/node-request-head.ts';

export interface ServeConfig extends DrainLogConfig {
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
  /** --http2-max-concurrent-streams, --http2-max-resets (edge-limit-flags.ts). */
  http2?: H2Limits;
  /** --upstream-max-connections, --upstream-queue-timeout (edge-limit-flags.ts). */
  upstreamPool?: PoolLimits;
  /** --client-header-timeout, --client-body-timeout, --client-body-buffer-size, --keepalive-timeout, --send-timeout. */
  clientLimits?: ClientLimits;
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
  ...EDGE_LIMIT_FLAGS,
  'client-header-timeout': { type: 'string' },
  'client-body-timeout': { type: 'string' },
  'client-body-buffer-size': { type: 'string' },
  'keepalive-timeout': { type: 'string' },
  'send-timeout': { type: 'string' },
  ...DRAIN_LOG_FLAGS,
  ...HEAD_LIMIT_FLAGS,
} as const;

export const SERVE_USAGE = `[--http HOST:PORT|off] [--https HOST:PORT|off] [--admin HOST:PORT|off] [--connect-timeout 5s] [--read-timeout 60s]
                      [--trusted-proxies CIDR,... [--forwarded-for-header X-Forwarded-For] [--compute-full-forwarded-for] [--proxy-protocol]]
                      [--client-header-timeout 60s] [--client-body-timeout 60s] [--client-body-buffer-size 64k] [--keepalive-timeout 75s]
                      [--send-timeout 60s]
                      ${DRAIN_LOG_USAGE}
                      ${HEAD_LIMIT_USAGE}
--proxy-protocol: every connection to --http and --https must start with a PROXY protocol v1 or v2 header from one of
                  --trusted-proxies (others are closed); the client is the address it names
${EDGE_LIMIT_USAGE}`;

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

export function parseServeFlags(
  v: {
    http?: string;
    https?: string;
    admin?: string;
    'connect-timeout'?: string;
    'read-timeout'?: string;
    'trusted-proxies'?: string;
    'forwarded-for-header'?: string;
    'compute-full-forwarded-for'?: boolean;
    'proxy-protocol'?: boolean;
    'client-header-timeout'?: string;
    'client-body-timeout'?: string;
    'client-body-buffer-size'?: string;
    'keepalive-timeout'?: string;
    'send-timeout'?: string;
    'drain-delay'?: string;
    'drain-timeout'?: string;
    'access-log'?: string;
    'access-log-sample'?: string;
    'max-request-headers'?: string;
    'max-request-header-line'?: string;
    'max-request-head'?: string;
  } & Parameters<typeof parseEdgeLimitFlags>[0],
): ServeConfig {
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
    ...parseEdgeLimitFlags(v),
    ...parseDrainLogFlags(v),
    clientLimits: parseClientLimits(v),
    headLimits: parseHeadLimits(v),
  };
}

/** The client limits (nginx's client_header_timeout, client_body_timeout, client_body_buffer_size, keepalive_timeout,
 * send_timeout). */
function parseClientLimits(v: {
  'client-header-timeout'?: string;
  'client-body-timeout'?: string;
  'client-body-buffer-size'?: string;
  'keepalive-timeout'?: string;
  'send-timeout'?: string;
}): ClientLimits {
  const d = DEFAULT_CLIENT_LIMITS;
  const flag = (name: keyof typeof v, ms: number): number => (v[name] === undefined ? ms : duration(name, v[name]));
  return {
    headerTimeoutMs: flag('client-header-timeout', d.headerTimeoutMs),
    keepAliveTimeoutMs: flag('keepalive-timeout', d.keepAliveTimeoutMs),
    sendMs: flag('send-timeout', d.sendMs),
    body: {
      timeoutMs: flag('client-body-timeout', d.body.timeoutMs),
      bufferSize:
        v['client-body-buffer-size'] === undefined
          ? d.body.bufferSize
          : byteSize('client-body-buffer-size', v['client-body-buffer-size'], 16 * 1024 * 1024),
    },
  };
}

/** The access log a process writes (each of `portico local --workers N`'s processes opens its own). */
export function accessLogging(cfg: DrainLogConfig): AccessLogging | null {
  const a = cfg.accessLog;
  return a === null ? null : { sink: pinoAccessSink(a.target), sampled: sampler(a.sample) };
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
  /** Drains (node-drain.ts: /readyz 503 at once, listeners closed after --drain-delay, --drain-timeout for the
   * rest), then closes. */
  close(): Promise<void>;
  /** How long close() may take. */
  shutdownMs: number;
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
  let draining = false;
  const gw = await startNodeGateway({
    live,
    metrics,
    http: cfg.http,
    https: cfg.https,
    timeouts: cfg.timeouts,
    tunnel: cfg.tunnel ?? null,
    trust: cfg.trust ?? null,
    proxyProtocol: cfg.proxyProtocol === true ? {} : null,
    ...(cfg.http2 === undefined ? {} : { http2: cfg.http2 }),
    ...(cfg.upstreamPool === undefined ? {} : { upstreamPool: cfg.upstreamPool }),
    ...(cfg.clientLimits === undefined ? {} : { clientLimits: cfg.clientLimits }),
    ...(cfg.headLimits === undefined ? {} : { headLimits: cfg.headLimits }),
    peers: o.peers ?? [],
    globalLimits: o.globalLimits ?? null,
    digestNonceKey: o.digestNonceKey ?? null,
    log,
    onUpstreamError: (e) => log('warn', e.message, { code: e.code }),
    drain: cfg.drain,
    accessLog: accessLogging(cfg),
  });
  // Not ready from the signal on, so load balancers and Endpoints stop sending new connections during the delay.
  const readiness = (): Readiness => (draining ? { ready: false, detail: 'draining: shutting down' } : o.readiness());
  const admin =
    cfg.admin === null
      ? null
      : await serveAdmin(cfg.admin, readiness, () =>
          exposition([...metricFamilies(metrics.snapshot(), live.gauges(o.refusals(), 1)), ...(o.extraMetrics?.() ?? [])]),
        );
  log('info', 'serving', { http: url('http', gw.http), https: url('https', gw.https), admin: url('http', cfg.admin) });
  return {
    shutdownMs: shutdownBudgetMs(cfg.drain),
    async close() {
      draining = true;
      log('info', 'draining', { delayMs: cfg.drain.delayMs, timeoutMs: cfg.drain.timeoutMs });
      const { forced } = await gw.drain();
      log(forced === 0 ? 'info' : 'warn', 'drained', { forcedConnections: forced });
      admin?.close();
      await gw.close();
    },
  };
}
