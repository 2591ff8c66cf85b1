// The HTTP/2 client of backend-protocol GRPC, GRPCS and H2C upstreams (node:http2): one session per endpoint, a
// stream per request, driving the same dispatch handler as undici's Pool (the Node forwarder's Exchange).
//
// Why not undici's own HTTP/2 client (undici 7.30.2, `allowH2`): it reports the trailers (onComplete) the moment the
// trailing HEADERS frame arrives and stops listening for data, while body data it paused for back-pressure is still
// buffered in the stream; that data is lost. A gRPC reply larger than a few socket writes to a client slower than
// the upstream lost its message and the client saw status OK without it (grpc-js: UNIMPLEMENTED "No message
// received"); test/e2e/grpc.test.ts reproduces it with 4 MiB replies. Here the trailers are kept until the stream's
// 'end', which Node emits only once every buffered DATA frame was read (RFC 9113 8.1: trailers follow the data).
//
// Back-pressure both ways is HTTP/2 flow control: a paused response stream stops granting the upstream window; the
// request body is written chunk by chunk, each after the stream drained.
import http2 from 'node:http2';
import type { UpstreamTlsDial } from './upstream-tls.ts';
import type { Dispatcher } from 'undici';
import { PorticoError } from '../table/portico-error.ts';

/** The upstream did not complete its handshake in the connect timeout. Its code is undici's, so the error classes
 * (gateway/errors.ts) and the retry policy treat both clients alike. */
export class H2ConnectTimeoutError extends PorticoError {
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
  constructor(ms: number) {
    super(`HTTP/2 upstream: no connection within ${ms} ms`);
  }
}

/** No response headers within the read timeout (undici's code: a response timeout, 504). */
export class H2HeadersTimeoutError extends PorticoError {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
  constructor(ms: number) {
    super(`HTTP/2 upstream: no response headers within ${ms} ms`);
  }
}

/** No response data within the read timeout (undici's code). */
export class H2BodyTimeoutError extends PorticoError {
  readonly code = 'UND_ERR_BODY_TIMEOUT';
  constructor(ms: number) {
    super(`HTTP/2 upstream: no response data within ${ms} ms`);
  }
}

/** The stream closed before the response ended: reset by the upstream, or its connection went away (undici's
 * UND_ERR_SOCKET: a reset). */
export class H2StreamClosedError extends PorticoError {
  readonly code = 'UND_ERR_SOCKET';
  constructor(rstCode: number) {
    super(`HTTP/2 upstream: stream closed before the response ended (RST_STREAM code ${rstCode})`);
  }
}

/** The exchange asked to stop (client gone, a dropped answer, a body over its limit) without a reason. */
export class H2AbortedError extends PorticoError {
  readonly code = 'UND_ERR_ABORTED';
  constructor() {
    super('HTTP/2 upstream request aborted');
  }
}

/** Fields HTTP/2 forbids (RFC 9113 8.2.2; `te` is allowed only as "trailers"); the forwarder already drops the
 * hop-by-hop ones, this keeps node:http2 from refusing the request over one that slipped through. Host becomes
 * :authority (8.3.1). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** A body read whole before dialling (client-body.ts) is one Buffer; a streamed one an async iterable of chunks. */
type Body = Buffer | AsyncIterable<Buffer> | null | undefined;

export interface H2UpstreamOptions {
  /** `http://address:port` (prior knowledge, RFC 9113 3.3) or `https://address:port` (ALPN h2, not verified). */
  origin: string;
  connectMs: number;
  headersMs: number;
  bodyMs: number;
  /** A session without streams for this long is closed (undici's keepAliveTimeout). */
  idleMs?: number;
  /** proxy-ssl-* (upstream-tls.ts): the authority, client certificate and name check of a GRPCS upstream; the SNI
   * is proxy-ssl-server-name's choice alone. Absent: not verified, as nginx's grpc_ssl_verify off. */
  tls?: UpstreamTlsDial;
}

