// Incremental compile: after a change, only the hosts the changed objects touch are compiled again, and the result is
// spliced into the previous one. The result always equals compile() of the same objects (test/properties/
// incremental-compile.test.ts checks that on random change sequences), because the part recompiled is compiled BY
// compile() itself, from every Ingress that shares a host with it:
//   - changed Ingresses (old and new version), and the Ingresses naming a changed Service, EndpointSlice (through its
//     Service) or Secret, give the hosts to redo; every Ingress on one of those hosts is taken, and their other
//     hosts too, until nothing is added (host conflicts, canaries, ssl-passthrough, server-snippet and client
//     certificates are all decided per host, oldest Ingress first, so they see every Ingress that takes part);
//   - what spans hosts falls back to a full compile: an IngressClass, a ConfigMap (controller settings,
//     auth-proxy-set-headers, custom-headers), a JWK Set, the --default-ssl-certificate Secret, other options; an
//     Ingress with spec.defaultBackend, server-alias or from-to-www-redirect anywhere in the set (ingress-facts.ts);
//     client-certificate authorities, upstream TLS Secrets or basic-auth material in either result (table-wide
//     lists); and a change touching more than a quarter of the Ingresses, and more than 64 (a full compile is cheaper then).
// Objects are compared by identity: the agent's store replaces an object when it changes, so an unchanged object is
// the same object on the next pass (a copy with equal content only costs a recompile of its hosts).
import { sealTable } from '../../gateway/table/canonical.ts';
import type { Backend, CertificateInfo, CertificateMaterial, HostRoutes, ObjectRef } from '../../gateway/table/schema.ts';
import { SERVICE_NAME_LABEL } from './backends.ts';
import { finishDiagnostics, noReadyEndpoints } from './diagnostics.ts';
import { splitRef } from './gateway-settings.ts';
import { compile } from './index.ts';
import { ingressFacts } from './ingress-facts.ts';
import { compareStrings, fields, text } from './objects.ts';
import type { ClusterObjects, CompileOptions, CompileResult, Diagnostic } from './types.ts';

type Keyed = Map<string, unknown>;

/** Recompiling this many Ingresses costs little whatever the cluster's size, so the share rule starts above it (and a
 * small cluster's changes, say a Service two of its three Ingresses name, stay incremental). */
const ALWAYS_PARTIAL_UP_TO = 64;

interface Previous {
  objects: ClusterObjects;
  ingresses: Keyed;
  services: Keyed;
  slices: Keyed;
  secrets: Keyed;
  result: CompileResult;
  /** host → keys of the Ingresses that touch it. */
  byHost: Map<string, Set<string>>;
  /** a name an Ingress mentions → keys of those Ingresses. */
  byName: Map<string, Set<string>>;
}

export interface IncrementalStats {
  full: number;
  partial: number;
  /** Why the last full compile was needed (for the bench and logs). */
  lastFullReason: string;
  /** Ingresses compiled again by the last partial compile. */
  lastPartialIngresses: number;
  /** Partial compiles that threw and were replaced by a full one (a bug; the tests expect none). */
  errors: number;
}

const keyOf = (o: unknown): string | undefined => {
  const m = fields(fields(o).metadata);
  const ns = text(m.namespace);
  const name = text(m.name);
  return name === undefined || name === '' ? undefined : `${ns ?? ''}/${name}`;
};

/** Objects by namespace/name; null when two share a key or one has none (compile() settles those, not us). */
function keyed(list: readonly unknown[] | undefined): Keyed | null {
  const out: Keyed = new Map();
  for (const o of list ?? []) {
    const k = keyOf(o);
    if (k === undefined || out.has(k)) return null;
    out.set(k, o);
  }
  return out;
}

/** The keys whose object differs (added, removed or replaced). */
function changedKeys(before: Keyed, after: Keyed): string[] {
  const out: string[] = [];
  for (const [k, o] of after) if (before.get(k) !== o) out.push(k);
  for (const k of before.keys()) if (!after.has(k)) out.push(k);
  return out;
}

