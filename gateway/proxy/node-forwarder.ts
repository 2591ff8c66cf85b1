// The Node fast path: the Hono handler hands the request to an undici Pool with a raw dispatch handler
// and writes the upstream response straight into Node's response object, streaming both bodies with
// back-pressure and never building Web Request/Response objects (about twice the throughput of returning
// a Web Response, measured on one core with the proxy benchmark). Behaviour is the same as a fetch-based
// forwarder.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Context } from 'hono';
import type { Dispatcher } from 'undici';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { TlsClientConnection } from '../access/client-certificate.ts';
import { forwardedFacts, proxiedFacts, type TrustedProxies } from '../access/client-address.ts';
import type { ForwardRequest, ListenerPorts, RuntimeBindings } from '../app.ts';
import { proxiedConnection } from '../runtime/node-proxy-protocol.ts';
import { CLIENT_SEND_MS } from './client-send.ts';
import { type AccessRecord, recordOf } from '../runtime/node-access-log.ts';
import type { RoundRobin } from '../balance.ts';
import { type EndpointPick, pickEndpoint, responseCookie } from '../affinity.ts';
import { peerDecision, type PeerTable, type RequestFacts } from '../decide.ts';
import { classifyUpstreamError, type UpstreamError } from '../errors.ts';
import { ERROR_PAGE_TARGET, errorPageHeaders, pageServable } from '../error-pages.ts';
import type { Metrics } from '../metrics.ts';
import { SERVER_NAME, statusBody } from '../responses.ts';
import { downstreamResponseHeaders, requestIdFor, upstreamRequestHeaders, withOverrides, withResponseAdditions } from './headers.ts';
import type { UpstreamPools } from './pools.ts';
import { upstreamTlsDial } from './upstream-tls.ts';
import { isTrailersOnly, stageHead } from './trailers-only.ts';
import { BodyTooLargeError, guardedBody } from './body-limit.ts';
import { ClientGoneError, clientGone } from './client-state.ts';
import { consistentH2Body, MalformedBodyError, malformedWhole, refuseMalformed } from './h2-body.ts';
import { UpstreamQueueTimeoutError } from './pool-queue.ts';
import { type ClientBody, type ClientBodyLimits, ClientBodyTimeoutError, DEFAULT_CLIENT_BODY, readClientBody } from './client-body.ts';
import { isIdempotent, retryDecision, routeRetryDecision, statusRetryDecision, type FailedAttempt } from './retry-policy.ts';
import type { Endpoint, RoutePolicies } from '../table/schema.ts';
import { tlsClientOf } from '../tls/peer-certificate.ts';
import { HOP_BY_HOP } from '../shared/hop-by-hop.ts';
import { BACKEND_HEADER, ENDPOINT_HEADER, endpointKey, PEER_HEADER, tunnelErrorOf } from '../table/tunnel-protocol.ts';

export type NodeEnv = {
  Bindings: { incoming: IncomingMessage | Http2ServerRequest; outgoing: ServerResponse | Http2ServerResponse };
};

export interface NodeForwarderDeps {
  pools: UpstreamPools;
  /** Peer clusters to fail over to when no local endpoint could take the request (retry-policy.ts; needs the tunnel). */
  peers?: readonly PeerTable[];
  balancer: RoundRobin;
  metrics: Metrics;
  /** Called with each failed upstream attempt (for logs). */
  onUpstreamError?: (err: UpstreamError) => void;
  /** Proxies whose forwarding headers are believed; null or absent: the client is the TCP peer. */
  trust?: TrustedProxies | null;
  /** Every connection began with a PROXY header from one of `trust` (runtime/node-proxy-protocol.ts): the
   * client is the one it names, and forwarding headers are not believed. */
  proxyProtocol?: boolean;
  /** client-body-timeout and client-body-buffer-size (client-body.ts); absent: DEFAULT_CLIENT_BODY. */
  clientBody?: ClientBodyLimits;
  /** `--send-timeout`: the longest the client may leave an answer unread (client-send.ts); absent: CLIENT_SEND_MS. */
  sendMs?: number;
}

/** Client address without the IPv4-mapped prefix Node reports on dual-stack sockets. */
function clientAddress(raw: string | undefined): string {
  if (raw === undefined) return '';
  return raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
}

