// What the bench scripts that start their own gateways share: waiting for a process's /readyz, and the CPU time a
// process has used (read from /proc, so a gateway's cost per request can be measured beside wrk).
import { readFileSync } from 'node:fs';

/** Whether `adminUrl`/readyz answered 200 within 20 s (polled every 100 ms). */
export async function becameReady(adminUrl: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const ok = await fetch(`${adminUrl}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

/** CPU seconds (user + system) a process has used so far (taskset execs node: same pid). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}
