// The pure compiler: Kubernetes objects in → { table, certificates, basicAuth, diagnostics, accepted } out
// (docs/ARCHITECTURE.md, "Invariants"). Processors run in a fixed order, Contour-style:
//   classes → plan each Ingress → merge routes (oldest first) → default backend → TLS → backends → seal.
// No I/O, no clock, no logging. Every per-object step is guarded, so a malformed object costs a
// diagnostic and never the table; the output depends only on the set of objects, not their order.
import { affinityFor } from './affinity-annotations.ts';
import { sealTable } from '../../gateway/table/canonical.ts';
import type {
  CertificateInfo,
  CertificateMaterial,
  ClientCertificatePolicy,
  HostRoutes,
  ObjectRef,
  Route,
} from '../../gateway/table/schema.ts';
import { resolveClientCertificates } from './client-certificates.ts';
import { resolveProxySsl } from './proxy-ssl-secrets.ts';
import { backendResolver, type BackendResolver, type Resolution } from './backends.ts';
import { resolveBasicAuth } from './basic-auth.ts';
import { applyTls } from './certificates.ts';
import { classSelector, type ClassSelector } from './classes.ts';
import { diagnostic, finishDiagnostics, noReadyEndpoints, reporter, type Report } from './diagnostics.ts';
import { planIngress, type BackendRef, type IngressPlan } from './ingress.ts';
import { resolveJwt } from './jwt-keys.ts';
import { resolveAuthProxyHeaders } from './auth-proxy-headers.ts';
import { resolveCustomHeaders } from './custom-headers.ts';
import { resolveErrorBackends } from './error-backends.ts';
import { compareByAge, compareStrings, errorText, items, objectInfo, refOf } from './objects.ts';
import { extraHostNames } from './host-names.ts';
import { passthroughHosts } from './passthrough.ts';
import { mergeCanaries, mergeRoutes, pickDefaultBackend, type HostBuild } from './routes.ts';
import { SERVER_SNIPPET } from './snippet-annotations.ts';
import type { SnippetOp } from './snippet-headers.ts';
import { headerRulesOf } from './snippet-rules.ts';
import { secretLoader } from './tls.ts';
import type { ControllerSettings } from './controller-settings.ts';
import { applyRefusalStatuses, controllerSettings, defaultCertificate, defaultServiceBackend } from './gateway-settings.ts';
import { DEFAULT_COMPILE_OPTIONS, type ClusterObjects, type CompileOptions, type CompileResult, type Diagnostic } from './types.ts';

export type { ClusterObjects, CompileOptions, CompileResult, Diagnostic } from './types.ts';
export { DEFAULT_COMPILE_OPTIONS } from './types.ts';

/** Plans every Ingress of our class, oldest first; `accepted` are the ones of our class with a name. */
function planIngresses(
  ingresses: readonly unknown[],
  isOurs: ClassSelector,
  sink: Diagnostic[],
  settings: ControllerSettings,
): { plans: IngressPlan[]; accepted: ObjectRef[] } {
  const plans: IngressPlan[] = [];
  const accepted: ObjectRef[] = [];
  for (const info of ingresses.map(objectInfo).sort(compareByAge)) {
    const ref = refOf(info);
    let ours: boolean;
    try {
      ours = isOurs(info);
    } catch (e) {
      // Only a hostile object (fields that throw when read) gets here; say so rather than guess its class.
      sink.push(diagnostic('InvalidObject', 'Ingress', ref, `Ingress could not be read (${errorText(e)}); it is skipped`));
      continue;
    }
    if (!ours) continue;
    if (info.namespace === undefined || info.name === undefined) {
      const missing = [info.namespace === undefined ? 'metadata.namespace' : '', info.name === undefined ? 'metadata.name' : '']
        .filter(Boolean)
        .join(' and ');
      sink.push(diagnostic('InvalidObject', 'Ingress', ref, `Ingress has no ${missing}; it is skipped`));
      continue;
    }
    accepted.push(ref);
    const own: Diagnostic[] = [];
    try {
      plans.push(planIngress(info, reporter(own, 'Ingress', ref), settings));
      sink.push(...own);
    } catch (e) {
      // Diagnostics of a half-planned Ingress would describe routes that do not exist: drop them.
      sink.push(diagnostic('InvalidObject', 'Ingress', ref, `Ingress could not be compiled (${errorText(e)}); it is skipped`));
    }
  }
  accepted.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
  return {
    plans,
    accepted: accepted.filter((r, i) => i === 0 || accepted[i - 1]!.namespace !== r.namespace || accepted[i - 1]!.name !== r.name),
  };
}