/** Facts about a Node request; `scheme` and `port` are those of the listener it arrived on, unless a trusted
 * proxy (`trust`) vouches for others. */
export function nodeFacts(
  incoming: IncomingMessage | Http2ServerRequest,
  scheme: 'http' | 'https',
  port: number,
  trust: TrustedProxies | null = null,
  proxyProtocol = false,
): RequestFacts {
  const facts = listenerFacts(incoming, scheme, port);
  if (trust === null) return facts;
  if (proxyProtocol) {
    const p = proxiedFacts(proxiedConnection(incoming.socket), facts.clientIp, (name) => headerValue(incoming.headers[name]), trust);
    return {
      ...facts,
      clientIp: p.clientIp,
      forwardedFor: p.forwardedFor,
      ...(p.scheme === undefined ? {} : { scheme: p.scheme }),
      ...(p.port === undefined ? {} : { localPort: p.port }),
    };
  }
  const f = forwardedFacts(facts.clientIp, (name) => headerValue(incoming.headers[name]), trust);
  if (f === null) return facts;
  return {
    ...facts,
    clientIp: f.clientIp,
    forwardedFor: f.forwardedFor,
    ...(f.scheme === undefined ? {} : { scheme: f.scheme }),
    ...(f.port === undefined ? {} : { localPort: f.port }),
    ...(f.host === undefined ? {} : { forwardedHost: f.host }),
    trustedForwarder: true,
  };
}

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v);

function listenerFacts(incoming: IncomingMessage | Http2ServerRequest, scheme: 'http' | 'https', port: number): RequestFacts {
  let url = incoming.url ?? '/';
  let host = incoming.headers.host ?? (incoming.headers[':authority'] as string | undefined) ?? '';
  if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
    // absolute-form request target (RFC 9112 3.2.2): the target's authority replaces Host.
    try {
      const u = new URL(url);
      host = u.host;
      url = u.pathname + u.search;
    } catch {
      url = '/';
    }
  }
  const q = url.indexOf('?');
  return {
    host,
    path: q === -1 ? url : url.slice(0, q),
    search: q === -1 ? '' : url.slice(q),
    scheme,
    clientIp: clientAddress(incoming.socket?.remoteAddress),
    localPort: port,
    tlsClient: scheme === 'https' ? tlsClientOfRequest(incoming) : null,
    header: headerReader(incoming),
  };
}

/** The request's header reader. Made by a factory so the arrow has no name of its own: under tsx (esbuild's
 * keepNames) a named closure costs an Object.defineProperty per request. */
function headerReader(incoming: IncomingMessage | Http2ServerRequest): (name: string) => string | undefined {
  return (name) => headerValue(incoming.headers[name]);
}

/** The connection's client-certificate facts: HTTP/1.1 on the TLS socket itself, HTTP/2 on the session (its
 * `socket` is a proxy that forwards reads to the TLS socket). */
function tlsClientOfRequest(incoming: IncomingMessage | Http2ServerRequest): TlsClientConnection {
  if ('stream' in incoming) {
    const session = incoming.stream.session;
    if (session?.socket !== undefined) return tlsClientOf(session, session.socket as TLSSocket);
  }
  return tlsClientOf(incoming.socket, incoming.socket as TLSSocket);
}

