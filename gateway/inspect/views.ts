// What each inspection command shows, computed from what read.ts loaded. Pure: no Redis, no clock
// except the `now` passed in, so every view is tested on its own.
import { X509Certificate } from 'node:crypto';
import { decide } from '../decide.ts';
import { compileMatcher, normalizeHost } from '../table/match.ts';
import type { CurrentPointer, HistoryEntry } from '../table/redis-layout.ts';
import type { Backend, HostRoutes, Route, RoutingTable } from '../table/schema.ts';
import type { LoadedVersion, WorkerView } from './read.ts';

export const EXPIRY_WARNING_DAYS = 14;

const pathOf = (r: Route): string => (r.pathType === 'Prefix' && r.path === '' ? '/' : r.path);
const hostName = (h: string): string => (h === '' ? '*' : h);

export function statusView(cluster: string, ptr: CurrentPointer, v: LoadedVersion, fleet: WorkerView[]) {
  const stale = fleet.filter((w) => w.version !== ptr.version);
  return {
    cluster,
    version: ptr.version,
    seq: ptr.seq,
    publishedAt: ptr.publishedAt,
    publisher: ptr.publisher,
    rollback: ptr.rollback ?? null,
    signature: v.verified ? 'verified' : 'not checked (no --keys)',
    hosts: v.table.hosts.length,
    routes: v.table.hosts.reduce((n, h) => n + h.routes.length, 0),
    certificates: v.table.certificates.length,
    diagnostics: v.diagnostics.length,
    workers: fleet.map((w) => ({
      id: w.id,
      node: w.node,
      runtime: w.runtime,
      version: w.version,
      source: w.source,
      age: w.ageSeconds,
      refusals: w.refusals,
      lastRefusal: w.lastRefusal?.message ?? null,
      redis: w.redisConnected,
    })),
    converged: fleet.length > 0 && stale.length === 0,
  };
}

export interface RouteRow {
  host: string;
  path: string;
  pathType: string;
  backend: string;
  endpoints: string;
  tls: string;
  redirect: string;
  ingress: string;
}

export function routeRows(t: RoutingTable, onlyHost?: string): RouteRow[] {
  const backends = new Map(t.backends.map((b) => [b.id, b] as const));
  const hosts = onlyHost === undefined ? t.hosts : t.hosts.filter((h) => h.host === normalizeHost(onlyHost) || h.host === onlyHost);
  const rows: RouteRow[] = [];
  const eps = (b: Backend | undefined): string =>
    b === undefined ? '?' : `${b.endpoints.length}/${b.endpoints.length + b.notReady} ready`;
  // ssl-passthrough: the host's TLS is not terminated; its routes serve plain HTTP (and HTTPS whose SNI names another host).
  const tls = (h: HostRoutes): string =>
    h.passthrough !== undefined
      ? `passthrough to ${h.passthrough.backend ?? 'nothing (closed)'}`
      : h.tls === null
        ? '-'
        : (h.tls.certificate ?? 'default certificate');
  for (const h of hosts) {
    for (const r of h.routes) {
      rows.push({
        host: hostName(h.host),
        path: pathOf(r),
        pathType: r.pathType,
        backend: r.backend,
        endpoints: eps(backends.get(r.backend)),
        tls: tls(h),
        redirect: r.policies.sslRedirect ? 'https' : '-',
        ingress: `${r.source.namespace}/${r.source.name}`,
      });
    }
    if (h.fallbackBackend !== null)
      rows.push({
        host: hostName(h.host),
        path: '(unmatched)',
        pathType: 'fallback',
        backend: h.fallbackBackend,
        endpoints: eps(backends.get(h.fallbackBackend)),
        tls: tls(h),
        redirect: '-',
        ingress: '',
      });
  }
  if (onlyHost === undefined && t.defaultBackend !== null)
    rows.push({
      host: '(no host matches)',
      path: '',
      pathType: 'default',
      backend: t.defaultBackend,
      endpoints: eps(backends.get(t.defaultBackend)),
      tls: '-',
      redirect: '-',
      ingress: '',
    });
  return rows;
}

