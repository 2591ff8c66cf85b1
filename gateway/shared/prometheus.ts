// Prometheus text exposition (format 0.0.4) for every part's /metrics: one writer, so names, HELP/TYPE lines
// and label escaping are the same everywhere. Written by hand rather than with prom-client: the request path
// only increments plain counters (gateway/metrics.ts), and this renders them on a scrape; a registry of
// metric objects would put its own bookkeeping on every request.
// https://prometheus.io/docs/instrumenting/exposition_formats/

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Defaults to the family's name; histograms give `_bucket`, `_sum` and `_count` names. */
  name?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: readonly Sample[];
}

/** A family of one unlabelled sample. */
export const single = (name: string, type: MetricType, help: string, value: number): MetricFamily => ({
  name,
  type,
  help,
  samples: [{ value }],
});

/** Label values may hold anything: backslash, double quote and newline are escaped as the format requires. */
function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function sampleLine(family: string, s: Sample): string {
  const labels = s.labels === undefined ? [] : Object.entries(s.labels);
  const text = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
  return `${s.name ?? family}${text} ${s.value}`;
}

/** Every family with its HELP and TYPE lines, even when it has no sample yet (so dashboards see the name). */
export function exposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(sampleLine(f.name, s));
  }
  return `${lines.join('\n')}\n`;
}
