// The follower's transport over the small RESP client (resp.ts) on any Web byte-stream socket: workerd's
// `cloudflare:sockets`, or a node:net socket in tests. A connection per session, closed after it: workerd
// keeps no socket between requests, and an I/O object of one request cannot be used by another. No
// subscription: the follower over this transport polls.
import { asText, RespClient, RespError, type ByteSocket, type RespValue } from './resp.ts';
import { RedisReplyError, TransportError, type Log, type RedisCommands, type TableTransport } from './transport.ts';

export interface RespTransportOptions {
  /** Opens a new connection to Redis. */
  connect(): ByteSocket;
  /** AUTH after connecting (redis://[user:]password@…). */
  username?: string;
  password?: string;
  /** A command unanswered for this long ends the session (a half-dead connection must not stall checks). */
  commandTimeoutMs?: number;
  log: Log;
}

export class RespTransport implements TableTransport {
  connected = false;
  lastError: string | null = null;

  constructor(private readonly o: RespTransportOptions) {}

  async session<T>(work: (c: RedisCommands) => Promise<T>): Promise<T> {
    let client: RespClient | null = null;
    try {
      try {
        client = new RespClient(this.o.connect());
      } catch (err) {
        throw new TransportError((err as Error).message);
      }
      const c = client;
      if (this.o.password !== undefined) {
        await this.send(c, [this.o.username === undefined ? ['AUTH', this.o.password] : ['AUTH', this.o.username, this.o.password]]).catch(
          (err: Error) => {
            throw new TransportError(`redis refused the credentials: ${err.message}`); // a wrong password is no table's fault
          },
        );
      }
      const result = await work(this.commands(c));
      this.lastError = null;
      return result;
    } catch (err) {
      if (err instanceof TransportError) {
        if (this.lastError !== err.message) this.o.log('warn', `redis: ${err.message}`);
        this.connected = false;
        this.lastError = err.message;
      }
      throw err;
    } finally {
      await client?.close().catch(() => {});
    }
  }

  async close(): Promise<void> {}

  /** One round trip; an error reply is Redis's answer, anything else is the connection's fault. */
  private async send(c: RespClient, commands: (string | number)[][]): Promise<RespValue[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ms = this.o.commandTimeoutMs ?? 3_000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TransportError(`redis did not answer within ${ms} ms`)), ms);
    });
    try {
      const replies = await Promise.race([c.pipeline(commands), timeout]);
      this.connected = true; // before the session ends: a heartbeat written in it says so
      return replies;
    } catch (err) {
      if (err instanceof TransportError) throw err;
      if (err instanceof RespError) throw new RedisReplyError(err.message);
      throw new TransportError((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private commands(c: RespClient): RedisCommands {
    const one = async (...args: (string | number)[]): Promise<RespValue> => (await this.send(c, [args]))[0]!;
    return {
      get: async (key) => asText(await one('GET', key)),
      fieldSizes: async (key, fields) =>
        fields.length === 0
          ? []
          : (
              await this.send(
                c,
                fields.map((f) => ['HSTRLEN', key, f]),
              )
            ).map(Number),
      sizes: async (keys) =>
        keys.length === 0
          ? []
          : (
              await this.send(
                c,
                keys.map((k) => ['STRLEN', k]),
              )
            ).map(Number),
      values: async (keys) => {
        if (keys.length === 0) return [];
        const values = await one('MGET', ...keys);
        return (values as RespValue[]).map((v) => (v instanceof Uint8Array ? v : null));
      },
      fieldText: async (key, field) => asText(await one('HGET', key, field)),
      fieldBytes: async (key, fields) => {
        if (fields.length === 0) return [];
        const values = await one('HMGET', key, ...fields);
        return (values as RespValue[]).map((v) => (v instanceof Uint8Array ? v : null));
      },
      heartbeat: async (h) => {
        await this.send(c, [
          ['MULTI'],
          ['SET', h.key, h.value, 'EX', h.ttlSeconds],
          ['ZADD', h.index, h.score, h.member],
          ['ZREMRANGEBYSCORE', h.index, '-inf', h.expiredBefore],
          ['EXEC'],
        ]);
      },
      forget: async (key, index, member) => {
        await this.send(c, [['MULTI'], ['DEL', key], ['ZREM', index, member], ['EXEC']]);
      },
    };
  }
}
