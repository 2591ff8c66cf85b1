// Real highly available Redis topologies for tests, on free loopback ports, without persistence:
// - Sentinel: 1 master + 2 replicas + 3 sentinels (quorum 2), with short timeouts (down-after-milliseconds
//   1000, failover-timeout 2000) so that a SIGKILLed master is replaced within a few seconds;
// - Cluster: 3 masters + 3 replicas made by `redis-cli --cluster create`, cluster-node-timeout 1000.
// Each server is a plain `redis-server` process (sentinels too: `redis-server FILE --sentinel`, which is what
// `redis-sentinel` is).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './process.ts';
import { redisServerArgs } from './redis.ts';

export interface HaServer {
  port: number;
  /** SIGKILL: connections drop at once, nothing is flushed. */
  kill(): Promise<void>;
  readonly alive: boolean;
}

interface Spawned extends HaServer {
  stop(): Promise<void>;
}

async function ping(port: number): Promise<boolean> {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } finally {
    c.disconnect();
  }
}

async function spawnServer(port: number, args: string[]): Promise<Spawned> {
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitFor(
    () => ping(port),
    10_000,
    () => `redis-server on port ${port}`,
  );
  const signal = (s: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill(s);
    });
  return {
    port,
    get alive() {
      return !exited;
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGKILL'), // nothing to flush: no persistence
  };
}

/** One client per server (polled often while waiting), never reconnecting: a killed server stays dead. */
function clientOf(clients: Map<number, Redis>, port: number): Redis {
  let c = clients.get(port);
  if (c === undefined) {
    c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on('error', () => {});
    clients.set(port, c);
  }
  return c;
}

export interface SentinelSetup {
  master: string;
  servers: HaServer[];
  sentinels: { host: string; port: number }[];
  /** The data server the sentinels currently name as master. */
  currentMaster(): Promise<HaServer>;
  /** Resolves when the sentinels name another master than `port` (polled every 20 ms). */
  promotedFrom(port: number): Promise<void>;
  /** A direct client of one data server (for assertions), the same one each time. */
  client(port: number): Redis;
  stop(): Promise<void>;
}

/** 1 master + 2 replicas + 3 sentinels. */
export async function startSentinelSetup(master = 'portico'): Promise<SentinelSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-sentinel-'));
  const procs: Spawned[] = [];
  const clients = new Map<number, Redis>();
  const masterPort = await freePort();
  procs.push(await spawnServer(masterPort, redisServerArgs(masterPort, dir)));
  for (let i = 0; i < 2; i++) {
    const p = await freePort();
    procs.push(await spawnServer(p, [...redisServerArgs(p, dir), '--replicaof', '127.0.0.1', String(masterPort)]));
  }
  const sentinels: { host: string; port: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const p = await freePort();
    const conf = join(dir, `sentinel-${p}.conf`);
    writeFileSync(
      conf,
      [
        `port ${p}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${master} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${master} 1000`,
        `sentinel failover-timeout ${master} 2000`,
        `sentinel parallel-syncs ${master} 2`,
        '',
      ].join('\n'),
    );
    procs.push(await spawnServer(p, [conf, '--sentinel']));
    sentinels.push({ host: '127.0.0.1', port: p });
  }
  const data = procs.slice(0, 3);
  const client = (port: number) => clientOf(clients, port);
  // Ready when the master has both replicas online and every sentinel knows the other two.
  await waitFor(
    async () => {
      const info = await client(masterPort).info('replication');
      if (!/connected_slaves:2/.test(info)) return false;
      for (const s of sentinels) {
        const known = (await client(s.port).call('SENTINEL', 'SENTINELS', master)) as unknown[];
        if (known.length < 2) return false;
      }
      return true;
    },
    20_000,
    () => 'sentinels and replicas to find each other',
  );
  return {
    master,
    servers: data,
    sentinels,
    async currentMaster() {
      const [, port] = (await client(sentinels[0]!.port).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master)) as [string, string];
      return data.find((s) => s.port === Number(port))!;
    },
    async promotedFrom(port: number) {
      const c = client(sentinels[0]!.port);
      await waitFor(
        async () => Number(((await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master)) as [string, string])[1]) !== port,
        30_000,
        () => `the sentinels to promote a replica of :${port}`,
      );
    },
    client,
    async stop() {
      for (const c of clients.values()) c.disconnect();
      await Promise.all(procs.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClusterSetup {
  nodes: { host: string; port: number }[];
  servers: HaServer[];
  /** The master that holds `key`'s slot now. */
  masterOf(key: string): Promise<HaServer>;
  /** Resolves when a live node names another master than `port` for `key`'s slot (polled every 20 ms). */
  promotedFrom(port: number, key: string): Promise<void>;
  client(port: number): Redis;
  stop(): Promise<void>;
}

/** 3 masters + 3 replicas. */
export async function startClusterSetup(): Promise<ClusterSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-cluster-'));
  const procs: Spawned[] = [];
  const clients = new Map<number, Redis>();
  for (let i = 0; i < 6; i++) {
    const p = await freePort();
    // The bus port is chosen too: the default (port + 10000) may be taken by another test on this machine.
    const bus = await freePort();
    procs.push(
      await spawnServer(p, [
        ...redisServerArgs(p, dir),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${p}.conf`),
        '--cluster-port',
        String(bus),
        '--cluster-node-timeout',
        '1000',
        // A replica whose master was down a while may still be promoted (tests kill masters on purpose).
        '--cluster-replica-validity-factor',
        '0',
      ]),
    );
  }
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...procs.map((p) => `127.0.0.1:${p.port}`), '--cluster-replicas', '1', '--cluster-yes'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  const client = (port: number) => clientOf(clients, port);
  await waitFor(
    async () => {
      for (const p of procs) {
        const info = (await client(p.port).call('CLUSTER', 'INFO')) as string;
        if (!/cluster_state:ok/.test(info) || !/cluster_known_nodes:6/.test(info)) return false;
      }
      return true;
    },
    20_000,
    () => 'the cluster to be ok on every node',
  );
  const alive = () => procs.filter((p) => p.alive);
  const masterOf = async (key: string): Promise<HaServer> => {
    const c = client(alive()[0]!.port);
    const slot = (await c.call('CLUSTER', 'KEYSLOT', key)) as number;
    const ranges = (await c.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (owner === undefined) throw new Error(`no master holds slot ${slot}`);
    return procs.find((p) => p.port === owner[2][1])!;
  };
  return {
    nodes: procs.map((p) => ({ host: '127.0.0.1', port: p.port })),
    servers: procs,
    masterOf,
    async promotedFrom(port: number, key: string) {
      await waitFor(
        async () => (await masterOf(key)).port !== port,
        30_000,
        () => `the cluster to promote a replica of :${port}`,
      );
    },
    client,
    async stop() {
      for (const c of clients.values()) c.disconnect();
      await Promise.all(procs.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
