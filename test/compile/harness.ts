// Runs the compiler the way every test should: checks that the table passes validate(), that the output
// does not depend on input order, and condenses the result into readable summaries to assert on.
import { serializeTable } from '../../gateway/table/canonical.ts';
import type { AccessPolicy, RoutingTable } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { compile } from '../../sync/compile/index.ts';
import type { ClusterObjects, CompileOptions, CompileResult, Diagnostic } from '../../sync/compile/types.ts';

const KINDS = ['ingresses', 'ingressClasses', 'services', 'endpointSlices', 'secrets', 'configMaps', 'jwks'] as const;

/** A deterministic permutation (seeded Fisher-Yates over a small LCG). */
export function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function permute(objs: ClusterObjects, seed: number): ClusterObjects {
  const out = { ...objs };
  KINDS.forEach((k, i) => {
    if (objs[k] !== undefined) (out[k] as unknown[]) = shuffled(objs[k] as unknown[], seed * 31 + i);
  });
  return out;
}

/** compile() plus the invariants every result must satisfy. */
export function run(objs: ClusterObjects, options?: Partial<CompileOptions>): CompileResult {
  const before = JSON.stringify(objs);
  const r = compile(objs, options);
  const problems = validate(r.table);
  if (problems.length > 0) throw new Error(`compiled table fails validate(): ${JSON.stringify(problems, null, 2)}`);
  if (JSON.stringify(objs) !== before) throw new Error('compile() mutated its input');
  const bytes = serializeTable(r.table);
  const diags = JSON.stringify(r.diagnostics);
  for (const seed of [1, 2, 3]) {
    const again = compile(permute(objs, seed), options);
    if (serializeTable(again.table) !== bytes) throw new Error(`table depends on input order (seed ${seed})`);
    if (JSON.stringify(again.diagnostics) !== diags) throw new Error(`diagnostics depend on input order (seed ${seed})`);
    if (JSON.stringify(again.accepted) !== JSON.stringify(r.accepted)) throw new Error(`accepted depends on input order (seed ${seed})`);
    if (JSON.stringify(again.certificates) !== JSON.stringify(r.certificates))
      throw new Error(`certificates depend on input order (seed ${seed})`);
  }
  return r;
}

export interface HostSummary {
  /** Present only when the host has TLS: the certificate id, or null for the default certificate. */
  tls?: string | null;
  /** Present only when non-null, plus ` closed(...)` when it fails closed. */
  fallback?: string;
  /** Present only when the host checks client certificates: `verify=on depth=1 ca=default/ca [default/web]`, plus
   * ` pass`, ` error-page=URL`, ` cn=PATTERN` when set. */
  clientCertificate?: string;
  /** `Prefix "/api" -> default/api:80 [default/web]`, plus ` redirect` when sslRedirect, ` local-weight=N`, and
   * ` closed(auth-url, ...)` when it fails closed (ingress-nginx annotation names without their prefix). */
  routes: string[];
}

/** ` closed(key, ...)` for a fail-closed route or fallback, with the annotation names short (no prefix). */
function closedSuffix(keys: readonly string[] | undefined): string {
  return keys === undefined ? '' : ` closed(${keys.map((k) => k.replace(/^nginx\.ingress\.kubernetes\.io\//, '')).join(', ')})`;
}

/** ` deny=[a,b] allow=[c]` for a route's source ranges, ` auth=URL` for external authentication, ` basic=ns/name(type)`
 * for basic authentication, ` headers=[A,B]` for custom-headers. */
function accessSuffix(a: AccessPolicy | undefined): string {
  if (a === undefined) return '';
  const list = (name: string, l: readonly string[] | undefined): string => (l === undefined ? '' : ` ${name}=[${l.join(',')}]`);
  const basic = a.basicAuth === undefined ? '' : ` ${a.basicAuth.scheme ?? 'basic'}=${a.basicAuth.secret}(${a.basicAuth.type})`;
  const jwt = a.jwt === undefined ? '' : ` jwt=${a.jwt.source}(${a.jwt.keys.length} keys)`;
  const headers = list(
    'headers',
    a.customHeaders?.map(([name]) => name),
  );
  return `${list('deny', a.deny)}${list('allow', a.allow)}${a.externalAuth === undefined ? '' : ` auth=${a.externalAuth.url}`}${basic}${jwt}${headers}`;
}

export function routeLine(r: RoutingTable['hosts'][number]['routes'][number]): string {
  return `${r.pathType} ${JSON.stringify(r.path)} -> ${r.backend} [${r.source.namespace}/${r.source.name}]${r.policies.sslRedirect ? ' redirect' : ''}${r.policies.localWeight !== undefined ? ` local-weight=${r.policies.localWeight}` : ''}${closedSuffix(r.policies.failClosed)}${accessSuffix(r.policies.access)}${r.policies.rewrite === undefined ? '' : ` rewrite=${r.policies.rewrite.path}`}`;
}

export function hostSummary(t: RoutingTable): Record<string, HostSummary> {
  const out: Record<string, HostSummary> = {};
  for (const h of t.hosts) {
    const s: HostSummary = { routes: h.routes.map(routeLine) };
    if (h.tls !== null) s.tls = h.tls.certificate;
    if (h.fallbackBackend !== null) s.fallback = h.fallbackBackend + closedSuffix(h.fallbackFailClosed);
    const c = h.clientCertificate;
    if (c !== undefined)
      s.clientCertificate = `verify=${c.verify} depth=${c.depth} ca=${c.authority} [${c.source.namespace}/${c.source.name}]${c.passCertificate ? ' pass' : ''}${c.errorPage === undefined ? '' : ` error-page=${c.errorPage}`}${c.matchCn === undefined ? '' : ` cn=${c.matchCn}`}`;
    out[h.host] = s;
  }
  return out;
}

/** Backend id → `address:port` (with `@zone` when set) in table order. */
export function endpointSummary(t: RoutingTable): Record<string, string[]> {
  return Object.fromEntries(
    t.backends.map((b) => [b.id, b.endpoints.map((e) => `${e.address}:${e.port}${e.zone === null ? '' : `@${e.zone}`}`)]),
  );
}

/** `Code Kind namespace/name` per diagnostic, plus ` (Info)` for Info severity. */
export function diagLine(d: Diagnostic): string {
  return `${d.code} ${d.object.kind} ${d.object.namespace}/${d.object.name}${d.severity === 'Info' ? ' (Info)' : ''}`;
}

export function diagSummary(r: CompileResult): string[] {
  return r.diagnostics.map(diagLine);
}

export function acceptedSummary(r: CompileResult): string[] {
  return r.accepted.map((a) => `${a.namespace}/${a.name}`);
}
