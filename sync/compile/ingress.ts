// One Ingress → a plan: its hosts, its valid paths, its default backend, its TLS entries and its
// annotation settings, with a diagnostic for everything skipped. Planning never looks at other objects;
// conflicts between Ingresses are settled later, in precedence order (see routes.ts).
import type { ClientCertificateRequest } from './client-certificates.ts';
import type { ProxySslRequest } from './proxy-ssl-annotations.ts';
import { isValidRuleHost, pathProblem } from '../../gateway/table/names.ts';
import { regexProblem } from '../../gateway/table/regex-paths.ts';
import { type AccessPolicy, type ObjectRef, type PathType, SERVICE_UPSTREAM_SUFFIX } from '../../gateway/table/schema.ts';
import type { BackendRequest } from './backend-annotations.ts';
import type { UnenforcedGuard } from './access-control.ts';
import type { CanaryRequest } from './canary-annotations.ts';
import { parseAnnotations } from './annotations.ts';
import { type ControllerSettings, configMapGuardKey, effectiveAnnotations, NO_CONTROLLER_SETTINGS } from './controller-settings.ts';
import type { RoutingRequest } from './routing-annotations.ts';
import { CONFIGURATION_SNIPPET, type SnippetRequest } from './snippet-annotations.ts';
import type { UpstreamFilters } from './upstream-annotations.ts';
import type { ParsedAffinity } from './affinity-annotations.ts';
import type { Report } from './diagnostics.ts';
import { fields, items, name, refOf, show, text, type ObjectInfo } from './objects.ts';

/** A reference to a Service port, as written in an Ingress backend. */
export interface BackendRef {
  /** `namespace/service:port`. */
  id: string;
  namespace: string;
  service: string;
  /** The port number or name as written in the Ingress. */
  port: number | string;
  /** service-upstream: the Service's ClusterIP and port instead of its endpoints (the id ends in
   * SERVICE_UPSTREAM_SUFFIX). */
  serviceUpstream?: true;
}

/** The same Service port as the ClusterIP backend of service-upstream. */
export const clusterIpRef = (r: BackendRef): BackendRef =>
  r.serviceUpstream === true ? r : { ...r, id: `${r.id}${SERVICE_UPSTREAM_SUFFIX}`, serviceUpstream: true };

export interface PathPlan {
  /** Lower-case host, "" for a rule without host. */
  host: string;
  pathType: PathType;
  /** As stored in the table: Prefix without its trailing `/` ("" for `/`), Exact as written. */
  path: string;
  /** As written (after defaulting to `/`): for messages, and the pattern on a host whose paths are regexes. */
  written: string;
  backend: BackendRef;
  /** Where in the Ingress, e.g. `spec.rules[0].http.paths[1]`. */
  where: string;
}

export interface TlsPlan {
  where: string;
  /** null: no secretName, the worker's default certificate is used. */
  secretName: string | null;
  /** Lower-case hosts, or null when the entry lists none (it then applies to every rule host). */
  hosts: string[] | null;
}

