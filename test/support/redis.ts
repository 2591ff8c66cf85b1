// Real redis-server processes for tests, on free loopback ports, without persistence (a restart comes
// back empty, like a Redis that lost its data).
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './process.ts';

export interface RedisServer {
  port: number;
  url: string;
  client(): Redis;
  /** SIGKILL: connections drop at once. */
  kill(): Promise<void>;
  /** Starts again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server on loopback, in the foreground, without persistence. `dir` matters to replicas: a full sync writes
 * an RDB file there (Redis 7's default repl-diskless-load is disabled), which must not land in the working directory. */
export const redisServerArgs = (port: number, dir?: string): string[] => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--daemonize',
  'no',
  ...(dir === undefined ? [] : ['--dir', dir]),
];

async function launch(port: number, password: string | undefined): Promise<ChildProcess> {
  const child = spawn('redis-server', [...redisServerArgs(port), ...(password === undefined ? [] : ['--requirepass', password])], {
    stdio: 'ignore',
  });
  await waitFor(
    async () => {
      const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, password });
      c.on('error', () => {});
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } finally {
        c.disconnect();
      }
    },
    10_000,
    () => `redis-server on port ${port}`,
  );
  return child;
}

/** `password`: the server requires it (requirepass); `url` carries none, clients must send it themselves. */
export async function startRedis(o: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = await launch(port, o.password);
  const clients: Redis[] = [];
  const exit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child === null || child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client() {
      const c = new Redis(port, '127.0.0.1', { password: o.password });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async kill() {
      await exit('SIGKILL');
      child = null;
    },
    async restart() {
      child = await launch(port, o.password);
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await exit('SIGTERM');
    },
  };
}
