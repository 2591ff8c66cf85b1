// The body of an HTTP/2 request as the upstream gets it: only ever whole and consistent. RFC 9113 §8.1.1: a
// request whose content-length disagrees with the sum of its DATA frames is malformed and must be treated as a
// stream error of type PROTOCOL_ERROR; nghttp2 does so and resets the stream, but the forwarder may already be
// streaming the body upstream. So the body is released such that the upstream never gets a complete request
// before the client's END_STREAM has been accepted:
//   - with a content-length, the last chunk is held back until END_STREAM arrives and the byte count matches
//     (the upstream counts the declared length: without the last chunk its request stays incomplete);
//   - a stream that ended by a reset, or a count that does not match, throws MalformedBodyError: undici then
//     aborts the upstream request (and destroys its connection), so the upstream sees a request that broke off.
import type { Http2ServerRequest } from 'node:http2';
import { constants } from 'node:http2';
import { PorticoError } from '../table/portico-error.ts';

/** An HTTP/2 request body that ended by a reset or disagreed with its content-length (RFC 9113 §8.1.1). */
export class MalformedBodyError extends PorticoError {
  readonly code = 'PORTICO_H2_MALFORMED_BODY';
  constructor(
    readonly declared: number | null,
    readonly seen: number,
  ) {
    super(
      declared === null
        ? `the HTTP/2 request stream was reset after ${seen} body bytes`
        : `the HTTP/2 request body disagrees with its content-length ${declared} (${seen} bytes or reset): malformed, RFC 9113 8.1.1`,
    );
  }
}

function declaredLength(v: string | string[] | undefined): number | null {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return null; // nghttp2 refuses an unparsable one itself
  return Number(v);
}

/** Whether a body read whole (client-body.ts) is malformed: it disagrees with the content-length, or the stream was
 * reset rather than ended. */
export function malformedWhole(incoming: Http2ServerRequest, length: number): boolean {
  const declared = declaredLength(incoming.headers['content-length']);
  return incoming.aborted || (incoming.stream.rstCode ?? 0) !== constants.NGHTTP2_NO_ERROR || (declared !== null && length !== declared);
}

/** `incoming`'s body (read from `source`, by default the request itself), released only while it stays consistent
 * (above). */
export async function* consistentH2Body(
  incoming: Http2ServerRequest,
  // destroyOnReturn false: a failed upstream attempt must leave the client's stream open for the answer.
  source: AsyncIterable<Buffer> = incoming.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>,
): AsyncGenerator<Buffer> {
  const declared = declaredLength(incoming.headers['content-length']);
  let seen = 0;
  let held: Buffer | null = null;
  for await (const chunk of source) {
    seen += chunk.length;
    if (declared !== null && seen > declared) throw new MalformedBodyError(declared, seen);
    // Without a content-length the upstream's request ends only with the end this generator returns (a chunked
    // body's last chunk, an HTTP/2 END_STREAM): nothing to hold back, and streams (gRPC) stay interactive.
    if (declared === null) {
      yield chunk;
      continue;
    }
    if (held !== null) yield held;
    held = chunk;
  }
  // The compat request ends its body on END_STREAM and also when the stream closes by a reset (node:http2's
  // compatibility layer pushes the end on 'close'): only the first makes a whole request.
  if (incoming.aborted || (incoming.stream.rstCode ?? 0) !== constants.NGHTTP2_NO_ERROR || (declared !== null && seen !== declared))
    throw new MalformedBodyError(declared, seen);
  if (held !== null) yield held;
}

/** Ends the client's stream with PROTOCOL_ERROR (RFC 9113 §8.1.1), unless nghttp2 has reset it already. */
export function refuseMalformed(incoming: Http2ServerRequest): void {
  if (!incoming.stream.closed) incoming.stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
}
