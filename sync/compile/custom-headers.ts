// custom-headers: `<namespace>/<configmap>` (or a name in the Ingress's own namespace) whose entries are headers for
// every response of the Ingress's routes. ingress-nginx (internal/ingress/annotations/customheaders) reads the
// ConfigMap's `data` and denies the location (503, LocationDenied) when the ConfigMap cannot be found, when an
// entry's name is not ValidHeader (`^[a-zA-Z\d\-_]+$`) or its value not ValidValue (visible ASCII and the space),
// and when a name is not in the controller ConfigMap's global-allowed-response-headers (`slices.Contains`: the
// exact spelling, case included; empty by default, so no header is allowed until the operator lists it). Its
// docs allow only ConfigMaps of the Ingress's own namespace. Portico reads that list from the agent's
// --global-allowed-response-headers flag (CompileOptions.allowedResponseHeaders) and turns the entries into typed
// [name, value] pairs in the route's access policy; whatever ingress-nginx refuses closes the routes (503) with a
// Warning, and so do the bounds validate-custom-headers.ts sets.
import { customHeaderProblem, MAX_CUSTOM_HEADERS, MAX_CUSTOM_HEADERS_BYTES } from '../../gateway/table/validate-custom-headers.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { secretRef } from './basic-auth.ts';
import type { IngressPlan } from './ingress.ts';
import { compareStrings, fields, indexByName } from './objects.ts';
import type { ReportFor } from './routes.ts';

export const CUSTOM_HEADERS = `${NGINX_PREFIX}custom-headers`;
/** The agent flag that stands for ingress-nginx's ConfigMap key until Portico reads that ConfigMap. */
export const ALLOWED_FLAG = '--global-allowed-response-headers';

/** The annotation's value → the ConfigMap it names (no namespace: the Ingress's own), or null. Read the same way by
 * the compiler and by the agent, which reads only the ConfigMaps our Ingresses name. */
export function customHeadersRef(value: string): { namespace?: string; name: string } | null {
  return secretRef(value.trim()); // the same `name` or `namespace/name` grammar as auth-secret
}

type Entries = { headers: [string, string][]; ignored: string[] } | { error: string };

/** Why the ConfigMap's entries cannot be set, or the [name, value] pairs sorted by lower-case name. */
function entriesOf(raw: unknown, id: string, allowed: readonly string[]): Entries {
  const cm = fields(raw);
  const data = Object.entries(fields(cm.data)).filter((e): e is [string, string] => typeof e[1] === 'string');
  // ingress-nginx reads only `data`: an entry in binaryData is no header there either.
  const ignored = Object.keys(fields(cm.binaryData));
  if (data.length > MAX_CUSTOM_HEADERS) return { error: `ConfigMap ${id} has ${data.length} entries (at most ${MAX_CUSTOM_HEADERS})` };
  const bad = data.flatMap(([name, value]) => {
    const why = customHeaderProblem(name, value);
    return why === null ? [] : [`entry ${JSON.stringify(name)} ${why}`];
  });
  if (bad.length > 0) return { error: `ConfigMap ${id}: ${bad.join('; ')}` };
  const refused = data.map(([name]) => name).filter((name) => !allowed.includes(name));
  if (refused.length > 0) {
    const list =
      allowed.length === 0 ? 'it allows none (empty, the default)' : `it allows ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
    return {
      error: `ConfigMap ${id} sets ${refused.map((r) => JSON.stringify(r)).join(', ')}, which ${ALLOWED_FLAG} (ingress-nginx's global-allowed-response-headers, names matched exactly) does not allow: ${list}`,
    };
  }
  const headers = data
    .map(([name, value]): [string, string] => [name, value])
    .sort(([a], [b]) => compareStrings(a.toLowerCase(), b.toLowerCase()));
  const twice = headers.filter(([n], i) => i > 0 && headers[i - 1]![0].toLowerCase() === n.toLowerCase()).map(([n]) => JSON.stringify(n));
  if (twice.length > 0) return { error: `ConfigMap ${id} sets ${twice.join(', ')} more than once (header names ignore case)` };
  const bytes = headers.reduce((n, [name, value]) => n + name.length + value.length, 0);
  if (bytes > MAX_CUSTOM_HEADERS_BYTES)
    return { error: `ConfigMap ${id} holds ${bytes} characters of header names and values (at most ${MAX_CUSTOM_HEADERS_BYTES})` };
  return { headers, ignored };
}

/**
 * Completes the access policy of every Ingress that sets custom-headers with the ConfigMap's entries. A plan whose
 * ConfigMap cannot be used gets the annotation as a guard, so its routes answer 503, never serve without the headers.
 */
export function resolveCustomHeaders(
  plans: readonly IngressPlan[],
  configMaps: readonly unknown[],
  allowed: readonly string[],
  reportFor: ReportFor,
): void {
  const index = indexByName(configMaps);
  for (const plan of plans) {
    // accessKeys holds the annotation only when its value names a ConfigMap (parseAccessAnnotations).
    if (!plan.accessKeys.includes(CUSTOM_HEADERS)) continue;
    const ref = customHeadersRef(String(plan.info.annotations[CUSTOM_HEADERS]))!;
    const ns = ref.namespace ?? plan.ref.namespace;
    const id = `${ns}/${ref.name}`;
    const closed = (why: string): void => {
      reportFor(plan)(
        'AccessControlNotEnforced',
        `${why}; the routes of this Ingress answer 503 (fail closed), as ingress-nginx denies the location, instead of serving without these headers`,
      );
      plan.guards.push({ key: CUSTOM_HEADERS, scope: 'routes' });
    };
    if (ns !== plan.ref.namespace) {
      closed(`${JSON.stringify(CUSTOM_HEADERS)} names ConfigMap ${id} of another namespace, which is not allowed`);
      continue;
    }
    const cm = index.get(id);
    if (cm === undefined) {
      closed(`ConfigMap ${id} named by ${JSON.stringify(CUSTOM_HEADERS)} does not exist`);
      continue;
    }
    const r = entriesOf(cm.raw, id, allowed);
    if ('error' in r) {
      closed(r.error);
      continue;
    }
    if (r.ignored.length > 0)
      reportFor(plan)(
        'UnsupportedAnnotation',
        `ConfigMap ${id} named by ${JSON.stringify(CUSTOM_HEADERS)} has binaryData (${r.ignored.map((k) => JSON.stringify(k)).join(', ')}), which is not read (ingress-nginx reads only data)`,
      );
    // An empty ConfigMap sets nothing, as in ingress-nginx (its loop has nothing to refuse): the routes serve.
    if (r.headers.length > 0) plan.access = { ...plan.access, customHeaders: r.headers };
  }
}
