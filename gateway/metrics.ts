// Prometheus metrics of one worker, cheap on the request path (a map lookup and an increment), and
// mergeable so a primary process can serve the sum of its worker processes.

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Histogram { counts: number[]; sum: number; count: number }

export interface MetricsSnapshot {
  requests: Record<string, number>; // key: route \u0000 status
  upstream: Record<string, Histogram>; // key: backend id
  upstreamErrors: Record<string, number>; // key: backend \u0000 code
}

export class Metrics {
  private requests = new Map<string, number>();
  private upstream = new Map<string, Histogram>();
  private upstreamErrors = new Map<string, number>();

  /** `route` is the label of the matched route ("" when nothing matched). */
  request(route: string, status: number): void {
    const key = route + '\u0000' + status;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  upstreamLatency(backend: string, seconds: number): void {
    let h = this.upstream.get(backend);
    if (h === undefined) this.upstream.set(backend, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) { h.counts[i]!++; break; }
    h.sum += seconds;
    h.count++;
  }

  upstreamError(backend: string, code: string): void {
    const key = backend + '\u0000' + code;
    this.upstreamErrors.set(key, (this.upstreamErrors.get(key) ?? 0) + 1);
  }

  snapshot(): MetricsSnapshot {
    return {
      requests: Object.fromEntries(this.requests),
      upstream: Object.fromEntries([...this.upstream].map(([k, h]) => [k, { ...h, counts: [...h.counts] }])),
      upstreamErrors: Object.fromEntries(this.upstreamErrors),
    };
  }
}

export function mergeSnapshots(all: readonly MetricsSnapshot[]): MetricsSnapshot {
  const out: MetricsSnapshot = { requests: {}, upstream: {}, upstreamErrors: {} };
  for (const s of all) {
    for (const [k, v] of Object.entries(s.requests)) out.requests[k] = (out.requests[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.upstreamErrors)) out.upstreamErrors[k] = (out.upstreamErrors[k] ?? 0) + v;
    for (const [k, h] of Object.entries(s.upstream)) {
      const o = (out.upstream[k] ??= { counts: BUCKETS.map(() => 0), sum: 0, count: 0 });
      h.counts.forEach((c, i) => (o.counts[i]! += c));
      o.sum += h.sum;
      o.count += h.count;
    }
  }
  return out;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export interface TableGauges { version: string | null; loadedAt: number | null; swaps: number; refusals: number; workers: number }

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics(s: MetricsSnapshot, t: TableGauges): string {
  const lines: string[] = [];
  lines.push('# HELP portico_requests_total Requests answered, by matched route and status code.', '# TYPE portico_requests_total counter');
  for (const [k, v] of Object.entries(s.requests).sort()) {
    const [route, status] = k.split('\u0000') as [string, string];
    lines.push(`portico_requests_total{route="${esc(route)}",status="${status}"} ${v}`);
  }
  lines.push('# HELP portico_upstream_latency_seconds Time from dispatch to upstream response headers, by backend.', '# TYPE portico_upstream_latency_seconds histogram');
  for (const [b, h] of Object.entries(s.upstream).sort()) {
    let cum = 0;
    BUCKETS.forEach((le, i) => {
      cum += h.counts[i]!;
      lines.push(`portico_upstream_latency_seconds_bucket{backend="${esc(b)}",le="${le}"} ${cum}`);
    });
    lines.push(`portico_upstream_latency_seconds_bucket{backend="${esc(b)}",le="+Inf"} ${h.count}`);
    lines.push(`portico_upstream_latency_seconds_sum{backend="${esc(b)}"} ${h.sum}`);
    lines.push(`portico_upstream_latency_seconds_count{backend="${esc(b)}"} ${h.count}`);
  }
  lines.push('# HELP portico_upstream_errors_total Failed upstream attempts, by backend and error code.', '# TYPE portico_upstream_errors_total counter');
  for (const [k, v] of Object.entries(s.upstreamErrors).sort()) {
    const [backend, code] = k.split('\u0000') as [string, string];
    lines.push(`portico_upstream_errors_total{backend="${esc(backend)}",code="${esc(code)}"} ${v}`);
  }
  lines.push('# HELP portico_table_info The routing table version being served.', '# TYPE portico_table_info gauge');
  if (t.version !== null) lines.push(`portico_table_info{version="${esc(t.version)}"} 1`);
  lines.push('# HELP portico_table_loaded_timestamp_seconds When the current table was swapped in.', '# TYPE portico_table_loaded_timestamp_seconds gauge');
  if (t.loadedAt !== null) lines.push(`portico_table_loaded_timestamp_seconds ${t.loadedAt / 1000}`);
  lines.push('# HELP portico_table_swaps_total Tables swapped in.', '# TYPE portico_table_swaps_total counter', `portico_table_swaps_total ${t.swaps}`);
  lines.push('# HELP portico_table_refusals_total Tables refused (invalid, unparsable or incomplete); the last good one kept serving.', '# TYPE portico_table_refusals_total counter', `portico_table_refusals_total ${t.refusals}`);
  lines.push('# HELP portico_worker_processes Worker processes serving traffic.', '# TYPE portico_worker_processes gauge', `portico_worker_processes ${t.workers}`);
  return lines.join('\n') + '\n';
}
