// The table follower over each of its transports, as the runtimes build it: ioredis as `portico worker`
// and the Deno worker do (RedisTableSource: subscription, poll, heartbeat timer), and the RESP client as
// workerd does (a connection per check, over a node:net socket turned into Web streams, the shape
// cloudflare:sockets hands out).
import net from 'node:net';
import { Duplex } from 'node:stream';
import type { LiveTable } from '../../gateway/live.ts';
import { TableFollower } from '../../gateway/source/follower.ts';
import { RedisTableSource } from '../../gateway/source/redis.ts';
import { RespTransport } from '../../gateway/source/resp-transport.ts';
import type { ByteSocket } from '../../gateway/source/resp.ts';
import type { Log } from '../../gateway/source/transport.ts';
import type { VerifyingKeys } from '../../gateway/table/bundle.ts';
import { waitFor } from '../support/process.ts';

export type TransportName = 'ioredis' | 'resp';
export const TRANSPORTS: TransportName[] = ['ioredis', 'resp'];

export function socketTo(port: number): ByteSocket {
  const sock = net.connect(port, '127.0.0.1');
  const web = Duplex.toWeb(sock) as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  return { readable: web.readable, writable: web.writable, close: () => void sock.destroy() };
}

export interface FollowerSetup {
  port: number;
  cluster: string;
  keys: VerifyingKeys;
  live: LiveTable;
  node: string;
  log?: Log;
  password?: string;
}

/** A follower connected and ready for checks; its own timers poll only every minute, so the test decides. */
export async function startFollower(kind: TransportName, o: FollowerSetup): Promise<TableFollower> {
  const log = o.log ?? (() => {});
  if (kind === 'resp') {
    return new TableFollower({
      transport: new RespTransport({ connect: () => socketTo(o.port), ...(o.password === undefined ? {} : { password: o.password }), log }),
      cluster: o.cluster,
      keys: o.keys,
      live: o.live,
      cache: null,
      pollMs: 60_000,
      heartbeatMs: 1_000,
      identity: { id: `${o.node}:isolate-test`, node: o.node, pid: 0, runtime: 'workerd' },
      log,
    });
  }
  const s = new RedisTableSource({
    redis: `redis://127.0.0.1:${o.port}`,
    ...(o.password === undefined ? {} : { credentials: { password: o.password } }),
    cluster: o.cluster,
    keys: o.keys,
    live: o.live,
    cacheFile: null,
    pollMs: 60_000,
    heartbeatMs: 1_000,
    node: o.node,
    log,
  });
  await s.start();
  await waitFor(
    () => s.connected,
    10_000,
    () => 'ioredis to connect',
  );
  return s;
}