/** Problems with the Services an Ingress references, reported on that Ingress (including references that
 * lost a conflict: they describe the object as written). */
function reportBackendProblems(plans: readonly IngressPlan[], resolve: BackendResolver, reportFor: (p: IngressPlan) => Report): void {
  for (const plan of plans) {
    const refs = plan.paths.map((p) => p.backend);
    if (plan.defaultBackend !== null) refs.push(plan.defaultBackend);
    for (const ref of refs) {
      const { problem } = resolve(ref);
      if (problem !== null) reportFor(plan)(problem.code, problem.message);
    }
  }
}

/** Unenforced guards per host that apply to every route of the host (client certificates: nginx checks them
 * in the TLS handshake of the whole server, so one Ingress's auth-tls-* guards the other Ingresses' paths). */
function hostGuards(plans: readonly IngressPlan[], reportFor: (p: IngressPlan) => Report): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (host: string, keys: readonly string[]): void => void out.set(host, [...(out.get(host) ?? []), ...keys]);
  for (const plan of plans) {
    const keys = plan.guards.filter((g) => g.scope === 'hosts').map((g) => g.key);
    if (keys.length > 0) for (const host of plan.hosts) add(host, keys);
    // A path of an Ingress that guards access was skipped (for example a regular expression written for
    // ingress-nginx's use-regex): its requests would be routed by another rule of the host, unguarded. So the
    // whole host fails closed until the path is fixed or routable.
    const own = [...new Set([...plan.guards.map((g) => g.key), ...plan.accessKeys])].sort(compareStrings);
    if (own.length === 0) continue;
    for (const host of plan.droppedOn) {
      add(host, own);
      reportFor(plan)(
        'AccessControlNotEnforced',
        `a path of ${host === '' ? 'the rules without a host' : `host ${JSON.stringify(host)}`} was skipped (see its own diagnostic) on an Ingress that guards access (${own.join(', ')}); so that its requests cannot reach another rule of the host unguarded, every route of the host answers 503 (fail closed) until the path is fixed`,
      );
    }
  }
  return out;
}

/** The server-snippet operations of each host: the oldest Ingress of the host that has a server-snippet gives
 * them, as ingress-nginx keeps the first server snippet of a server (its controller skips a later one with
 * "Server snippet already configured"). A refused server-snippet closes its hosts whatever their age (hostGuards). */
function serverSnippets(plans: readonly IngressPlan[], reportFor: (p: IngressPlan) => Report): Map<string, SnippetOp[]> {
  const out = new Map<string, SnippetOp[]>();
  const owner = new Map<string, IngressPlan>();
  for (const plan of plans) {
    const ops = plan.snippets.server;
    if (ops === undefined) continue;
    for (const host of plan.hosts) {
      const first = owner.get(host);
      if (first === undefined) {
        owner.set(host, plan);
        out.set(host, ops);
        continue;
      }
      reportFor(plan)(
        'ServerSnippetConflict',
        `the server-snippet is ignored on ${host === '' ? 'the rules without a host' : `host ${JSON.stringify(host)}`}: Ingress ${first.ref.namespace}/${first.ref.name} is older and gives the host its server-snippet (as in ingress-nginx)`,
      );
    }
  }
  return out;
}

/** Fail closed: the sorted, distinct guards `owner` asks for on its own routes plus its host's; undefined
 * when there are none (so tables without guards keep their exact form and hash). */
function failClosed(owner: IngressPlan | null, onHost: readonly string[] = []): string[] | undefined {
  const keys = new Set(onHost);
  for (const g of owner?.guards ?? []) if (g.scope === 'routes') keys.add(g.key);
  return keys.size === 0 ? undefined : [...keys].sort(compareStrings);
}

