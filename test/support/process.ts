// Runs the real `portico` command as a child process, on free loopback ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = ['--import', 'tsx', 'cli/portico.ts'];

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs `portico ...args` to completion (for commands that must fail fast). */
export function runPortico(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...ENTRY, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Running {
  child: ChildProcess;
  http: string;
  https: number;
  admin: string;
  /** Everything the process wrote to stderr so far. */
  logs(): string;
  stop(): Promise<number | null>;
}

/** Starts `portico local` and waits until /readyz answers 200. */
export async function startLocal(manifests: string, extra: string[] = []): Promise<Running> {
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [...ENTRY, 'local', '--manifests', manifests, '--http', `127.0.0.1:${http}`, '--https', `127.0.0.1:${https}`, '--admin', `127.0.0.1:${admin}`, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  child.stdout!.resume();
  const running: Running = {
    child, http: `http://127.0.0.1:${http}`, https, admin: `http://127.0.0.1:${admin}`, logs: () => err,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
  await waitFor(async () => (await fetch(`${running.admin}/readyz`)).status === 200, 20_000, () => `portico local did not become ready:\n${err}`);
  return running;
}

/** Polls `check` until it returns true (exceptions count as false). */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what: () => string = () => 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
