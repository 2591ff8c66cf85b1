// The forwarder of the Web runtimes (Deno, workerd): fetch() to one endpoint of the backend, the same
// header rules as the Node forwarder (headers.ts, applied to flat lists built from Web Headers), round
// robin with failover as retry-policy.ts decides (the same rule as the Node forwarder and the tunnel), 502/504 as
// the gateway's own answers, bodies streamed both ways (duplex: 'half'), redirects passed through to the client
// (redirect: 'manual').
import { CLIENT_SEND_MS, ClientSendTimeoutError } from './client-send.ts';
import type { ForwardRequest } from '../app.ts';
import type { RoundRobin } from '../balance.ts';
import { pickEndpoint, responseCookie } from '../affinity.ts';
import { classifyUpstreamError, UpstreamError } from '../errors.ts';
import { ERROR_PAGE_TARGET, errorPageHeaders, pageServable } from '../error-pages.ts';
import type { Metrics } from '../metrics.ts';
import { plainResponse } from '../responses.ts';
import { ENDPOINT_HEADER, endpointKey, ERROR_HEADER, TunnelReportedError } from '../table/tunnel-protocol.ts';
import { downstreamResponseHeaders, requestIdFor, upstreamRequestHeaders, withOverrides, withResponseAdditions } from './headers.ts';
import { limitedStream } from './body-limit.ts';
import { type FailedAttempt, isIdempotent, retryDecision, routeRetryDecision, statusRetryDecision } from './retry-policy.ts';

/** fetch() as the runtime provides it; `init` may carry runtime extras (Deno's `client`). */
export type FetchLike = (url: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>;

export interface WebForwarderDeps {
  fetch: FetchLike;
  balancer: RoundRobin;
  metrics: Metrics;
  /** From sending the request to the upstream's response headers (connect included: fetch() does not
   * tell connecting from waiting); over it the client gets 504. */
  headersMs: number;
  /** Longest silence between two response body chunks; over it the response is cut off (the client
   * sees a broken response, not a short one) and the upstream request aborted. null: no limit. */
  bodyMs: number | null;
  /** `--send-timeout`: longest wait for the client to take the next chunk of a streamed body (default CLIENT_SEND_MS,
   * nginx's send_timeout; client-send.ts); over it the upstream request is aborted. */
  sendMs?: number;
  /** Set where the runtime ends a response normally when its body stream errors (workerd sends the last chunk of a
   * chunked body all the same): a stream that holds the response at its declared length, so a body cut off by the
   * timers is short of it and the client sees it broken. Bodies without a declared length are then not timed (a cut
   * would pass for their end). Absent (Deno): an errored body stream breaks the connection. */
  keepLength?: (length: number) => TransformStream<Uint8Array, Uint8Array>;
  /** The runtime's fetch() decodes gzip/br bodies but keeps Content-Encoding (Deno 2.9): the response
   * must then go out without Content-Encoding and Content-Length, or the client would decode twice. */
  decodesBodies: boolean;
  /** `http://127.0.0.1:PORT` of the node-local tunnel (gateway/tunnel): every request goes there, naming its
   * endpoint in a header, so a sandboxed runtime needs no network access beyond loopback. */
  tunnel?: string;
  onUpstreamError?: (err: UpstreamError) => void;
}

/** Connect failures as Deno (hyper: "tcp connect error", "Connection refused") and workerd word them. */
const CONNECT_FAILURE = /connect error|connection refused|os error 11[0-3]|unreachable|failed to connect|dns error/i;

export function classifyFetchError(err: unknown, endpoint: string, timedOut: boolean): UpstreamError {
  if (timedOut) return new UpstreamError('PORTICO_UPSTREAM_TIMEOUT', endpoint, err);
  const text = err instanceof Error ? `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}` : String(err);
  if (CONNECT_FAILURE.test(text)) return new UpstreamError('PORTICO_UPSTREAM_CONNECT', endpoint, err);
  return new UpstreamError('PORTICO_UPSTREAM_RESET', endpoint, err);
}

/** Web Headers as the flat `[name, value, ...]` list headers.ts works on (Set-Cookie stays one field
 * per cookie: Headers iteration yields them separately). */
function flat(h: Headers): string[] {
  const out: string[] = [];
  h.forEach((value, name) => {
    if (name !== 'set-cookie') out.push(name, value);
  });
  for (const c of h.getSetCookie()) out.push('set-cookie', c);
  return out;
}

function toHeaders(list: readonly string[], skip: ReadonlySet<string> | null): Headers {
  const h = new Headers();
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (skip === null || !skip.has(name.toLowerCase())) h.append(name, list[i + 1]!);
  }
  return h;
}

