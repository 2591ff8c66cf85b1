// The node-local tunnel: one process per node that the edge workers hand their upstream requests to,
// over a Unix socket (or a loopback port for runtimes without Unix sockets). It holds the connection pools
// for every worker process on the node, so sandboxed runtimes never need raw sockets to backends, and it dials
// only endpoints of the verified table it loads itself (the current one and the one before, so a worker a
// version behind during a swap is not refused; one ahead is refused and moves to its next endpoint): the
// guard against request forgery into the cluster.
import { chmodSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LiveTable } from '../live.ts';
import { UpgradeAttempt } from '../proxy/node-upgrade.ts';
import type { Endpoint } from '../table/schema.ts';
import { UpstreamPools, type UpstreamTimeouts } from '../proxy/pools.ts';
import { type PoolLimits, UNBOUNDED_POOL } from '../proxy/pool-queue.ts';
import { answer, newStats, Relay, type TunnelStats } from './relay.ts';
import { PEER_SERVERNAME, type Peers } from './peers.ts';
import {
  allowedEndpoints,
  BACKEND_HEADER,
  passthroughEndpoints,
  ENDPOINT_HEADER,
  ERROR_HEADER,
  isBackendId,
  parseEndpoint,
  PEER_HEADER,
  PEER_TOKEN_HEADER,
  type TunnelAddress,
} from '../table/tunnel-protocol.ts';
import { relayedHeaders } from './relayed-headers.ts';
import { connectHandler } from './connect.ts';

