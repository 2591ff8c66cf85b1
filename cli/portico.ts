// The `portico` command. Subcommands: local (more arrive with the Redis control plane).
import cluster from 'node:cluster';
import { UsageError } from '../gateway/errors.ts';
import { LOCAL_USAGE, parseLocalFlags, runLocal, runWorker } from './local.ts';
import { log } from './log.ts';

const USAGE = `usage: portico <command> [flags]
commands:
  local     serve a directory of Kubernetes manifests (no cluster, no Redis)

${LOCAL_USAGE}`;

async function main(argv: string[]): Promise<void> {
  if (cluster.isWorker && process.env.PORTICO_WORKER_CONFIG) return runWorker();
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (cmd !== 'local') throw new UsageError(`unknown command ${JSON.stringify(cmd)} (try: portico local --manifests DIR)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(LOCAL_USAGE + '\n');
    return;
  }
  const handle = await runLocal(parseLocalFlags(rest));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    const force = setTimeout(() => process.exit(0), 10_000);
    force.unref();
    void handle.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`portico: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
    process.stderr.write(`portico: cannot listen: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`portico: ${e.stack ?? String(err)}\n`);
  process.exit(1);
});
