// The Node side of access logs: a record per logged request, carried on its response object under a symbol so the
// forwarder (proxy/node-forwarder.ts) fills the upstream fields without a lookup, and written when the response
// closes (sent, or the client gone). Nothing is allocated for a request that is not logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { AccessLogSink } from '../access-log.ts';
import type { RequestFacts } from '../decide.ts';
import { requestIdFor } from '../proxy/headers.ts';

const RECORD = Symbol('portico.access');

type Carrier = { [RECORD]?: AccessRecord };

/** The record of a logged request, or undefined (not logged: access logs off, or not sampled). */
export const recordOf = (res: ServerResponse | Http2ServerResponse): AccessRecord | undefined => (res as Carrier)[RECORD];

export class AccessRecord {
  readonly start = performance.now();
  client = '';
  host = '';
  path = '';
  route = '';
  requestId = '';
  upstream: string | null = null;
  upstreamStatus: number | null = null;
  upstreamMs: number | null = null;
  /** HTTP/2: response body bytes the forwarder wrote (a stream has no byte counter of its own). */
  bodyOut = 0;
  private readonly socket: Socket;
  private readonly read0: number;
  private readonly written0: number;

  constructor(
    private readonly sink: AccessLogSink,
    private readonly req: IncomingMessage | Http2ServerRequest,
    private readonly res: ServerResponse | Http2ServerResponse,
  ) {
    // HTTP/2: the session's TLS socket (the request's `socket` is a proxy of it); HTTP/1: the connection itself.
    this.socket = 'stream' in req ? (req.stream.session?.socket as Socket) : req.socket;
    this.read0 = this.socket?.bytesRead ?? 0;
    this.written0 = this.socket?.bytesWritten ?? 0;
    (res as Carrier)[RECORD] = this;
    // One shared listener (`this` is the response), not a bound function and once()'s wrapper per request.
    res.on('close', recordClosed);
  }

  /** What the request path knows once it has decided (app.ts: every request passes there). */
  facts(f: RequestFacts, route: string): void {
    this.client = f.clientIp;
    this.host = f.host;
    this.path = f.path;
    this.route = route;
  }

  end(): void {
    const { req, res, socket } = this;
    const h2 = 'stream' in req;
    const declaredIn = Number(req.headers['content-length'] ?? 0) || 0;
    const declaredOut = Number(res.getHeader('content-length') ?? -1);
    this.sink.write({
      time: isoNow(),
      client: this.client || stripMapped(socket?.remoteAddress),
      method: req.method ?? '',
      host: this.host || (req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? ''),
      path: this.path || (req.url ?? ''),
      protocol: `HTTP/${req.httpVersion}`,
      // nginx logs 499 for a client that closed the connection before the response began.
      status: res.headersSent ? res.statusCode : 499,
      // HTTP/1.1: bytes read from the connection while the request was handled (its body; its head was read
      // before), HTTP/2: the declared body length (the session's counters are shared by every stream).
      bytesIn: h2 ? declaredIn : socket.bytesRead - this.read0,
      // HTTP/1.1: bytes written to the connection for this response (head and body); HTTP/2: the body.
      bytesOut: h2 ? (declaredOut >= 0 ? declaredOut : this.bodyOut) : socket.bytesWritten - this.written0,
      durationMs: millis(performance.now() - this.start),
      upstream: this.upstream,
      upstreamStatus: this.upstreamStatus,
      upstreamMs: this.upstreamMs === null ? null : millis(this.upstreamMs),
      route: this.route,
      requestId: this.requestId || loggedRequestId(req),
      ...tlsFields(socket),
    });
  }
}

let isoMs = 0;
let isoText = '';

/** The time as ISO 8601 with milliseconds, made once per millisecond: a busy worker ends several requests in one. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** An IPv4 client as `192.0.2.1`, not as the dual-stack listener's `::ffff:192.0.2.1`. */
export function stripMapped(a: string | undefined): string {
  if (a === undefined) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Milliseconds to three decimals, as the line carries them. */
export const millis = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The gateway's own answers: the client's well-formed X-Request-Id, else a new one (ingress-nginx's $req_id). */
export const loggedRequestId = (req: IncomingMessage | Http2ServerRequest): string =>
  requestIdFor(req.headers['x-request-id'] as string | undefined, randomUUID);

/** `tls` and `sni` of the line: the protocol and server name of a TLS connection, null on plain HTTP. */
export function tlsFields(socket: Socket | Duplex | undefined): { tls: string | null; sni: string | null } {
  if ((socket as Partial<TLSSocket> | undefined)?.encrypted !== true) return { tls: null, sni: null };
  const t = socket as TLSSocket;
  return { tls: t.getProtocol(), sni: typeof t.servername === 'string' ? t.servername : null };
}

/** The response's 'close' listener: writes its record (the response closes once). */
function recordClosed(this: ServerResponse | Http2ServerResponse): void {
  recordOf(this)?.end();
}
