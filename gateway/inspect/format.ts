// Output of the inspection commands: a readable table by default, `-o json` or `-o yaml` for tools.
import { stringify } from 'yaml';

export type Format = 'table' | 'json' | 'yaml';

type Row = object;
const get = (r: Row, k: string): unknown => (r as Record<string, unknown>)[k];

const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Columns aligned, headers upper-case, like kubectl. */
export function table(rows: readonly Row[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`;
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(get(r, c)).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(get(r, c)))))].join('\n')}\n`;
}

/** `key: value` lines for one object (nested objects on one line). */
export function fields(o: Row): string {
  const w = Math.max(...Object.keys(o).map((k) => k.length));
  return `${Object.entries(o)
    .map(([k, v]) => `${(`${k}:`).padEnd(w + 1)} ${cell(v)}`)
    .join('\n')}\n`;
}

export function render(value: unknown, format: Format, human: () => string): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  if (format === 'yaml') return stringify(value);
  return human();
}