export interface IngressPlan {
  info: ObjectInfo;
  ref: ObjectRef;
  /** Valid rule hosts in first-seen order, no repeats; "" for rules without host. */
  hosts: string[];
  paths: PathPlan[];
  defaultBackend: BackendRef | null;
  tls: TlsPlan[];
  sslRedirect: boolean;
  clusterWeight: number;
  /** Access-control annotations Portico does not enforce: what they guard answers 503 (fail closed). */
  guards: UnenforcedGuard[];
  /** Access control Portico enforces on this Ingress's routes, and the annotations it came from. */
  access: AccessPolicy | undefined;
  accessKeys: string[];
  /** Hosts with a path of this Ingress that was skipped (invalid, or a regex Portico does not route yet). */
  droppedOn: string[];
  /** Client certificates asked for on this Ingress's hosts (auth-tls-*); cleared when its Secret cannot be used. */
  clientCertificate: ClientCertificateRequest | undefined;
  /** TLS to the upstreams (proxy-ssl-*), until resolveProxySsl (proxy-ssl-secrets.ts) puts it into `upstream`. */
  proxySsl?: ProxySslRequest;
  /** Route filters, server aliases and from-to-www-redirect (routing-annotations.ts). */
  routing: RoutingRequest;
  /** Upstream timeouts, body limit and retry policy of this Ingress's routes (proxy-* annotations). */
  upstream: UpstreamFilters;
  /** Set on a canary Ingress: its paths join other Ingresses' routes as their canary backend (routes.ts). */
  canary?: CanaryRequest;
  /** use-regex or rewrite-target: every path of this Ingress's hosts is a regular expression (routes.ts). */
  regex: boolean;
  /** rewrite-target: the rewrite template of this Ingress's routes. */
  rewrite: string | undefined;
  /** Session affinity and consistent hashing of this Ingress's routes (affinity-annotations.ts). */
  balancing: Omit<ParsedAffinity, 'consumed' | 'problems'>;
  /** default-backend, custom-http-errors, service-upstream (backend-annotations.ts). */
  backends: BackendRequest;
  /** default-backend resolved to the Service's first port (error-backends.ts); absent when unset or unusable. */
  errorBackend?: BackendRef;
  /** Header directives of configuration-snippet and server-snippet Portico accepted (snippet-annotations.ts). */
  snippets: SnippetRequest;
  /** ssl-passthrough "true": this Ingress asks for its hosts' TLS to be relayed untouched (passthrough.ts decides). */
  sslPassthrough: boolean;
}

const PATH_TYPES: Readonly<Record<string, PathType>> = {
  Exact: 'Exact',
  Prefix: 'Prefix',
  // ImplementationSpecific means Prefix (the element-wise prefix match most controllers do for it), unless the
  // Ingress uses use-regex or rewrite-target: then it is a regular expression, as in ingress-nginx, and only
  // there may it hold regex syntax (ingress-nginx's strict path validation keeps Exact and Prefix paths plain).
  ImplementationSpecific: 'Prefix',
};

// What the apiserver accepts for an Ingress backend (and what keeps backend ids `ns/service:port`
// unambiguous: no "/" or ":" in a name, and a port name can never look like a port number).
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const isPortName = (n: string): boolean =>
  n.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) && /[a-z]/.test(n) && !n.includes('--');

/** A list field: missing reads as empty; any other non-list is reported and read as empty. */
function listField(v: unknown, where: string, report: Report): readonly unknown[] {
  if (v !== undefined && v !== null && !Array.isArray(v)) report('InvalidObject', `${where} is ${show(v)}, not a list; it is ignored`);
  return items(v);
}