/** Small lists compared by content (IngressClasses, ConfigMaps, JWK Sets: the agent rebuilds some of these lists). */
const sameSmall = (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean =>
  (a ?? []).length === (b ?? []).length &&
  (a ?? []).every((x, i) => x === (b ?? [])[i] || JSON.stringify(x) === JSON.stringify((b ?? [])[i]));

const addTo = (index: Map<string, Set<string>>, k: string, v: string): void =>
  void (index.get(k) ?? index.set(k, new Set()).get(k)!).add(v);

function removeFrom(index: Map<string, Set<string>>, k: string, v: string): void {
  const s = index.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) index.delete(k);
}

function indexIngress(p: Pick<Previous, 'byHost' | 'byName'>, key: string, raw: unknown, add: boolean): void {
  const f = ingressFacts(raw);
  const op = add ? addTo : removeFrom;
  for (const h of f.hosts) op(p.byHost, h, key);
  for (const n of f.names) op(p.byName, n, key);
}

/** Every backend id the host entries and the default backend refer to. */
function referencedBackends(hosts: readonly HostRoutes[], defaultBackend: string | null): Set<string> {
  const out = new Set<string>();
  if (defaultBackend !== null) out.add(defaultBackend);
  for (const h of hosts) {
    if (h.fallbackBackend !== null) out.add(h.fallbackBackend);
    if (h.passthrough?.backend != null) out.add(h.passthrough.backend);
    for (const r of h.routes) {
      out.add(r.backend);
      if (r.policies.canary !== undefined) out.add(r.policies.canary.backend);
      if (r.policies.errorBackend !== undefined) out.add(r.policies.errorBackend);
    }
  }
  return out;
}

const diagnosticKey = (d: Diagnostic): string => `${d.object.kind}\n${d.object.namespace}\n${d.object.name}\n${d.code}\n${d.message}`;
const refKey = (r: ObjectRef): string => `${r.namespace}/${r.name}`;

export class IncrementalCompiler {
  private prev: Previous | null = null;
  readonly stats: IncrementalStats = { full: 0, partial: 0, lastFullReason: '', lastPartialIngresses: 0, errors: 0 };

  /** `fullCompileShare`: a change touching more than this share of the Ingresses (and more than 64) is compiled in full (default 1/4). */
  constructor(
    private readonly options: Partial<CompileOptions> = {},
    private readonly fullCompileShare = 0.25,
  ) {}

