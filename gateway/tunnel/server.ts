// The node-local tunnel (issue 8): one process per node that the edge workers hand their upstream requests to,
// over a Unix socket (or a loopback port for runtimes without Unix sockets). It holds the connection pools
// for every worker process on the node, so sandboxed runtimes never need raw sockets to backends, and it dials
// only endpoints of the verified table it loads itself (the current one and the one before, so a worker a
// version ahead or behind during a swap is not refused): the guard against request forgery into the cluster.
import { chmodSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { LiveTable } from '../live.ts';
import { downstreamResponseHeaders } from '../proxy/headers.ts';
import { UpstreamPools, type UpstreamTimeouts } from '../proxy/pools.ts';
import { SERVER_NAME } from '../responses.ts';
import { allowedEndpoints, ENDPOINT_HEADER, ERROR_HEADER, parseEndpoint, type TunnelAddress } from './protocol.ts';

export interface TunnelOptions {
  live: LiveTable;
  listen: TunnelAddress;
  timeouts: UpstreamTimeouts;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface TunnelStats {
  /** Requests relayed, by outcome. */
  relayed: number;
  upgrades: number;
  /** Refused: no or malformed endpoint header, or an endpoint outside the verified tables. */
  refused: number;
  upstreamErrors: number;
}

export interface Tunnel {
  address: string;
  stats: TunnelStats;
  close(): Promise<void>;
}

function answer(res: http.ServerResponse, status: number, reason: string, code: string): void {
  const body = `${status} ${reason}\n`;
  res.writeHead(status, { server: SERVER_NAME, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [ERROR_HEADER]: code });
  res.end(body);
}

/** The request's headers for the upstream: the worker's, minus this hop's hop-by-hop headers and ours. */
function relayedHeaders(raw: readonly string[]): string[] {
  const kept = downstreamResponseHeaders(raw);
  const out: string[] = [];
  for (let i = 0; i < kept.length; i += 2) if (kept[i]!.toLowerCase() !== ENDPOINT_HEADER) out.push(kept[i]!, kept[i + 1]!);
  return out;
}

/** One relayed request: streams both ways with back-pressure, like the worker's own forwarder. */
class Relay implements Dispatcher.DispatchHandler {
  private status = 0;
  private abort: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private done = false;

  constructor(private readonly res: http.ServerResponse, private readonly stats: TunnelStats) {
    res.once('close', () => {
      if (!this.done) this.abort?.();
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.res.destroyed) abort();
  }

  onHeaders(code: number, raw: Buffer[], resume: () => void): boolean {
    if (code < 200) return true;
    this.status = code;
    this.resume = resume;
    if (this.res.destroyed) return false;
    this.res.writeHead(code, downstreamResponseHeaders(raw));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.destroyed) return false;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.done = true;
    this.stats.relayed++;
    this.res.end();
  }

  onError(err: Error): void {
    this.done = true;
    this.stats.upstreamErrors++;
    if (this.res.destroyed) return;
    const code = String((err as { code?: unknown }).code ?? 'PORTICO_TUNNEL_UPSTREAM');
    // Before any response: tell the worker what happened, in the words it would have seen itself.
    if (this.status === 0 && !this.res.headersSent) return answer(this.res, /TIMEOUT/.test(code) && code !== 'UND_ERR_CONNECT_TIMEOUT' ? 504 : 502, 'upstream failed', code);
    this.res.destroy(err);
  }
}

export async function startTunnel(o: TunnelOptions): Promise<Tunnel> {
  const pools = new UpstreamPools(o.timeouts);
  const stats: TunnelStats = { relayed: 0, upgrades: 0, refused: 0, upstreamErrors: 0 };
  let allowed = new Set<string>();
  let previous = new Set<string>();
  o.live.onSwap((next) => {
    previous = allowed;
    allowed = allowedEndpoints(next.matcher.table);
    pools.retain(new Set([...allowed, ...previous]));
  });
  if (o.live.current !== null) allowed = allowedEndpoints(o.live.current.matcher.table);

  const target = (headers: http.IncomingHttpHeaders): { key: string } | { refused: string; status: 400 | 403 } => {
    const raw = headers[ENDPOINT_HEADER];
    const ep = parseEndpoint(typeof raw === 'string' ? raw : undefined);
    if (ep === null) return { refused: `missing or malformed ${ENDPOINT_HEADER} header`, status: 400 };
    if (!allowed.has(ep.key) && !previous.has(ep.key)) return { refused: `${ep.key} is not an endpoint of the verified table`, status: 403 };
    return { key: ep.key };
  };
  const endpointOf = (key: string) => {
    const ep = parseEndpoint(key)!;
    return { address: ep.address, port: ep.port, zone: null };
  };

  const server = http.createServer({ keepAliveTimeout: 75_000, headersTimeout: 20_000, requestTimeout: 0, maxHeaderSize: 16_384 }, (req, res) => {
    const t = target(req.headers);
    if ('refused' in t) {
      stats.refused++;
      o.log('warn', `tunnel refused a request: ${t.refused}`);
      req.resume();
      return answer(res, t.status, t.refused, t.status === 403 ? 'PORTICO_TUNNEL_DENIED' : 'PORTICO_TUNNEL_BAD_REQUEST');
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    pools.get(endpointOf(t.key)).dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers: relayedHeaders(req.rawHeaders), body: hasBody ? req : null }, new Relay(res, stats));
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const t = target(req.headers);
    if ('refused' in t) {
      stats.refused++;
      o.log('warn', `tunnel refused an upgrade: ${t.refused}`);
      return socket.end(`HTTP/1.1 ${t.status} Refused\r\nconnection: close\r\ncontent-length: 0\r\n${ERROR_HEADER}: ${t.status === 403 ? 'PORTICO_TUNNEL_DENIED' : 'PORTICO_TUNNEL_BAD_REQUEST'}\r\n\r\n`);
    }
    pools.get(endpointOf(t.key)).dispatch({ path: req.url ?? '/', method: 'GET', headers: relayedHeaders(req.rawHeaders), upgrade: req.headers.upgrade ?? 'websocket' }, {
      onConnect(abort) {
        if (socket.destroyed) abort();
      },
      onHeaders: () => true,
      onData: () => true,
      onComplete() {},
      onUpgrade(status, raw, upstream) {
        stats.upgrades++;
        const lines = [`HTTP/1.1 ${status} Switching Protocols`];
        const h = downstreamResponseHeaders(raw ?? []);
        for (let i = 0; i < h.length; i += 2) lines.push(`${h[i]}: ${h[i + 1]}`);
        lines.push(`upgrade: ${req.headers.upgrade ?? 'websocket'}`, 'connection: Upgrade');
        socket.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.on('close', () => socket.destroy());
        upstream.pipe(socket);
        socket.pipe(upstream);
      },
      onError(err) {
        stats.upstreamErrors++;
        if (socket.destroyed) return;
        const code = String((err as { code?: unknown }).code ?? 'PORTICO_TUNNEL_UPSTREAM');
        socket.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n${ERROR_HEADER}: ${code}\r\n\r\n`);
      },
    });
  });

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
    address, stats,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pools.close();
    },
  };
}
