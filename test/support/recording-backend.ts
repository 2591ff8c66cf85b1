// A loopback HTTP/1.1 backend that records every request it received, and whether it received all of it
// (its body ended as its framing said, RFC 9112 §6.3): the proof that a request the edge refused never
// reached an upstream as a complete request. `/slow?ms=T` answers after T ms.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The whole request arrived (its body's end), as opposed to a connection that broke off mid-body. */
  complete: boolean;
}

export interface RecordingBackend {
  address: string;
  port: number;
  /** Requests whose head arrived, complete or not. */
  received: Recorded[];
  readonly completed: Recorded[];
  /** TCP connections accepted so far, and open now (and the most open at once). */
  connections: number;
  open: number;
  maxOpen: number;
  /** Starts counting maxOpen again from the connections open now. */
  resetMaxOpen(): void;
  /** Closes the idle keep-alive connections (so that the next measurement starts from none). */
  closeIdle(): void;
  close(): Promise<void>;
}

export async function startRecordingBackend(address = '127.0.0.1'): Promise<RecordingBackend> {
  const received: Recorded[] = [];
  const state = { connections: 0, open: 0, maxOpen: 0 };
  const server = http.createServer((req, res) => {
    const r: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', complete: false };
    received.push(r);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.complete = true;
      r.body = Buffer.concat(chunks).toString();
      const u = new URL(r.url, 'http://x');
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`ok ${r.method} ${r.url} ${r.body.length}\n`);
      };
      if (u.pathname === '/slow') setTimeout(send, Number(u.searchParams.get('ms') ?? 1000));
      else send();
    });
    req.on('close', () => {
      if (!r.complete) r.body = Buffer.concat(chunks).toString();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    state.connections++;
    state.open++;
    state.maxOpen = Math.max(state.maxOpen, state.open);
    s.once('close', () => state.open--);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, address, () => resolve()));
  const a = server.address() as AddressInfo;
  return {
    address: a.address,
    port: a.port,
    received,
    get completed() {
      return received.filter((r) => r.complete);
    },
    get connections() {
      return state.connections;
    },
    get open() {
      return state.open;
    },
    get maxOpen() {
      return state.maxOpen;
    },
    resetMaxOpen: () => {
      state.maxOpen = state.open;
    },
    closeIdle: () => server.closeIdleConnections(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
