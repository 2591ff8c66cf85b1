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
export function runPortico(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...ENTRY, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Running extends Spawned {
  http: string;
  https: number;
  admin: string;
}

export interface Spawned {
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  logs(): string;
  stop(): Promise<number | null>;
}

/** Starts `portico ...args` in the background. */
export function spawnPortico(args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [...ENTRY, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  child.stdout!.resume();
  return {
    child,
    logs: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** Starts a serving command (`local` or `worker`) on free ports and waits until /readyz answers 200. */
export async function startServing(args: string[], readyTimeoutMs = 20_000, env: Record<string, string> = {}): Promise<Running> {
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const p = spawnPortico([...args, '--http', `127.0.0.1:${http}`, '--https', `127.0.0.1:${https}`, '--admin', `127.0.0.1:${admin}`], env);
  const running: Running = { ...p, http: `http://127.0.0.1:${http}`, https, admin: `http://127.0.0.1:${admin}` };
  await waitFor(
    async () => (await fetch(`${running.admin}/readyz`)).status === 200,
    readyTimeoutMs,
    () => `portico ${args[0]} did not become ready:\n${p.logs()}`,
  );
  return running;
}

/** Starts `portico local` and waits until /readyz answers 200. */
export function startLocal(manifests: string, extra: string[] = []): Promise<Running> {
  return startServing(['local', '--manifests', manifests, ...extra]);
}

/** Polls `check` until it returns true (exceptions count as false). */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what: () => string = () => 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
