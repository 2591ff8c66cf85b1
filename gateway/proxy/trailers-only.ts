// gRPC's Trailers-Only answer (gRPC over HTTP/2, "Responses": `Trailers-Only → HTTP-Status Content-Type Trailers`):
// one HEADERS frame carrying grpc-status, with END_STREAM, and no body. A server answers an error that way before
// any message (grpc-js does for every unary error). The flag is the whole signal: a client receiving grpc-status in
// a HEADERS frame without END_STREAM takes it for the response headers and then fails the call for a missing status
// (grpc-js: "Received RST_STREAM with code 0 (Call ended without gRPC status)", INTERNAL). nginx's grpc module passes it
// whole too (it takes an initial HEADERS frame with END_STREAM for a response of length zero, so its HTTP/2 output
// ends the stream on the HEADERS); Portico knows it by grpc-status, the gRPC spec's mark of that form. On an HTTP/2 client connection Node's compatibility response sends its head with END_STREAM only
// when the head is still pending at end(): so such an answer is staged, not written, and end() sends it as one frame.
import type { Http2ServerResponse } from 'node:http2';

/** Whether a response head (flat name/value list) carries grpc-status: only a Trailers-Only answer does. */
export function isTrailersOnly(flat: readonly string[]): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === 'grpc-status') return true;
  return false;
}

/** Sets the status and head on `out` without sending them: the next write sends them as usual (an upstream that
 * breaks the rule and sends a body still works), end() sends them with END_STREAM. */
export function stageHead(out: Http2ServerResponse, status: number, flat: readonly string[]): void {
  out.statusCode = status;
  const obj: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!.toLowerCase();
    const prev = obj[k];
    obj[k] = prev === undefined ? flat[i + 1]! : ([] as string[]).concat(prev, flat[i + 1]!);
  }
  for (const [k, v] of Object.entries(obj)) out.setHeader(k, v);
}
