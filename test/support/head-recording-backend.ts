// A real loopback backend that records every request it received (method, target, raw headers, body) and answers
// 200 with a small body and no Server or Date header (unless `?server=NAME` asks for a Server), so tests can assert
// both what reached an upstream and what the edge added. WebSocket upgrades are recorded and switched (101).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
  upgrade: boolean;
}

export interface RecordingBackend {
  address: string;
  port: number;
  received: Received[];
  /** The header values of `name` (any case) in a received request. */
  close(): Promise<void>;
}

export const valuesOf = (r: Received, name: string): string[] =>
  r.rawHeaders.flatMap((v, i, all) => (i % 2 === 0 && v.toLowerCase() === name ? [all[i + 1]!] : []));

export async function startRecordingBackend(address = '127.0.0.1'): Promise<RecordingBackend> {
  const received: Received[] = [];
  // Keep every field it gets (Node's default would drop past 1000 without a word).
  const server = http.createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString(),
        upgrade: false,
      });
      const server = new URL(req.url ?? '/', 'http://x').searchParams.get('server');
      res.sendDate = false;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3', ...(server === null ? {} : { server }) });
      res.end('ok\n');
    });
  });
  server.maxHeadersCount = 0;
  server.on('upgrade', (req: http.IncomingMessage, socket) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: '', upgrade: true });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, address, () => resolve()));
  const a = server.address() as AddressInfo;
  return {
    address: a.address,
    port: a.port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
