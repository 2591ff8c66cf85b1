// What the incremental compiler (incremental.ts) needs to know about one Ingress without planning it: the hosts it
// can touch, every name it could use to refer to another object, and whether it takes part in a rule that spans
// hosts. Read defensively like every compiler input (objects.ts) and over-approximated on purpose: a host or a
// name too many only costs a little more recompiling, one too few would make the result differ from compile().
import { fields, items, text } from './objects.ts';

export interface IngressFacts {
  /** Lower-cased rule and TLS hosts; "" when a rule has no host. */
  hosts: readonly string[];
  /** Every string in spec and annotations, and its pieces split at `/`, `:`, `,` and white space: a Service or a
   * Secret this Ingress names is among them (backends, spec.tls, auth-secret, default-backend, proxy-ssl-secret...). */
  names: ReadonlySet<string>;
  /** spec.defaultBackend (the table's default backend is chosen across every Ingress), server-alias or
   * from-to-www-redirect (names taken across hosts, host-names.ts): such an Ingress in the set means full compiles. */
  spansHosts: boolean;
}

const SPLIT = /[/:,\s]+/;

function collectStrings(v: unknown, out: Set<string>, depth: number): void {
  if (depth > 12) return; // deeper than any Ingress field; a hostile object cannot recurse us out of stack
  if (typeof v === 'string') {
    out.add(v);
    for (const piece of v.split(SPLIT)) if (piece !== '') out.add(piece);
  } else if (Array.isArray(v)) {
    for (const x of v) collectStrings(x, out, depth + 1);
  } else if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) collectStrings(x, out, depth + 1);
  }
}

/** Annotation suffixes of the rules host-names.ts applies across hosts (any prefix: nginx.ingress.kubernetes.io,
 * a --annotations-prefix, portico.dev). */
const CROSS_HOST_ANNOTATIONS = ['/server-alias', '/from-to-www-redirect'];

function readFacts(raw: unknown): IngressFacts {
  const spec = fields(fields(raw).spec);
  const annotations = fields(fields(fields(raw).metadata).annotations);
  const hosts = new Set<string>();
  for (const rule of items(spec.rules)) {
    const host = text(fields(rule).host);
    hosts.add(host === undefined ? '' : host.toLowerCase());
  }
  for (const tls of items(spec.tls)) for (const h of items(fields(tls).hosts)) if (typeof h === 'string') hosts.add(h.toLowerCase());
  const names = new Set<string>();
  collectStrings(spec, names, 0);
  collectStrings(annotations, names, 0);
  const spansHosts =
    (spec.defaultBackend !== undefined && spec.defaultBackend !== null) ||
    Object.keys(annotations).some((k) => CROSS_HOST_ANNOTATIONS.some((s) => k.endsWith(s)));
  return { hosts: [...hosts], names, spansHosts };
}

const memo = new WeakMap<object, IngressFacts>();

/** Facts of an Ingress object, read once per object (the agent replaces an object when it changes, never edits it). */
export function ingressFacts(raw: unknown): IngressFacts {
  if (typeof raw !== 'object' || raw === null) return { hosts: [], names: new Set(), spansHosts: true };
  let f = memo.get(raw);
  if (f === undefined) {
    try {
      f = readFacts(raw);
    } catch {
      f = { hosts: [], names: new Set(), spansHosts: true }; // unreadable: only a full compile can say what it does
    }
    memo.set(raw, f);
  }
  return f;
}
