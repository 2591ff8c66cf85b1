// A route's request body limit (proxy-body-size, nginx client_max_body_size) and send timeout
// (proxy-send-timeout), for bodies the gateway streams. nginx reads the body before it dials (request
// buffering on) and answers 413 once it is larger than the limit; Portico streams it, so:
//   - a declared Content-Length over the limit gets 413 before anything is dialled (bodyTooLarge, in app.ts);
//   - a body without one (chunked, HTTP/2) is counted as it passes, and the upstream request is aborted the
//     moment it goes over: the upstream has then seen part of the body and a broken request, never a whole one.
import { PorticoError } from '../table/portico-error.ts';

/** The request body went over the route's proxy-body-size: the client gets 413. */
export class BodyTooLargeError extends PorticoError {
  readonly code = 'PORTICO_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes (proxy-body-size)`);
  }
}

/** The upstream accepted no request body bytes for the route's proxy-send-timeout (a response timeout class). */
export class SendTimeoutError extends PorticoError {
  readonly code = 'PORTICO_UPSTREAM_SEND_TIMEOUT';
  constructor(readonly ms: number) {
    super(`the upstream accepted no request body for ${ms} ms (proxy-send-timeout)`);
  }
}

/** Whether a declared Content-Length is over `limit` bytes (0: no limit, as nginx reads `client_max_body_size 0`).
 * An unreadable length is left to the HTTP server, which refuses it. */
export function bodyTooLarge(contentLength: string | undefined, limit: number): boolean {
  if (limit === 0 || contentLength === undefined) return false;
  const n = Number(contentLength);
  return Number.isFinite(n) && n > limit;
}

/** `body` as undici pulls it, throwing BodyTooLargeError once more than `limit` bytes passed (0: no limit), and
 * calling `stalled` when the upstream has not taken a chunk for `sendMs` (0: no timeout). undici pulls the next
 * chunk only once the previous one was written and the socket drained, so the time between handing out a chunk
 * and the next pull is the time the upstream takes to accept a write: nginx's "between two successive write
 * operations". Waiting for the client's next chunk is not counted. */
export async function* guardedBody(
  body: AsyncIterable<Buffer>,
  limit: number,
  sendMs: number,
  stalled: (err: SendTimeoutError) => void,
): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (limit > 0 && seen > limit) throw new BodyTooLargeError(limit);
    if (sendMs === 0) {
      yield chunk;
      continue;
    }
    const timer = setTimeout(() => stalled(new SendTimeoutError(sendMs)), sendMs);
    try {
      yield chunk;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The Web runtimes' counterpart for the limit: a stream that errors with BodyTooLargeError past `limit` bytes,
 * calling `over` first (fetch() rejects with its own error, whatever the stream's was). */
export function limitedStream(body: ReadableStream<Uint8Array>, limit: number, over: () => void): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        seen += chunk.byteLength;
        if (seen > limit) {
          over();
          ctl.error(new BodyTooLargeError(limit));
        } else ctl.enqueue(chunk);
      },
    }),
  );
}
