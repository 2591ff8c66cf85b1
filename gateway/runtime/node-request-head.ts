// The request head checks of the Node listeners, before the request path sees a request (and so before anything
// reaches an upstream). Node's own parser enforces the size of the whole head (`maxHeaderSize`, answered 431 by
// the server itself); this file adds what Node lets through or drops silently:
// - the number of header fields: Node keeps the first `maxHeadersCount` and drops the rest without a word (a
//   Content-Length or an Authorization past that point would vanish), so the server is told to keep one more than
//   the limit, and a request that has it is refused (RFC 6585 §5: 431);
// - the length of one field line: nginx's large_client_header_buffers (4 8k) holds one line in one 8k buffer and
//   refuses a longer one (nginx answers 400 "Request Header Or Cookie Too Large"; 431 here, RFC 6585 §5);
// - two Host fields: RFC 9112 §3.2 says a server MUST answer 400 (nginx: "client sent duplicate host header").
// HTTP/2 requests come through the same check (their pseudo-headers are not fields here); nghttp2 itself resets a
// stream whose header list is over the session's `maxHeaderListPairs`.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { SERVER_NAME, statusBody } from '../responses.ts';

/** The limits, as the worker flags give them (cli/serve.ts). */
export interface RequestHeadLimits {
  /** Header fields per request (--max-request-headers). */
  maxHeaders: number;
  /** Bytes of one field line, `name: value` (--max-request-header-line). */
  maxLineBytes: number;
  /** Bytes of the whole head, request line included (--max-request-head): Node's `maxHeaderSize`. */
  maxHeadBytes: number;
}

/** nginx-like defaults: large_client_header_buffers 4 8k (8k a line, 32k in all); nginx counts no fields, and
 * 100 is Apache httpd's LimitRequestFields (Node's own would be 2000 values, kept silently). */
export const DEFAULT_HEAD_LIMITS: RequestHeadLimits = { maxHeaders: 100, maxLineBytes: 8192, maxHeadBytes: 32_768 };

/** The status a request head is refused with, or 0 when it passes. `raw` is Node's flat `[name, value, ...]`. */
export function headRefusal(raw: readonly string[], l: RequestHeadLimits): 0 | 400 | 431 {
  let fields = 0;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* : */) continue; // HTTP/2 pseudo-headers
    fields++;
    // `name: value` on the wire; the CRLF is not counted (nginx's buffer holds it, a few bytes either way).
    if (name.length + raw[i + 1]!.length + 2 > l.maxLineBytes) return 431;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (fields > l.maxHeaders) return 431;
  return hosts > 1 ? 400 : 0;
}

/** Refuses a request whose head failed headRefusal(): a complete answer, and on HTTP/1.1 the connection closes
 * (the body, if any, is never read). HTTP/2 forbids a Connection header (RFC 9113 §8.2.2): the stream ends instead. */
export function refuseHead(res: ServerResponse | Http2ServerResponse, status: number): void {
  const body = statusBody(status);
  const headers: Record<string, string> = {
    server: SERVER_NAME,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(body.length),
  };
  if (!('stream' in res)) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}