export class H2Upstream {
  private session: http2.ClientHttp2Session | null = null;
  private open = 0;
  private idle: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: H2UpstreamOptions) {}

  private connect(): http2.ClientHttp2Session {
    const s0 = this.session;
    if (s0 !== null && !s0.closed && !s0.destroyed) return s0;
    const { origin, connectMs } = this.o;
    // nginx's grpc_ssl_verify is off by default and sends no SNI unless grpc_ssl_server_name is on; an address
    // origin makes Node send none either.
    const tls = this.o.tls;
    const s = http2.connect(
      origin,
      !origin.startsWith('https:')
        ? {}
        : tls === undefined
          ? { rejectUnauthorized: false, ALPNProtocols: ['h2'] }
          : { ...tls.options, ALPNProtocols: ['h2'], ...(tls.servername === null ? {} : { servername: tls.servername }) },
    );
    const timer = setTimeout(() => s.destroy(new H2ConnectTimeoutError(connectMs)), connectMs);
    s.once('connect', () => clearTimeout(timer));
    s.once('close', () => {
      clearTimeout(timer);
      if (this.session === s) this.session = null;
    });
    s.once('goaway', () => {
      if (this.session === s) this.session = null; // streams in flight finish; new ones get a new session
    });
    s.on('error', () => {}); // each stream gets the error that ended the session
    this.session = s;
    return s;
  }

  dispatch(opts: Dispatcher.DispatchOptions, h: Dispatcher.DispatchHandler): boolean {
    const session = this.connect();
    const headers: http2.OutgoingHttpHeaders = {
      ':method': opts.method,
      ':path': opts.path,
      ':scheme': this.o.origin.startsWith('https:') ? 'https' : 'http',
    };
    const flat = opts.headers as string[];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const k = flat[i]!.toLowerCase();
      if (k === 'host') headers[':authority'] = flat[i + 1]!;
      else if (k === 'te') {
        if (flat[i + 1]!.trim().toLowerCase() === 'trailers') headers.te = 'trailers';
      } else if (!CONNECTION_SPECIFIC.has(k)) {
        const prev = headers[k];
        headers[k] = prev === undefined ? flat[i + 1]! : ([] as string[]).concat(prev as string | string[], flat[i + 1]!);
      }
    }
    const body = opts.body as Body;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: body == null });
    } catch (err) {
      // A field node:http2 will not send (an invalid name or value for HTTP/2): nothing reached the upstream.
      h.onError?.(err as Error);
      return true;
    }
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    this.open++;
    new H2Exchange(stream, h, opts.headersTimeout ?? this.o.headersMs, opts.bodyTimeout ?? this.o.bodyMs, () => this.release());
    // The body is read only once the stream is open: a connect that fails has then consumed none of it, so the
    // retry policy may still move the request to the next endpoint (undici's Pool behaves the same way).
    if (body != null) {
      if (stream.pending) stream.once('ready', () => void writeBody(stream, body));
      else void writeBody(stream, body);
    }
    return true;
  }

  private release(): void {
    if (--this.open > 0 || this.closed) return;
    const s = this.session;
    if (s !== null) this.idle = setTimeout(() => s.close(), this.o.idleMs ?? 4_000);
  }

  /** Closes the session once its streams ended. */
  close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    if (this.idle !== null) clearTimeout(this.idle);
    if (s === null || s.closed) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  destroy(): Promise<void> {
    this.closed = true;
    if (this.idle !== null) clearTimeout(this.idle);
    this.session?.destroy();
    return Promise.resolve();
  }
}

/** The request body, one chunk at a time, each after the stream drained (HTTP/2 flow control reaches the client).
 * A failing source (proxy-body-size, a client gone) resets the stream with that error, as undici does. */
async function writeBody(stream: http2.ClientHttp2Stream, body: Buffer | AsyncIterable<Buffer>): Promise<void> {
  if (Buffer.isBuffer(body)) {
    if (!stream.destroyed) stream.end(body);
    return;
  }
  try {
    for await (const chunk of body) {
      if (stream.destroyed) return;
      if (!stream.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            stream.off('drain', done);
            stream.off('close', done);
            resolve();
          };
          stream.on('drain', done);
          stream.on('close', done);
        });
      }
    }
    if (!stream.destroyed) stream.end();
  } catch (err) {
    if (!stream.destroyed) stream.destroy(err as Error);
  }
}

/** A stream still waiting for its session when the session failed reports ERR_HTTP2_STREAM_CANCEL with the
 * session's error as the cause (a refused or timed-out connect): the cause is what the retry policy must see, as
 * nothing reached the upstream. */
function sessionCause(err: Error): Error {
  const { code, cause } = err as Error & { code?: unknown };
  return code === 'ERR_HTTP2_STREAM_CANCEL' && cause instanceof Error ? cause : err;
}

/** One request's stream and its handler: response headers, data with back-pressure, trailers at the end. */
class H2Exchange {
  private done = false;
  private trailers: http2.IncomingHttpHeaders | null = null;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly h: Dispatcher.DispatchHandler,
    headersMs: number,
    private readonly bodyMs: number,
    private readonly release: () => void,
  ) {
    if (headersMs > 0) stream.setTimeout(headersMs, () => this.fail(new H2HeadersTimeoutError(headersMs)));
    stream.once('response', (hdrs) => this.onResponse(hdrs));
    stream.on('data', (chunk: Buffer) => {
      if (!this.done && this.h.onData?.(chunk) === false) stream.pause();
    });
    // Kept for 'end': data paused for back-pressure may still be buffered when the trailers arrive.
    stream.once('trailers', (t) => {
      this.trailers = t;
    });
    stream.once('end', () => this.finish());
    stream.once('error', (err) => this.fail(sessionCause(err)));
    stream.once('close', () => {
      this.release();
      this.fail(new H2StreamClosedError(stream.rstCode ?? 0));
    });
    // undici calls onConnect once the connection carries the request; the forwarder counts the body as sent from
    // then on (no retry after it). A stream waiting for its session (a connect that may still be refused) is not
    // there yet: so only once it has its id.
    const connected = (): void => h.onConnect?.((err?: Error) => this.fail(err ?? new H2AbortedError()));
    if (stream.pending) stream.once('ready', connected);
    else connected();
  }

  private onResponse(hdrs: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
    if (this.done) return;
    const stream = this.stream;
    stream.setTimeout(0);
    const ms = this.bodyMs;
    if (ms > 0) stream.setTimeout(ms, () => this.fail(new H2BodyTimeoutError(ms)));
    const raw: string[] = [];
    for (const [k, v] of Object.entries(hdrs)) {
      if (k.charCodeAt(0) === 58 /* : */ || v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) raw.push(k, one);
      else raw.push(k, String(v));
    }
    const resume = (): void => void stream.resume();
    if (this.h.onHeaders?.(hdrs[':status'] ?? 502, raw as unknown as Buffer[], resume, '') === false) stream.pause();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    const t: Record<string, string | string[]> = {};
    if (this.trailers !== null) for (const [k, v] of Object.entries(this.trailers)) if (v !== undefined && k.charCodeAt(0) !== 58) t[k] = v;
    this.h.onComplete?.(t as unknown as string[]);
  }

  private fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    // CANCEL tells the upstream the request is abandoned (a gRPC server cancels the call: RFC 9113 8.7).
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.h.onError?.(err);
  }
}
