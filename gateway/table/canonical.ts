// Canonical serialisation and content hash of a routing table. Same content → same bytes → same
// version, whatever order the compiler produced things in (docs/ARCHITECTURE.md, "Invariants").
import { createHash } from 'node:crypto';
import type { Backend, HostRoutes, Route, RoutePolicies, RoutingTable, SchemaVersion } from './schema.ts';

export type TableContent = Omit<RoutingTable, 'version' | 'schema'>;

/** Host entries and backends in canonical order made by sealTable(), with their canonical JSON once it is written.
 * A sealed table is signed content and never edited, so an entry the agent carries into its next table (the
 * incremental compiler keeps every host a change did not touch) is neither sorted nor serialised again: sealing and
 * publishing cost what changed, not the whole table. Keyed by identity, so nothing is kept beyond the tables. */
const sealedParts = new WeakMap<object, string | null>();

/** JSON with object keys sorted at every level; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const memo = sealedParts.get(value);
  if (typeof memo === 'string') return memo;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  const json = `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  if (memo === null) sealedParts.set(value, json);
  return json;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Route precedence (Ingress v1): longest path first; on a tie Exact before Prefix; then by path. Regex routes
 * (which never share a host with the others): longest first, then by path descending, which is ingress-nginx's
 * order of locations (a sort by path descending, then a stable sort by length). */
export function compareRoutes(a: Route, b: Route): number {
  if (a.pathType === 'Regex' && b.pathType === 'Regex') return b.path.length - a.path.length || cmp(b.path, a.path);
  return b.path.length - a.path.length || (a.pathType === b.pathType ? 0 : a.pathType === 'Exact' ? -1 : 1) || cmp(a.path, b.path);
}

function sortBackend(b: Backend): Backend {
  if (sealedParts.has(b)) return b;
  const endpoints = [...b.endpoints].sort((x, y) => cmp(x.address, y.address) || x.port - y.port);
  const sorted = { ...b, endpoints };
  sealedParts.set(sorted, null);
  return sorted;
}

function sortHost(h: HostRoutes): HostRoutes {
  if (sealedParts.has(h)) return h;
  const sorted = { ...h, routes: [...h.routes].sort(compareRoutes) };
  sealedParts.set(sorted, null);
  return sorted;
}

/** Puts every array into canonical order. */
function canonicalContent(c: TableContent): TableContent {
  return {
    hosts: c.hosts.map(sortHost).sort((a, b) => cmp(a.host, b.host)),
    defaultBackend: c.defaultBackend,
    ...(c.defaultBackendFailClosed === undefined ? {} : { defaultBackendFailClosed: [...c.defaultBackendFailClosed].sort() }),
    backends: c.backends.map(sortBackend).sort((a, b) => cmp(a.id, b.id)),
    certificates: [...c.certificates].sort((a, b) => cmp(a.id, b.id)).map((x) => ({ ...x, dnsNames: [...x.dnsNames].sort() })),
    ...(c.clientCertificateAuthorities === undefined
      ? {}
      : { clientCertificateAuthorities: [...c.clientCertificateAuthorities].sort((a, b) => cmp(a.id, b.id)) }),
    ...(c.upstreamTlsSecrets === undefined ? {} : { upstreamTlsSecrets: [...c.upstreamTlsSecrets].sort((a, b) => cmp(a.id, b.id)) }),
    ...(c.hsts === undefined ? {} : { hsts: c.hsts }),
    ...(c.defaultCertificate === undefined ? {} : { defaultCertificate: c.defaultCertificate }),
  };
}

/** Whether a route carries a routing filter of schema 5 (redirect.ts). */
export function hasRouteFilter(p: Route['policies']): boolean {
  return (
    p.redirect !== undefined ||
    p.rootRedirect !== undefined ||
    p.schemeRedirect !== undefined ||
    p.rewrite !== undefined ||
    p.requestHeaders !== undefined ||
    p.timeouts !== undefined ||
    p.bodyLimit !== undefined ||
    p.retry !== undefined ||
    p.canary !== undefined ||
    p.backendProtocol !== undefined ||
    p.upstreamTls !== undefined ||
    p.affinity !== undefined ||
    p.balance !== undefined ||
    p.errorBackend !== undefined ||
    p.interceptStatuses !== undefined
  );
}

