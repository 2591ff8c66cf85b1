// The routing table: the contract between the sync agent (which compiles Kubernetes objects into it)
// and every edge worker (which validates it, compiles it into a matcher and serves it).
// Plain JSON data only, so it can be hashed, signed, stored and diffed. Every array has a canonical
// order (see canonical.ts), so the same objects always give the same bytes.

/** The newest schema this code reads and writes. A table is stamped with the OLDEST schema that can carry it,
 * so a worker of an older release keeps reading every table it understands during a rolling upgrade, and
 * refuses (keeping its last good table) one that carries a field it would ignore:
 * - 1: routes, hosts, backends, certificates, ssl-redirect and cluster weights.
 * - 2: also the fail-closed fields (`failClosed`, `fallbackFailClosed`, `defaultBackendFailClosed`). A schema-1
 *   worker would ignore them and serve guarded routes unguarded, so a table that has them must be schema 2. */
export const SCHEMA_VERSION = 2 as const;
export type SchemaVersion = 1 | typeof SCHEMA_VERSION;
export const SUPPORTED_SCHEMAS: readonly SchemaVersion[] = [1, 2];

export type PathType = 'Exact' | 'Prefix';

/** A namespaced object reference, written `namespace/name` in ids and diagnostics. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/** Per-route policies parsed from allow-listed annotations (typed, never text). Slots for later policies. */
export interface RoutePolicies {
  /** Redirect plain HTTP to HTTPS with 308; true only on hosts that have TLS. */
  sslRedirect: boolean;
  /** Multi-cluster (annotation portico.dev/cluster-weight): the percentage of requests kept in this
   * cluster while a peer also serves the route; absent means 100 (peers only for failover). */
  localWeight?: number;
  /** Fail closed: access-control annotations that guard this route and that Portico does not enforce (sorted
   * keys). The route answers 503 instead of serving unguarded. Absent when there are none, so tables
   * without them keep their exact form and hash. */
  failClosed?: string[];
}

export interface Route {
  /** For Prefix: the rule path without its trailing `/` ("" for `/`); for Exact: the path as written. */
  path: string;
  pathType: PathType;
  /** Id of an entry in `RoutingTable.backends`. */
  backend: string;
  /** The Ingress this route came from. */
  source: ObjectRef;
  policies: RoutePolicies;
}

export interface HostTls {
  /** Id of an entry in `RoutingTable.certificates`, or null: TLS is configured but the certificate is
   * missing or invalid, so the worker serves its default certificate for this host. */
  certificate: string | null;
}

export interface HostRoutes {
  /** Lower-case: an exact host (`foo.com`), a one-label wildcard (`*.foo.com`) or "" (rules without host). */
  host: string;
  tls: HostTls | null;
  /** Ordered by precedence: longest path first; on equal length Exact before Prefix. */
  routes: Route[];
  /** Backend for requests to this host that match no route: the `spec.defaultBackend` of the oldest
   * Ingress that has rules for this host and a default backend (as ingress-nginx does), else null. */
  fallbackBackend: string | null;
  /** Fail closed for the fallback backend: as `RoutePolicies.failClosed`, for the Ingress that provides it. */
  fallbackFailClosed?: string[];
}

export interface Endpoint {
  address: string;
  port: number;
  zone: string | null;
}

export interface Backend {
  /** `namespace/service:port`, where port is the number or name as written in the Ingress. */
  id: string;
  service: ObjectRef & { port: number | string };
  /** Ready endpoints only; empty means the backend answers 503. */
  endpoints: Endpoint[];
  /** Endpoints that exist but are not ready: never routed to, counted for inspection (ready/total). */
  notReady: number;
}

export interface CertificateInfo {
  /** `namespace/secretName`. */
  id: string;
  /** SHA-256 fingerprint of the leaf certificate (colon-separated hex, as node:crypto prints it). */
  fingerprint: string;
  /** DNS names the leaf covers (subjectAltName DNS entries). */
  dnsNames: string[];
  notBefore: string;
  notAfter: string;
}

export interface RoutingTable {
  schema: SchemaVersion;
  /** `sha256:` + hex digest of the canonical serialisation of every other field. */
  version: string;
  hosts: HostRoutes[];
  /** Backend for requests that match no host (the oldest Ingress's `spec.defaultBackend`), or null: 404. */
  defaultBackend: string | null;
  /** Fail closed for the default backend: as `RoutePolicies.failClosed`, for the Ingress that provides it. */
  defaultBackendFailClosed?: string[];
  backends: Backend[];
  certificates: CertificateInfo[];
}

/** Certificate material, kept out of the table: the table references certificates by id only. */
export interface CertificateMaterial {
  id: string;
  certPem: string;
  keyPem: string;
}
