// The redirect and host annotations of one Ingress (ingress-nginx's internal/ingress/annotations/redirect,
// rewrite (app-root, force-ssl-redirect), alias, upstreamvhost and xforwardedprefix parsers), read into the
// typed routing filters of schema 5 (gateway/table/redirect.ts). Routing is not access control: a value that does
// not parse is a Warning that names what applies instead, and the route keeps serving.
import type { RoutePolicies } from '../../gateway/table/schema.ts';
import { isValidRuleHost } from '../../gateway/table/names.ts';
import { locationProblem, type RedirectStatus, rootPathProblem, vhostProblem } from '../../gateway/table/redirect.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { commaList, goBool } from './annotation-values.ts';
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

const key = (name: string): string => `${NGINX_PREFIX}${name}`;
export const ROUTING_KEYS: readonly string[] = [
  'permanent-redirect',
  'permanent-redirect-code',
  'temporal-redirect',
  'temporal-redirect-code',
  'relative-redirects',
  'app-root',
  'force-ssl-redirect',
  'upstream-vhost',
  'x-forwarded-prefix',
  'from-to-www-redirect',
  'server-alias',
].map(key);

/** The route filters an Ingress's annotations ask for, only the fields that are set. */
export type RouteFilters = Pick<RoutePolicies, 'redirect' | 'rootRedirect' | 'schemeRedirect' | 'rewrite' | 'requestHeaders'>;

export interface RoutingRequest {
  filters: RouteFilters;
  /** from-to-www-redirect: the other name (www. added or removed) of each rule host redirects to it. */
  fromToWww: boolean;
  /** server-alias: more names served like each rule host of the Ingress (lower-case, valid hosts). */
  aliases: string[];
}

export interface ParsedRouting {
  routing: RoutingRequest;
  problems: AnnotationProblem[];
  consumed: ReadonlySet<string>;
}

/** Parses the routing annotations. Nothing depends on the order they are written in. */
export function parseRoutingAnnotations(annotations: Fields): ParsedRouting {
  const problems: AnnotationProblem[] = [];
  const consumed = new Set(ROUTING_KEYS.filter((k) => Object.hasOwn(annotations, k)));
  const raw = (name: string): string | undefined => {
    const v = annotations[key(name)];
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    warn(name, v, 'a string', 'it is ignored');
    return undefined;
  };
  const warn = (name: string, v: unknown, expected: string, instead: string): void =>
    void problems.push({
      code: 'InvalidAnnotation',
      message: `annotation ${JSON.stringify(key(name))} has value ${show(v)}; expected ${expected}, so ${instead}`,
    });
  const bool = (name: string): boolean => {
    const v = raw(name);
    if (v === undefined) return false;
    const b = goBool(v);
    if (b === undefined) warn(name, v, '"true" or "false"', 'the default (false) applies');
    return b ?? false;
  };
  /** redirect.go: a code outside [lo, hi] silently becomes the default; Portico says so. */
  const code = (name: string, hi: number, fallback: RedirectStatus): RedirectStatus => {
    const v = raw(name);
    if (v === undefined) return fallback;
    const n = /^\s*\d{1,3}\s*$/.test(v) ? Number(v) : Number.NaN;
    if (n >= 300 && n <= hi) return n as RedirectStatus;
    warn(name, v, `a redirect code from 300 to ${hi}`, `the default (${fallback}) applies`);
    return fallback;
  };

  const filters: RouteFilters = {};
  const relative = bool('relative-redirects');
  // redirect.go: temporal-redirect is read first and wins; its code may be 300-307, permanent's 300-308.
  const temporal = raw('temporal-redirect');
  const permanent = raw('permanent-redirect');
  const location = (name: string, v: string): string | undefined => {
    const problem = locationProblem(v.trim());
    if (problem === null) return v.trim();
    warn(name, v, `an http(s) URL or a path (${problem})`, 'no redirect applies');
    return undefined;
  };
  if (temporal !== undefined && temporal.trim() !== '') {
    const to = location('temporal-redirect', temporal);
    if (to !== undefined) filters.redirect = { statusCode: code('temporal-redirect-code', 307, 302), location: to };
    if (permanent !== undefined && permanent.trim() !== '')
      problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(key('permanent-redirect'))} is ignored: ${JSON.stringify(key('temporal-redirect'))} is also set and takes precedence (as in ingress-nginx)`,
      });
  } else if (permanent !== undefined && permanent.trim() !== '') {
    const to = location('permanent-redirect', permanent);
    if (to !== undefined) filters.redirect = { statusCode: code('permanent-redirect-code', 308, 301), location: to };
  }
  if (filters.redirect !== undefined && relative && filters.redirect.location.startsWith('/')) filters.redirect.relative = true;

  const appRoot = raw('app-root');
  if (appRoot !== undefined) {
    const problem = rootPathProblem(appRoot.trim());
    if (problem === null) filters.rootRedirect = { statusCode: 302, replaceFullPath: appRoot.trim() };
    else warn('app-root', appRoot, `a path (${problem})`, '"/" is not redirected');
  }
  if (bool('force-ssl-redirect')) filters.schemeRedirect = { scheme: 'https', statusCode: 308 };

  const vhost = raw('upstream-vhost');
  if (vhost !== undefined && vhost.trim() !== '') {
    const problem = vhostProblem(vhost.trim());
    if (problem === null) filters.rewrite = { hostname: vhost.trim() };
    else warn('upstream-vhost', vhost, `a host name (${problem})`, 'the upstream gets the Host the client sent');
  }
  // xforwardedprefix.go: an empty value sets no header (test/e2e/annotations/xforwardedprefix.go).
  const prefix = raw('x-forwarded-prefix');
  if (prefix !== undefined && prefix !== '') {
    if (/^[\x20-\x7e]{1,1024}$/.test(prefix) && !/["$\\]/.test(prefix)) filters.requestHeaders = { set: [['x-forwarded-prefix', prefix]] };
    else warn('x-forwarded-prefix', prefix, 'at most 1024 visible ASCII characters without ", $ or \\', 'no X-Forwarded-Prefix is set');
  }

  const aliases: string[] = [];
  const alias = raw('server-alias');
  if (alias !== undefined) {
    for (const a of commaList(alias)) {
      const h = a.toLowerCase();
      if (isValidRuleHost(h)) aliases.push(h);
      else warn('server-alias', a, 'host names separated by ","', 'that alias is ignored');
    }
  }
  return { routing: { filters, fromToWww: bool('from-to-www-redirect'), aliases }, problems, consumed };
}