/** The oldest schema that carries this content (see SCHEMA_VERSION): 6 with upstream TLS (proxy-ssl-*), TLS passthrough on a host, header rules (snippets) or gateway-wide settings, 5 with routing filters (redirects,
 * upstream-vhost, rewrite-target, x-forwarded-prefix, from-to-www-redirect, timeouts, bodyLimit, retry, canary,
 * backendProtocol, affinity, balance, default-backend, custom-http-errors), Regex paths or service-upstream
 * backends, 4 with client
 * certificates, a global rate limit, JWT verification, digest authentication, headers for the external auth
 * subrequest or response headers from a ConfigMap (custom-headers), 3 with access policies, 2 when anything fails
 * closed, else 1. */
export function schemaOf(c: TableContent, ofHost: (h: HostRoutes) => SchemaVersion = hostSchema): SchemaVersion {
  let schema: SchemaVersion =
    c.upstreamTlsSecrets !== undefined || c.hsts !== undefined || c.defaultCertificate !== undefined
      ? 6
      : c.clientCertificateAuthorities !== undefined
        ? 4
        : c.defaultBackendFailClosed !== undefined
          ? 2
          : 1;
  if (schema < 5 && c.backends.some((b) => b.serviceUpstream !== undefined)) schema = 5;
  for (const h of c.hosts) {
    if (schema === 6) break;
    const need = ofHost(h);
    if (need > schema) schema = need;
  }
  return schema;
}

/** The oldest schema that carries one host entry (its routes included), by the rules of schemaOf(). A table's schema
 * is the highest its head, backends and hosts need, so a worker that remembers each unchanged host's need (the
 * validation memo) works out the schema of the next table from the hosts that changed. */
export function hostSchema(h: HostRoutes): SchemaVersion {
  if (h.passthrough !== undefined) return 6;
  let schema: SchemaVersion =
    h.redirect !== undefined ? 5 : h.clientCertificate !== undefined ? 4 : h.fallbackFailClosed !== undefined ? 2 : 1;
  for (const r of h.routes) {
    const p = r.policies;
    if (p.upstreamTls !== undefined || p.headerRules !== undefined || hasSchema6Status(p)) return 6;
    if (schema === 5) continue;
    if (r.pathType === 'Regex' || hasRouteFilter(p)) {
      schema = 5;
      continue;
    }
    if (schema === 4) continue;
    const access = p.access;
    if (
      access?.globalRateLimit !== undefined ||
      access?.jwt !== undefined ||
      access?.basicAuth?.scheme !== undefined ||
      access?.externalAuth?.proxySetHeaders !== undefined ||
      access?.customHeaders !== undefined
    )
      schema = 4;
    else if (access !== undefined) schema = 3;
    else if (p.failClosed !== undefined && schema < 2) schema = 2;
  }
  return schema;
}

/** A refusal status other than the default on a route's limits (limit-req-status-code and its companions). */
function hasSchema6Status(p: RoutePolicies): boolean {
  const a = p.access;
  return a?.limits?.status !== undefined || a?.limits?.connectionStatus !== undefined || a?.globalRateLimit?.status !== undefined;
}

export function contentHash(c: TableContent): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson({ schema: schemaOf(c), ...c }))
    .digest('hex')}`;
}

/** Orders the content canonically and stamps it with its schema and content-hash version. */
export function sealTable(content: TableContent): RoutingTable {
  const c = canonicalContent(content);
  return { schema: schemaOf(c), version: contentHash(c), ...c };
}

/** The bytes that are stored, signed and compared: canonical JSON of the whole table. */
export function serializeTable(t: RoutingTable): string {
  return canonicalJson(t);
}