  /** The same result as compile(objects, options). */
  compile(objects: ClusterObjects): CompileResult {
    const why = this.fullReason(objects);
    if (why !== null) return this.full(objects, why);
    let partial: ReturnType<IncrementalCompiler['partial']>;
    try {
      partial = this.partial(objects);
    } catch (e) {
      this.stats.errors++;
      // A splice that cannot be made (a bug, never a bad object: compile() guards those) must not stop the agent.
      partial = fail(`incremental compile failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return partial.result ?? this.full(objects, partial.reason);
  }

  private fullReason(objects: ClusterObjects): string | null {
    const p = this.prev;
    if (p === null) return 'first compile';
    if (!sameSmall(p.objects.ingressClasses, objects.ingressClasses)) return 'IngressClass changed';
    if (!sameSmall(p.objects.configMaps, objects.configMaps)) return 'ConfigMap changed';
    if (!sameSmall(p.objects.jwks, objects.jwks)) return 'JWK Set changed';
    return null;
  }

  private full(objects: ClusterObjects, reason: string): CompileResult {
    const result = compile(objects, this.options);
    this.stats.full++;
    this.stats.lastFullReason = reason;
    const ingresses = keyed(objects.ingresses);
    const services = keyed(objects.services);
    const slices = keyed(objects.endpointSlices);
    const secrets = keyed(objects.secrets);
    if (ingresses === null || services === null || slices === null || secrets === null) {
      this.prev = null; // duplicates or nameless objects: every compile stays a full one while they exist
      return result;
    }
    const prev: Previous = { objects, ingresses, services, slices, secrets, result, byHost: new Map(), byName: new Map() };
    for (const [k, o] of ingresses) indexIngress(prev, k, o, true);
    this.prev = prev;
    return result;
  }

  private partial(objects: ClusterObjects): { result: CompileResult; reason?: undefined } | { result: null; reason: string } {
    const p = this.prev!;
    const ingresses = keyed(objects.ingresses);
    const services = keyed(objects.services);
    const slices = keyed(objects.endpointSlices);
    const secrets = keyed(objects.secrets);
    if (ingresses === null || services === null || slices === null || secrets === null) return fail('duplicate or nameless objects');
    const changedIngresses = changedKeys(p.ingresses, ingresses);
    for (const k of changedIngresses)
      if (ingressFacts(p.ingresses.get(k) ?? {}).spansHosts || ingressFacts(ingresses.get(k) ?? {}).spansHosts)
        return fail(`Ingress ${k} has spec.defaultBackend, server-alias or from-to-www-redirect`);
    // Keep the index current before anything else can bail out: it describes `ingresses` from here on.
    for (const k of changedIngresses) {
      const before = p.ingresses.get(k);
      if (before !== undefined) indexIngress(p, k, before, false);
      const after = ingresses.get(k);
      if (after !== undefined) indexIngress(p, k, after, true);
    }
    const oldIngresses = p.ingresses;
    p.ingresses = ingresses;
    for (const o of ingresses.values()) if (ingressFacts(o).spansHosts) return fail('an Ingress spans hosts');

    // Names of changed Services, EndpointSlices (by their Service) and Secrets.
    const named = new Set<string>();
    const nameOf = (k: string): string => k.slice(k.indexOf('/') + 1);
    for (const k of changedKeys(p.services, services)) named.add(nameOf(k));
    for (const k of changedKeys(p.slices, slices))
      for (const s of [p.slices.get(k), slices.get(k)]) {
        const svc = text(fields(fields(fields(s).metadata).labels)[SERVICE_NAME_LABEL]);
        if (svc !== undefined) named.add(svc);
      }
    const fallbackCertificate = this.options.defaultSslCertificate === undefined ? null : splitRef(this.options.defaultSslCertificate);
    for (const k of changedKeys(p.secrets, secrets)) {
      if (fallbackCertificate !== null && k === `${fallbackCertificate.namespace}/${fallbackCertificate.name}`)
        return fail('the default certificate Secret changed');
      named.add(nameOf(k));
    }

    // The Ingresses to compile again: the changed ones, those naming a changed object, and everything sharing a host.
    const dirty = new Set<string>(changedIngresses);
    for (const n of named) for (const k of p.byName.get(n) ?? []) dirty.add(k);
    const hosts = new Set<string>();
    const queue: string[] = [];
    const addHostsOf = (raw: unknown): void => {
      for (const h of ingressFacts(raw).hosts) {
        if (hosts.has(h)) continue;
        hosts.add(h);
        queue.push(h);
      }
    };
    for (const k of dirty) {
      addHostsOf(oldIngresses.get(k));
      addHostsOf(ingresses.get(k));
    }
    while (queue.length > 0) {
      for (const k of p.byHost.get(queue.pop()!) ?? []) {
        if (dirty.has(k)) continue;
        dirty.add(k);
        addHostsOf(ingresses.get(k));
      }
    }
    if (dirty.size > Math.max(this.fullCompileShare * ingresses.size, ALWAYS_PARTIAL_UP_TO))
      return fail(`${dirty.size} of ${ingresses.size} Ingresses touched`);

    // compile() of those Ingresses with only the objects they can name (the rest cannot change their hosts).
    const subset = [...dirty].flatMap((k) => (ingresses.has(k) ? [ingresses.get(k)] : []));
    const names = new Set<string>();
    for (const o of subset) for (const n of ingressFacts(o).names) names.add(n);
    const defaultService = this.options.defaultBackendService === undefined ? null : splitRef(this.options.defaultBackendService);
    if (defaultService !== null) names.add(defaultService.name);
    if (fallbackCertificate !== null) names.add(fallbackCertificate.name);
    const mentioned = (k: string): boolean => names.has(nameOf(k));
    const partial = compile(
      {
        ...objects,
        ingresses: subset as never[],
        services: [...services].flatMap(([k, o]) => (mentioned(k) ? [o] : [])) as never[],
        endpointSlices: [...slices.values()].filter((s) => {
          const svc = text(fields(fields(fields(s).metadata).labels)[SERVICE_NAME_LABEL]);
          return svc !== undefined && names.has(svc);
        }) as never[],
        secrets: [...secrets].flatMap(([k, o]) => (mentioned(k) ? [o] : [])) as never[],
      },
      this.options,
    );
    const prevResult = p.result;
    for (const r of [prevResult, partial])
      if (r.table.clientCertificateAuthorities !== undefined || r.table.upstreamTlsSecrets !== undefined || r.basicAuth.length > 0)
        return fail('client-certificate authorities, upstream TLS Secrets or basic-auth material in the table');

    const result = splice(prevResult, partial, hosts, dirty);
    Object.assign(p, { objects, services, slices, secrets, result });
    this.stats.partial++;
    this.stats.lastPartialIngresses = subset.length;
    return { result };
  }
}

/** A partial compile that cannot be done (the full compile that follows rebuilds the index). */
const fail = (reason: string): { result: null; reason: string } => ({ result: null, reason });

/** The previous result with the hosts (and the Ingresses) `partial` was compiled for replaced by its output. */
function splice(prev: CompileResult, partial: CompileResult, hosts: ReadonlySet<string>, dirty: ReadonlySet<string>): CompileResult {
  const redone = new Set([...hosts, ...partial.table.hosts.map((h) => h.host)]);
  const hostEntries = [...prev.table.hosts.filter((h) => !redone.has(h.host)), ...partial.table.hosts];
  const defaultBackend = partial.table.defaultBackend;
  const fresh = new Map(partial.table.backends.map((b) => [b.id, b]));
  const old = new Map(prev.table.backends.map((b) => [b.id, b]));
  const backends: Backend[] = [];
  const nre = new Set<string>();
  const partialNre = new Set(partial.diagnostics.filter((d) => d.code === 'NoReadyEndpoints').map(diagnosticKey));
  const prevNre = new Set(prev.diagnostics.filter((d) => d.code === 'NoReadyEndpoints').map(diagnosticKey));
  for (const id of referencedBackends(hostEntries, defaultBackend)) {
    const b = fresh.get(id) ?? old.get(id);
    if (b === undefined) throw new Error(`incremental compile: backend ${id} is referenced but was never resolved`);
    backends.push(b);
    const d = diagnosticKey(noReadyEndpoints(b));
    if ((fresh.has(id) ? partialNre : prevNre).has(d)) nre.add(d);
  }
  const certIds = new Set<string>();
  for (const h of hostEntries) if (h.tls?.certificate != null) certIds.add(h.tls.certificate);
  if (partial.table.defaultCertificate !== undefined) certIds.add(partial.table.defaultCertificate);
  const infos = new Map<string, CertificateInfo>();
  for (const c of [...partial.table.certificates, ...prev.table.certificates])
    if (certIds.has(c.id) && !infos.has(c.id)) infos.set(c.id, c);
  const material = new Map<string, CertificateMaterial>();
  for (const c of [...partial.certificates, ...prev.certificates]) if (certIds.has(c.id) && !material.has(c.id)) material.set(c.id, c);

  const isDirtyIngress = (d: Diagnostic): boolean => d.object.kind === 'Ingress' && dirty.has(`${d.object.namespace}/${d.object.name}`);
  const diagnostics = [
    ...prev.diagnostics.filter((d) => d.object.kind === 'Ingress' && !isDirtyIngress(d)),
    ...partial.diagnostics.filter((d) => d.code !== 'NoReadyEndpoints'),
    ...[...prev.diagnostics, ...partial.diagnostics].filter((d) => d.code === 'NoReadyEndpoints' && nre.has(diagnosticKey(d))),
  ];
  const accepted = [...prev.accepted.filter((r) => !dirty.has(refKey(r))), ...partial.accepted].sort(
    (a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name),
  );
  const { schema: _s, version: _v, ...content } = partial.table;
  const table = sealTable({
    ...content,
    hosts: hostEntries,
    backends,
    certificates: [...infos.values()],
  });
  return {
    table,
    certificates: [...material.values()].sort((a, b) => compareStrings(a.id, b.id)),
    basicAuth: partial.basicAuth,
    diagnostics: finishDiagnostics(diagnostics),
    accepted: accepted.filter((r, i) => i === 0 || refKey(accepted[i - 1]!) !== refKey(r)),
  };
}
