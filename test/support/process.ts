// Runs the real `portico` command as a child process, on free loopback ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = ['--import', 'tsx', 'cli/portico.ts'];
/** The compiled build (`npm run build`), as the image runs it. */
export const COMPILED_ENTRY = ['dist/cli/portico.js'];

/** Ports handed to child processes come from below the kernel's ephemeral range (Linux: 32768-60999), so a
 * port found free here is not taken by another test's `listen(0)` or outgoing connection before the child binds
 * it (which happened under load: EADDRINUSE). Random within the range, so parallel test files rarely pick the
 * same one, and checked bindable. */
const LOW = 20_000;
const HIGH = 32_000;

async function bindable(port: number, host: string): Promise<boolean> {
  const s = net.createServer();
  const ok = await new Promise<boolean>((r) => {
    s.once('error', () => r(false));
    s.listen(port, host, () => r(true));
  });
  if (ok) await new Promise<void>((r) => s.close(() => r()));
  return ok;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port, host)) return port;
  }
  throw new Error(`no free port on ${host} between ${LOW} and ${HIGH}`);
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

/** Serving commands drain for --drain-delay (5 s) before they stop listening, for load balancers a test does not
 * have: tests stop them at once unless they pass their own --drain-delay (later on the line, so it wins). */
const testDefaults = (args: string[]): string[] =>
  args[0] === 'local' || args[0] === 'worker' ? [args[0], '--drain-delay', '0ms', ...args.slice(1)] : args;

/** Starts `portico ...args` in the background; `root`: another checkout to run it from (a bench's "before");
 * `entry`: the sources through tsx, or COMPILED_ENTRY. */
export function spawnPortico(args: string[], env: Record<string, string> = {}, root = ROOT, entry = ENTRY): Spawned {
  const child = spawn(process.execPath, [...entry, ...testDefaults(args)], {
    cwd: root,
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
export async function startServing(
  args: string[],
  readyTimeoutMs = 20_000,
  env: Record<string, string> = {},
  root = ROOT,
): Promise<Running> {
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const p = spawnPortico(
    [...args, '--http', `127.0.0.1:${http}`, '--https', `127.0.0.1:${https}`, '--admin', `127.0.0.1:${admin}`],
    env,
    root,
  );
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
