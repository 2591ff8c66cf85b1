// Prometheus metrics of one worker, cheap on the request path (a map lookup and an increment), and
// mergeable so a primary process can serve the sum of its worker processes.
import { exposition, single, type MetricFamily, type Sample } from './shared/prometheus.ts';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface MetricsSnapshot {
  requests: Record<string, number>; // key: route \u0000 status
  upstream: Record<string, Histogram>; // key: backend id
  upstreamErrors: Record<string, number>; // key: backend \u0000 code
  /** Requests with a global rate limit counted by this worker alone because Redis did not answer. */
  globalLimitFallback?: number;
  proxyRefusals: Record<string, number>; // key: reason (runtime/node-proxy-protocol.ts ProxyRefusal)
  /** TLS connections the ssl-passthrough peek decided on, by outcome (runtime/node-passthrough.ts PassthroughOutcome);
   * optional so a snapshot of an older worker process still merges. */
  passthrough?: Record<string, number>;
}

export class Metrics {
  /** Counts by route, then by status: the request path looks up two keys it has, never a string made per request. */
  private requests = new Map<string, Map<number, number>>();
  private upstream = new Map<string, Histogram>();
  private upstreamErrors = new Map<string, number>();
  private globalLimitFallbacks = 0;
  private proxyRefusals = new Map<string, number>();
  private passthroughs = new Map<string, number>();

