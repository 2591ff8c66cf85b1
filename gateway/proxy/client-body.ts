// Reading a client's request body before and while it goes upstream (Node forwarder). Two nginx rules:
//   - client_body_timeout (default 60s): the longest wait between two successive reads of the body, not a limit
//     on the whole body. Past it nginx ends the request; here the client gets 408 when nothing was sent upstream
//     yet, else the upstream request is aborted (its connection closed at once) and the client's is closed.
//   - proxy_request_buffering on with client_body_buffer_size: nginx reads the whole body before it connects
//     upstream (spilling past the buffer to a temporary file). Portico reads up to `bufferSize` bytes in memory
//     first, so a slow small upload never holds an upstream connection; a larger body (or a declared
//     Content-Length over `bufferSize`) is streamed as it arrives, buffered prefix first. No disk.
import type { Readable } from 'node:stream';
import { PorticoError } from '../table/portico-error.ts';

/** The client sent no request body bytes for client-body-timeout. */
export class ClientBodyTimeoutError extends PorticoError {
  readonly code = 'PORTICO_CLIENT_BODY_TIMEOUT';
  constructor(readonly ms: number) {
    super(`the client sent no request body for ${ms} ms (client-body-timeout)`);
  }
}

export interface ClientBodyLimits {
  /** client_body_timeout: longest wait for the next chunk of the body. */
  timeoutMs: number;
  /** client_body_buffer_size: a body up to this many bytes is read whole before the upstream is dialled (0: none). */
  bufferSize: number;
}

/** nginx's client_body_timeout 60s; the buffer is larger than nginx's 8k/16k because nothing spills to disk here:
 * 64 KiB holds typical form posts and JSON requests while bounding memory per request. */
export const DEFAULT_CLIENT_BODY: ClientBodyLimits = { timeoutMs: 60_000, bufferSize: 65_536 };

export type ClientBody =
  /** The whole body, read within the buffer size: sent with a Content-Length. */
  | { kind: 'whole'; body: Buffer }
  /** Larger than the buffer: what was read, then the rest as it arrives, under the client body timeout. */
  | { kind: 'stream'; body: AsyncGenerator<Buffer> }
  | { kind: 'timeout'; error: ClientBodyTimeoutError }
  /** Over the route's proxy-body-size while still buffering: 413 before anything is dialled. */
  | { kind: 'too-large' }
  /** The client went away (or its stream failed) before the body was read. */
  | { kind: 'gone' };

export interface ClientBodyReceiver {
  onBody(body: ClientBody): void;
}

const noop = (): void => {};

/** Reads `body` up to `limits.bufferSize` bytes and tells `to` once it knows which kind of body this is. `limit` is
 * the route's proxy-body-size (0: none); `declared` the Content-Length, if any (over the buffer size: streamed at
 * once, there is nothing to gain by waiting). A buffer size of 0 streams every body at once (gRPC: nginx's
 * grpc_pass never buffers a request body, a bidirectional stream would wait forever). */
export function readClientBody(
  body: Readable,
  limits: ClientBodyLimits,
  limit: number,
  declared: number | undefined,
  to: ClientBodyReceiver,
): void {
  // A stream error after the outcome (the client resets mid-stream) is the iterator's or the response's to report;
  // without a listener it would be thrown.
  body.on('error', noop);
  if (limits.bufferSize === 0 || (declared !== undefined && declared > limits.bufferSize)) {
    return to.onBody({ kind: 'stream', body: streamBody([], body, limits.timeoutMs) });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (r: ClientBody): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('close', onGone);
    to.onBody(r);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    chunks.push(chunk);
    if (limit > 0 && size > limit) return finish({ kind: 'too-large' });
    if (size > limits.bufferSize) {
      body.pause();
      return finish({ kind: 'stream', body: streamBody(chunks, body, limits.timeoutMs) });
    }
    timer.refresh(); // "between two successive read operations" (client_body_timeout)
  };
  const onEnd = (): void => finish({ kind: 'whole', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
  const onGone = (): void => finish({ kind: 'gone' });
  const timer = setTimeout(() => finish({ kind: 'timeout', error: new ClientBodyTimeoutError(limits.timeoutMs) }), limits.timeoutMs);
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('close', onGone);
}

/** The buffered `prefix`, then the rest of `body`; throws ClientBodyTimeoutError when the client sends nothing for
 * `timeoutMs` (undici then aborts the upstream request with it and closes that connection). Only the wait for the
 * client counts: undici asks for the next chunk once the previous one was written. */
async function* streamBody(prefix: Buffer[], body: Readable, timeoutMs: number): AsyncGenerator<Buffer> {
  yield* prefix;
  // destroyOnReturn false: the forwarder decides what happens to the client's connection.
  const it = body.iterator({ destroyOnReturn: false });
  for (;;) {
    const r = await nextWithin(it, timeoutMs);
    if (r.done === true) return;
    yield r.value as Buffer;
  }
}

function nextWithin(it: AsyncIterator<unknown>, ms: number): Promise<IteratorResult<unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ClientBodyTimeoutError(ms)), ms);
    it.next().then(
      (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
