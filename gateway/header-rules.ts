// A route's header rules (schema 6, gateway/table/header-rules.ts: configuration-snippet and server-snippet) as
// what the forwarders already apply: headers set on or removed from the upstream request (the client's copy of a
// name goes, gateway/proxy/headers.ts withOverrides), and additions to the client's response (withResponseAdditions:
// the upstream's headers of the replaced names and wildcards go, then more_set_headers and add_header ... always on
// every status, add_header on 2xx/3xx). The same lists on Node, Deno and workerd, and for the access gate's own
// answers (gate.ts).
import type { ResponseAdditions } from './access/gate.ts';
import type { HeaderRules } from './table/header-rules.ts';

export interface HeaderEffects {
  /** [lower-case name, value or null (removed)] for the upstream request; empty: none. */
  upstream: [string, string | null][];
  /** Additions to the client's response; undefined: none. */
  response: ResponseAdditions | undefined;
}

/** Computed once per rules object (a table is never changed after validate()), so a request pays a lookup. */
const computed = new WeakMap<HeaderRules, HeaderEffects>();

export function headerEffects(rules: HeaderRules): HeaderEffects {
  let e = computed.get(rules);
  if (e !== undefined) return e;
  const upstream: [string, string | null][] = [
    ...(rules.request?.set ?? []),
    ...(rules.request?.remove ?? []).map((n): [string, null] => [n, null]),
  ];
  const r = rules.response;
  let response: ResponseAdditions | undefined;
  if (r !== undefined) {
    const remove = r.remove ?? [];
    response = {
      always: [...(r.set ?? []), ...(r.addAlways ?? [])],
      onSuccess: [...(r.add ?? [])],
      replace: [...(r.set ?? []).map(([n]) => n), ...remove.filter((n) => !n.endsWith('*'))],
      removePrefixes: remove.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1)),
    };
  }
  e = { upstream, response };
  computed.set(rules, e);
  return e;
}

/** Two sets of response additions as one: the access gate's, then the route's header rules. */
export function joinAdditions(a: ResponseAdditions | undefined, b: ResponseAdditions | undefined): ResponseAdditions | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return {
    always: [...a.always, ...b.always],
    onSuccess: [...a.onSuccess, ...b.onSuccess],
    replace: [...a.replace, ...b.replace],
    removePrefixes: [...(a.removePrefixes ?? []), ...(b.removePrefixes ?? [])],
  };
}

/** Whether a header (lower-case name) of an answer survives the removals of response additions: `replace` names,
 * and `prefixes` (wildcards), which never take Content-Length (the edge frames the answer by it). */
export function survives(lower: string, replace: readonly string[], prefixes: readonly string[] | undefined): boolean {
  if (replace.includes(lower)) return false;
  if (prefixes === undefined || prefixes.length === 0 || lower === 'content-length') return true;
  return !prefixes.some((p) => lower.startsWith(p));
}