  /** `route` is the label of the matched route ("" when nothing matched). */
  request(route: string, status: number): void {
    let byStatus = this.requests.get(route);
    if (byStatus === undefined) this.requests.set(route, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  upstreamLatency(backend: string, seconds: number): void {
    let h = this.upstream.get(backend);
    if (h === undefined) this.upstream.set(backend, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++)
      if (seconds <= BUCKETS[i]!) {
        h.counts[i]!++;
        break;
      }
    h.sum += seconds;
    h.count++;
  }

  upstreamError(backend: string, code: string): void {
    const key = `${backend}\u0000${code}`;
    this.upstreamErrors.set(key, (this.upstreamErrors.get(key) ?? 0) + 1);
  }

  /** A request with a global rate limit was counted in this worker's own window: Redis did not answer. */
  globalLimitFallback(): void {
    this.globalLimitFallbacks++;
  }

  /** A connection closed by --proxy-protocol before its first request, and why. */
  proxyRefusal(reason: string): void {
    this.proxyRefusals.set(reason, (this.proxyRefusals.get(reason) ?? 0) + 1);
  }

  /** A connection the ssl-passthrough peek relayed or closed, and how. */
  passthrough(outcome: string): void {
    this.passthroughs.set(outcome, (this.passthroughs.get(outcome) ?? 0) + 1);
  }

  snapshot(): MetricsSnapshot {
    return {
      globalLimitFallback: this.globalLimitFallbacks,
      requests: Object.fromEntries([...this.requests].flatMap(([route, m]) => [...m].map(([status, n]) => [`${route}\u0000${status}`, n]))),
      upstream: Object.fromEntries([...this.upstream].map(([k, h]) => [k, { ...h, counts: [...h.counts] }])),
      upstreamErrors: Object.fromEntries(this.upstreamErrors),
      proxyRefusals: Object.fromEntries(this.proxyRefusals),
      passthrough: Object.fromEntries(this.passthroughs),
    };
  }
}

export function mergeSnapshots(all: readonly MetricsSnapshot[]): MetricsSnapshot {
  const out: MetricsSnapshot = {
    requests: {},
    upstream: {},
    upstreamErrors: {},
    globalLimitFallback: 0,
    proxyRefusals: {},
    passthrough: {},
  };
  for (const s of all) {
    out.globalLimitFallback! += s.globalLimitFallback ?? 0;
    for (const [k, v] of Object.entries(s.requests)) out.requests[k] = (out.requests[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.proxyRefusals)) out.proxyRefusals[k] = (out.proxyRefusals[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.passthrough ?? {})) out.passthrough![k] = (out.passthrough![k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.upstreamErrors)) out.upstreamErrors[k] = (out.upstreamErrors[k] ?? 0) + v;
    for (const [k, h] of Object.entries(s.upstream)) {
      const o = (out.upstream[k] ??= { counts: BUCKETS.map(() => 0), sum: 0, count: 0 });
      h.counts.forEach((c, i) => {
        o.counts[i]! += c;
      });
      o.sum += h.sum;
      o.count += h.count;
    }
  }
  return out;
}

export interface TableGauges {
  version: string | null;
  loadedAt: number | null;
  swaps: number;
  refusals: number;
  workers: number;
}

const pairs = (key: string): [string, string] => key.split('\u0000') as [string, string];

/** The request path's metrics and the served table's gauges, for /metrics. */
export function metricFamilies(s: MetricsSnapshot, t: TableGauges): MetricFamily[] {
  const sorted = <V>(r: Record<string, V>): [string, V][] => Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const latency: Sample[] = [];
  for (const [backend, h] of sorted(s.upstream)) {
    let cum = 0;
    BUCKETS.forEach((le, i) => {
      cum += h.counts[i]!;
      latency.push({ name: 'portico_upstream_latency_seconds_bucket', labels: { backend, le: String(le) }, value: cum });
    });
    latency.push(
      { name: 'portico_upstream_latency_seconds_bucket', labels: { backend, le: '+Inf' }, value: h.count },
      { name: 'portico_upstream_latency_seconds_sum', labels: { backend }, value: h.sum },
      { name: 'portico_upstream_latency_seconds_count', labels: { backend }, value: h.count },
    );
  }
  return [
    {
      name: 'portico_requests_total',
      type: 'counter',
      help: 'Requests answered, by matched route and status code.',
      samples: sorted(s.requests).map(([k, value]) => {
        const [route, status] = pairs(k);
        return { labels: { route, status }, value };
      }),
    },
    {
      name: 'portico_upstream_latency_seconds',
      type: 'histogram',
      help: 'Time from dispatch to upstream response headers, by backend.',
      samples: latency,
    },
    {
      name: 'portico_upstream_errors_total',
      type: 'counter',
      help: 'Failed upstream attempts, by backend and error code.',
      samples: sorted(s.upstreamErrors).map(([k, value]) => {
        const [backend, code] = pairs(k);
        return { labels: { backend, code }, value };
      }),
    },
    {
      name: 'portico_proxy_protocol_refusals_total',
      type: 'counter',
      help: 'Connections closed without an answer under --proxy-protocol, by reason (untrusted-peer, invalid-header, timeout).',
      samples: sorted(s.proxyRefusals).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'portico_ssl_passthrough_connections_total',
      type: 'counter',
      help: 'TLS connections read for ssl-passthrough while the table has a passthrough host, by outcome: relayed, or closed (invalid-client-hello, client-hello-timeout, no-backend, no-endpoint, connect-failed).',
      samples: sorted(s.passthrough ?? {}).map(([outcome, value]) => ({ labels: { outcome }, value })),
    },
    {
      name: 'portico_table_info',
      type: 'gauge',
      help: 'The routing table version being served.',
      samples: t.version === null ? [] : [{ labels: { version: t.version }, value: 1 }],
    },
    {
      name: 'portico_table_loaded_timestamp_seconds',
      type: 'gauge',
      help: 'When the current table was swapped in.',
      samples: t.loadedAt === null ? [] : [{ value: t.loadedAt / 1000 }],
    },
    single('portico_table_swaps_total', 'counter', 'Tables swapped in.', t.swaps),
    single(
      'portico_table_refusals_total',
      'counter',
      'Tables refused (invalid, unparsable or incomplete); the last good one kept serving.',
      t.refusals,
    ),
    single('portico_worker_processes', 'gauge', 'Worker processes serving traffic.', t.workers),
    single(
      'portico_global_rate_limit_fallback_total',
      'counter',
      'Requests with a global rate limit counted by this worker alone (same limit) because Redis did not answer in time.',
      s.globalLimitFallback ?? 0,
    ),
  ];
}

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics(s: MetricsSnapshot, t: TableGauges): string {
  return exposition(metricFamilies(s, t));
}
