// Where the control plane keeps things in Redis. Every key of one cluster carries the hash tag
// `{cluster}`, so all of them live in one slot and the same Lua scripts work on Redis Cluster.
// Shared by the publisher (sync/), the workers (gateway/source/) and the inspection tools.

import { DNS_LABEL } from './names.ts';

/** A cluster name is one DNS label: it appears in key names, hash tags and Events. */
export function isValidClusterName(name: string): boolean {
  return DNS_LABEL.test(name);
}

export interface RedisLayout {
  prefix: string;
  /** STRING: JSON CurrentPointer. */
  current: string;
  /** LIST, newest first: JSON HistoryEntry, at most N. */
  history: string;
  /** STRING: the newest lease term (the Lease's leaseTransitions) a publish was accepted from; a publish from an
   * older term is refused (fencing a deposed leader). Written only by the publish script, beside `current`. */
  fence: string;
  /** HASH per version: `manifest` (JWS), `diagnostics` (JSON, informational), `parts` (JSON list of the SHA-256 of
   * every part it references, read by the publish script's retention only; unsigned, so never trusted by a worker).
   * A version of manifest format 1 (bundle.ts) holds its parts here too, as `part:<name>` fields. */
  table(version: string): string;
  /** STRING per part of manifest format 2: its bytes, stored once whatever the number of versions that list it;
   * deleted by the publish script when no version in history references it any more. */
  part(sha256: string): string;
  /** Pub/sub channel: the new version's JSON CurrentPointer. */
  channel: string;
  /** STRING with TTL: JSON Heartbeat of one worker. */
  worker(id: string): string;
  /** ZSET of worker ids scored by their last heartbeat (ms since epoch); members older than the heartbeat
   * TTL are removed by every heartbeat, so the set does not grow with restarts. */
  workers: string;
  /** Prefix of the global rate limit counters (STRING, an integer, expiring two windows after the first
   * count): `<prefix><counter id>:<window number>`, the counter id a base64url SHA-256 prefix of the Ingress,
   * window size and key value (gateway/access/global-rate-limit.ts), never client text. */
  globalLimit: string;
}

export function redisLayout(cluster: string): RedisLayout {
  const prefix = `portico:{${cluster}}:`;
  return {
    prefix,
    current: `${prefix}current`,
    history: `${prefix}history`,
    fence: `${prefix}fence`,
    table: (version) => `${prefix}table:${version}`,
    part: (sha256) => `${prefix}part:${sha256}`,
    channel: `${prefix}updates`,
    worker: (id) => `${prefix}worker:${id}`,
    workers: `${prefix}workers`,
    globalLimit: `${prefix}grl:`,
  };
}

export interface CurrentPointer {
  version: string;
  seq: number;
  publishedAt: string;
  publisher: string;
  /** Set when an operator made an earlier version current again; workers then accept a lower seq. */
  rollback?: { from: string; by: string; at: string };
}

export interface HistoryEntry extends CurrentPointer {
  hosts: number;
  routes: number;
  diagnostics: number;
}

export interface Heartbeat {
  id: string;
  node: string;
  pid: number;
  runtime: string;
  /** Table version being served, or null. */
  version: string | null;
  seq: number | null;
  loadedAt: string | null;
  /** Where the served table came from. */
  source: 'redis' | 'cache' | null;
  redisConnected: boolean;
  refusals: number;
  lastRefusal: { version: string; code: string; message: string; at: string } | null;
  startedAt: string;
  at: string;
}

/** How to authenticate to Redis beyond its URL (a password and a private CA come from Kubernetes
 * Secrets, never from command lines, which anyone who can read the pod spec sees). A password in the URL wins. */
export interface RedisCredentials {
  password?: string;
  /** PEM of the CA that signed the server certificate of a `rediss://` URL. */
  tls?: { ca: string };
}