export function hasRequestBody(incoming: IncomingMessage | Http2ServerRequest): boolean {
  if ('stream' in incoming) return !incoming.stream.endAfterHeaders;
  const h = incoming.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

function writeHeadTo(out: ServerResponse | Http2ServerResponse, status: number, flat: string[]): void {
  if ('stream' in out) {
    // HTTP/2 compat responses take an object; repeated names (set-cookie) become arrays.
    const obj: Record<string, string | string[]> = {};
    for (let i = 0; i < flat.length; i += 2) {
      const k = flat[i]!.toLowerCase();
      const prev = obj[k];
      obj[k] = prev === undefined ? flat[i + 1]! : Array.isArray(prev) ? [...prev, flat[i + 1]!] : [prev, flat[i + 1]!];
    }
    out.writeHead(status, obj);
  } else {
    out.writeHead(status, flat);
  }
}

/** The upstream's trailer fields without hop-by-hop ones; undici gives HTTP/1.1 trailers as raw pairs, HTTP/2 ones
 * as an object. */
function addTrailersTo(out: ServerResponse | Http2ServerResponse, trailers: (Buffer | string)[] | Record<string, string | string[]>): void {
  const obj: Record<string, string | string[]> = {};
  let any = false;
  if (Array.isArray(trailers))
    for (let i = 0; i + 1 < trailers.length; i += 2) any = addTrailer(obj, trailers[i]!.toString(), trailers[i + 1]!.toString()) || any;
  else for (const [k, v] of Object.entries(trailers)) any = addTrailer(obj, k, v) || any;
  if (any) out.addTrailers(obj);
}

/** Adds one trailer field to `obj` unless it is hop-by-hop or a pseudo-header; true when added. */
function addTrailer(obj: Record<string, string | string[]>, name: string, value: string | string[]): boolean {
  const k = name.toLowerCase();
  if (HOP_BY_HOP.has(k) || k.charCodeAt(0) === 58 /* : */) return false;
  const prev = obj[k];
  obj[k] = prev === undefined ? value : ([] as string[]).concat(prev, value);
  return true;
}

/** A status answer being dropped for the next endpoint (proxy-next-upstream http_NNN): ends that attempt. */
class MoveOn extends Error {}

/** `close`: the request body was left unread, so an HTTP/1.1 connection cannot carry another request (HTTP/2 has no
 * Connection header: ending the response resets the stream). */
function answerError(out: ServerResponse | Http2ServerResponse, status: number, close = false): void {
  const body = statusBody(status);
  const head = ['server', SERVER_NAME, 'content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
  if (close && !('stream' in out)) head.push('connection', 'close');
  writeHeadTo(out, status, head);
  out.end(body);
}

export function nodeBindings(deps: NodeForwarderDeps, scheme: 'http' | 'https', ports: ListenerPorts): RuntimeBindings<NodeEnv> {
  return {
    facts: (c) =>
      nodeFacts(
        c.env.incoming,
        scheme,
        scheme === 'http' ? ports.http : (ports.https ?? 0),
        deps.trust ?? null,
        deps.proxyProtocol === true,
      ),
    forward: (c, req) => forward(deps, c, req),
    observe: (c, facts, route) => recordOf(c.env.outgoing)?.facts(facts, route),
  };
}

function forward(deps: NodeForwarderDeps, c: Context<NodeEnv>, req: ForwardRequest): Response {
  new Exchange(deps, c.env.incoming, c.env.outgoing, req).start();
  return RESPONSE_ALREADY_SENT;
}

/** One client request and its upstream attempts. A class rather than closures: the request path
 * allocates one object and no functions per request (the handler methods live on the prototype). */
class Exchange implements Dispatcher.DispatchHandler {
  private first: number;
  /** The route's own endpoint choice (gateway/affinity.ts), or null: round robin. */
  private readonly pick: EndpointPick | null;
  /** The request body as undici reads it (client-body.ts): read whole before dispatch, or streamed past the buffer
   * size, through guardedBody() for a route with a body limit or a send timeout. null: no body (yet). */
  private body: Buffer | AsyncGenerator<Buffer> | null = null;
  /** The body is still being read before dispatch. */
  private reading: boolean;
  /** An attempt began writing the body to an upstream (undici called onConnect): from then on the request is not sent
   * again after a reset, whole body or not (retry-policy.ts's "body streamed"). */
  private bodySent = false;
  /** Attempts so far, across endpoints and peers, and when the first began (proxy-next-upstream-tries/-timeout). */
  private tries = 0;
  private begun = 0;
  /** Set while an upstream's status answer is dropped for the next endpoint (statusRetryDecision). */
  private movingOn = false;
  /** Peer clusters tried so far (only when this request fails over across clusters). */
  private tried: Set<string> | null = null;
  private headers: string[];
  /** custom-http-errors: the intercepted status whose answer is being read and dropped (0: none). */
  private intercepted = 0;
  private k = 0; // attempt number; endpoint = endpoints[(first + k) % n]
  private started = 0;
  private status = 0;
  private done = false;
  private abort: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  /** Armed while the client leaves the answer unread (back-pressure): past the send bound it is given up. */
  private sendTimer: NodeJS.Timeout | null = null;
  /** Armed while the attempt waits for a connection of a full pool (pool-queue.ts). */
  private queueTimer: NodeJS.Timeout | null = null;
  /** Set once the request is not to be written upstream after all (queue timeout, client gone): onConnect drops it. */
  private dropped = false;
  /** The access log's record of this request (runtime/node-access-log.ts), when it is logged. */
  private readonly rec: AccessRecord | undefined;

  constructor(
    private readonly deps: NodeForwarderDeps,
    private readonly incoming: IncomingMessage | Http2ServerRequest,
    private readonly outgoing: ServerResponse | Http2ServerResponse,
    private req: ForwardRequest,
  ) {
    // affinity / upstream-hash-by choose the first endpoint themselves; every other route goes round robin.
    this.pick =
      req.upstream === undefined ? null : pickEndpoint(req.backend, req.upstream, req.facts, incoming.method ?? 'GET', Date.now());
    this.first = this.pick === null ? deps.balancer.start(req.backend) : this.pick.first;
    this.reading = hasRequestBody(incoming);
    const requestId = req.requestId ?? requestIdFor(incoming.headers['x-request-id'] as string | undefined, randomUUID);
    const headers = upstreamRequestHeaders(incoming.rawHeaders, incoming.headers.connection as string | undefined, {
      ...req.facts,
      requestId,
    });
    this.headers = req.upstreamHeaders === undefined ? headers : withOverrides(headers, req.upstreamHeaders);
    this.rec = recordOf(outgoing);
    if (this.rec !== undefined) this.rec.requestId = requestId;
    // default-backend: no ready endpoint, so the error backend's page for 503 (decide() checked it can be fetched).
    if (req.errorPage !== undefined && req.backend.endpoints.length === 0) this.toErrorPage(503);
    // 'close' comes once per response: a plain `on` with one shared function (the exchange found under a symbol)
    // allocates neither a bound function nor once()'s wrapper per request.
    (outgoing as ExchangeCarrier)[EXCHANGE] = this;
    outgoing.on('close', exchangeClientClosed);
    // The response closes once it is sent or the client is gone; a client that left while the access gate was
    // deciding closed it already, and 'close' will not come again.
    if (req.onDone !== undefined && outgoing.destroyed) req.onDone();
  }

  /** Dispatches at once without a body; otherwise reads the body first (client-body.ts), then onBody dispatches. */
  start(): void {
    if (!this.reading) return this.attempt();
    const cl = this.incoming.headers['content-length'];
    const declared = cl === undefined ? undefined : Number(cl);
    const limits = this.deps.clientBody ?? DEFAULT_CLIENT_BODY;
    const protocol = this.req.upstream?.backendProtocol;
    // gRPC streams request messages (grpc_pass never buffers): only the timeout between reads applies.
    const grpc = protocol === 'GRPC' || protocol === 'GRPCS';
    readClientBody(this.incoming, grpc ? { ...limits, bufferSize: 0 } : limits, this.req.upstream?.bodyLimit ?? 0, declared, this);
  }

  onBody(r: ClientBody): void {
    this.reading = false;
    if (r.kind === 'gone' || this.outgoing.destroyed) {
      this.done = true;
      return;
    }
    if (r.kind === 'timeout' || r.kind === 'too-large') {
      // Nothing was dialled: the client gets the answer and its connection closes (the rest of the body is unread).
      this.done = true;
      const status = r.kind === 'timeout' ? 408 : 413;
      this.deps.metrics.request(this.req.label, status);
      return answerError(this.outgoing, status, true);
    }
    const up = this.req.upstream;
    const h2 = 'stream' in this.incoming ? this.incoming : null;
    if (r.kind === 'whole') {
      // HTTP/2: a body read whole that disagrees with its content-length, or whose stream was reset, is malformed
      // (RFC 9113 §8.1.1) and never dispatched (h2-body.ts).
      if (h2 !== null && malformedWhole(h2, r.body.length)) {
        this.done = true;
        this.deps.metrics.request(this.req.label, 400);
        return refuseMalformed(h2);
      }
      this.body = r.body;
    } else {
      // HTTP/2 bodies reach the upstream only whole and consistent with their content-length (h2-body.ts).
      const source = h2 === null ? r.body : consistentH2Body(h2, r.body);
      this.body =
        up === undefined || (up.bodyLimit === undefined && up.timeouts?.sendMs === undefined)
          ? source
          : guardedBody(source, up.bodyLimit ?? 0, up.timeouts?.sendMs ?? 0, (e) => this.abort?.(e));
    }
    this.attempt();
  }

  private get endpoint(): Endpoint {
    const eps = this.req.backend.endpoints;
    return eps[(this.first + this.k) % eps.length]!;
  }

  attempt(): void {
    // The client reset the stream (or left) before this request was sent: it is never sent.
    if (clientGone(this.incoming, this.outgoing)) {
      this.done = true;
      return;
    }
    this.started = performance.now();
    if (this.tries++ === 0) this.begun = this.started;
    const { pools } = this.deps;
    // Through the node-local tunnel the endpoint travels in a header; the tunnel checks it against its table.
    // A peer cluster's backend is named instead: that cluster's gateway picks the endpoint.
    const headers =
      this.req.cluster !== undefined
        ? this.headers.concat(PEER_HEADER, this.req.cluster, BACKEND_HEADER, this.req.backend.id)
        : pools.viaTunnel
          ? this.headers.concat(ENDPOINT_HEADER, endpointKey(this.endpoint))
          : this.headers;
    if (this.rec !== undefined)
      this.rec.upstream = this.req.cluster === undefined ? endpointKey(this.endpoint) : `${this.req.cluster}:${this.req.backend.id}`;
    const up = this.req.upstream;
    if (up === undefined) {
      const free = pools
        .get(this.endpoint)
        .dispatch(
          { path: this.req.target, method: this.incoming.method ?? 'GET', headers, body: this.body as IncomingMessage | null },
          this,
        );
      if (!free) this.waitForConnection();
      return;
    }
    this.dispatchWith(up, headers);
  }

  /** A route with its own timeouts (proxy-connect-timeout: its own pool; proxy-read-timeout: undici's
   * per-request headers and body timeouts, nginx's proxy_read_timeout covering both). */
  private dispatchWith(up: RoutePolicies, headers: string[]): void {
    const t = up.timeouts;
    const protocol = up.backendProtocol;
    if (protocol !== undefined && this.deps.pools.viaTunnel && this.req.cluster === undefined) {
      // The node-local tunnel dials in HTTP/1.1 over TCP: it would speak the wrong protocol to this upstream.
      this.done = true;
      this.deps.metrics.request(this.req.label, 502);
      return answerError(this.outgoing, 502);
    }
    const tls = this.req.upstreamTls === undefined ? undefined : upstreamTlsDial(this.req.upstreamTls, this.req.backend);
    const opts: Dispatcher.DispatchOptions & { servername?: string } = {
      path: this.req.target,
      method: this.incoming.method ?? 'GET',
      // gRPC requires `te: trailers` (gRPC over HTTP/2, "Requests"); nginx's grpc_pass sends it. The client's own
      // `te` is hop-by-hop and was dropped (RFC 9110 7.6.1).
      headers: protocol === 'GRPC' || protocol === 'GRPCS' ? headers.concat('te', 'trailers') : headers,
      // undici writes an async iterable body chunk by chunk, awaiting each write (its types omit iterables).
      body: this.body as IncomingMessage | null,
    };
    if (t?.readMs !== undefined) {
      opts.headersTimeout = t.readMs;
      opts.bodyTimeout = t.readMs;
    }
    // undici reconnects when a request's server name (its Host, by default) differs from the connection's: one name
    // per pool keeps the connections (the SNI actually sent is upstream-tls.ts's choice, pools.ts).
    if (tls !== undefined) opts.servername = tls.name;
    if (!this.deps.pools.get(this.endpoint, t?.connectMs, protocol, tls).dispatch(opts, this)) this.waitForConnection();
  }

  /** The pool was busy after this dispatch (undici's `dispatch` returned false): the request may be waiting in
   * its queue, so it gets --upstream-queue-timeout to be given a connection (pool-queue.ts). */
  private waitForConnection(): void {
    const ms = this.deps.pools.queueTimeoutMs;
    if (ms > 0 && this.queueTimer === null) this.queueTimer = setTimeout(queueTimedOut, ms, this);
  }

  /** Still waiting when the queue timeout fired: 503, and the request is dropped when its turn comes. */
  onQueueTimeout(): void {
    this.queueTimer = null;
    if (this.done) return;
    this.dropped = true;
    this.done = true;
    const e = new UpstreamQueueTimeoutError(endpointKey(this.endpoint), this.deps.pools.queueTimeoutMs);
    this.deps.metrics.upstreamError(this.backendLabel, e.code);
    if (clientGone(this.incoming, this.outgoing)) return;
    this.deps.metrics.request(this.req.label, 503);
    answerError(this.outgoing, 503);
  }

  private stopQueueTimer(): void {
    if (this.queueTimer !== null) {
      clearTimeout(this.queueTimer);
      this.queueTimer = null;
    }
  }

  /** The affinity cookie for the endpoint that answered, when sticky.lua would set one. */
  private addCookie(head: string[]): void {
    const req = this.req;
    const answered = (this.first + this.k) % req.backend.endpoints.length;
    const c = responseCookie(req.backend, req.upstream!, this.pick!, answered, req.facts, this.incoming.method ?? 'GET', Date.now());
    if (c !== null) head.push('set-cookie', c);
  }

  /** What the route's retry policy sees of this request so far (the failure fields are the caller's). */
  private attemptFacts(code: FailedAttempt['code']): FailedAttempt {
    const req = this.req;
    return {
      code,
      bodyStreamed: this.bodySent,
      responseStarted: this.status !== 0 || this.outgoing.headersSent,
      idempotent: isIdempotent(this.incoming.method ?? 'GET'),
      // A peer cluster's gateway picks the endpoint and fails over itself: one attempt per peer here.
      attempts: req.cluster === undefined ? this.k + 1 : 1,
      endpoints: req.cluster === undefined ? req.backend.endpoints.length : 1,
      peerAvailable: this.deps.peers !== undefined && this.deps.peers.length > 0 && this.deps.pools.viaTunnel,
      tries: this.tries,
      elapsedMs: performance.now() - this.begun,
    };
  }

  /** proxy-next-upstream http_NNN: drop this answer and ask the next endpoint or peer, when the policy lets it. */
  private moveOnFrom(code: number): boolean {
    const retry = this.req.upstream!.retry!;
    const next = statusRetryDecision(code, this.attemptFacts('PORTICO_UPSTREAM_PROTOCOL'), retry);
    if (next === null) return false;
    if (next === 'next-peer') {
      if (!this.failOver()) return false;
    } else this.k++;
    this.movingOn = true;
    this.abort?.(new MoveOn(`upstream answered ${code}`));
    return true;
  }

  /** Turns the exchange into the error page request for `code` (error-pages.ts): `/` on the error backend, without
   * the request body, with the X-Code headers; its answer is not intercepted again (nginx's error location has
   * proxy_intercept_errors off). False when there is no page to fetch. */
  private toErrorPage(code: number): boolean {
    const page = this.req.errorPage!;
    if (!pageServable(page)) return false;
    const { errorPage: _e, upstream: _u, cluster: _c, ...rest } = this.req;
    this.req = { ...rest, backend: page.backend, target: ERROR_PAGE_TARGET };
    this.headers = withOverrides(this.headers, errorPageHeaders(code, page));
    this.body = null;
    this.bodySent = false;
    this.reading = false;
    this.first = this.deps.balancer.start(page.backend);
    this.k = 0;
    return true;
  }

  /** custom-http-errors: the upstream's answer with an intercepted status is read to its end and dropped (so its
   * connection stays open for the next request: aborting would close it), then the error page is fetched, or the
   * gateway answers that status itself when there is no page to fetch. */
  private afterIntercepted(): void {
    const code = this.intercepted;
    this.intercepted = 0;
    if (this.outgoing.destroyed) {
      this.done = true;
      return;
    }
    if (this.toErrorPage(code)) return this.attempt();
    this.done = true;
    this.deps.metrics.request(this.req.label, code);
    answerError(this.outgoing, code);
  }

  /** Metrics label of the backend: a peer cluster's is prefixed with its cluster (ids repeat across clusters). */
  private get backendLabel(): string {
    return this.req.cluster === undefined ? this.req.backend.id : `${this.req.cluster}:${this.req.backend.id}`;
  }

  private failOver(): boolean {
    // A request the access gate let through answered to this cluster's rules; a peer would serve it under none.
    if (this.req.gated === true) return false;
    (this.tried ??= new Set()).add(this.req.cluster ?? '');
    const next = peerDecision(this.deps.peers!, this.req.facts, this.tried);
    if (next === null) return false;
    this.req = { ...this.req, backend: next.backend, target: next.target, cluster: next.cluster };
    this.k = 0;
    this.first = 0;
    return true;
  }

  onClientClose(): void {
    this.stopSendTimer();
    if (!this.done && this.abort !== null) this.abort(); // the client went away: stop the upstream exchange too
    this.req.onDone?.(); // the request has ended, sent or abandoned (the access gate's completion hook)
  }

  onConnect(abort: (err?: Error) => void): void {
    this.stopQueueTimer();
    // Answered 503 while queued, or the client is gone: thrown, undici fails this request before writing a byte
    // and keeps the connection (abort() would destroy it); onError ignores the error.
    if (this.dropped) throw new UpstreamQueueTimeoutError(endpointKey(this.endpoint), this.deps.pools.queueTimeoutMs);
    if (clientGone(this.incoming, this.outgoing)) {
      this.dropped = true;
      this.done = true;
      throw new ClientGoneError();
    }
    this.abort = abort;
    if (this.body !== null) this.bodySent = true;
    if (this.outgoing.destroyed) abort();
  }

  onHeaders(code: number, raw: Buffer[], resume: () => void): boolean {
    if (code < 200) return true; // 1xx interim responses are not forwarded
    if (this.rec !== undefined) {
      this.rec.upstreamStatus = code;
      this.rec.upstreamMs = performance.now() - this.started;
    }
    if (code >= 400 && this.deps.pools.viaTunnel) {
      // The tunnel's own answer (it could not dial, or refused): handled as if this worker had dialled.
      const reported = tunnelErrorOf(raw);
      if (reported !== null) {
        this.abort?.(reported);
        return false;
      }
    }
    if (code >= 403 && this.req.upstream?.retry !== undefined && this.moveOnFrom(code)) return false;
    if (this.req.errorPage?.statuses.includes(code)) {
      this.intercepted = code;
      this.resume = resume;
      return true;
    }
    this.status = code;
    this.resume = resume;
    this.deps.metrics.upstreamLatency(this.backendLabel, (performance.now() - this.started) / 1000);
    if (this.outgoing.destroyed) return false;
    const head = withResponseAdditions(downstreamResponseHeaders(raw), this.req.responseHeaders, code);
    if (this.pick !== null && this.req.cluster === undefined && this.req.upstream?.affinity !== undefined) this.addCookie(head);
    // A Trailers-Only answer (only HTTP/2 upstreams, so only routes with a backend protocol, send one) must reach an
    // HTTP/2 client as one HEADERS frame with END_STREAM (trailers-only.ts).
    if (this.req.upstream?.backendProtocol !== undefined && 'stream' in this.outgoing && isTrailersOnly(head)) {
      stageHead(this.outgoing, code, head);
    } else writeHeadTo(this.outgoing, code, head);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.intercepted !== 0) return true; // an intercepted answer's body: dropped
    const out = this.outgoing;
    if (out.destroyed) return false;
    if (this.rec !== undefined) this.rec.bodyOut += chunk.length;
    if ((out as ServerResponse).write(chunk)) return true;
    // Back-pressure: undici pauses until the client has drained, for at most the send bound (client-send.ts). Only
    // here, never per chunk: the common answer fits the socket's buffers and arms nothing.
    out.once('drain', exchangeDrained);
    this.sendTimer = setTimeout(exchangeSendTimedOut, this.deps.sendMs ?? CLIENT_SEND_MS, this);
    return false;
  }

  onDrained(): void {
    this.stopSendTimer();
    this.resume?.();
  }

  /** The client took nothing for the send bound: its response is given up. */
  onSendTimeout(): void {
    this.sendTimer = null;
    if (this.outgoing.destroyed) return;
    // As a client that left: 'close' aborts the upstream exchange (onClientClose), the access log says what was sent.
    this.outgoing.destroy();
  }

  private stopSendTimer(): void {
    if (this.sendTimer === null) return;
    clearTimeout(this.sendTimer);
    this.sendTimer = null;
  }

  onComplete(trailers: (Buffer | string)[] | Record<string, string | string[]> | null): void {
    if (this.intercepted !== 0) return this.afterIntercepted();
    this.done = true;
    // HTTP/2 upstreams (gRPC) end with trailers (grpc-status): passed on, on HTTP/2 as trailing HEADERS, on
    // HTTP/1.1 in the last chunk of a chunked response (Node drops them from a response with a length).
    // undici passes an empty list after every HTTP/1.1 answer: nothing to add then.
    if (trailers != null && (!Array.isArray(trailers) || trailers.length !== 0) && !this.outgoing.destroyed)
      addTrailersTo(this.outgoing, trailers);
    this.outgoing.end();
    this.deps.metrics.request(this.req.label, this.status);
  }

  onError(err: Error): void {
    const { deps, outgoing, req } = this;
    this.stopQueueTimer();
    if (this.dropped) return; // never written upstream: answered 503 already, or nobody to answer
    if (this.movingOn) {
      this.movingOn = false; // the dropped status answer's attempt ended; the next one begins
      return this.attempt();
    }
    // The intercepted answer's body broke off: it was to be dropped anyway.
    if (this.intercepted !== 0) return this.afterIntercepted();
    if (err instanceof BodyTooLargeError) return this.tooLarge(err);
    if (err instanceof MalformedBodyError) {
      // The upstream request was aborted mid-body (h2-body.ts); the client's stream ends with PROTOCOL_ERROR.
      this.done = true;
      deps.metrics.request(req.label, 400);
      return refuseMalformed(this.incoming as Http2ServerRequest);
    }
    if (err instanceof ClientBodyTimeoutError) return this.clientStalled();
    const e = classifyUpstreamError(err, endpointKey(this.endpoint));
    if (outgoing.destroyed) {
      this.done = true;
      return;
    }
    // Only the failure path gets here: the object below is not a cost of the requests that succeed.
    const failed = this.attemptFacts(e.code);
    const retry = req.upstream?.retry;
    if (retry !== undefined) failed.connectTimedOut = (err as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT';
    let d = retry === undefined ? retryDecision(failed) : routeRetryDecision(failed, retry);
    deps.metrics.upstreamError(this.backendLabel, d.label);
    deps.onUpstreamError?.(e);
    if (d.action === 'next-endpoint') {
      this.k++;
      return this.attempt();
    }
    if (d.action === 'next-peer') {
      if (this.failOver()) return this.attempt();
      failed.peerAvailable = false; // no untried peer serves the route
      d = retry === undefined ? retryDecision(failed) : routeRetryDecision(failed, retry);
    }
    this.done = true;
    if (d.action === 'answer') {
      deps.metrics.request(req.label, d.status);
      return answerError(outgoing, d.status);
    }
    deps.metrics.request(req.label, this.status);
    outgoing.destroy(e); // mid-body failure: the client must see a broken response, not a short one
  }

  /** client-body-timeout while streaming: undici aborted the upstream request and closed its connection; the client's
   * connection is closed too (part of the body already left, so there is no clean answer to give). */
  private clientStalled(): void {
    this.done = true;
    this.deps.metrics.request(this.req.label, 408);
    if (!this.outgoing.destroyed) this.outgoing.destroy();
  }

  /** The streamed body went over proxy-body-size: the upstream request is aborted (undici did so), the client
   * gets 413 unless its answer has begun, which is then cut off. */
  private tooLarge(err: BodyTooLargeError): void {
    this.done = true;
    if (this.outgoing.destroyed) return;
    if (this.status !== 0 || this.outgoing.headersSent) return void this.outgoing.destroy(err);
    this.deps.metrics.request(this.req.label, 413);
    answerError(this.outgoing, 413);
  }
}

const EXCHANGE = Symbol('portico.exchange');
type ExchangeCarrier = { [EXCHANGE]?: Exchange };

/** The response's 'close' listener (`this` is the response): its exchange hears that the client is done. */
function exchangeClientClosed(this: ServerResponse | Http2ServerResponse): void {
  (this as ExchangeCarrier)[EXCHANGE]?.onClientClose();
}
function exchangeDrained(this: ServerResponse | Http2ServerResponse): void {
  (this as ExchangeCarrier)[EXCHANGE]?.onDrained();
}
function exchangeSendTimedOut(exchange: Exchange): void {
  exchange.onSendTimeout();
}

/** setTimeout's callback for the queue timeout: a plain function, so arming it allocates no closure. */
function queueTimedOut(x: Exchange): void {
  x.onQueueTimeout();
}