/** Reads an IngressBackend; null (with a diagnostic) when it is not a usable Service backend. */
export function parseBackend(v: unknown, namespace: string, where: string, report: Report): BackendRef | null {
  const b = fields(v);
  const hasService = b.service !== undefined && b.service !== null;
  const hasResource = b.resource !== undefined && b.resource !== null;
  if (hasResource) {
    const r = fields(b.resource);
    const what = `${text(r.kind) ?? '?'} ${JSON.stringify(text(r.name) ?? '')}`;
    report(
      'InvalidBackend',
      `${where} is a resource backend (${what})${hasService ? ' and also names a service' : ''}; Portico only routes to Services, so it is skipped`,
    );
    return null;
  }
  if (!hasService) {
    report('InvalidBackend', `${where} names no service; it is skipped`);
    return null;
  }
  const svc = fields(b.service);
  const service = name(svc.name);
  if (service === undefined || !SERVICE_NAME.test(service)) {
    report('InvalidBackend', `${where}.service.name is ${show(svc.name)}, not a Service name (an RFC 1035 label); it is skipped`);
    return null;
  }
  const port = fields(svc.port);
  const hasNumber = port.number !== undefined && port.number !== null;
  const hasName = port.name !== undefined && port.name !== null && port.name !== '';
  let p: number | string;
  if (hasNumber && hasName) {
    report(
      'InvalidBackend',
      `${where}.service.port sets both number ${show(port.number)} and name ${show(port.name)}; exactly one is allowed, so it is skipped`,
    );
    return null;
  } else if (hasNumber) {
    const n = port.number;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
      report('InvalidBackend', `${where}.service.port.number is ${show(n)}, not a port between 1 and 65535; it is skipped`);
      return null;
    }
    p = n;
  } else if (hasName) {
    if (typeof port.name !== 'string' || !isPortName(port.name)) {
      report(
        'InvalidBackend',
        `${where}.service.port.name is ${show(port.name)}, not a port name (an IANA service name: up to 15 of a-z, 0-9 and "-", with a letter); it is skipped`,
      );
      return null;
    }
    p = port.name;
  } else {
    report('InvalidBackend', `${where}.service.port names no port number or name for Service ${JSON.stringify(service)}; it is skipped`);
    return null;
  }
  return { id: `${namespace}/${service}:${p}`, namespace, service, port: p };
}

/** Lower-cased host if valid, else undefined (with a diagnostic). */
function parseHost(v: unknown, where: string, what: string, report: Report): string | undefined {
  const h = typeof v === 'string' ? v.toLowerCase() : undefined;
  if (h === undefined || !isValidRuleHost(h)) {
    report(
      'InvalidHost',
      `${where} ${show(v)} is not a valid host (an RFC 1123 DNS name or a one-label wildcard such as "*.example.com"; no IP addresses); ${what}`,
    );
    return undefined;
  }
  return h;
}

function parsePath(v: unknown, host: string, namespace: string, where: string, regex: boolean, report: Report): PathPlan | null {
  const p = fields(v);
  let ok = true;
  const pathType = typeof p.pathType === 'string' && Object.hasOwn(PATH_TYPES, p.pathType) ? PATH_TYPES[p.pathType] : undefined;
  if (pathType === undefined) {
    const was = p.pathType === undefined || p.pathType === null ? 'is missing' : `is ${show(p.pathType)}`;
    report('InvalidPathType', `${where}.pathType ${was}; it must be Exact, Prefix or ImplementationSpecific, so the path is skipped`);
    ok = false;
  }
  const raw = p.path === undefined || p.path === null || p.path === '' ? '/' : p.path;
  let written = '/';
  if (typeof raw !== 'string') {
    report('InvalidPath', `${where}.path is ${show(raw)}, not a string; the path is skipped`);
    ok = false;
  } else {
    written = raw;
    const asRegex = regex && p.pathType === 'ImplementationSpecific';
    const problem = asRegex ? regexProblem(raw) : pathProblem(raw);
    if (problem !== null) {
      const what = asRegex ? ' (a regular expression: the Ingress uses use-regex or rewrite-target)' : '';
      report('InvalidPath', `${where}.path ${show(raw)}${what} ${problem}; the path is skipped`);
      ok = false;
    }
  }
  const backend = parseBackend(p.backend, namespace, `${where}.backend`, report);
  if (!ok || backend === null || pathType === undefined) return null;
  const path = pathType === 'Prefix' && written.endsWith('/') ? written.slice(0, -1) : written;
  return { host, pathType, path, written, backend, where };
}

function parseTls(v: unknown, where: string, report: Report): TlsPlan {
  const t = fields(v);
  const secretName = name(t.secretName) ?? null;
  if (t.secretName !== undefined && t.secretName !== null && typeof t.secretName !== 'string') {
    report('SecretInvalid', `${where}.secretName is ${show(t.secretName)}, not a Secret name; the default certificate is used`);
  }
  const hosts: string[] = [];
  const listed = listField(t.hosts, `${where}.hosts`, report);
  listed.forEach((h, i) => {
    const host = parseHost(h, `${where}.hosts[${i}]`, 'it is ignored', report);
    if (host !== undefined && !hosts.includes(host)) hosts.push(host);
  });
  return { where, secretName, hosts: listed.length === 0 ? null : hosts };
}

