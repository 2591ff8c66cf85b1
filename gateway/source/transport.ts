// What the table follower (follower.ts) needs from Redis, and nothing more, so the one policy that decides
// which table a worker serves runs unchanged over ioredis (Node, Deno) and over the small RESP client
// (workerd). A transport only moves bytes; every decision about them is the follower's.
import { PorticoError } from '../table/portico-error.ts';

export type { Log } from '../shared/log.ts';

/** The commands of one session. Each rejects with TransportError when Redis cannot be reached or stops
 * answering, and with RedisReplyError when Redis answers with an error. */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  /** HSTRLEN of each field, in one round trip: sizes are checked before any value is read. */
  fieldSizes(key: string, fields: readonly string[]): Promise<number[]>;
  fieldText(key: string, field: string): Promise<string | null>;
  /** HMGET, values as bytes (parts are hashed exactly as stored). */
  fieldBytes(key: string, fields: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** STRLEN of each key, in one round trip (keys of one hash slot). */
  sizes(keys: readonly string[]): Promise<number[]>;
  /** MGET, values as bytes, in one round trip (keys of one hash slot). */
  values(keys: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** Atomically: SET key value EX ttl, ZADD index score member, and drop index members scored before `expiredBefore`. */
  heartbeat(h: {
    key: string;
    value: string;
    ttlSeconds: number;
    index: string;
    member: string;
    score: number;
    expiredBefore: number;
  }): Promise<void>;
  /** Removes a heartbeat and its index entry (a worker that stops cleanly). */
  forget(key: string, index: string, member: string): Promise<void>;
}

export interface TableTransport {
  /** Runs `work` over a connection: the long-lived one (ioredis), or one opened for this session and
   * closed after it (workerd keeps no socket between requests). Rejects with TransportError when no
   * connection can be had. */
  session<T>(work: (c: RedisCommands) => Promise<T>): Promise<T>;
  /** Long-lived transports only: connect, and call `ready` on every (re)connection and `notify` on every
   * message on `channel`. Without it the follower learns of new versions by polling alone. */
  follow?(channel: string, on: { ready(): void; notify(): void }): void;
  /** Whether Redis answered last time it was asked (ioredis: whether the connection is up). */
  readonly connected: boolean;
  /** The last connection problem, for readiness messages; never contains a password. */
  readonly lastError: string | null;
  close(): Promise<void>;
}

/** Redis is unreachable or stopped answering: not the table's fault, so never a refusal. */
export class TransportError extends PorticoError {
  readonly code = 'PORTICO_REDIS_UNAVAILABLE';
}

/** Redis answered a command with an error (e.g. a table key of the wrong type): refused, and retried. */
export class RedisReplyError extends PorticoError {
  readonly code = 'PORTICO_REDIS_REPLY';
}
