// Errors as classes with stable codes (undici's convention): logs, metrics and tests key on `code`.
import { PorticoError } from './table/portico-error.ts';

/** The class of an upstream failure: what gateway/proxy/retry-policy.ts decides on, and the `code` label of
 * portico_upstream_errors_total on every runtime. */
export type UpstreamErrorCode =
  | 'PORTICO_UPSTREAM_CONNECT'
  | 'PORTICO_UPSTREAM_TIMEOUT'
  | 'PORTICO_UPSTREAM_RESET'
  | 'PORTICO_UPSTREAM_PROTOCOL';

/** One failed upstream attempt. What follows it (next endpoint, next peer, 502/504) is retry-policy.ts's call. */
export class UpstreamError extends PorticoError {
  constructor(
    readonly code: UpstreamErrorCode,
    readonly endpoint: string,
    cause: unknown,
  ) {
    super(`${code} ${endpoint}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

// Failures before the upstream application could see a byte of the request.
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  // Refusals by the node-local tunnel or a peer cluster's gateway (gateway/tunnel): nothing reached an
  // application, so the next endpoint or peer may serve the request.
  'PORTICO_TUNNEL_DENIED',
  'PORTICO_TUNNEL_UNKNOWN_PEER',
  'PORTICO_PEER_NO_BACKEND',
  'PORTICO_PEER_NO_ENDPOINTS',
  'PORTICO_PEER_TOKEN_MISSING',
  'PORTICO_PEER_TOKEN_MALFORMED',
  'PORTICO_PEER_TOKEN_UNTRUSTED',
  'PORTICO_PEER_TOKEN_INVALID',
  'PORTICO_PEER_TOKEN_EXPIRED',
  'PORTICO_PEER_TOKEN_AUDIENCE',
  'PORTICO_PEER_TOKEN_SCOPE',
]);
// PORTICO_UPSTREAM_SEND_TIMEOUT: proxy-send-timeout (gateway/proxy/body-limit.ts), the upstream stopped taking the body.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'PORTICO_UPSTREAM_SEND_TIMEOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function classifyUpstreamError(err: unknown, endpoint: string): UpstreamError {
  const code = (err as { code?: unknown } | null)?.code;
  const c = typeof code === 'string' ? code : '';
  if (CONNECT_CODES.has(c)) return new UpstreamError('PORTICO_UPSTREAM_CONNECT', endpoint, err);
  if (TIMEOUT_CODES.has(c)) return new UpstreamError('PORTICO_UPSTREAM_TIMEOUT', endpoint, err);
  if (RESET_CODES.has(c)) return new UpstreamError('PORTICO_UPSTREAM_RESET', endpoint, err);
  return new UpstreamError('PORTICO_UPSTREAM_PROTOCOL', endpoint, err);
}