/** Plans one Ingress of our class that has a namespace and a name. */
export function planIngress(info: ObjectInfo, report: Report, settings: ControllerSettings = NO_CONTROLLER_SETTINGS): IngressPlan {
  const ref = refOf(info);
  const namespace = ref.namespace;
  const spec = fields(fields(info.raw).spec);
  const effective = effectiveAnnotations(info.annotations, settings);
  for (const key of effective.ignored)
    report(
      'UnsupportedAnnotation',
      `annotation ${JSON.stringify(key)} is ignored: this Ingress has no auth-url of its own, so the controller ConfigMap's global-auth-* applies whole (ingress-nginx reads auth-url's companions only with auth-url)`,
    );
  const {
    values,
    access,
    unenforced: own,
    problems,
    clientCertificate,
    proxySsl,
    routing,
    upstream,
    canary,
    rewrite,
    balancing,
    backends,
    snippets,
    sslPassthrough,
  } = parseAnnotations(effective.annotations, namespace);
  for (const p of problems) report(p.code, p.message);
  // The controller ConfigMap's unenforced guards (block lists, ModSecurity, snippets) close every route.
  const unenforced = [...own, ...settings.closedBy.map((key) => ({ key: configMapGuardKey(key), scope: 'routes' as const }))];

  const hosts: string[] = [];
  const paths: PathPlan[] = [];
  const droppedOn: string[] = [];
  listField(spec.rules, 'spec.rules', report).forEach((r, i) => {
    const rule = fields(r);
    const where = `spec.rules[${i}]`;
    let host = '';
    if (rule.host !== undefined && rule.host !== null && rule.host !== '') {
      const h = parseHost(rule.host, `${where}.host`, 'the rule is skipped', report);
      if (h === undefined) return;
      host = h;
    }
    if (!hosts.includes(host)) hosts.push(host);
    listField(fields(rule.http).paths, `${where}.http.paths`, report).forEach((p, j) => {
      const plan = parsePath(p, host, namespace, `${where}.http.paths[${j}]`, rewrite.regex, report);
      if (plan !== null) paths.push(backends.serviceUpstream ? { ...plan, backend: clusterIpRef(plan.backend) } : plan);
      else if (!droppedOn.includes(host)) droppedOn.push(host);
    });
  });

  const hasDefault = spec.defaultBackend !== undefined && spec.defaultBackend !== null;
  const written = hasDefault ? parseBackend(spec.defaultBackend, namespace, 'spec.defaultBackend', report) : null;
  const defaultBackend = written !== null && backends.serviceUpstream ? clusterIpRef(written) : written;
  const tls = listField(spec.tls, 'spec.tls', report).map((t, i) => parseTls(t, `spec.tls[${i}]`, report));
  return {
    info,
    ref,
    hosts,
    paths,
    defaultBackend,
    tls,
    sslRedirect: values.sslRedirect,
    clusterWeight: values.clusterWeight,
    guards: unenforced,
    access: access.access,
    // A configuration-snippet's header rules are not applied where the Ingress's spec.defaultBackend serves (nor to
    // a skipped path's requests), so it counts with the access rules there: those answer 503 (index.ts).
    accessKeys: (snippets.location?.length ?? 0) > 0 ? [...access.keys, CONFIGURATION_SNIPPET] : access.keys,
    droppedOn,
    clientCertificate,
    ...(proxySsl === undefined ? {} : { proxySsl }),
    routing,
    upstream,
    ...(canary === undefined ? {} : { canary }),
    regex: rewrite.regex,
    rewrite: rewrite.target,
    balancing,
    backends,
    snippets,
    sslPassthrough,
  };
}
