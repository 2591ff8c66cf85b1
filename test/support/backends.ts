// Real HTTP backends on loopback addresses for end-to-end tests: each answers with what it received,
// so tests can check what the gateway forwarded. Special paths:
//   /stream?chunks=N&ms=T   N chunks, T ms apart (checks that the gateway streams, not buffers)
//   /slow?ms=T              answers after T ms (read timeouts)
//   /status/NNN             answers with that status
//   /upload                 counts the request body as it streams in and answers with its size
//   /redirect?to=URL        302 to URL (a gateway must pass it on, not follow it)
//   /gzip                   a gzip-encoded text body (Content-Encoding: gzip)
//   /big?mb=N               N MiB of 'x' (Content-Length declared), written as fast as the gateway takes it
//   ?set-header=NAME:VALUE  on the echo and /status paths: adds that response header
// and a WebSocket echo server on the same port (which refuses upgrades to /ws-reject with 401).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';

export interface EchoReply {
  backend: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
}

export interface Backend {
  name: string;
  address: string;
  port: number;
  /** New TCP connections accepted (keep-alive checks). */
  connections: number;
  requests: number;
  close(): Promise<void>;
}

export async function startBackend(name: string, address = '127.0.0.1', port = 0): Promise<Backend> {
  const state = { connections: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/stream') {
      const n = Number(u.searchParams.get('chunks') ?? 3);
      const ms = Number(u.searchParams.get('ms') ?? 100);
      // length=N: a declared Content-Length (the caller counts the lines: `chunk I TIMESTAMP\n`, 22 bytes for I < 10).
      const length = u.searchParams.get('length');
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name, ...(length === null ? {} : { 'content-length': length }) });
      let i = 0;
      const tick = (): void => {
        res.write(`chunk ${i} ${Date.now()}\n`);
        if (++i < n) setTimeout(tick, ms);
        else res.end();
      };
      tick();
      return;
    }
    if (u.pathname === '/big') {
      let left = Number(u.searchParams.get('mb') ?? 1) * 16;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name, 'content-length': String(left * 64 * 1024) });
      const chunk = Buffer.alloc(64 * 1024, 120);
      const more = (): void => {
        while (left > 0 && !res.destroyed) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        if (left === 0) res.end();
      };
      more();
      return;
    }
    if (u.pathname === '/redirect') {
      res.writeHead(302, { location: u.searchParams.get('to') ?? '/', 'x-backend': name });
      res.end();
      return;
    }
    if (u.pathname === '/gzip') {
      const body = gzipSync(`gzip from ${name}\n`.repeat(20));
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
        'content-length': String(body.length),
        'x-backend': name,
      });
      res.end(body);
      return;
    }
    if (u.pathname === '/upload') {
      let bytes = 0;
      const firstAt = { t: 0 };
      req.on('data', (c: Buffer) => {
        if (bytes === 0) firstAt.t = Date.now();
        bytes += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
        res.end(JSON.stringify({ backend: name, bytes, firstChunkAt: firstAt.t, endAt: Date.now() }));
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply: EchoReply = {
        backend: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString(),
      };
      const send = (): void => {
        const status = u.pathname.startsWith('/status/') ? Number(u.pathname.slice(8)) : 200;
        res.writeHead(status, {
          'content-type': 'application/json',
          'x-backend': name,
          // hop-by-hop headers the gateway must not pass on:
          'keep-alive': 'timeout=5',
          connection: 'keep-alive, x-hop',
          'x-hop': 'must-be-stripped',
          'set-cookie': ['a=1', 'b=2'],
          // ?set-header=name:value adds a response header (e.g. one only a gateway should ever set)
          ...Object.fromEntries(u.searchParams.getAll('set-header').map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)])),
        });
        res.end(JSON.stringify(reply));
      };
      if (u.pathname === '/slow') setTimeout(send, Number(u.searchParams.get('ms') ?? 1000));
      else send();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', () => state.connections++);
  // /ws-reject: the application refuses the upgrade (401), as one behind an auth check would.
  const wss = new WebSocketServer({
    server,
    verifyClient: (info, done) => (info.req.url?.startsWith('/ws-reject') ? done(false, 401, 'Unauthorized') : done(true)),
  });
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ backend: name, url: req.url, forwardedFor: req.headers['x-forwarded-for'] ?? null }));
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${data.toString()}`));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, () => resolve()));
  const a = server.address() as AddressInfo;
  return {
    name,
    address: a.address,
    port: a.port,
    get connections() {
      return state.connections;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
