// HTTP CONNECT on the node-local tunnel (RFC 9110 §9.3.6): a raw TCP stream for a worker's ssl-passthrough
// connection, which must reach its endpoint untouched (the ClientHello first, then whatever TLS carries). The worker
// sends `CONNECT address:port` with the same `portico-endpoint: address:port` header as its HTTP requests; the tunnel
// dials it only when it is an endpoint of a passthrough backend of its current or previous verified table
// (tunnel-protocol.ts passthroughEndpoints), answers `200` and relays bytes both ways. A refusal is `400` (no or a
// malformed target, or one the request line and the header disagree on) or `403` (not such an endpoint); a failed
// dial is `502`; each carries `portico-tunnel-error`, as the tunnel's HTTP answers do, and nothing was relayed.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type http from 'node:http';
import { ENDPOINT_HEADER, ERROR_HEADER, parseEndpoint } from '../table/tunnel-protocol.ts';
import type { TunnelStats } from './relay.ts';

export interface ConnectOptions {
  /** Whether this endpoint key may get a raw stream now. */
  allowed(key: string): boolean;
  connectMs: number;
  stats: TunnelStats;
  log(level: 'warn', msg: string): void;
}

const refusal = (status: 400 | 403 | 502, code: string): string =>
  `HTTP/1.1 ${status} ${status === 502 ? 'Bad Gateway' : 'Refused'}\r\nconnection: close\r\ncontent-length: 0\r\n${ERROR_HEADER}: ${code}\r\n\r\n`;

/** The server's 'connect' listener, and what closing needs: the streams still open (a server's close() waits
 * for them otherwise). */
export function connectHandler(o: ConnectOptions): {
  listener(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  closeAll(): void;
} {
  const open = new Set<Duplex>();
  const listener = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    const raw = req.headers[ENDPOINT_HEADER];
    const ep = parseEndpoint(typeof raw === 'string' ? raw : undefined);
    const refuse = (status: 400 | 403, why: string): void => {
      o.stats.refused++;
      o.log('warn', `tunnel refused a CONNECT: ${why}`);
      socket.end(refusal(status, status === 403 ? 'PORTICO_TUNNEL_DENIED' : 'PORTICO_TUNNEL_BAD_REQUEST'));
    };
    if (ep === null || req.url !== ep.key)
      return refuse(400, `missing or malformed ${ENDPOINT_HEADER} header, or one that is not the CONNECT target`);
    if (!o.allowed(ep.key)) return refuse(403, `${ep.key} is not an endpoint of a passthrough backend of the verified table`);
    const upstream = net.connect({ host: ep.address, port: ep.port, timeout: o.connectMs });
    const fail = (code: string): void => {
      o.stats.upstreamErrors++;
      upstream.destroy();
      if (!socket.destroyed) socket.end(refusal(502, code));
    };
    upstream.once('timeout', () => fail('ETIMEDOUT'));
    upstream.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'PORTICO_TUNNEL_UPSTREAM'));
    socket.once('close', () => upstream.destroy());
    upstream.once('connect', () => {
      upstream.removeAllListeners('timeout');
      upstream.removeAllListeners('error');
      upstream.setTimeout(0);
      upstream.on('error', () => socket.destroy());
      upstream.once('close', () => socket.destroy());
      o.stats.streams++;
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
  };
  return {
    listener,
    closeAll() {
      for (const s of open) s.destroy();
      open.clear();
    },
  };
}
