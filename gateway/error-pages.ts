// Error pages of a route (default-backend, custom-http-errors), as ingress-nginx serves them: an upstream answer
// with an intercepted status (proxy_intercept_errors), or no ready endpoint (503), makes nginx fetch `/` from the
// error backend in its `@custom_<upstream>_<code>` location with the headers below, and the client gets that
// answer (`error_page <code> = @custom_...`: with `=`, the error backend's own status). Shared by decide() and
// both forwarders, so Node and the Web runtimes send the same request.
import type { RequestFacts } from './decide.ts';
import type { Backend, Route } from './table/schema.ts';

export interface ErrorPage {
  /** Upstream statuses replaced by the page (custom-http-errors); empty: only the no-endpoint case. */
  statuses: readonly number[];
  /** Where the page comes from: the route's errorBackend, else the table's default backend; null: neither, and the
   * client gets the gateway's own answer with the status. */
  backend: Backend | null;
  /** X-Format, X-Original-URI, X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port (X-Code is added per
   * status; X-Request-ID is the usual one), and no request body headers: the page request has no body. */
  headers: readonly (readonly [string, string | null])[];
}

/** The page request of one route and request: what ingress-nginx's CUSTOM_ERRORS template sets. */
export function errorPageOf(route: Route, service: Backend, statuses: readonly number[], from: Backend | null, f: RequestFacts): ErrorPage {
  return {
    statuses,
    backend: from,
    headers: [
      // $http_accept: an empty variable sends no header (nginx's proxy_set_header).
      ['x-format', f.header?.('accept') ?? null],
      // $request_uri: the path and query as the client sent them.
      ['x-original-uri', f.path + f.search],
      ['x-namespace', route.source.namespace],
      ['x-ingress-name', route.source.name],
      ['x-service-name', service.service.name],
      ['x-service-port', String(service.service.port)],
      ['content-length', null],
      ['transfer-encoding', null],
    ],
  };
}

/** The headers of the page request for `code`, after the client's and the route's. */
export function errorPageHeaders(code: number, page: ErrorPage): (readonly [string, string | null])[] {
  return [['x-code', String(code)], ...page.headers];
}

/** The page request's target: nginx's `rewrite (.*) / break;` in the error location. */
export const ERROR_PAGE_TARGET = '/';

/** Whether the page can be fetched: a backend with a ready endpoint. */
export const pageServable = (page: ErrorPage): page is ErrorPage & { backend: Backend } =>
  page.backend !== null && page.backend.endpoints.length > 0;
