// The in-process timing loop every bench script uses: a warm-up of a tenth of the runs (at least 10), then `n`
// timed runs; prints one row and returns nanoseconds per run.

function row(name: string, ns: number): number {
  console.log(`${name.padEnd(64)} ${ns.toFixed(0).padStart(8)} ns/request`);
  return ns;
}

export function time(name: string, n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.max(10, n / 10); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return row(name, Number(process.hrtime.bigint() - t0) / n);
}

export async function timeAsync(name: string, n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.max(10, n / 10); i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return row(name, Number(process.hrtime.bigint() - t0) / n);
}