/** Fail closed for what an Ingress's spec.defaultBackend serves (a host's unmatched paths, unknown hosts):
 * its unenforced guards and also the access rules Portico enforces on routes, which it does not apply there. */
function fallbackFailClosed(owner: IngressPlan | null, onHost: readonly string[] = []): string[] | undefined {
  const keys = [...(failClosed(owner, onHost) ?? []), ...(owner?.accessKeys ?? [])];
  return keys.length === 0 ? undefined : [...new Set(keys)].sort(compareStrings);
}

/** A default backend (a host's, or the one for unknown hosts) whose Ingress has access rules answers 503: the rules
 * apply to its routes, and Portico cannot apply them to a default backend yet. Said once per Ingress, naming the
 * keys, so it is never a silent 503 (ingress-nginx applies them to the default backend's location too). */
function reportClosedFallbacks(
  hostFallbacks: readonly { owner: IngressPlan | null; closed: readonly string[] | undefined }[],
  unknownHosts: { owner: IngressPlan | null; closed: readonly string[] | undefined },
  reportFor: (p: IngressPlan) => Report,
): void {
  const said = new Set<IngressPlan>();
  for (const { owner, closed } of [...hostFallbacks, unknownHosts]) {
    if (owner === null || closed === undefined || owner.accessKeys.length === 0 || said.has(owner)) continue;
    said.add(owner);
    reportFor(owner)(
      'AccessControlNotEnforced',
      `spec.defaultBackend of this Ingress answers 503 (fail closed): its access rules (${owner.accessKeys.join(', ')}) apply to its routes, and Portico cannot apply them to a default backend yet`,
    );
  }
}

function buildHost(
  h: HostBuild,
  tls: Map<string, { info: CertificateInfo } | null>,
  guards: ReadonlyMap<string, string[]>,
  use: (ref: BackendRef) => string,
  clientCertificate: ClientCertificatePolicy | undefined,
  serverOps: readonly SnippetOp[] | undefined,
  passthrough: { backend: BackendRef | null } | undefined,
): HostRoutes {
  const hasTls = tls.has(h.host);
  const onHost = guards.get(h.host);
  const routes: Route[] = [...h.routes.values()].map(({ path, owner, canary }) => {
    const closed = failClosed(owner, onHost);
    const headerRules = headerRulesOf(serverOps, owner.snippets.location);
    return {
      path: h.regex ? path.written : path.path,
      pathType: h.regex ? 'Regex' : path.pathType,
      backend: use(path.backend),
      source: { namespace: owner.ref.namespace, name: owner.ref.name },
      // Optional policies only when set: tables without them keep their exact form (and hash).
      policies: {
        sslRedirect: hasTls && owner.sslRedirect,
        ...(owner.clusterWeight === 100 ? {} : { localWeight: owner.clusterWeight }),
        ...(closed === undefined ? {} : { failClosed: closed }),
        ...(owner.access === undefined ? {} : { access: owner.access }),
        ...owner.routing.filters,
        ...owner.upstream,
        ...(canary?.owner.canary === undefined ? {} : { canary: { backend: use(canary.path.backend), ...canary.owner.canary } }),
        // rewrite-target: only on a regex host (it makes its host one), so `$n` has captures to refer to; beside
        // upstream-vhost's hostname in the one URLRewrite.
        ...(owner.rewrite === undefined ? {} : { rewrite: { ...owner.routing.filters.rewrite, path: owner.rewrite } }),
        // The cookie's default Path is nginx's $location_path: this route's path as the Ingress wrote it.
        ...(owner.balancing.affinity === undefined ? {} : { affinity: affinityFor(owner.balancing.affinity, path.written) }),
        ...(owner.balancing.balance === undefined ? {} : { balance: owner.balancing.balance }),
        // default-backend and custom-http-errors: the route's error pages (gateway/error-pages.ts).
        ...(owner.errorBackend === undefined ? {} : { errorBackend: use(owner.errorBackend) }),
        ...(owner.backends.interceptStatuses === undefined ? {} : { interceptStatuses: owner.backends.interceptStatuses }),
        // configuration-snippet and server-snippet header directives (snippet-rules.ts).
        ...(headerRules === undefined ? {} : { headerRules }),
      },
    };
  });
  const cert = tls.get(h.host);
  // A server-snippet's header rules are not applied to the host's fallback: it answers 503 rather than serve without them.
  const hostKeys = (serverOps?.length ?? 0) > 0 ? [...(onHost ?? []), SERVER_SNIPPET] : onHost;
  const fallbackClosed = h.fallback === null ? undefined : fallbackFailClosed(h.fallbackOwner, hostKeys);
  return {
    host: h.host,
    tls: hasTls ? { certificate: cert === null || cert === undefined ? null : cert.info.id } : null,
    routes,
    fallbackBackend: h.fallback === null ? null : use(h.fallback),
    ...(fallbackClosed === undefined ? {} : { fallbackFailClosed: fallbackClosed }),
    ...(clientCertificate === undefined ? {} : { clientCertificate }),
    ...(passthrough === undefined ? {} : { passthrough: { backend: passthrough.backend === null ? null : use(passthrough.backend) } }),
  };
}

