// The gateway's own answers (404, 429, 503, 502, 504, 308, 400, 403, 421, and an auth service's 302, 401, 403, 500): small
// bodies, with nginx's reason phrases where users' tests look for them, and the headers users expect
// from an edge (Server, Content-Type, Content-Length; Date comes from the HTTP server).
import type { RedirectStatus } from './table/redirect.ts';

export const SERVER_NAME = 'portico';

const TEXT: Record<number, string> = {
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  400: 'Bad Request',
  405: 'Not Allowed',
  408: 'Request Time-out',
  // nginx's page for 401 says "Authorization Required" (ingress-nginx's auth.go e2e tests look for it).
  401: 'Authorization Required',
  403: 'Forbidden',
  404: 'Not Found',
  // nginx's page keeps RFC 2616's name for 413.
  413: 'Request Entity Too Large',
  421: 'Misdirected Request',
  // RFC 6585 §5; nginx answers such a request 400 "Request Header Or Cookie Too Large" (README, Edge limits).
  431: 'Request Header Fields Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  308: 'Permanent Redirect',
};

export function statusBody(status: number): string {
  return `${status} ${TEXT[status] ?? ''}\n`;
}

export function plainResponse(status: number, extra?: Record<string, string> | readonly (readonly [string, string])[]): Response {
  // 204 (a CORS preflight's answer) has no body (RFC 9110 §15.3.5), and nginx sends neither Content-Type nor
  // Content-Length with it (ngx_http_header_filter_module clears both for 204).
  // 304 (a permanent-redirect-code nginx accepts) has no body either (RFC 9110 §15.4.5).
  const body = status === 204 || status === 304 ? null : statusBody(status);
  const headers: [string, string][] = [['server', SERVER_NAME]];
  if (body !== null)
    headers.push(
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.length) /* ASCII: characters = bytes; no Buffer outside Node */],
    );
  if (extra !== undefined) for (const [k, v] of Array.isArray(extra) ? extra : Object.entries(extra)) headers.push([k, v]);
  return new Response(body, { status, headers });
}

/** 308 keeps the method and body (unlike 301), which is what ingress-nginx's ssl-redirect code defaults to; 302 is
 * nginx's error_page redirect (auth-tls-error-page) and app-root's; 300-308 are permanent-redirect's and
 * temporal-redirect's codes (gateway/table/redirect.ts). */
export function redirectResponse(location: string, status: RedirectStatus = 308): Response {
  return plainResponse(status, { location });
}
