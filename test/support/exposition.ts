// Checks a /metrics body the way a Prometheus scraper reads it: every sample belongs to a family declared with
// HELP and TYPE before it, and every value is a number.
import { expect } from 'vitest';

export function expectWellFormedExposition(text: string): void {
  const declared = new Map<string, string>();
  const helped = new Set<string>();
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\w+) (counter|gauge|histogram)$/.exec(line);
    if (type) declared.set(type[1]!, type[2]!);
    const help = /^# HELP (\w+) \S/.exec(line);
    if (help) helped.add(help[1]!);
    if (line.startsWith('#')) continue;
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m === null || Number.isNaN(Number(m[3]))) {
      bad.push(`malformed: ${line}`);
      continue;
    }
    const name = m[1]!;
    const family = declared.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!declared.has(family)) bad.push(`no TYPE before: ${line}`);
    if (!helped.has(family)) bad.push(`no HELP before: ${line}`);
  }
  expect(bad).toEqual([]);
  expect(declared.size).toBeGreaterThan(0);
}