/**
 * Compiles a snapshot of cluster objects into a sealed routing table (always valid per validate()), the
 * certificate material it references, sorted diagnostics and the Ingresses of our class. Pure and
 * deterministic: the same set of objects, in any order, gives byte-identical output. Options left out
 * take DEFAULT_COMPILE_OPTIONS.
 */
export function compile(objects: ClusterObjects, options: Partial<CompileOptions> = {}): CompileResult {
  const sink: Diagnostic[] = [];
  const given: CompileOptions = {
    ...options,
    controller: options.controller ?? DEFAULT_COMPILE_OPTIONS.controller,
    annotationClass: options.annotationClass ?? DEFAULT_COMPILE_OPTIONS.annotationClass,
    serveClasses: options.serveClasses ?? DEFAULT_COMPILE_OPTIONS.serveClasses,
    watchWithoutClass: options.watchWithoutClass ?? DEFAULT_COMPILE_OPTIONS.watchWithoutClass,
    allowedResponseHeaders: options.allowedResponseHeaders ?? DEFAULT_COMPILE_OPTIONS.allowedResponseHeaders,
  };
  const settings = controllerSettings(objects, given, sink);
  const opts: CompileOptions = {
    ...given,
    // The ConfigMap's global-allowed-response-headers add to the agent's flag.
    allowedResponseHeaders: [...new Set([...given.allowedResponseHeaders, ...settings.allowedResponseHeaders])],
  };
  const isOurs = classSelector(items(objects.ingressClasses), opts, sink);
  const { plans, accepted } = planIngresses(items(objects.ingresses), isOurs, sink, settings);
  applyRefusalStatuses(plans, settings.statuses);
  const reportFor = (p: IngressPlan): Report => reporter(sink, 'Ingress', p.ref);
  // Before the routes are built: a basic-auth Secret that cannot be used turns the policy into a guard (503).
  const basicAuth = resolveBasicAuth(plans, items(objects.secrets), reportFor);
  // Likewise a client-certificate Secret that cannot be used guards its hosts (503).
  const clientCertificates = resolveClientCertificates(plans, items(objects.secrets), reportFor);
  // The same for JWT: keys that cannot be had turn the policy into a guard.
  resolveJwt(plans, { secrets: items(objects.secrets), configMaps: items(objects.configMaps), jwks: items(objects.jwks) }, reportFor);
  // And for auth-proxy-set-headers: a ConfigMap that cannot be used closes the routes instead of the subrequest
  // going out without its headers.
  resolveAuthProxyHeaders(plans, items(objects.configMaps), reportFor);
  // And for custom-headers: a ConfigMap that cannot be used, or sets a header the operator does not allow, closes
  // the routes instead of serving them without their headers.
  resolveCustomHeaders(plans, items(objects.configMaps), opts.allowedResponseHeaders, reportFor);

  // And for proxy-ssl-secret: a Secret that cannot be used closes the routes instead of dialling the upstream
  // without the TLS it asks for.
  const proxySsl = resolveProxySsl(plans, items(objects.secrets), reportFor);

  // default-backend names a Service; its first port is the error backend.
  resolveErrorBackends(plans, items(objects.services), reportFor);

  // Canary Ingresses own no host, route, default backend or TLS entry: they only split the others' routes.
  const mains = plans.filter((p) => p.canary === undefined);
  const hosts = mergeRoutes(mains, reportFor);
  mergeCanaries(
    plans.filter((p) => p.canary !== undefined),
    hosts,
    reportFor,
  );
  const defaultRef = pickDefaultBackend(mains, hosts, reportFor);
  // --default-backend-service: for what no Ingress's default backend takes (ingress-nginx lets a catch-all
  // Ingress's spec.defaultBackend replace it the same way).
  const serviceDefault = defaultRef === null ? defaultServiceBackend(opts, items(objects.services), sink) : null;
  const loadSecret = secretLoader(items(objects.secrets));
  const tls = applyTls(mains, hosts, loadSecret, reportFor);
  const fallbackCertificate = defaultCertificate(opts, loadSecret, sink);
  const resolve = backendResolver(items(objects.services), items(objects.endpointSlices));
  reportBackendProblems(plans, resolve, reportFor);

  // Only what the table references goes into it.
  const used = new Map<string, Resolution>();
  const use = (ref: BackendRef): string => {
    if (!used.has(ref.id)) used.set(ref.id, resolve(ref));
    return ref.id;
  };
  const guards = hostGuards(mains, reportFor);
  const snippetsOf = serverSnippets(mains, reportFor);
  const passthrough = passthroughHosts(mains, hosts, reportFor);
  const ruleHosts = [...hosts.values()].map((h) =>
    buildHost(h, tls, guards, use, clientCertificates.hosts.get(h.host), snippetsOf.get(h.host), passthrough.get(h.host)),
  );
  const certInfo = new Map([...tls.values()].flatMap((c) => (c === null ? [] : [[c.info.id, c.info] as const])));
  const hostEntries = [
    ...ruleHosts,
    ...extraHostNames(mains, new Map(ruleHosts.map((h) => [h.host, h])), (id) => certInfo.get(id), reportFor),
  ];
  const defaultBackend = defaultRef !== null ? use(defaultRef.ref) : serviceDefault !== null ? use(serviceDefault) : null;
  const defaultClosed = defaultRef === null ? undefined : fallbackFailClosed(defaultRef.owner);
  reportClosedFallbacks(
    [...hosts.values()].map((h, i) => ({ owner: h.fallbackOwner, closed: ruleHosts[i]!.fallbackFailClosed })),
    { owner: defaultRef?.owner ?? null, closed: defaultClosed },
    reportFor,
  );
  for (const { backend: b, problem } of used.values()) {
    // A missing Service or port is already reported on the Ingress; this is the Service that exists but
    // has nothing ready (scaled to zero, crash-looping, or a selector that matches no pod).
    if (problem === null && b.endpoints.length === 0) {
      sink.push(noReadyEndpoints(b));
    }
  }
  const certs = new Map<string, { info: CertificateInfo; material: CertificateMaterial }>();
  for (const c of tls.values()) if (c !== null) certs.set(c.info.id, c);
  if (fallbackCertificate !== null) certs.set(fallbackCertificate.info.id, fallbackCertificate);

  const table = sealTable({
    hosts: hostEntries,
    defaultBackend,
    ...(defaultClosed === undefined ? {} : { defaultBackendFailClosed: defaultClosed }),
    backends: [...used.values()].map((r) => r.backend),
    certificates: [...certs.values()].map((c) => c.info),
    ...(clientCertificates.authorities.length === 0 ? {} : { clientCertificateAuthorities: clientCertificates.authorities }),
    ...(proxySsl.secrets.length === 0 ? {} : { upstreamTlsSecrets: proxySsl.secrets }),
    ...(settings.hsts === null ? {} : { hsts: settings.hsts }),
    ...(fallbackCertificate === null ? {} : { defaultCertificate: fallbackCertificate.info.id }),
  });
  const certificates = [...[...certs.values()].map((c) => c.material), ...proxySsl.material].sort((a, b) => compareStrings(a.id, b.id));
  return { table, certificates, basicAuth, diagnostics: finishDiagnostics(sink), accepted };
}
