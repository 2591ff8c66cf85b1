// auth-proxy-set-headers: `<namespace>/<configmap>` (or a name in the Ingress's own namespace) whose entries are
// headers for the external auth subrequest. ingress-nginx (internal/ingress/annotations/authreq) reads the
// ConfigMap's `data`, checks each name against ValidHeader (`^[a-zA-Z\d\-_]+$`), refuses a ConfigMap of another
// namespace unless allow-cross-namespace-resources is on (off by default), and denies the location (503) when the
// ConfigMap cannot be found; its template then writes `proxy_set_header '<name>' '<value>';` in the auth location
// (test/e2e/annotations/auth.go: `should set "proxy_set_header 'My-Custom-Header' '42';" when auth-headers are
// set`). Here the entries become typed [name, value] pairs in the route's external auth policy; a ConfigMap that
// is missing, of another namespace, empty or with an entry Portico refuses closes the routes (503) with a Warning.
import { MAX_PROXY_SET_HEADERS, proxySetHeaderProblem } from '../../gateway/table/validate-access.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { secretRef } from './basic-auth.ts';
import type { IngressPlan } from './ingress.ts';
import { compareStrings, fields, indexByName } from './objects.ts';
import type { ReportFor } from './routes.ts';

export const AUTH_PROXY_SET_HEADERS = `${NGINX_PREFIX}auth-proxy-set-headers`;

/** The annotation's value → the ConfigMap it names (no namespace: the Ingress's own), or null. Read the same way
 * by the compiler and by the agent, which reads only the ConfigMaps our Ingresses name. */
export function proxySetHeadersRef(value: string): { namespace?: string; name: string } | null {
  return secretRef(value.trim()); // the same `name` or `namespace/name` grammar as auth-secret
}

/** Why the ConfigMap's entries cannot be used, or the sorted [lower-case name, value] pairs. */
function headersOf(raw: unknown, id: string): { headers: [string, string][] } | { error: string } {
  const cm = fields(raw);
  const data = Object.entries(fields(cm.data)).filter((e): e is [string, string] => typeof e[1] === 'string');
  // ingress-nginx reads only `data`; an entry in binaryData would be dropped without a word, so it is refused.
  const binary = Object.keys(fields(cm.binaryData));
  if (binary.length > 0)
    return { error: `ConfigMap ${id} has binaryData (${binary.map((k) => JSON.stringify(k)).join(', ')}), which cannot be a header value` };
  if (data.length === 0) return { error: `ConfigMap ${id} has no entries, so there is no header to set` };
  if (data.length > MAX_PROXY_SET_HEADERS)
    return { error: `ConfigMap ${id} has ${data.length} entries (at most ${MAX_PROXY_SET_HEADERS})` };
  const bad = data.flatMap(([name, value]) => {
    const why = proxySetHeaderProblem(name, value);
    return why === null ? [] : [`${JSON.stringify(name)} ${why}`];
  });
  if (bad.length > 0) return { error: `ConfigMap ${id}: entry ${bad.join('; entry ')}` };
  const headers = data.map(([name, value]): [string, string] => [name.toLowerCase(), value]).sort(([a], [b]) => compareStrings(a, b));
  const twice = headers.filter(([n], i) => i > 0 && headers[i - 1]![0] === n).map(([n]) => JSON.stringify(n));
  if (twice.length > 0) return { error: `ConfigMap ${id} names ${twice.join(', ')} more than once (header names ignore case)` };
  return { headers };
}

/**
 * Completes every external auth policy whose Ingress sets auth-proxy-set-headers with the ConfigMap's entries. A
 * plan whose ConfigMap cannot be used loses its external auth policy and gets the annotation as a guard, so its
 * routes answer 503, never ask the auth service without the headers.
 */
export function resolveAuthProxyHeaders(plans: readonly IngressPlan[], configMaps: readonly unknown[], reportFor: ReportFor): void {
  const index = indexByName(configMaps);
  for (const plan of plans) {
    const policy = plan.access?.externalAuth;
    // accessKeys holds the annotation only when it parsed (parseExternalAuth).
    if (policy === undefined || !plan.accessKeys.includes(AUTH_PROXY_SET_HEADERS)) continue;
    const ref = proxySetHeadersRef(String(plan.info.annotations[AUTH_PROXY_SET_HEADERS]))!;
    const ns = ref.namespace ?? plan.ref.namespace;
    const id = `${ns}/${ref.name}`;
    const closed = (why: string): void => {
      reportFor(plan)(
        'AccessControlNotEnforced',
        `${why}; the routes of this Ingress answer 503 (fail closed) instead of asking the auth service without these headers`,
      );
      const { externalAuth: _, ...rest } = plan.access!;
      // `satisfy: any` means nothing without an authentication to choose.
      if (rest.basicAuth === undefined && rest.jwt === undefined) delete rest.satisfy;
      plan.access = Object.keys(rest).length > 0 ? rest : undefined;
      plan.guards.push({ key: AUTH_PROXY_SET_HEADERS, scope: 'routes' });
    };
    if (ns !== plan.ref.namespace) {
      closed(`${JSON.stringify(AUTH_PROXY_SET_HEADERS)} names ConfigMap ${id} of another namespace, which is not allowed`);
      continue;
    }
    const cm = index.get(id);
    if (cm === undefined) {
      closed(`ConfigMap ${id} named by ${JSON.stringify(AUTH_PROXY_SET_HEADERS)} does not exist`);
      continue;
    }
    const r = headersOf(cm.raw, id);
    if ('error' in r) {
      closed(r.error);
      continue;
    }
    plan.access = { ...plan.access, externalAuth: { ...policy, proxySetHeaders: r.headers } };
  }
}