/** The upstream request's headers as a record (names lower-cased, repeated names joined with ", " as Headers.append
 * joins them: RFC 9110 5.3). fetch() builds a Request from its init, and a record is the init it converts fastest:
 * Deno converts a Headers object as a sequence of pairs (measured: ~45 µs against ~12 µs for a record of 11 names). */
function toRecord(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    const had = out[name];
    out[name] = had === undefined ? list[i + 1]! : `${had}, ${list[i + 1]!}`;
  }
  return out;
}

const DECODED_SKIP = new Set(['content-encoding', 'content-length']);

export async function webForward(deps: WebForwarderDeps, request: Request, req: ForwardRequest): Promise<Response> {
  const { backend, facts } = req;
  // default-backend: no ready endpoint, so the error backend's page for 503 (decide() checked it can be fetched).
  if (req.errorPage !== undefined && backend.endpoints.length === 0) return errorPage(deps, request, req, 503);
  const requestId = req.requestId ?? requestIdFor(request.headers.get('x-request-id') ?? undefined, () => crypto.randomUUID());
  const upstream = upstreamRequestHeaders(flat(request.headers), request.headers.get('connection') ?? undefined, { ...facts, requestId });
  const headers = toRecord(req.upstreamHeaders === undefined ? upstream : withOverrides(upstream, req.upstreamHeaders));
  const up = req.upstream;
  if (req.upstreamTls !== undefined) {
    // proxy-ssl-*: fetch() takes neither a CA of the route's own nor a client certificate, nor can it skip or narrow
    // the name check: the route fails closed (503) rather than reach the upstream without the TLS it asks for.
    deps.metrics.request(req.label, 503);
    return plainResponse(503);
  }
  if (up?.backendProtocol !== undefined) {
    // backend-protocol: fetch() verifies every TLS certificate (a pod address is in none: nginx's default is not to
    // verify) and cannot speak HTTP/2 with prior knowledge (h2c) nor pass trailers back; sending HTTP/1.1 in
    // cleartext instead would reach the upstream in a protocol it does not speak. 502, as nginx for a failed upstream.
    deps.metrics.request(req.label, 502);
    return plainResponse(502);
  }
  // proxy-read-timeout: the route's own wait for headers (connect included: fetch() does not tell them apart) and
  // between body chunks. proxy-connect-timeout and proxy-send-timeout have no handle in fetch() (runtime cases).
  const headersMs = up?.timeouts?.readMs ?? deps.headersMs;
  const bodyMs = up?.timeouts?.readMs ?? deps.bodyMs;
  let over = false; // the streamed body went over proxy-body-size (a declared length over it got 413 in app.ts)
  const sent = request.method === 'GET' || request.method === 'HEAD' ? null : request.body;
  const body =
    sent === null || up?.bodyLimit === undefined
      ? sent
      : limitedStream(sent, up.bodyLimit, () => {
          over = true;
        });
  // affinity / upstream-hash-by choose the first endpoint themselves; every other route goes round robin.
  const pick = up === undefined ? null : pickEndpoint(backend, up, facts, request.method, Date.now());
  const first = pick === null ? deps.balancer.start(backend) : pick.first;
  const n = backend.endpoints.length;
  const begun = performance.now();
  /** What a route's retry policy sees of attempt k (proxy-next-upstream*). */
  const attemptFacts = (k: number, code: FailedAttempt['code']): FailedAttempt => ({
    code,
    // fetch() took the body stream: a failed attempt leaves it locked or partly read, so it cannot be sent again.
    bodyStreamed: body !== null,
    responseStarted: false, // fetch() has not resolved: no response yet
    idempotent: isIdempotent(request.method),
    attempts: k + 1,
    endpoints: n,
    peerAvailable: false, // the Web runtimes do not read peer clusters' tables
    tries: k + 1,
    elapsedMs: performance.now() - begun,
  });
  for (let k = 0; ; k++) {
    const endpoint = endpointKey(backend.endpoints[(first + k) % n]!);
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, headersMs);
    const started = performance.now();
    try {
      if (deps.tunnel !== undefined) headers[ENDPOINT_HEADER.toLowerCase()] = endpoint;
      const res = await deps.fetch(deps.tunnel === undefined ? `http://${endpoint}${req.target}` : `${deps.tunnel}${req.target}`, {
        method: request.method,
        headers,
        body,
        redirect: 'manual',
        signal: abort.signal,
        ...(body !== null ? { duplex: 'half' as const } : {}),
      });
      clearTimeout(timer);
      // The tunnel's own answer (it could not dial, or refused): handled as if this worker had dialled.
      const reported = deps.tunnel !== undefined && res.status >= 400 ? res.headers.get(ERROR_HEADER) : null;
      if (reported !== null) {
        await res.body?.cancel();
        throw new TunnelReportedError(reported.slice(0, 64));
      }
      // proxy-next-upstream http_NNN: this answer is dropped for the next endpoint's, when the policy lets it.
      if (
        up?.retry !== undefined &&
        res.status >= 403 &&
        statusRetryDecision(res.status, attemptFacts(k, 'PORTICO_UPSTREAM_PROTOCOL'), up.retry) !== null
      ) {
        await res.body?.cancel();
        continue;
      }
      // custom-http-errors: this answer is dropped for the error backend's page.
      if (req.errorPage?.statuses.includes(res.status)) {
        await res.body?.cancel();
        return errorPage(deps, request, req, res.status);
      }
      deps.metrics.upstreamLatency(backend.id, (performance.now() - started) / 1000);
      deps.metrics.request(req.label, res.status);
      const encoded = deps.decodesBodies && res.headers.has('content-encoding');
      const head = withResponseAdditions(downstreamResponseHeaders(flat(res.headers)), req.responseHeaders, res.status);
      const cookie =
        pick === null || up?.affinity === undefined
          ? null
          : responseCookie(backend, up, pick, (first + k) % n, facts, request.method, Date.now());
      if (cookie !== null) head.push('set-cookie', cookie);
      let out: ReadableStream<Uint8Array> | Uint8Array | null = res.body;
      // The declared length (none for a decoded body: gzip may be far larger than declared).
      const length = encoded ? Number.NaN : Number(res.headers.get('content-length') ?? Number.NaN);
      // Where only a body of declared length can be cut visibly (workerd), a body without one is not timed.
      if (res.body !== null && bodyMs !== null && (deps.keepLength === undefined || Number.isFinite(length))) {
        const guard = new BodyGuard(deps, bodyMs, deps.sendMs ?? CLIENT_SEND_MS, backend.id, abort, endpoint);
        // A small body of declared length is read whole before the answer (never throws: a failure gives a stream that
        // breaks off): the runtime reads it natively in one go and writes bytes, instead of pulling every chunk
        // through JS. A gated request ends only once the client has read it all: it streams.
        out = length <= WHOLE_BODY_MAX && req.onDone === undefined ? await guard.whole(res) : guard.stream(res.body.getReader());
        if (deps.keepLength !== undefined && !(out instanceof Uint8Array)) out = out.pipeThrough(deps.keepLength(length));
      }
      if (out === null) req.onDone?.();
      return new Response(req.onDone === undefined || out === null || out instanceof Uint8Array ? out : endsThen(out, req.onDone), {
        status: res.status,
        headers: toHeaders(head, encoded ? DECODED_SKIP : null),
      });
    } catch (err) {
      clearTimeout(timer);
      const e = err instanceof TunnelReportedError ? classifyUpstreamError(err, endpoint) : classifyFetchError(err, endpoint, timedOut);
      if (over) {
        deps.metrics.request(req.label, 413);
        req.onDone?.();
        return plainResponse(413);
      }
      const d = up?.retry === undefined ? retryDecision(attemptFacts(k, e.code)) : routeRetryDecision(attemptFacts(k, e.code), up.retry);
      deps.metrics.upstreamError(backend.id, d.label);
      deps.onUpstreamError?.(e);
      if (d.action === 'next-endpoint') continue;
      const status = d.action === 'answer' ? d.status : 502;
      deps.metrics.request(req.label, status);
      req.onDone?.();
      return plainResponse(status);
    }
  }
}

