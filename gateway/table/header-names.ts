// Header names an annotation may make the edge set on a request (auth-response-headers, auth-proxy-set-headers,
// JWT claims): shared by the compiler and validate(), so both refuse the same names.

/** RFC 9110 §5.6.2 token, lower-case. */
export const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/** Those that frame the message or belong to one hop (RFC 9110 §7.6.1, RFC 9112 §6), and Host. */
const FRAMING = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
]);

/** Whether a configured source may set this (lower-case) header on a request: not a framing, hop-by-hop or Host
 * header, and not the tunnel protocol's `portico-*` or a `proxy-*` one, which would let it choose the endpoint or
 * the peer cluster a request goes to. */
export function isCopyableHeader(lower: string): boolean {
  return !FRAMING.has(lower) && !lower.startsWith('portico-') && !lower.startsWith('proxy-');
}