export interface TunnelOptions {
  live: LiveTable;
  listen: TunnelAddress;
  timeouts: UpstreamTimeouts;
  /** --upstream-max-connections and --upstream-queue-timeout: the bound on connections per endpoint. Through the
   * tunnel it is the tunnel's pools that dial, so the bound is here; absent: no cap. */
  upstreamPool?: PoolLimits;
  /** Peer clusters this tunnel may send to (requests naming PEER_HEADER and BACKEND_HEADER). */
  peers?: Peers | null;
  stats?: TunnelStats;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface Tunnel {
  address: string;
  stats: TunnelStats;
  close(): Promise<void>;
}

export async function startTunnel(o: TunnelOptions): Promise<Tunnel> {
  const pools = new UpstreamPools(o.timeouts, null, o.upstreamPool ?? UNBOUNDED_POOL);
  const stats = o.stats ?? newStats();
  let allowed = new Set<string>();
  let previous = new Set<string>();
  // Raw streams (CONNECT, ssl-passthrough): the passthrough backends' endpoints only, current and previous table.
  let raw = new Set<string>();
  let rawPrevious = new Set<string>();
  o.live.onSwap((next) => {
    previous = allowed;
    allowed = allowedEndpoints(next.matcher.table);
    rawPrevious = raw;
    raw = passthroughEndpoints(next.matcher.table);
    pools.retain(new Set([...allowed, ...previous]));
  });
  if (o.live.current !== null) {
    allowed = allowedEndpoints(o.live.current.matcher.table);
    raw = passthroughEndpoints(o.live.current.matcher.table);
  }

  const target = (headers: http.IncomingHttpHeaders): { endpoint: Endpoint } | { refused: string; status: 400 | 403 } => {
    const raw = headers[ENDPOINT_HEADER];
    const ep = parseEndpoint(typeof raw === 'string' ? raw : undefined);
    if (ep === null) return { refused: `missing or malformed ${ENDPOINT_HEADER} header`, status: 400 };
    if (!allowed.has(ep.key) && !previous.has(ep.key))
      return { refused: `${ep.key} is not an endpoint of the verified table`, status: 403 };
    return { endpoint: { address: ep.address, port: ep.port, zone: null } };
  };

  const toPeer = (req: http.IncomingMessage, res: http.ServerResponse, peer: string): void => {
    const backend = req.headers[BACKEND_HEADER];
    const pool = o.peers?.pool(peer);
    const refuse = (status: 400 | 403, why: string, code: string) => {
      stats.refused++;
      o.log('warn', `tunnel refused a request: ${why}`);
      req.resume();
      answer(res, status, why, code);
    };
    if (pool === undefined) return refuse(403, `${JSON.stringify(peer)} is not a configured peer cluster`, 'PORTICO_TUNNEL_UNKNOWN_PEER');
    if (typeof backend !== 'string' || !isBackendId(backend))
      return refuse(400, `missing or malformed ${BACKEND_HEADER} header`, 'PORTICO_TUNNEL_BAD_REQUEST');
    o.peers!.token(peer, backend).then(
      (token) => {
        new Relay(req, res, stats, [
          {
            dispatcher: pool,
            headers: relayedHeaders(req.rawHeaders, [PEER_TOKEN_HEADER, token, BACKEND_HEADER, backend]),
            servername: PEER_SERVERNAME,
            peer: true,
          },
        ]).start();
      },
      (err: Error) => answer(res, 500, `cannot sign a peer token: ${err.message}`, 'PORTICO_TUNNEL_TOKEN'),
    );
  };

  const server = http.createServer(
    { keepAliveTimeout: 75_000, headersTimeout: 20_000, requestTimeout: 0, maxHeaderSize: 16_384 },
    (req, res) => {
      const peer = req.headers[PEER_HEADER];
      if (typeof peer === 'string') return toPeer(req, res, peer);
      const t = target(req.headers);
      if ('refused' in t) {
        stats.refused++;
        o.log('warn', `tunnel refused a request: ${t.refused}`);
        req.resume();
        return answer(res, t.status, t.refused, t.status === 403 ? 'PORTICO_TUNNEL_DENIED' : 'PORTICO_TUNNEL_BAD_REQUEST');
      }
      new Relay(
        req,
        res,
        stats,
        [{ dispatcher: pools.get(t.endpoint), headers: relayedHeaders(req.rawHeaders) }],
        pools.queueTimeoutMs,
      ).start();
    },
  );

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const t = target(req.headers);
    if ('refused' in t) {
      stats.refused++;
      o.log('warn', `tunnel refused an upgrade: ${t.refused}`);
      return socket.end(
        `HTTP/1.1 ${t.status} Refused\r\nconnection: close\r\ncontent-length: 0\r\n${ERROR_HEADER}: ${t.status === 403 ? 'PORTICO_TUNNEL_DENIED' : 'PORTICO_TUNNEL_BAD_REQUEST'}\r\n\r\n`,
      );
    }
    pools.get(t.endpoint).dispatch(
      { path: req.url ?? '/', method: 'GET', headers: relayedHeaders(req.rawHeaders), upgrade: req.headers.upgrade ?? 'websocket' },
      new UpgradeAttempt(socket, head, req.headers.upgrade ?? 'websocket', {
        upgraded: () => void stats.upgrades++,
        failed(err) {
          stats.upstreamErrors++;
          if (socket.destroyed) return;
          const code = String((err as { code?: unknown }).code ?? 'PORTICO_TUNNEL_UPSTREAM');
          socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n${ERROR_HEADER}: ${code}\r\n\r\n`);
        },
      }),
    );
  });

  const streams = connectHandler({
    allowed: (key) => raw.has(key) || rawPrevious.has(key),
    connectMs: o.timeouts.connectMs,
    stats,
    log: (level, msg) => o.log(level, msg),
  });
  server.on('connect', streams.listener);

  let address: string;
  if ('path' in o.listen) {
    const { path } = o.listen;
    rmSync(path, { force: true }); // a socket file left by a previous run
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => resolve()));
    chmodSync(path, 0o660); // the workers share the group (the pod's fsGroup); nobody else
    address = `unix:${path}`;
  } else {
    const { host, port } = o.listen;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    const a = server.address() as AddressInfo;
    address = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  }
  o.log('info', 'tunnel listening', { address });
  return {
    address,
    stats,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        streams.closeAll();
      });
      await pools.close();
      await o.peers?.close();
    },
  };
}
