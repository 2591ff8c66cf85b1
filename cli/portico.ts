// The `portico` command: local | worker | sync | keys (generate, ensure-secrets) | inspect | dashboard.
import cluster from 'node:cluster';
import { UsageError } from '../gateway/errors.ts';
import { parseFlags } from './args.ts';
import { DASHBOARD_USAGE, runDashboard } from './dashboard.ts';
import { INSPECT_USAGE, runInspect } from './inspect/command.ts';
import { InspectError } from '../gateway/inspect/read.ts';
import { BundleError } from '../gateway/table/bundle.ts';
import { KeySecretError, runEnsureKeySecrets } from './key-secrets.ts';
import { generateKeySet, KEY_FILES } from './keys.ts';
import { KubeApiError } from '../sync/kube/rest.ts';
import { LOCAL_USAGE, parseLocalFlags, runLocal, runWorker as runLocalWorker } from './local.ts';
import { log } from './log.ts';
import { parseSyncFlags, runSync, SYNC_USAGE } from './sync.ts';
import { parseTunnelFlags, runTunnel, TUNNEL_USAGE } from './tunnel.ts';
import { parseWorkerFlags, runWorker, WORKER_USAGE } from './worker.ts';

const KEYS_USAGE = 'usage: portico keys generate --out DIR | portico keys ensure-secrets --agent-secret NAME --worker-secret NAME [--namespace NS] (--kubeconfig PATH | --in-cluster)';

const USAGE = `usage: portico <command> [flags]
commands:
  local          serve a directory of Kubernetes manifests (no cluster, no Redis)
  worker         an edge worker that serves the tables published in Redis
  sync           compile manifests and publish signed tables to Redis
  tunnel         the node-local tunnel: relays workers' upstream requests to endpoints of the verified table only
  keys generate  make the signing and encryption keys of a control plane
  keys ensure-secrets  the same, once, into Kubernetes Secrets (the Helm chart's install hook)
  dashboard      the same as a read-only web page (status, fleet, routes, certificates)
  inspect        what the edge serves and why: status, routes, explain, certs, history, diff, rollback, diagnostics

${LOCAL_USAGE}

${WORKER_USAGE}

${SYNC_USAGE}

${TUNNEL_USAGE}

${KEYS_USAGE}

${INSPECT_USAGE}

${DASHBOARD_USAGE}`;

type Running = { close(): Promise<void> };

async function command(cmd: string, rest: string[]): Promise<Running | null> {
  switch (cmd) {
    case 'local': return runLocal(parseLocalFlags(rest));
    case 'worker': return runWorker(parseWorkerFlags(rest));
    case 'sync': return runSync(parseSyncFlags(rest));
    case 'tunnel': return runTunnel(parseTunnelFlags(rest));
    case 'dashboard': return runDashboard(rest);
    case 'inspect': {
      await runInspect(rest);
      return null;
    }
    case 'keys': {
      const [sub, ...flags] = rest;
      if (sub === 'ensure-secrets') {
        await runEnsureKeySecrets(flags);
        return null;
      }
      if (sub !== 'generate') throw new UsageError(`keys: unknown subcommand ${JSON.stringify(sub ?? '')} (${KEYS_USAGE})`);
      const v = parseFlags(flags, { out: { type: 'string' } });
      if (v.out === undefined) throw new UsageError('keys generate: --out DIR is required');
      await generateKeySet(v.out);
      process.stdout.write(`wrote ${v.out}/{${Object.values(KEY_FILES).join(',')}}\nagent (sync): signing-key + encryption-key; workers: signing-pub + encryption-key\n`);
      return null;
    }
    default: throw new UsageError(`unknown command ${JSON.stringify(cmd)} (try: portico --help)`);
  }
}

async function main(argv: string[]): Promise<void> {
  if (cluster.isWorker && process.env.PORTICO_WORKER_CONFIG) return runLocalWorker();
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const handle = await command(cmd, rest);
  if (handle === null) return;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    const force = setTimeout(() => {
      process.stderr.write('portico: shutdown took over 10 s; exiting anyway\n');
      process.exit(1); // not a clean shutdown: say so in the exit code
    }, 10_000);
    force.unref();
    void handle.close().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`portico: shutdown failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`portico: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof BundleError) {
    process.stderr.write(`portico: refused: ${err.message} (${err.code})\n`);
    process.exit(6);
  }
  if (err instanceof KeySecretError || err instanceof KubeApiError) {
    process.stderr.write(`portico: ${err.message} (${err.code})\n`);
    process.exit(1);
  }
  if (err instanceof InspectError) {
    process.stderr.write(`portico: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
    process.stderr.write(`portico: cannot listen: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`portico: ${e.stack ?? String(err)}\n`);
  process.exit(1);
});