/** The error page request for `code` (error-pages.ts): `/` on the error backend, without the request body, with the
 * X-Code headers, its answer passed on as it is (never intercepted again); the gateway's own answer with `code` when
 * there is no page to fetch. */
function errorPage(deps: WebForwarderDeps, request: Request, req: ForwardRequest, code: number): Promise<Response> | Response {
  const page = req.errorPage!;
  if (!pageServable(page)) {
    deps.metrics.request(req.label, code);
    req.onDone?.();
    return plainResponse(code);
  }
  const { errorPage: _e, upstream: _u, cluster: _c, ...rest } = req;
  const bodiless = new Request(request.url, { method: request.method, headers: request.headers });
  return webForward(deps, bodiless, {
    ...rest,
    backend: page.backend,
    target: ERROR_PAGE_TARGET,
    upstreamHeaders: [...(req.upstreamHeaders ?? []), ...errorPageHeaders(code, page)],
  });
}

/** `body` as the client reads it, calling `done` once it has ended, failed, or been cancelled by a client that
 * went away: when the request holds something until its response is over (a limit-connections slot). */
function endsThen(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          done();
          ctl.close();
        } else ctl.enqueue(chunk.value);
      } catch (err) {
        done();
        ctl.error(err);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
}

/** Declared response bodies up to this length are read whole before the answer goes out, as nginx's proxy_buffering
 * reads an upstream answer into its buffers (proxy_buffers 8 4k|8k by default) before sending it. */
