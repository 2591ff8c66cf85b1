// The `portico` command. Each command's module is imported only when that command runs (or prints its help),
// so `portico worker` never loads the agent's Kubernetes client or the compiler.
import cluster from 'node:cluster';
import { PorticoError } from '../gateway/table/portico-error.ts';
import { log } from './log.ts';
import { UsageError } from './usage-error.ts';

/** A serving command's handle; `shutdownMs`: how long close() may take (its drain), else 10 s. */
type Running = { close(): Promise<void>; shutdownMs?: number };

interface Command {
  /** One line for `portico --help`. */
  summary: string;
  /** The command's own usage, for `portico COMMAND --help`. */
  usage(): Promise<string>;
  run(args: string[]): Promise<Running | null>;
}

const once = async (p: Promise<unknown>): Promise<null> => {
  await p;
  return null;
};

const KEYS_USAGE =
  'usage: portico keys generate --out DIR | portico keys ensure-secrets --agent-secret NAME --worker-secret NAME [--namespace NS] (--kubeconfig PATH | --in-cluster)';

const COMMANDS: Record<string, Command> = {
  local: {
    summary: 'serve a directory of Kubernetes manifests (no cluster, no Redis)',
    usage: async () => (await import('./local.ts')).LOCAL_USAGE,
    run: async (a) => {
      const m = await import('./local.ts');
      return m.runLocal(m.parseLocalFlags(a));
    },
  },
  worker: {
    summary: 'an edge worker that serves the tables published in Redis',
    usage: async () => (await import('./worker.ts')).WORKER_USAGE,
    run: async (a) => {
      const m = await import('./worker.ts');
      return m.runWorker(m.parseWorkerFlags(a));
    },
  },
  sync: {
    summary: 'compile manifests or a cluster and publish signed tables to Redis',
    usage: async () => (await import('./sync.ts')).SYNC_USAGE,
    run: async (a) => {
      const m = await import('./sync.ts');
      return m.runSync(m.parseSyncFlags(a));
    },
  },
  tunnel: {
    summary: "the node-local tunnel: relays workers' upstream requests to endpoints of the verified table only",
    usage: async () => (await import('./tunnel.ts')).TUNNEL_USAGE,
    run: async (a) => {
      const m = await import('./tunnel.ts');
      return m.runTunnel(m.parseTunnelFlags(a));
    },
  },
  keys: {
    summary: "make a control plane's signing and encryption keys (generate), or make them once into Kubernetes Secrets (ensure-secrets)",
    usage: async () => KEYS_USAGE,
    run: async ([sub, ...flags]) => {
      if (sub === 'ensure-secrets') return once((await import('./key-secrets.ts')).runEnsureKeySecrets(flags));
      if (sub !== 'generate') throw new UsageError(`keys: unknown subcommand ${JSON.stringify(sub ?? '')} (${KEYS_USAGE})`);
      return once((await import('./keys.ts')).runGenerateKeys(flags));
    },
  },
  migrate: {
    summary: 'before moving from ingress-nginx: what Portico would serve, Ingress by Ingress and key by key (read-only)',
    usage: async () => (await import('./migrate.ts')).MIGRATE_USAGE,
    run: async (a) => once((await import('./migrate.ts')).runMigrate(a)),
  },
  inspect: {
    summary: 'what the edge serves and why: status, routes, explain, certs, history, diff, rollback, diagnostics',
    usage: async () => (await import('./inspect/command.ts')).INSPECT_USAGE,
    run: async (a) => once((await import('./inspect/command.ts')).runInspect(a)),
  },
  dashboard: {
    summary: 'the same as a read-only web page (status, fleet, routes, certificates)',
    usage: async () => (await import('./dashboard.ts')).DASHBOARD_USAGE,
    run: async (a) => (await import('./dashboard.ts')).runDashboard(a),
  },
};

const USAGE = `usage: portico <command> [flags]   (portico <command> --help: that command's flags)
commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}`;

const isHelp = (a: string | undefined): boolean => a === '-h' || a === '--help' || a === 'help';

async function main(argv: string[]): Promise<void> {
  if (cluster.isWorker && process.env.PORTICO_WORKER_CONFIG) return (await import('./local.ts')).runWorker();
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name)) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (cmd === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (try: portico --help)`);
  if (rest.some(isHelp)) {
    process.stdout.write(`${await cmd.usage()}\n`);
    return;
  }
  const handle = await cmd.run(rest);
  if (handle === null) return;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal (Ctrl-C again during a drain): the operator does not want to wait.
      process.stderr.write(`portico: ${signal} again while draining; exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    log('info', `${signal}: shutting down`);
    const budget = handle.shutdownMs ?? 10_000;
    const force = setTimeout(() => {
      process.stderr.write(`portico: shutdown took over ${budget / 1000} s; exiting anyway\n`);
      process.exit(1); // not a clean shutdown: say so in the exit code
    }, budget);
    force.unref();
    void handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`portico: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`portico: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof PorticoError) {
    process.stderr.write(`portico: ${err.code.startsWith('PORTICO_BUNDLE_') ? 'refused: ' : ''}${err.message} (${err.code})\n`);
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