function statusReason(status: number, failClosed: readonly string[] | null): string {
  if (status === 503 && failClosed !== null) return ` (fail closed: access control not enforced: ${failClosed.join(', ')})`;
  return status === 503 ? ' (no ready endpoint)' : status === 404 ? ' (not found)' : '';
}

/** Which rules a request would hit and why: the workers' own matcher and decision. */
export function explain(t: RoutingTable, url: string, headers: Record<string, string>) {
  const u = new URL(url);
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const host = headers.host ?? u.host;
  const matcher = compileMatcher(t);
  const live = { current: { matcher, certificates: new Map(), loadedAt: 0 } };
  const m = matcher.match(host, u.pathname);
  const port = u.port ? Number(u.port) : scheme === 'https' ? 443 : 80;
  const d = decide(live, { host, path: u.pathname, search: u.search, scheme, clientIp: '198.51.100.1', localPort: port }, 443);
  const hostRule =
    m.host === null
      ? 'none'
      : m.host.host === ''
        ? 'rules without a host (*)'
        : m.host.host.startsWith('*.')
          ? `wildcard ${m.host.host}`
          : `exact ${m.host.host}`;
  const why: Record<string, string> = {
    route:
      m.route?.pathType === 'Regex'
        ? 'the first Regex rule of the host that matches (longest pattern first, as ingress-nginx orders its regex locations)'
        : `the longest matching ${m.route?.pathType} rule`,
    'host-fallback': "no path rule of this host matches: the host's fallback (the Ingress's spec.defaultBackend)",
    'default-backend': 'no host or path rule matches: the default backend',
    'no-match': 'no host or path rule matches and there is no default backend',
  };
  return {
    request: `${headers[':method'] ?? 'GET'} ${scheme}://${host}${u.pathname}${u.search}`,
    matchedPath: m.path,
    host: hostRule,
    route:
      m.route === null
        ? null
        : { path: pathOf(m.route), pathType: m.route.pathType, ingress: `${m.route.source.namespace}/${m.route.source.name}` },
    backend: m.backend === null ? null : { id: m.backend.id, readyEndpoints: m.backend.endpoints.map((e) => `${e.address}:${e.port}`) },
    answer:
      d.kind === 'forward'
        ? `forward to ${d.backend.id}`
        : d.kind === 'redirect'
          ? `${d.status} redirect to ${d.location}`
          : `${d.status}${statusReason(d.status, m.failClosed)}`,
    why: why[m.reason] ?? m.reason,
  };
}

export interface CertRow {
  host: string;
  certificate: string;
  subject: string;
  sans: string;
  issuer: string;
  notAfter: string;
  daysLeft: number | null;
  warning: string;
}

export function certRows(v: LoadedVersion, now: Date): CertRow[] {
  const pem = new Map(v.certificates.map((c) => [c.id, c.certPem] as const));
  const rows: CertRow[] = [];
  for (const h of v.table.hosts) {
    if (h.tls === null) continue;
    const id = h.tls.certificate;
    const p = id === null ? undefined : pem.get(id);
    if (id === null || p === undefined) {
      rows.push({
        host: hostName(h.host),
        certificate: '(default certificate)',
        subject: '',
        sans: '',
        issuer: '',
        notAfter: '',
        daysLeft: null,
        warning: 'no valid certificate: the default one is served',
      });
      continue;
    }
    const x = new X509Certificate(p);
    const notAfter = new Date(x.validTo);
    const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
    const covers = h.host.startsWith('*.')
      ? (x.subjectAltName ?? '').split(', ').includes(`DNS:${h.host}`)
      : x.checkHost(h.host) !== undefined;
    const warning =
      daysLeft < 0 ? 'EXPIRED' : daysLeft < EXPIRY_WARNING_DAYS ? `expires in ${daysLeft} days` : !covers ? `does not cover ${h.host}` : '';
    rows.push({
      host: hostName(h.host),
      certificate: id,
      subject: x.subject.replace(/\n/g, ', '),
      sans: (x.subjectAltName ?? '').replace(/DNS:/g, ''),
      issuer: x.issuer.replace(/\n/g, ', '),
      notAfter: notAfter.toISOString(),
      daysLeft,
      warning,
    });
  }
  return rows;
}

