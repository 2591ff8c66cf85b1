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

/** The UTF-8 bytes of canonicalJson(value), kept with a sealed host entry or backend (as its JSON is): the content
 * hash and the bundle's parts (bundle.ts, sealBundle) both take them, so an entry carried into the next table is
 * encoded once, not once per publish. Other values are encoded each time. */
const sealedBytes = new WeakMap<object, Uint8Array>();
const utf8 = new TextEncoder();
const COMMA = utf8.encode(',');

function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function canonicalBytes(value: unknown): Uint8Array {
  if (value === null || typeof value !== 'object') return utf8.encode(canonicalJson(value));
  const memo = sealedBytes.get(value);
  if (memo !== undefined) return memo;
  const bytes = utf8.encode(canonicalJson(value));
  if (typeof sealedParts.get(value) === 'string') sealedBytes.set(value, bytes);
  return bytes;
}

/** Whether `value` is a host entry or backend of a sealed table whose JSON is written: signed content, never edited,
 * so what is derived from it may be kept by its identity. */
export function isSealedEntry(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof sealedParts.get(value) === 'string';
}

/** The last content hashed for a given host list, when every host entry and backend in it is sealed (immutable, see
 * sealedParts): the hash of a sealed table is asked for again at once, by the agent's validate() before it publishes
 * (validate.ts recomputes it). Keyed by the list's identity and checked entry by entry (identity, as canonicalJson's
 * memo is) and by the JSON of every other field; a table of parsed JSON (entries nobody sealed, which a caller may
 * edit) is hashed in full every time. */
const hashed = new WeakMap<readonly object[], { hosts: readonly object[]; backends: readonly object[]; rest: string; version: string }>();

const sameEntries = (a: readonly object[], b: readonly object[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** `sha256:` + hex SHA-256 of canonicalJson({ schema, ...content }) (docs/ARCHITECTURE.md, "The table contract"),
 * the same bytes, fed to the hash piece by piece: the host entries and backends, most of a table, as their kept
 * bytes (canonicalBytes), and no string of the whole table is built. */
export function contentHash(c: TableContent): string {
  const { hosts, backends, ...others } = c;
  const schema = schemaOf(c);
  const rest = canonicalJson({ schema, ...others });
  const memo = Array.isArray(hosts) ? hashed.get(hosts) : undefined;
  if (memo !== undefined && memo.rest === rest && sameEntries(memo.hosts, hosts) && sameEntries(memo.backends, backends))
    return memo.version;
  // canonicalJson of the whole object: its keys sorted, `backends` and `hosts` among them (both always present). The
  // pieces are copied into one buffer and hashed in one call: thousands of small update() calls cost more than the hash.
  const top: Record<string, unknown> = { schema, ...c };
  let sealed = true;
  const keys = Object.keys(top)
    .filter((k) => top[k] !== undefined)
    .sort();
  const pieces: Uint8Array[] = [];
  let text = '{';
  for (const [i, k] of keys.entries()) {
    text += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:`;
    const v = top[k];
    if ((k === 'hosts' || k === 'backends') && Array.isArray(v)) {
      pieces.push(utf8.encode(`${text}[`));
      text = '';
      for (const [j, entry] of v.entries()) {
        if (j > 0) pieces.push(COMMA);
        pieces.push(canonicalBytes(entry));
        if (sealed && !isSealedEntry(entry)) sealed = false;
      }
      text = ']';
    } else text += canonicalJson(v);
  }
  pieces.push(utf8.encode(`${text}}`));
  const version = `sha256:${createHash('sha256').update(concatBytes(pieces)).digest('hex')}`;
  if (sealed && Array.isArray(hosts) && Array.isArray(backends))
    hashed.set(hosts, { hosts: [...hosts], backends: [...backends], rest, version });
  return version;
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
