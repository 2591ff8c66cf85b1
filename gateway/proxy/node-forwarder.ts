// The Node fast path: the Hono handler hands the request to an undici Pool with a raw dispatch handler
// and writes the upstream response straight into Node's response object, streaming both bodies with
// back-pressure and never building Web Request/Response objects (toolchain.md: about twice the
// throughput of returning a Web Response). Behaviour is the same as a fetch-based forwarder.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { ForwardRequest, ListenerPorts, RuntimeBindings } from '../app.ts';
import type { RoundRobin } from '../balance.ts';
import type { RequestFacts } from '../decide.ts';
import { classifyUpstreamError, type UpstreamError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { SERVER_NAME, statusBody } from '../responses.ts';
import { downstreamResponseHeaders, requestIdFor, upstreamRequestHeaders } from './headers.ts';
import { endpointKey, type UpstreamPools } from './pools.ts';

export type NodeEnv = {
  Bindings: { incoming: IncomingMessage | Http2ServerRequest; outgoing: ServerResponse | Http2ServerResponse };
};

export interface NodeForwarderDeps {
  pools: UpstreamPools;
  balancer: RoundRobin;
  metrics: Metrics;
  /** Called with each failed upstream attempt (for logs). */
  onUpstreamError?: (err: UpstreamError) => void;
}

/** Client address without the IPv4-mapped prefix Node reports on dual-stack sockets. */
export function clientAddress(raw: string | undefined): string {
  if (raw === undefined) return '';
  return raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
}

/** Facts about a Node request; `scheme` and `port` are those of the listener it arrived on. */
export function nodeFacts(incoming: IncomingMessage | Http2ServerRequest, scheme: 'http' | 'https', port: number): RequestFacts {
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
  };
}

function hasRequestBody(incoming: IncomingMessage | Http2ServerRequest): boolean {
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

function answerError(out: ServerResponse | Http2ServerResponse, status: number): void {
  const body = statusBody(status);
  writeHeadTo(out, status, ['server', SERVER_NAME, 'content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
  out.end(body);
}

export function nodeBindings(deps: NodeForwarderDeps, scheme: 'http' | 'https', ports: ListenerPorts): RuntimeBindings<NodeEnv> {
  return {
    facts: (c) => nodeFacts(c.env.incoming, scheme, scheme === 'http' ? ports.http : ports.https ?? 0),
    forward: (c, req) => forward(deps, c, req),
  };
}

function forward(deps: NodeForwarderDeps, c: Context<NodeEnv>, req: ForwardRequest): Response {
  const { incoming, outgoing } = c.env;
  const { backend } = req;
  const endpoints = backend.endpoints;
  const first = deps.balancer.start(backend);
  const body = hasRequestBody(incoming) ? incoming : null;
  const requestId = requestIdFor(incoming.headers['x-request-id'] as string | undefined, randomUUID);
  const headers = upstreamRequestHeaders(incoming.rawHeaders, incoming.headers.connection as string | undefined, { ...req.facts, requestId });
  let abort: ((err?: Error) => void) | null = null;
  let done = false;
  outgoing.once('close', () => {
    if (!done && abort !== null) abort(); // the client went away: stop the upstream exchange too
  });

  const attempt = (k: number): void => {
    const endpoint = endpoints[(first + k) % endpoints.length]!;
    const started = performance.now();
    let status = 0;
    let resume: (() => void) | null = null;
    const onDrain = (): void => resume?.();
    deps.pools.get(endpoint).dispatch(
      { path: req.target, method: incoming.method ?? 'GET', headers, body },
      {
        onConnect(a) {
          abort = a;
          if (outgoing.destroyed) a();
        },
        onHeaders(code, raw, res) {
          if (code < 200) return true; // 1xx interim responses are not forwarded
          status = code;
          resume = res;
          deps.metrics.upstreamLatency(backend.id, (performance.now() - started) / 1000);
          if (outgoing.destroyed) return false;
          writeHeadTo(outgoing, code, downstreamResponseHeaders(raw));
          outgoing.on('drain', onDrain);
          return true;
        },
        onData(chunk) {
          if (outgoing.destroyed) return false;
          return (outgoing as ServerResponse).write(chunk);
        },
        onComplete() {
          done = true;
          outgoing.off('drain', onDrain);
          outgoing.end();
          deps.metrics.request(req.label, status);
        },
        onError(err) {
          const e = classifyUpstreamError(err, endpointKey(endpoint));
          outgoing.off('drain', onDrain);
          if (outgoing.destroyed) {
            done = true;
            return;
          }
          deps.metrics.upstreamError(backend.id, e.code);
          deps.onUpstreamError?.(e);
          if (status === 0 && !outgoing.headersSent) {
            // Nothing reached the application and the request body is untouched: the next endpoint may.
            if (e.beforeRequest && k + 1 < endpoints.length && (body === null || !body.readableDidRead)) return attempt(k + 1);
            done = true;
            deps.metrics.request(req.label, e.status);
            return answerError(outgoing, e.status);
          }
          done = true;
          deps.metrics.request(req.label, status);
          outgoing.destroy(e); // mid-body failure: the client must see a broken response, not a short one
        },
      },
    );
  };
  attempt(0);
  return RESPONSE_ALREADY_SENT;
}
