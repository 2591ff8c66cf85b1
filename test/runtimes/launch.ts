// Starts the edge worker on each runtime as a real process, against a real Redis with a published table:
// Node (`portico worker`), Deno (`deno run cli/deno-worker.ts`, offline from node_modules) and workerd
// (`wrangler dev --local` with wrangler.toml at the top level).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { freePort, ROOT, startServing, waitFor } from '../support/process.ts';

export type RuntimeName = 'node' | 'deno' | 'workerd';

export interface Target {
  runtime: RuntimeName;
  /** Base URL of the plain HTTP listener. */
  http: string;
  /** Port of the TLS listener, or null where the platform terminates TLS. */
  httpsPort: number | null;
  /** The HTTPS port redirect Locations name ('' for 443). */
  redirectPort: number;
  logs(): string;
  stop(): Promise<void>;
}

export interface ControlPlane {
  redisUrl: string;
  /** Where Redis is as flags, instead of `--redis redisUrl` (Sentinel or Cluster, cli/redis-target-flags.ts). */
  redisFlags?: string[];
  cluster: string;
  keysDir: string;
}

/** The upstream response-header timeout every runtime gets, so the 504 case means the same everywhere. */
export const READ_TIMEOUT_MS = 1_000;
/** `--send-timeout` of every runtime: a client that leaves an answer unread this long is given up. */
export const SEND_TIMEOUT_MS = 2_000;
/** Slow machines (2 cores, other suites running): runtimes get this long to become ready. */
const READY_MS = 120_000;

function spawnLogged(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; logs(): string; stop(): Promise<void> } {
  // Own process group: wrangler starts workerd children, and stop() must end them too.
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return {
    child,
    logs: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(force);
          try {
            process.kill(-child.pid!, 'SIGKILL'); // anything the runtime left behind in its group
          } catch {
            /* group already gone */
          }
          resolve();
        });
        process.kill(-child.pid!, 'SIGTERM');
      }),
  };
}

export async function startNode(cp: ControlPlane): Promise<Target> {
  const r = await startServing(
    [
      'worker',
      '--redis',
      cp.redisUrl,
      '--cluster',
      cp.cluster,
      '--keys',
      cp.keysDir,
      '--cache-file',
      'off',
      '--poll',
      '500ms',
      '--read-timeout',
      `${READ_TIMEOUT_MS}ms`,
      '--send-timeout',
      `${SEND_TIMEOUT_MS}ms`,
    ],
    READY_MS,
  );
  return {
    runtime: 'node',
    http: r.http,
    httpsPort: r.https,
    redirectPort: r.https,
    logs: r.logs,
    stop: async () => void (await r.stop()),
  };
}

/** `tunnel`: the node-local tunnel's loopback HOST:PORT; the worker then gets network access to 127.0.0.1 only
 * (Redis, the tunnel, its own listeners), so it cannot reach a backend except through the tunnel. */
/** `args`: more worker flags. The result also has the admin listener's base URL and the process (signals, exit). */
export async function startDeno(
  cp: ControlPlane,
  o: { tunnel?: string; args?: string[] } = {},
): Promise<Target & { admin: string; child: ChildProcess }> {
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const p = spawnLogged(
    join(ROOT, 'node_modules/.bin/deno'),
    [
      'run',
      '--cached-only',
      o.tunnel === undefined ? '--allow-net' : '--allow-net=127.0.0.1',
      '--allow-env',
      `--allow-read=${cp.keysDir}`,
      'cli/deno-worker.ts',
      ...(cp.redisFlags ?? ['--redis', cp.redisUrl]),
      '--cluster',
      cp.cluster,
      '--keys',
      cp.keysDir,
      '--poll',
      '500ms',
      '--read-timeout',
      `${READ_TIMEOUT_MS}ms`,
      '--send-timeout',
      `${SEND_TIMEOUT_MS}ms`,
      '--http',
      `127.0.0.1:${http}`,
      '--https',
      `127.0.0.1:${https}`,
      '--admin',
      `127.0.0.1:${admin}`,
      ...(o.tunnel === undefined ? [] : ['--tunnel', o.tunnel]),
      ...(o.args ?? []),
    ],
    { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  );
  // A worker that never became ready is stopped here: the caller gets no Target to stop.
  await waitFor(
    async () => (await request(`http://127.0.0.1:${admin}/readyz`)).status === 200,
    READY_MS,
    () => `the Deno worker to become ready:\n${p.logs()}`,
  ).catch(async (err: unknown) => {
    await p.stop();
    throw err;
  });
  return {
    runtime: 'deno',
    http: `http://127.0.0.1:${http}`,
    httpsPort: https,
    redirectPort: https,
    logs: p.logs,
    stop: p.stop,
    admin: `http://127.0.0.1:${admin}`,
    child: p.child,
  };
}

const b64 = (file: string): string => Buffer.from(readFileSync(file)).toString('base64url');

/** `probeHost` names a host of the published table: workerd has no admin port, so readiness is the
 * first request that a loaded table answers with 200. */
export async function startWorkerd(cp: ControlPlane, probeHost: string, o: { tunnel?: string } = {}): Promise<Target> {
  const [http, inspector] = [await freePort(), await freePort()];
  const p = spawnLogged(
    join(ROOT, 'node_modules/.bin/wrangler'),
    [
      'dev',
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(http),
      '--inspector-port',
      String(inspector),
      '--show-interactive-dev-session=false',
      '--var',
      `PORTICO_REDIS:${cp.redisUrl}`,
      '--var',
      `PORTICO_CLUSTER:${cp.cluster}`,
      '--var',
      'PORTICO_POLL_MS:500',
      '--var',
      // wrangler dev writes the client's address into CF-Connecting-IP, as Cloudflare does.
      'PORTICO_CLIENT_IP_HEADER:cf-connecting-ip',
      '--var',
      `PORTICO_READ_TIMEOUT_MS:${READ_TIMEOUT_MS}`,
      '--var',
      `PORTICO_SEND_TIMEOUT_MS:${SEND_TIMEOUT_MS}`,
      // Keys as base64url vars: generated by the test, never written into the repository.
      '--var',
      `PORTICO_VERIFY_JWK:${b64(join(cp.keysDir, 'signing-pub.jwk.json'))}`,
      '--var',
      `PORTICO_DECRYPT_JWK:${b64(join(cp.keysDir, 'encryption-key.jwk.json'))}`,
      ...(o.tunnel === undefined ? [] : ['--var', `PORTICO_TUNNEL:http://${o.tunnel}`]),
    ],
    { WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', CI: '1' },
  );
  const base = `http://127.0.0.1:${http}`;
  await waitFor(
    async () => (await request(`${base}/`, { host: probeHost })).status === 200,
    READY_MS,
    () => `wrangler dev to serve the table:\n${p.logs()}`,
  ).catch(async (err: unknown) => {
    await p.stop(); // wrangler and its workerd processes, which would otherwise outlive the test
    throw err;
  });
  return { runtime: 'workerd', http: base, httpsPort: null, redirectPort: 443, logs: p.logs, stop: p.stop };
}
