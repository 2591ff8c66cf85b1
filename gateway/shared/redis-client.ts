// The one place that turns "where is Redis" into an ioredis client, for the agent (sync/publish/loop.ts), the
// Node and Deno workers' table follower and global rate limits, and the tools (inspect, dashboard). Three
// topologies, all through ioredis itself:
// - direct: one server by URL (redis:// or rediss://), as before;
// - Sentinel: ioredis asks the sentinels which server is the master of a named group, connects there, and asks
//   again after every disconnect, and reconnects when a demoted master refuses a write with READONLY;
// - Cluster: ioredis Cluster follows the slot map (MOVED/ASK, refreshed on failover). Every Portico key
//   carries the `{cluster}` hash tag, so each script and MULTI touches one slot. Pub/sub uses classic
//   SUBSCRIBE: Redis Cluster forwards a PUBLISH to every node (cluster-spec "Pub/Sub"), and ioredis's cluster
//   subscriber moves to another node, resubscribing, when its node leaves (ClusterSubscriber on "-node").
//   Sharded pub/sub would need SPUBLISH in the publish script; classic PUBLISH keeps the script unchanged.
// The Web runtimes' own RESP client (gateway/source/resp-transport.ts) speaks to one server only.
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface HostPort {
  host: string;
  port: number;
}

export interface SentinelTarget {
  sentinels: HostPort[];
  /** The master group name the sentinels monitor (`sentinel monitor NAME ...`). */
  master: string;
  /** The sentinels' own password (`requirepass` of the sentinels), when they have one. */
  sentinelPassword?: string;
  /** TLS to the sentinels, checked against this CA. */
  sentinelTls?: { ca: string };
}

export interface ClusterTarget {
  clusterNodes: HostPort[];
}

/** A URL (direct), a Sentinel group, or a Redis Cluster's seed nodes. */
export type RedisTarget = string | SentinelTarget | ClusterTarget;

/** The data nodes' password and TLS: in a URL's mode TLS comes with `rediss://`; with Sentinel or Cluster,
 * a CA turns TLS on for the data nodes. */
export interface RedisClientCredentials {
  password?: string;
  tls?: { ca: string };
}

/** How long to wait, whether to queue while disconnected and how to back off: each caller's own policy. */
export interface RedisClientOptions {
  lazyConnect: boolean;
  enableOfflineQueue: boolean;
  maxRetriesPerRequest: number | null;
  connectTimeout: number;
  commandTimeout?: number;
  /** Milliseconds before reconnect attempt `n`, or null to give up. */
  retryStrategy: (attempt: number) => number | null;
}

export type RedisClient = Redis | Cluster;

/** The longest wait between reconnections through the sentinels. */
const SENTINEL_MAX_RECONNECT_MS = 500;

export function isSentinel(t: RedisTarget): t is SentinelTarget {
  return typeof t === 'object' && 'sentinels' in t;
}

export function isCluster(t: RedisTarget): t is ClusterTarget {
  return typeof t === 'object' && 'clusterNodes' in t;
}

/** A URL with its userinfo (`user:password@`) masked. The userinfo ends at the LAST `@` before the path: a password
 * may hold `@` or `/` (RFC 3986 §3.2.1 wants them encoded; people paste them raw). */
export function withoutUserinfo(url: string): string {
  const scheme = url.indexOf('//');
  if (scheme === -1) return url;
  const at = url.lastIndexOf('@');
  return at > scheme ? `${url.slice(0, scheme + 2)}***${url.slice(at)}` : url;
}

/** For logs and errors: never a password. */
export function describeTarget(t: RedisTarget): string {
  if (typeof t === 'string') return withoutUserinfo(t);
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (isSentinel(t)) return `sentinel master ${t.master} via ${list(t.sentinels)}`;
  return `cluster via ${list(t.clusterNodes)}`;
}

export function createRedisClient(
  target: RedisTarget,
  credentials: RedisClientCredentials | undefined,
  o: RedisClientOptions,
): RedisClient {
  const common: RedisOptions = {
    lazyConnect: o.lazyConnect,
    enableOfflineQueue: o.enableOfflineQueue,
    maxRetriesPerRequest: o.maxRetriesPerRequest,
    connectTimeout: o.connectTimeout,
    retryStrategy: o.retryStrategy,
    ...(o.commandTimeout === undefined ? {} : { commandTimeout: o.commandTimeout }),
  };
  if (typeof target === 'string') return new Redis(target, { ...credentials, ...common });
  const password = credentials?.password === undefined ? {} : { password: credentials.password };
  const tls = credentials?.tls === undefined ? {} : { tls: { ca: credentials.tls.ca } };
  if (isSentinel(target)) {
    // Each reconnection asks the sentinels first, which is cheap, and a failover (down-after-milliseconds, then
    // the election) is over within seconds: a backoff grown to several seconds would only delay the next table
    // (bench/RESULTS.md, "Redis failover").
    const retryStrategy = (n: number) => {
      const ms = o.retryStrategy(n);
      return ms === null ? null : Math.min(ms, SENTINEL_MAX_RECONNECT_MS);
    };
    return new Redis({
      ...common,
      retryStrategy,
      ...password,
      ...tls,
      sentinels: target.sentinels,
      name: target.master,
      role: 'master',
      enableTLSForSentinelMode: credentials?.tls !== undefined,
      ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
      ...(target.sentinelTls === undefined ? {} : { sentinelTLS: { ca: target.sentinelTls.ca } }),
      // When every sentinel was unreachable: the same capped backoff before asking them all again.
      sentinelRetryStrategy: retryStrategy,
      // A demoted master that is still up answers writes with READONLY once the sentinels have made it a
      // replica: reconnecting asks the sentinels again (the ioredis README's advice for failovers). ioredis's
      // `failoverDetector` would do this earlier, on +switch-master, but it can close the client's new
      // connection while it is being made, and ioredis then ends the client for good (status "end", no more
      // reconnects): seen in the failover drills, so it stays off.
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    });
  }
  return new Cluster(target.clusterNodes, {
    lazyConnect: o.lazyConnect,
    // The Cluster's own queue, for commands sent while it learns the slot map (its readiness check among them:
    // without the queue that check can fail and connect() never settles). Each node's connection keeps the
    // caller's choice (redisOptions below), so a command to an unreachable node still fails fast.
    enableOfflineQueue: true,
    clusterRetryStrategy: (n: number) => o.retryStrategy(n),
    // A command to a slot whose master just failed is retried after the slot map refreshes.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: o.connectTimeout,
    redisOptions: { ...common, ...password, ...tls, lazyConnect: false },
  });
}

/** Calls `f` whenever the client has (re)connected, including, for a Cluster, whenever it connects to a node
 * it did not know (a promoted replica): whatever was published meanwhile may have been missed. */
export function onReconnected(client: RedisClient, f: () => void): void {
  client.on('ready', f);
  if (client instanceof Cluster) client.on('+node', f);
}
