// The Secrets that basic authentication (auth-secret) and client certificates (auth-tls-secret) name, read one by
// one by name: they are usually Opaque,
// so the TLS Secret informer (fieldSelector type=kubernetes.io/tls) never sees them, and listing or watching
// every Secret of the cluster to find a few would hand the agent every credential there is. A GET per named
// Secret when the Ingresses name a new one, and again on a schedule, so a changed password reaches the table
// within one period.
import { AUTH_SECRET, AUTH_TYPE, secretRef } from '../compile/basic-auth.ts';
import { AUTH_TLS_SECRET } from '../compile/client-certificates.ts';
import { classSelector } from '../compile/classes.ts';
import { objectInfo } from '../compile/objects.ts';
import type { ClusterObjects, CompileOptions, Secret } from '../compile/types.ts';
import { KubeApiError, type KubeRest } from './rest.ts';

/** `namespace/name` of every Secret one of our Ingresses (by class, as the compiler selects them) names with
 * auth-type and auth-secret, or with auth-tls-secret, in its own namespace (the compiler refuses another
 * namespace's, so the agent never reads one). Another controller's Ingresses name Secrets the agent has no
 * business reading. */
export function authSecretRefs(objects: Pick<ClusterObjects, 'ingresses' | 'ingressClasses'>, options: CompileOptions): Set<string> {
  const isOurs = classSelector(objects.ingressClasses, options, []);
  const out = new Set<string>();
  for (const ing of objects.ingresses) {
    const a = ing.metadata?.annotations ?? {};
    const ns = ing.metadata?.namespace;
    if (ns === undefined) continue;
    const named = [a[AUTH_TYPE] === undefined ? undefined : a[AUTH_SECRET], a[AUTH_TLS_SECRET]];
    for (const value of named) {
      if (typeof value !== 'string') continue;
      const ref = secretRef(value.trim());
      if (ref === null || (ref.namespace ?? ns) !== ns || !isOurs(objectInfo(ing))) continue;
      out.add(`${ns}/${ref.name}`);
    }
  }
  return out;
}

/** Only what the compiler reads of a Secret: no managed fields, no annotations (kubectl's last-applied copy). */
function trimmed(s: Secret): Secret {
  const m = s.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...(m.namespace === undefined ? {} : { namespace: m.namespace }), ...(m.name === undefined ? {} : { name: m.name }) },
    ...(s.type === undefined ? {} : { type: s.type }),
    ...(s.data === undefined ? {} : { data: s.data }),
  };
}

export class AuthSecrets {
  /** By `namespace/name`; null: the Secret does not exist (404). */
  private readonly known = new Map<string, Secret | null>();

  constructor(
    private readonly rest: KubeRest,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** The Secrets read so far that exist. */
  secrets(): Secret[] {
    return [...this.known.values()].filter((s): s is Secret => s !== null);
  }

  /** Reads the Secrets of `refs` (only those not read yet unless `all`), forgets the others; true when what the
   * compiler would see changed. A read that fails for another reason than 404 keeps the last answer. */
  async refresh(refs: ReadonlySet<string>, all: boolean): Promise<boolean> {
    let changed = false;
    for (const id of [...this.known.keys()]) {
      if (refs.has(id)) continue;
      this.known.delete(id);
      changed = true;
    }
    for (const id of refs) {
      if (!all && this.known.has(id)) continue;
      const [ns, name] = id.split('/') as [string, string];
      let next: Secret | null;
      try {
        next = trimmed(
          await this.rest.request<Secret>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`),
        );
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) {
          // Forbidden, a timeout, a restarting apiserver: keep what was read (a missing Secret stays missing).
          this.log('warn', `reading Secret ${id} for basic authentication or client certificates failed: ${(err as Error).message}`);
          if (!this.known.has(id)) {
            this.known.set(id, null);
            changed = true;
          }
          continue;
        }
        next = null;
      }
      const before = this.known.get(id);
      if (before === undefined || JSON.stringify(before) !== JSON.stringify(next)) changed = true;
      this.known.set(id, next);
    }
    return changed;
  }
}
