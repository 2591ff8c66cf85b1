// A complete HTTP/1.1 answer written straight onto a socket, for the places where no response object exists:
// an upgrade the edge refuses, a CONNECT, and a request Node's parser refused itself (the server's
// `clientError`). It carries what every other edge answer carries (responses.ts): Server, Date, Content-Type and
// Content-Length (the ingress-controller conformance suite expects them on every answer), then closes.
import type { Duplex } from 'node:stream';
import { SERVER_NAME, statusBody } from '../responses.ts';

export function rawAnswer(socket: Duplex, status: number, extra: readonly string[] = []): void {
  const body = statusBody(status);
  const head = [
    `HTTP/1.1 ${status} ${body.slice(4).trim()}`,
    `server: ${SERVER_NAME}`,
    `date: ${new Date().toUTCString()}`,
    'content-type: text/plain; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...extra,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