export const WHOLE_BODY_MAX = 64 * 1024;

/** The body timers of one streamed response: `ms` (the Node forwarder's bodyTimeout, nginx's proxy_read_timeout) for
 * each read from the upstream, and `sendMs` (nginx's send_timeout) for each wait on the client to take the next chunk.
 * Over either, the upstream request is aborted and the body the client reads errors (a response already begun is cut
 * off, never retried: retry-policy.ts); an upstream silence is counted and logged as the Node forwarder counts its
 * body timeout. A client slow to read is not the upstream's silence, and the upstream waiting on a slow client is not
 * the client's: each wait is timed by its own bound.
 *
 * One timer per response, armed when its body starts and re-armed only when it fires early: a read or a pull just
 * moves `since`. The timer belongs to this request (workerd runs a timer and the I/O it touches in the request that
 * created them, and cancels them when that request ends: a timer shared across requests could abort one request's
 * fetch from another's context, or die with the request that started it). */
class BodyGuard {
  /** When the current wait began (a read from the upstream, or the client's next pull). */
  private since = performance.now();
  /** A read from the upstream is pending (else: the client has not pulled the next chunk yet). */
  private reading = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private error: UpstreamError | ClientSendTimeoutError | null = null;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private rejectCut: ((e: Error) => void) | null = null;
  /** The stream the client reads (stream()): errored by a cut at once, not at its next pull, which a client that
   * reads nothing never makes. */
  private client: ReadableStreamDefaultController<Uint8Array> | null = null;