export interface TableDiff {
  from: string;
  to: string;
  hosts: { added: string[]; removed: string[] };
  routes: { added: string[]; removed: string[]; changed: string[] };
  backends: { added: string[]; removed: string[]; endpoints: string[] };
  certificates: { added: string[]; removed: string[]; changed: string[] };
}

export function diff(a: RoutingTable, b: RoutingTable): TableDiff {
  const sets = <T>(xs: Map<string, T>, ys: Map<string, T>, same: (x: T, y: T) => boolean) => ({
    added: [...ys.keys()].filter((k) => !xs.has(k)),
    removed: [...xs.keys()].filter((k) => !ys.has(k)),
    changed: [...ys.keys()].filter((k) => xs.has(k) && !same(xs.get(k)!, ys.get(k)!)),
  });
  const routes = (t: RoutingTable) =>
    new Map<string, Route>(
      t.hosts.flatMap((h) =>
        h.routes.map((r): [string, Route] => [`${hostName(h.host)} ${r.pathType === 'Exact' ? '=' : ''}${pathOf(r)}`, r]),
      ),
    );
  const hosts = sets(new Map(a.hosts.map((h) => [hostName(h.host), h])), new Map(b.hosts.map((h) => [hostName(h.host), h])), () => true);
  const r = sets(routes(a), routes(b), (x, y) => x.backend === y.backend && x.policies.sslRedirect === y.policies.sslRedirect);
  const bk = sets(
    new Map(a.backends.map((x) => [x.id, x])),
    new Map(b.backends.map((x) => [x.id, x])),
    (x, y) => JSON.stringify(x.endpoints) === JSON.stringify(y.endpoints),
  );
  const byId = (t: RoutingTable) => new Map(t.backends.map((x) => [x.id, x] as const));
  const endpoints = bk.changed.map((id) => {
    const before = new Set(
      byId(a)
        .get(id)!
        .endpoints.map((e) => `${e.address}:${e.port}`),
    );
    const after = new Set(
      byId(b)
        .get(id)!
        .endpoints.map((e) => `${e.address}:${e.port}`),
    );
    const plus = [...after].filter((e) => !before.has(e)).map((e) => `+${e}`);
    const minus = [...before].filter((e) => !after.has(e)).map((e) => `-${e}`);
    return `${id}: ${[...plus, ...minus].join(' ')}`;
  });
  const certs = sets(
    new Map(a.certificates.map((c) => [c.id, c])),
    new Map(b.certificates.map((c) => [c.id, c])),
    (x, y) => x.fingerprint === y.fingerprint,
  );
  return {
    from: a.version,
    to: b.version,
    hosts: { added: hosts.added, removed: hosts.removed },
    routes: { added: r.added, removed: r.removed, changed: r.changed.map((k) => `${k} → ${routes(b).get(k)!.backend}`) },
    backends: { added: bk.added, removed: bk.removed, endpoints },
    certificates: certs,
  };
}

export function historyRows(entries: HistoryEntry[], current: string) {
  return entries.map((e) => ({
    version: e.version.slice(0, 19),
    seq: e.seq,
    publishedAt: e.publishedAt,
    publisher: e.publisher,
    hosts: e.hosts,
    routes: e.routes,
    diagnostics: e.diagnostics,
    note: `${e.version === current ? 'current' : ''}${e.rollback ? `${e.version === current ? ', ' : ''}rollback by ${e.rollback.by} at ${e.rollback.at}` : ''}`,
  }));
}
