// validate() for a route's error pages (RoutePolicies.errorBackend: default-backend; interceptStatuses:
// custom-http-errors) and a backend's service-upstream flag: a backend the table has, statuses nginx's error_page
// accepts (300-599, ngx_http_core_error_page), sorted and distinct, so a worker never intercepts a status it was
// not told to.
import { SERVICE_UPSTREAM_SUFFIX } from './schema.ts';
import type { IdSet } from './validation-memo.ts';

type Bad = (at: string, message: string) => void;

/** The status range nginx's error_page directive accepts. */
export const MIN_INTERCEPT_STATUS = 300;
export const MAX_INTERCEPT_STATUS = 599;

export function checkErrorPages(p: Record<string, unknown>, at: string, backendIds: IdSet, bad: Bad): void {
  if (p.errorBackend !== undefined && (typeof p.errorBackend !== 'string' || !backendIds.has(p.errorBackend)))
    bad(`${at}.errorBackend`, `unknown backend ${JSON.stringify(p.errorBackend)}`);
  const s = p.interceptStatuses;
  if (s === undefined) return;
  if (!Array.isArray(s) || s.length === 0) return bad(`${at}.interceptStatuses`, 'must be a non-empty list of statuses');
  s.forEach((code, i) => {
    if (!Number.isInteger(code) || (code as number) < MIN_INTERCEPT_STATUS || (code as number) > MAX_INTERCEPT_STATUS)
      bad(`${at}.interceptStatuses[${i}]`, `must be a status from ${MIN_INTERCEPT_STATUS} to ${MAX_INTERCEPT_STATUS}`);
    else if (i > 0 && !((s[i - 1] as number) < (code as number))) bad(`${at}.interceptStatuses`, 'must be sorted, without repeats');
  });
}

/** service-upstream: `true` when present, on a backend whose id says so, with at most one endpoint (the ClusterIP). */
export function checkServiceUpstream(b: Record<string, unknown>, at: string, bad: Bad): void {
  const id = typeof b.id === 'string' ? b.id : '';
  if (b.serviceUpstream === undefined) {
    if (id.endsWith(SERVICE_UPSTREAM_SUFFIX)) bad(`${at}.id`, `ends in ${SERVICE_UPSTREAM_SUFFIX} without serviceUpstream`);
    return;
  }
  if (b.serviceUpstream !== true) return bad(`${at}.serviceUpstream`, 'must be true when present');
  if (!id.endsWith(SERVICE_UPSTREAM_SUFFIX)) bad(`${at}.id`, `a service-upstream backend's id ends in ${SERVICE_UPSTREAM_SUFFIX}`);
  if (Array.isArray(b.endpoints) && b.endpoints.length > 1)
    bad(`${at}.endpoints`, 'a service-upstream backend has one endpoint, the ClusterIP');
}