  constructor(
    private readonly deps: WebForwarderDeps,
    private readonly ms: number,
    private readonly sendMs: number,
    private readonly backendId: string,
    private readonly upstream: AbortController,
    private readonly endpoint: string,
  ) {
    this.timer = setTimeout(this.tick, Math.min(ms, sendMs));
  }

  private readonly tick = (): void => {
    const limit = this.reading ? this.ms : this.sendMs;
    const left = this.since + limit - performance.now();
    if (left > 0) this.timer = setTimeout(this.tick, left);
    else this.cut();
  };

  /** The body has ended, failed or been cancelled: no more timing. */
  private done(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private cut(): void {
    this.timer = undefined;
    const e = this.reading
      ? new UpstreamError('PORTICO_UPSTREAM_TIMEOUT', this.endpoint, new Error(`no response body data for ${this.ms} ms`))
      : new ClientSendTimeoutError(this.sendMs);
    this.error = e;
    if (e instanceof UpstreamError) {
      this.deps.metrics.upstreamError(this.backendId, e.code);
      this.deps.onUpstreamError?.(e);
    }
    // Aborting the fetch errors its body in Deno and workerd; the cancel ends a pending read whatever the runtime
    // does with the abort, and read() throws `e` either way.
    this.upstream.abort();
    this.reader?.cancel(e).catch(() => {});
    this.rejectCut?.(e);
    this.client?.error(e); // a no-op on a stream already closed or errored
  }

  /** Rejects when the timer cuts the body. */
  private cutOff(): Promise<never> {
    return new Promise<never>((_, reject) => {
      this.rejectCut = reject;
    });
  }

  /** One read under the timer; rejects with the timeout's error once it has fired. */
  async read(reader: ReadableStreamDefaultReader<Uint8Array>): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
    if (this.error !== null) throw this.error;
    this.reader = reader;
    this.since = performance.now();
    this.reading = true;
    try {
      const r = await reader.read();
      // Cancelled by the timer: a pending read then ends as if the body had, which must not pass for its end.
      if (this.error !== null) throw this.error;
      if (r.done) this.done();
      return r;
    } catch (err) {
      this.done();
      throw this.error ?? err;
    } finally {
      this.reading = false;
      this.since = performance.now();
    }
  }

  /** The whole body of `res` (declared at most WHOLE_BODY_MAX bytes) as bytes, read by the runtime in one go (Deno and
   * workerd collect a fetch() body natively: one promise, no chunk through JS), under one wait of the timer: such a
   * body must arrive whole within `ms`. When it does not, or fails, a stream that breaks off at once. */
  async whole(res: Response): Promise<Uint8Array | ReadableStream<Uint8Array>> {
    this.since = performance.now();
    this.reading = true;
    const read = res.arrayBuffer();
    try {
      // The timer's cut rejects `cutOff` (a stream the runtime does not end on abort would leave `read` pending).
      const bytes = await Promise.race([read, this.cutOff()]);
      this.done();
      return new Uint8Array(bytes);
    } catch (err) {
      this.done();
      read.catch(() => {}); // ended by the abort, after the race
      return brokenBody(this.error ?? err);
    } finally {
      this.reading = false;
    }
  }

  /** `reader`'s chunks, each read under the timer. */
  stream(reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (ctl) => {
          this.client = ctl;
        },
        pull: async (ctl) => {
          try {
            const r = await this.read(reader);
            if (r.done) ctl.close();
            else ctl.enqueue(r.value);
          } catch (err) {
            ctl.error(err);
          }
        },
        cancel: (reason) => {
          this.done();
          return reader.cancel(reason);
        },
      },
      // No chunk read ahead of the client: pull() is called when the client has taken the last one, so the time
      // between pulls is the client's (sendMs), and a read pending is the upstream's (ms).
      { highWaterMark: 0 },
    );
  }
}

/** A body that errors with `err` when first read: the client sees a response that breaks off (errored from pull: a
 * stream errored before the runtime reads it may be refused as a body). */
function brokenBody(err: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      ctl.error(err);
    },
  });
}
