// The gateway's own answers (404, 503, 502, 504, 308, 400, 403): small bodies, and the headers users expect
// from an edge (Server, Content-Type, Content-Length; Date comes from the HTTP server).
export const SERVER_NAME = 'portico';

const TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  308: 'Permanent Redirect',
};

export function statusBody(status: number): string {
  return `${status} ${TEXT[status] ?? ''}\n`;
}

export function plainResponse(status: number, extra?: Record<string, string>): Response {
  const body = statusBody(status);
  return new Response(body, {
    status,
    headers: {
      server: SERVER_NAME,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.length) /* ASCII: characters = bytes; no Buffer outside Node */,
      ...extra,
    },
  });
}

/** 308 keeps the method and body (unlike 301), which is what ingress-nginx's ssl-redirect code defaults to. */
export function redirectResponse(location: string): Response {
  return plainResponse(308, { location });
}
