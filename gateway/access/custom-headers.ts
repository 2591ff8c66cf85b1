// custom-headers at the edge: ingress-nginx's template writes `more_set_headers "<name>: <value>";` in the route's
// location for each entry of the ConfigMap (test/e2e/annotations/customheaders.go: `should set "more_set_headers
// 'My-Custom-Header' '42';" when custom-headers are set`). headers-more's more_set_headers without `-s` runs in the
// header filter on every status, replacing a header of the same name (so the upstream's copy goes), and the
// values are literal (`$remote_addr` arrives as the text `$remote_addr`). Pure: the gate (gate.ts) adds what this
// says to every answer of the route, its own included.
import type { AccessPolicy } from '../table/schema.ts';

export interface CustomHeaderAdditions {
  headers: [string, string][];
  /** Lower-case names: the upstream's headers that these replace. */
  replaces: string[];
}

/** Computed once per policy (a table is never changed after validate()), so a request pays two array copies. */
const computed = new WeakMap<[string, string][], CustomHeaderAdditions>();

export function customHeaderAdditions(headers: NonNullable<AccessPolicy['customHeaders']>): CustomHeaderAdditions {
  let a = computed.get(headers);
  if (a === undefined) {
    a = { headers, replaces: headers.map(([name]) => name.toLowerCase()) };
    computed.set(headers, a);
  }
  return a;
}
