// Expands the nginx variables of gateway/table/variables.ts for one request. Values are looked up, never
// evaluated; an unknown name (which validate() and the compiler already refuse) expands to nothing.
import { normalizeHost } from '../table/match.ts';
import { basicCredentials } from './basic-auth.ts';
import { parseTemplate, type Template } from '../table/variables.ts';

/** What a variable can be read from. */
export interface RequestVariables {
  /** Host header as sent (may carry a port). */
  httpHost: string;
  scheme: 'http' | 'https';
  method: string;
  /** Path as sent (no query). */
  path: string;
  /** Query including its `?`, or "". */
  search: string;
  clientIp: string;
  localPort: number;
  /** A request header by lower-case name (several values joined with ", "), or null. */
  header(name: string): string | null;
}

/** nginx's set_escape_uri (ngx_escape_uri, URI component): everything but letters, digits and `-._~` is
 * percent-encoded, so `/?a=b&c=d` becomes `%2F%3Fa%3Db%26c%3Dd` (test/e2e/annotations/auth.go). */
export function escapeUriComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A cookie of the Cookie header by name, "" when absent. */
export function cookie(header: string | null, name: string): string {
  if (header === null) return '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

/** A query argument by name, as sent (not decoded), "" when absent. */
export function arg(search: string, name: string): string {
  for (const pair of search.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    if ((eq === -1 ? pair : pair.slice(0, eq)) === name) return eq === -1 ? '' : pair.slice(eq + 1);
  }
  return '';
}

export function variable(name: string, r: RequestVariables): string {
  switch (name) {
    case 'host':
      return normalizeHost(r.httpHost);
    case 'http_host':
      return r.httpHost;
    case 'scheme':
    case 'pass_access_scheme':
      return r.scheme;
    case 'request_uri':
      return r.path + r.search;
    case 'escaped_request_uri':
      return escapeUriComponent(r.path + r.search);
    case 'uri':
      return r.path;
    case 'args':
      return r.search.replace(/^\?/, '');
    case 'request_method':
      return r.method;
    case 'remote_addr':
      return r.clientIp;
    case 'remote_user':
      return basicCredentials(r.header('authorization'))?.user ?? '';
    case 'server_port':
      return String(r.localPort);
  }
  // nginx's $http_<name>: the header with dashes written as underscores.
  if (name.startsWith('http_')) return r.header(name.slice(5).replace(/_/g, '-')) ?? '';
  if (name.startsWith('cookie_')) return cookie(r.header('cookie'), name.slice(7));
  if (name.startsWith('arg_')) return arg(r.search, name.slice(4));
  return '';
}

const parsed = new Map<string, Template>();

/** `value` with its variables expanded for this request. */
export function expand(value: string, r: RequestVariables): string {
  if (value.indexOf('$') === -1) return value;
  let parts = parsed.get(value);
  if (parts === undefined) {
    parts = parseTemplate(value).parts;
    if (parsed.size < 10_000) parsed.set(value, parts);
  }
  let out = '';
  for (const p of parts) out += typeof p === 'string' ? p : variable(p.variable, r);
  return out;
}
