// HTTP/2 limits of the HTTPS listener (node:http2 over nghttp2):
//   - SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §6.5.2), nginx's http2_max_concurrent_streams (default 128):
//     streams past it are refused by nghttp2 with RST_STREAM REFUSED_STREAM before any request exists;
//   - a rapid-reset guard (CVE-2023-44487): streams the client resets before their answer began are counted per
//     connection in a fixed window; past the limit the connection ends with GOAWAY ENHANCE_YOUR_CALM, as Envoy's
//     premature-reset check and nginx's per-connection stream budget do. nghttp2's own guard (a token bucket of
//     1,000 resets, then INTERNAL_ERROR) lets a thousand through first;
//   - Host against :authority: RFC 9113 §8.3.1 "a server SHOULD treat a request as malformed if it contains a
//     Host header field that identifies an entity that differs from the entity in the :authority pseudo-header
//     field"; nginx answers 400. Without it a Host header would choose the route over :authority.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { SERVER_NAME, statusBody } from '../responses.ts';
import { PorticoError } from '../table/portico-error.ts';

export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced to each client. */
  maxConcurrentStreams: number;
  /** Client resets of streams not yet answered, per connection per `resetWindowMs`; 0: no guard. */
  maxResets: number;
  resetWindowMs: number;
}

export const DEFAULT_H2_LIMITS: H2Limits = { maxConcurrentStreams: 128, maxResets: 100, resetWindowMs: 10_000 };

/** A connection reset more unanswered streams than --http2-max-resets allows: ended with GOAWAY ENHANCE_YOUR_CALM. */
export class RapidResetError extends PorticoError {
  readonly code = 'PORTICO_H2_RAPID_RESET';
  constructor(
    readonly resets: number,
    readonly windowMs: number,
  ) {
    super(`the client reset ${resets} unanswered HTTP/2 streams within ${windowMs} ms (--http2-max-resets)`);
  }
}

/** The settings every session of the listener announces. */
export function h2Settings(l: H2Limits): { maxConcurrentStreams: number } {
  return { maxConcurrentStreams: l.maxConcurrentStreams };
}

/** Counts `session`'s streams that ended by a reset before their response headers, and ends the connection with
 * GOAWAY ENHANCE_YOUR_CALM once more than `maxResets` did within one window. */
export function guardResets(session: ServerHttp2Session, l: H2Limits, onAbuse: (err: RapidResetError) => void): void {
  if (l.maxResets <= 0) return;
  let windowStart = 0;
  let resets = 0;
  const onClose = function (this: ServerHttp2Stream): void {
    if (this.headersSent || (this.rstCode ?? constants.NGHTTP2_NO_ERROR) === constants.NGHTTP2_NO_ERROR || session.destroyed) return;
    const now = Date.now();
    if (now - windowStart > l.resetWindowMs) {
      windowStart = now;
      resets = 0;
    }
    if (++resets <= l.maxResets) return;
    const err = new RapidResetError(resets, l.resetWindowMs);
    onAbuse(err);
    session.destroy(err, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  };
  session.on('stream', (stream: ServerHttp2Stream) => void stream.once('close', onClose));
}

/** Whether an HTTP/2 request carries a Host header that names another authority than :authority. */
export function authorityConflict(req: IncomingMessage | Http2ServerRequest): boolean {
  if (req.httpVersionMajor !== 2) return false;
  const host = req.headers.host;
  const authority = req.headers[':authority'];
  if (host === undefined || authority === undefined) return false;
  return typeof host !== 'string' || typeof authority !== 'string' || host.toLowerCase() !== authority.toLowerCase();
}

type Listener = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

/** `listener`, with requests whose Host and :authority disagree answered 400 before routing. */
export function refuseAuthorityConflict(listener: Listener, onRefused: () => void): Listener {
  return (req, res) => {
    if (!authorityConflict(req)) return listener(req, res);
    onRefused();
    const body = statusBody(400);
    (res as Http2ServerResponse).writeHead(400, {
      server: SERVER_NAME,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  };
}
